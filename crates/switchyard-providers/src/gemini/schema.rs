//! JSON Schema → Gemini's OpenAPI-subset `Schema` (for `parameters` and `responseSchema`).
//!
//! Gemini rejects keys outside its subset with `Invalid JSON payload received. Unknown name ...`
//! (providers.md 3.1, pitfall 9). The cleaner keeps an allowlist of keys, inlines local `$ref`s
//! (`#/$defs/X`, `#/definitions/X`; cycles and deep nesting collapse to a bare object), turns
//! null unions (`["string","null"]`, `anyOf: [X, {"type":"null"}]`) into `nullable: true`,
//! `oneOf` into `anyOf`, `const` into a one-value `enum`, flattens `allOf`, drops non-string
//! enums and formats Gemini does not know, and keeps `required` to declared properties.

use serde_json::{Map, Value};

/// Keys Gemini's `Schema` accepts (everything else is dropped).
const ALLOWED: &[&str] = &[
    "type",
    "format",
    "description",
    "nullable",
    "enum",
    "properties",
    "required",
    "items",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "minProperties",
    "maxProperties",
    "anyOf",
    "propertyOrdering",
];

/// Beyond this depth of `$ref` expansion a schema becomes `{"type": "object"}`.
const MAX_REF_DEPTH: usize = 8;

/// A cleaned copy of `schema`.
pub(crate) fn clean(schema: &Value) -> Value {
    let defs = collect_defs(schema);
    clean_node(schema, &defs, 0)
}

/// Cleans a function's `parameters`; `None` when Gemini should get no `parameters` at all
/// (an object without properties is rejected: `properties: should be non-empty for OBJECT type`).
pub(crate) fn clean_parameters(schema: &Value) -> Option<Value> {
    let cleaned = clean(schema);
    let empty_object = cleaned.get("type").and_then(Value::as_str) == Some("object")
        && cleaned
            .get("properties")
            .and_then(Value::as_object)
            .is_none_or(Map::is_empty);
    (!empty_object && cleaned.as_object().is_some_and(|o| !o.is_empty())).then_some(cleaned)
}

fn collect_defs(schema: &Value) -> Map<String, Value> {
    let mut defs = Map::new();
    for key in ["$defs", "definitions"] {
        if let Some(Value::Object(d)) = schema.get(key) {
            for (name, def) in d {
                defs.insert(format!("#/{key}/{name}"), def.clone());
            }
        }
    }
    defs
}

fn clean_node(node: &Value, defs: &Map<String, Value>, depth: usize) -> Value {
    let Value::Object(obj) = node else {
        // `true`/`{}`-like schemas: accept anything; Gemini needs a typed node.
        return Value::Object(Map::new());
    };
    if let Some(Value::String(r)) = obj.get("$ref") {
        return match defs.get(r) {
            Some(target) if depth < MAX_REF_DEPTH => {
                let mut merged = target.as_object().cloned().unwrap_or_default();
                // Sibling keys of `$ref` (e.g. `description`) win over the target's.
                for (k, v) in obj.iter().filter(|(k, _)| k.as_str() != "$ref") {
                    merged.insert(k.clone(), v.clone());
                }
                clean_node(&Value::Object(merged), defs, depth + 1)
            }
            _ => object_stub(obj),
        };
    }
    let mut obj = obj.clone();
    flatten_all_of(&mut obj);
    let mut out = Map::new();
    let mut nullable = obj.get("nullable").and_then(Value::as_bool) == Some(true);

    // type: a string, or an array with "null" → nullable, or several → anyOf.
    let mut any_of: Vec<Value> = Vec::new();
    match obj.get("type") {
        Some(Value::String(t)) if t == "null" => nullable = true,
        Some(Value::String(t)) => {
            out.insert("type".to_owned(), Value::String(t.clone()));
        }
        Some(Value::Array(types)) => {
            let real: Vec<&str> = types
                .iter()
                .filter_map(Value::as_str)
                .filter(|t| {
                    let is_null = *t == "null";
                    nullable |= is_null;
                    !is_null
                })
                .collect();
            match real.as_slice() {
                [] => {}
                [one] => {
                    out.insert("type".to_owned(), Value::String((*one).to_owned()));
                }
                many => any_of.extend(many.iter().map(|t| serde_json::json!({ "type": t }))),
            }
        }
        _ => {}
    }

    // anyOf / oneOf: drop null branches; a single remaining branch is merged into this node.
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = obj.get(key) {
            for b in branches {
                if b.get("type").and_then(Value::as_str) == Some("null") {
                    nullable = true;
                } else {
                    any_of.push(clean_node(b, defs, depth));
                }
            }
        }
    }
    if any_of.len() == 1 && !out.contains_key("type") {
        if let Some(Value::Object(single)) = any_of.pop() {
            for (k, v) in single {
                out.entry(k).or_insert(v);
            }
        }
    } else if !any_of.is_empty() {
        out.insert("anyOf".to_owned(), Value::Array(any_of));
    }

    // const → enum.
    if let Some(Value::String(c)) = obj.get("const") {
        out.insert(
            "enum".to_owned(),
            Value::Array(vec![Value::String(c.clone())]),
        );
        out.entry("type").or_insert_with(|| "string".into());
    }

    for (key, value) in &obj {
        if !ALLOWED.contains(&key.as_str()) || matches!(key.as_str(), "type" | "anyOf") {
            continue;
        }
        match key.as_str() {
            "properties" => {
                if let Value::Object(props) = value {
                    let cleaned: Map<String, Value> = props
                        .iter()
                        .map(|(k, v)| (k.clone(), clean_node(v, defs, depth)))
                        .collect();
                    if !cleaned.is_empty() {
                        out.insert(key.clone(), Value::Object(cleaned));
                    }
                }
            }
            "items" => {
                let item = match value {
                    Value::Array(tuple) => tuple.first().cloned().unwrap_or(Value::Null),
                    other => other.clone(),
                };
                out.insert(key.clone(), clean_node(&item, defs, depth));
            }
            "enum" => {
                if let Value::Array(values) = value {
                    let strings: Vec<Value> =
                        values.iter().filter(|v| !v.is_null()).cloned().collect();
                    nullable |= values.iter().any(Value::is_null);
                    if !strings.is_empty() && strings.iter().all(Value::is_string) {
                        out.insert(key.clone(), Value::Array(strings));
                    }
                }
            }
            "format" => {
                let ty = out.get("type").and_then(Value::as_str).unwrap_or_default();
                if format_supported(ty, value.as_str().unwrap_or_default()) {
                    out.insert(key.clone(), value.clone());
                }
            }
            "nullable" => {}
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }

    // Required names must be declared properties.
    if let Some(Value::Array(required)) = out.get("required") {
        let props = out.get("properties").and_then(Value::as_object);
        let kept: Vec<Value> = required
            .iter()
            .filter(|r| {
                r.as_str()
                    .is_some_and(|name| props.is_some_and(|p| p.contains_key(name)))
            })
            .cloned()
            .collect();
        if kept.is_empty() {
            out.remove("required");
        } else {
            out.insert("required".to_owned(), Value::Array(kept));
        }
    }
    if out.contains_key("enum") && !out.contains_key("type") {
        out.insert("type".to_owned(), "string".into());
    }
    if nullable {
        out.insert("nullable".to_owned(), Value::Bool(true));
    }
    Value::Object(out)
}

/// Merges `allOf` branches into the node (properties and required lists are unioned).
fn flatten_all_of(obj: &mut Map<String, Value>) {
    let Some(Value::Array(branches)) = obj.remove("allOf") else {
        return;
    };
    for branch in branches {
        let Value::Object(b) = branch else { continue };
        for (k, v) in b {
            match (k.as_str(), obj.get_mut(&k), v) {
                ("properties", Some(Value::Object(mine)), Value::Object(theirs)) => {
                    for (pk, pv) in theirs {
                        mine.entry(pk).or_insert(pv);
                    }
                }
                ("required", Some(Value::Array(mine)), Value::Array(theirs)) => {
                    for r in theirs {
                        if !mine.contains(&r) {
                            mine.push(r);
                        }
                    }
                }
                (_, Some(_), _) => {}
                (_, None, v) => {
                    obj.insert(k, v);
                }
            }
        }
    }
}

/// A recursive or unresolvable `$ref`: an untyped object, keeping its description.
fn object_stub(obj: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    out.insert("type".to_owned(), "object".into());
    if let Some(d) = obj.get("description") {
        out.insert("description".to_owned(), d.clone());
    }
    Value::Object(out)
}

/// Formats Gemini accepts per type; others are rejected upstream, so they are dropped.
fn format_supported(ty: &str, format: &str) -> bool {
    match ty {
        "string" => matches!(format, "enum" | "date-time"),
        "integer" => matches!(format, "int32" | "int64"),
        "number" => matches!(format, "float" | "double"),
        _ => false,
    }
}
