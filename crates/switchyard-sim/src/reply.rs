//! Reply planning: turns a [`Prompt`] into deterministic text, reasoning or tool calls.

use serde_json::{json, Value};

use crate::content::{self, REASONING};
use crate::prompt::{JsonMode, LastTurn, Prompt, ToolChoice};
use crate::SimConfig;

/// Why generation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Finish {
    Stop,
    Length,
    ToolCalls,
    StopSequence(String),
}

/// One planned tool call.
#[derive(Debug, Clone)]
pub(crate) struct Call<'a> {
    pub(crate) name: &'a str,
    pub(crate) args: Value,
    pub(crate) args_json: String,
}

/// The planned reply, rendered by each dialect.
#[derive(Debug, Clone)]
pub(crate) struct Reply<'a> {
    pub(crate) reasoning: Option<&'static str>,
    pub(crate) text: String,
    pub(crate) calls: Vec<Call<'a>>,
    pub(crate) finish: Finish,
    pub(crate) prompt_tokens: u64,
    pub(crate) completion_tokens: u64,
    pub(crate) reasoning_tokens: u64,
    pub(crate) chunks: usize,
}

pub(crate) fn plan<'a>(prompt: &Prompt<'a>, config: &SimConfig) -> Reply<'a> {
    let reasoning = prompt.reasoning.then_some(REASONING);
    let reasoning_tokens = reasoning.map_or(0, content::word_count);
    let mut reply = Reply {
        reasoning,
        text: String::new(),
        calls: Vec::new(),
        finish: Finish::Stop,
        prompt_tokens: content::tokens_for_chars(prompt.input_chars),
        completion_tokens: reasoning_tokens,
        reasoning_tokens,
        chunks: prompt.directives.chunks.unwrap_or(config.chunks).max(1),
    };
    let wants_tool = !prompt.tools.is_empty()
        && prompt.tool_choice != ToolChoice::None
        && prompt.last_turn == LastTurn::User;
    if wants_tool {
        plan_calls(prompt, &mut reply);
        return reply;
    }
    let mut text = base_text(prompt, config);
    if let Some(cap) = prompt.max_tokens {
        let cap = usize::try_from(cap).unwrap_or(usize::MAX);
        if content::word_count(&text) > cap as u64 {
            text = content::first_words(&text, cap).to_owned();
            reply.finish = Finish::Length;
        }
    }
    let earliest = prompt
        .stop
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| text.find(*s).map(|at| (at, *s)))
        .min_by_key(|(at, _)| *at);
    if let Some((at, stop)) = earliest {
        text.truncate(at);
        reply.finish = Finish::StopSequence(stop.to_owned());
    }
    reply.completion_tokens += content::word_count(&text);
    reply.text = text;
    reply
}

fn plan_calls<'a>(prompt: &Prompt<'a>, reply: &mut Reply<'a>) {
    let tools = &prompt.tools;
    let picked: Vec<_> = match prompt.tool_choice {
        ToolChoice::Forced(name) => vec![tools
            .iter()
            .copied()
            .find(|t| t.name == name)
            .unwrap_or(crate::prompt::Tool { name, schema: None })],
        ToolChoice::Auto | ToolChoice::None => {
            let parallel =
                prompt.parallel && tools.len() >= 2 && prompt.last_user_text.contains("parallel");
            tools
                .iter()
                .copied()
                .take(if parallel { 2 } else { 1 })
                .collect()
        }
    };
    for tool in picked {
        let args = tool.schema.map_or_else(|| json!({}), content::sample);
        let args_json = args.to_string();
        reply.completion_tokens += content::tokens_for_chars(tool.name.len() + args_json.len());
        reply.calls.push(Call {
            name: tool.name,
            args,
            args_json,
        });
    }
    reply.finish = Finish::ToolCalls;
}

fn base_text(prompt: &Prompt<'_>, config: &SimConfig) -> String {
    let seed = prompt.seed();
    let words = prompt.directives.words.unwrap_or(config.words);
    let body = if prompt.last_turn == LastTurn::ToolResult {
        let mut s = String::from("tool said: ");
        for (i, result) in prompt.tool_results.iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(result);
        }
        s
    } else if let Some(rest) = prompt.last_user_text.strip_prefix("echo:") {
        rest.trim_start().to_owned()
    } else {
        match prompt.json {
            Some(JsonMode::Schema(schema)) => return content::sample(schema).to_string(),
            Some(JsonMode::Object) => {
                return json!({ "text": content::words(seed, words) }).to_string()
            }
            None => content::words(seed, words),
        }
    };
    match prompt.images {
        0 => body,
        1 => format!("I see 1 image. {body}"),
        n => format!("I see {n} images. {body}"),
    }
}
