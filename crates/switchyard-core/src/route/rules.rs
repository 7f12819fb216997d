//! Conditional routing rules in CEL (the Common Expression Language that Envoy, Kubernetes and
//! other gateways use). Rules are compiled at load, dry-run against a sample context so that
//! unknown variables and syntax errors are refused with a message pointing into the
//! expression, and evaluated in order per request: the first that returns `true` picks the
//! model.
//!
//! Variables: `model` (string), `stream` (bool), `metadata` (map: the request body's
//! `metadata` merged with the `x-switchyard-metadata` header), `tags` (list of strings from
//! `x-switchyard-tags`), `key` (map of the calling key's attributes; empty for the master key),
//! `prompt` (see [`super::features::PromptFeatures`]), `budget` (map with `spent_ratio`).

use std::collections::HashMap;

use cel::common::types::{CelBool, CelDouble, CelList, CelMap, CelMapKey, CelString, CelUInt};
use cel::common::value::Val;
use cel::{Context, Program, Value};
use switchyard_config::RuleConfig;

use super::features::PromptFeatures;

/// One compiled rule.
pub struct Rule {
    /// Name.
    pub name: String,
    /// Source.
    pub source: String,
    /// Target model.
    pub model: String,
    program: Program,
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rule")
            .field("name", &self.name)
            .field("source", &self.source)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

/// What the rules read, decided once at compile time so a request computes only that.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    /// Some rule reads `prompt`.
    pub prompt: bool,
    /// Some rule reads `metadata` or `tags`.
    pub metadata: bool,
    /// Which prompt features (by name in the sources).
    pub features: super::features::Wants,
    /// Some rule reads `prompt.last_user_text` or `prompt.system_text`.
    pub texts: bool,
    /// Which `prompt` fields appear in some rule's source (bit i = `PROMPT_FIELDS[i]`): only
    /// those go into the per-request CEL map.
    pub prompt_fields: u16,
}

/// The fields of the `prompt` variable, in bit order of [`Needs::prompt_fields`].
pub const PROMPT_FIELDS: [&str; 11] = [
    "tokens",
    "tools",
    "tool_count",
    "images",
    "turns",
    "language",
    "complexity",
    "complexity_score",
    "task",
    "last_user_text",
    "system_text",
];

impl Needs {
    /// Everything, for explanations.
    pub const ALL: Needs = Needs {
        prompt: true,
        metadata: true,
        features: super::features::Wants::ALL,
        texts: true,
        prompt_fields: u16::MAX,
    };
}

/// The variables a rule can read, in bit order of `Rules::vars`.
const VARS: [&str; 7] = [
    "model", "stream", "metadata", "tags", "key", "prompt", "budget",
];
const ALL_VARS: u8 = (1 << VARS.len()) - 1;

/// The ordered rule list.
#[derive(Default)]
pub struct Rules {
    rules: Vec<Rule>,
    needs: Needs,
    /// The variables some rule reads (bit i = `VARS[i]`): only those are built per request.
    vars: u8,
    /// CEL's standard library, built once: building it is ~150k instructions, far more than
    /// evaluating a rule, so it must not happen per request.
    env: std::sync::Arc<cel::Env>,
}

impl std::fmt::Debug for Rules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rules")
            .field("rules", &self.rules)
            .finish_non_exhaustive()
    }
}

/// What rules see of a request.
#[derive(Debug, Clone, Default)]
pub struct RuleInput<'a> {
    /// Requested model.
    pub model: &'a str,
    /// Streamed?
    pub stream: bool,
    /// Metadata.
    pub metadata: serde_json::Value,
    /// Tags.
    pub tags: Vec<String>,
    /// Key attributes.
    pub key: serde_json::Value,
    /// Prompt features.
    pub prompt: Option<PromptFeatures>,
    /// Share of the caller's budget spent, 0..1.
    pub budget_spent_ratio: f64,
    /// Which prompt fields to expose (see [`Needs::prompt_fields`]).
    pub prompt_fields: u16,
}

/// A rule matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleMatch {
    /// Rule name.
    pub name: String,
    /// Model it routes to.
    pub model: String,
}

impl Rules {
    /// Compiles and dry-runs every rule.
    pub fn compile(configs: &[RuleConfig]) -> Result<Self, String> {
        let sample = RuleInput {
            model: "sample",
            prompt: Some(super::features::extract(&Default::default())),
            prompt_fields: u16::MAX,
            ..Default::default()
        };
        let env = std::sync::Arc::new(cel::Env::stdlib());
        let ctx = context(&env, &sample, ALL_VARS);
        let mut rules = Vec::with_capacity(configs.len());
        for c in configs {
            let program = Program::compile(&c.when).map_err(|e| {
                format!("{}.when: invalid CEL expression `{}`: {e}", c.path, c.when)
            })?;
            match program.execute(&ctx) {
                Ok(Value::Bool(_)) => {}
                Ok(other) => {
                    return Err(format!(
                        "{}.when: expression `{}` must return a bool, it returned {other:?}",
                        c.path, c.when
                    ))
                }
                Err(e) => {
                    let msg = e.to_string();
                    // Missing map keys are fine at load (metadata varies per request);
                    // unknown variables and functions are not.
                    if msg.contains("Undeclared reference")
                        || msg.contains("Unknown function")
                        || msg.contains("not supported")
                    {
                        return Err(format!("{}.when: `{}`: {msg}", c.path, c.when));
                    }
                }
            }
            rules.push(Rule {
                name: c.name.clone(),
                source: c.when.clone(),
                model: c.model.clone(),
                program,
            });
        }
        let mut needs = Needs::default();
        let mut vars = 0u8;
        for r in &rules {
            let refs = r.program.references();
            for (i, v) in VARS.iter().enumerate() {
                if refs.has_variable(v) {
                    vars |= 1 << i;
                }
            }
            needs.prompt |= refs.has_variable("prompt");
            needs.metadata |= refs.has_variable("metadata") || refs.has_variable("tags");
            // Field names are not tracked by CEL's references: look at the source. A false
            // positive only costs a computation; a false negative cannot happen.
            needs.features.language |= r.source.contains("language");
            needs.features.complexity |=
                r.source.contains("complexity") || r.source.contains("task");
            needs.texts |= r.source.contains("_text");
            for (i, f) in PROMPT_FIELDS.iter().enumerate() {
                if r.source.contains(f) {
                    needs.prompt_fields |= 1 << i;
                }
            }
        }
        // Should CEL's references ever miss a variable a rule reads, the rule would fail as
        // an undeclared reference on every request: check against the reduced context, and
        // build every variable if any rule needs more than was found.
        let reduced = context(&env, &sample, vars);
        if rules.iter().any(|r| {
            r.program
                .execute(&reduced)
                .is_err_and(|e| e.to_string().contains("Undeclared reference"))
        }) {
            vars = ALL_VARS;
        }
        Ok(Self {
            rules,
            needs,
            vars,
            env,
        })
    }

    /// What the rules read.
    pub fn needs(&self) -> Needs {
        self.needs
    }

    /// Whether any rule exists (features are computed only then).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rules, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter()
    }

    /// The first rule that matches. A rule whose evaluation errors (e.g. a metadata key the
    /// request lacks) does not match.
    pub fn evaluate(&self, input: &RuleInput<'_>) -> Option<RuleMatch> {
        if self.rules.is_empty() {
            return None;
        }
        let ctx = context(&self.env, input, self.vars);
        self.rules
            .iter()
            .find_map(|r| match r.program.execute(&ctx) {
                Ok(Value::Bool(true)) => Some(RuleMatch {
                    name: r.name.clone(),
                    model: r.model.clone(),
                }),
                _ => None,
            })
    }

    /// Evaluates every rule, for explanations: (name, result or error text).
    pub fn trace(&self, input: &RuleInput<'_>) -> Vec<(String, String, Result<bool, String>)> {
        let ctx = context(&self.env, input, ALL_VARS);
        self.rules
            .iter()
            .map(|r| {
                let res = match r.program.execute(&ctx) {
                    Ok(Value::Bool(b)) => Ok(b),
                    Ok(other) => Err(format!("returned {other:?}")),
                    Err(e) => Err(e.to_string()),
                };
                (r.name.clone(), r.source.clone(), res)
            })
            .collect()
    }
}

/// The `prompt` map with only the fields some rule mentions (`fields` bit mask); its strings
/// borrow from `p`.
fn prompt_value(p: &PromptFeatures, fields: u16) -> Box<dyn Val + '_> {
    let mut m: HashMap<CelMapKey<'_>, Box<dyn Val + '_>> = HashMap::new();
    for (i, name) in PROMPT_FIELDS.iter().enumerate() {
        if fields & (1 << i) == 0 {
            continue;
        }
        let v: Box<dyn Val + '_> = match *name {
            "tokens" => Box::new(CelUInt::from(p.tokens)),
            "tools" => Box::new(CelBool::from(p.tools)),
            "tool_count" => Box::new(CelUInt::from(p.tool_count)),
            "images" => Box::new(CelBool::from(p.images)),
            "turns" => Box::new(CelUInt::from(p.turns)),
            "language" => Box::new(CelString::from(p.language.as_str())),
            "complexity" => Box::new(CelString::from(p.complexity.as_str())),
            "complexity_score" => Box::new(CelDouble::from(p.complexity_score)),
            "task" => Box::new(CelString::from(p.task.as_str())),
            "last_user_text" => Box::new(CelString::from(p.last_user_text.as_str())),
            "system_text" => Box::new(CelString::from(p.system_text.as_str())),
            _ => continue,
        };
        m.insert(CelMapKey::String(CelString::from(*name)), v);
    }
    Box::new(CelMap::from(m))
}

fn empty_map<'v>() -> Box<dyn Val + 'v> {
    Box::new(CelMap::from(HashMap::new()))
}

/// A JSON object as a CEL map (anything else as an empty map).
fn json_map(v: &serde_json::Value) -> Box<dyn Val + 'static> {
    if !v.is_object() {
        return empty_map();
    }
    cel::to_value(v)
        .ok()
        .and_then(|v| Box::<dyn Val>::try_from(v).ok())
        .unwrap_or_else(empty_map)
}

/// The CEL context of a request: only the variables in `vars` (see [`VARS`]), built as CEL
/// values directly (no intermediate `cel::Value` copied into them), strings borrowed from
/// `input`.
fn context<'a>(
    env: &std::sync::Arc<cel::Env>,
    input: &'a RuleInput<'_>,
    vars: u8,
) -> Context<'a, 'a> {
    let mut ctx = Context::with_env(std::sync::Arc::clone(env));
    for (i, name) in VARS.iter().enumerate() {
        if vars & (1 << i) == 0 {
            continue;
        }
        let value: Box<dyn Val + 'a> = match *name {
            "model" => Box::new(CelString::from(input.model)),
            "stream" => Box::new(CelBool::from(input.stream)),
            "metadata" => json_map(&input.metadata),
            "tags" => Box::new(CelList::from(
                input
                    .tags
                    .iter()
                    .map(|t| Box::new(CelString::from(t.as_str())) as Box<dyn Val + 'a>)
                    .collect::<Vec<_>>(),
            )),
            "key" => json_map(&input.key),
            "prompt" => input
                .prompt
                .as_ref()
                .map_or_else(empty_map, |p| prompt_value(p, input.prompt_fields)),
            "budget" => {
                let mut m: HashMap<CelMapKey<'a>, Box<dyn Val + 'a>> = HashMap::new();
                m.insert(
                    CelMapKey::String(CelString::from("spent_ratio")),
                    Box::new(CelDouble::from(input.budget_spent_ratio)),
                );
                Box::new(CelMap::from(m))
            }
            _ => continue,
        };
        ctx.add_variable_as_val(*name, value);
    }
    ctx
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use switchyard_types::openai::{ChatRequest, Message, Role};

    fn rule(when: &str, model: &str) -> RuleConfig {
        RuleConfig {
            name: model.to_owned(),
            when: when.to_owned(),
            model: model.to_owned(),
            path: "rules[0]".to_owned(),
        }
    }

    fn prompt(text: &str) -> PromptFeatures {
        super::super::features::extract(&ChatRequest {
            model: "m".into(),
            messages: vec![Message::text(Role::User, text)],
            ..Default::default()
        })
    }

    #[test]
    fn examples_route_where_they_should() {
        let rules = Rules::compile(&[
            rule(r#"has(metadata.queue) && metadata.queue == "escalation""#, "claude-opus"),
            rule(r#"metadata.queue == "first-line""#, "deepseek"),
            rule(r#"(has(key.tier) && key.tier == "free") || (has(metadata.tier) && metadata.tier == "free")"#, "cheap"),
            rule(r#"prompt.language != "en" && prompt.language != "unknown""#, "gemini"),
            rule(r#"prompt.complexity == "simple" && prompt.task == "summarization""#, "mistral-small"),
            rule(r#"prompt.complexity == "complex""#, "claude-opus"),
            rule(r#"budget.spent_ratio > 0.8"#, "cheap"),
        ])
        .unwrap();
        let eval = |metadata: serde_json::Value, text: &str, spent: f64| {
            rules
                .evaluate(&RuleInput {
                    model: "auto",
                    metadata,
                    prompt: Some(prompt(text)),
                    budget_spent_ratio: spent,
                    prompt_fields: u16::MAX,
                    ..Default::default()
                })
                .map(|m| m.model)
        };
        assert_eq!(
            eval(json!({"queue": "escalation"}), "help", 0.0).as_deref(),
            Some("claude-opus")
        );
        assert_eq!(
            eval(json!({"queue": "first-line"}), "help", 0.0).as_deref(),
            Some("deepseek")
        );
        assert_eq!(
            eval(json!({"tier": "free"}), "hello", 0.0).as_deref(),
            Some("cheap")
        );
        assert_eq!(
            eval(
                json!({}),
                "¿Cómo puedo cambiar la contraseña de mi cuenta?",
                0.0
            )
            .as_deref(),
            Some("gemini")
        );
        assert_eq!(
            eval(
                json!({}),
                "Summarize this paragraph: the meeting moved.",
                0.0
            )
            .as_deref(),
            Some("mistral-small")
        );
        assert_eq!(
            eval(
                json!({}),
                "Analyze the trade-offs step by step and design a distributed lock service.",
                0.0
            )
            .as_deref(),
            Some("claude-opus")
        );
        assert_eq!(
            eval(json!({}), "hello there, what is the time", 0.9).as_deref(),
            Some("cheap")
        );
        assert_eq!(eval(json!({}), "hello there, what is the time", 0.1), None);
    }

    #[test]
    fn each_variable_is_there_for_the_rule_that_reads_it_alone() {
        let mut input = RuleInput {
            model: "gpt-4o",
            stream: true,
            metadata: serde_json::json!({"queue": "x"}),
            tags: vec!["vip".to_owned()],
            key: serde_json::json!({"team": "a"}),
            prompt: Some(prompt("hello there")),
            budget_spent_ratio: 0.75,
            prompt_fields: u16::MAX,
        };
        let cases = [
            r#"model == "gpt-4o""#,
            "stream",
            r#"metadata.queue == "x""#,
            r#""vip" in tags"#,
            r#"key.team == "a""#,
            "prompt.turns == 1u",
            "budget.spent_ratio > 0.5",
        ];
        for when in cases {
            let rules = Rules::compile(&[rule(when, "hit")]).unwrap();
            assert_eq!(
                rules.evaluate(&input).map(|m| m.model).as_deref(),
                Some("hit"),
                "{when}"
            );
        }
        input.model = "other";
        input.stream = false;
        input.metadata = serde_json::json!({"queue": "y"});
        input.tags = Vec::new();
        input.key = serde_json::json!({"team": "b"});
        input.prompt = Some(prompt("hello there. and again."));
        input.budget_spent_ratio = 0.25;
        for when in cases {
            let rules = Rules::compile(&[rule(when, "hit")]).unwrap();
            if when.starts_with("prompt") {
                continue; // one user turn either way
            }
            assert_eq!(rules.evaluate(&input), None, "{when}");
        }
    }

    #[test]
    fn only_what_rules_read_is_needed() {
        let meta = Rules::compile(&[rule(
            r#"has(metadata.tier) && metadata.tier == "free""#,
            "x",
        )])
        .unwrap();
        assert_eq!(
            meta.needs(),
            Needs {
                metadata: true,
                ..Needs::default()
            },
            "a metadata rule needs no prompt features (no full parse of the body)"
        );
        let lang = Rules::compile(&[rule(r#"prompt.language == "fr""#, "x")])
            .unwrap()
            .needs();
        assert!(lang.prompt && lang.features.language && !lang.features.complexity && !lang.texts);
        let text = Rules::compile(&[rule(r#"prompt.last_user_text.contains("refund")"#, "x")])
            .unwrap()
            .needs();
        assert!(text.prompt && text.texts && !text.features.language);
    }

    #[test]
    fn invalid_expressions_are_refused_with_a_pointed_message() {
        let err = Rules::compile(&[rule("prompt.tokens >", "x")]).unwrap_err();
        assert!(
            err.starts_with("rules[0].when: invalid CEL expression"),
            "{err}"
        );
        let err = Rules::compile(&[rule("promt.tokens > 5", "x")]).unwrap_err();
        assert!(err.contains("promt"), "{err}");
        let err = Rules::compile(&[rule("prompt.tokens", "x")]).unwrap_err();
        assert!(err.contains("must return a bool"), "{err}");
    }
}
