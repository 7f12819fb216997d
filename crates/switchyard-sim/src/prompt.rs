//! The dialect-neutral view of a chat request that reply planning works from.

use std::borrow::Cow;

use serde_json::Value;

use crate::content::Hasher;
use crate::fault::Directives;

/// A function tool offered by the client.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tool<'a> {
    pub(crate) name: &'a str,
    pub(crate) schema: Option<&'a Value>,
}

/// What the client allows the model to do with tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ToolChoice<'a> {
    None,
    Auto,
    Forced(&'a str),
}

/// Structured output requested by the client.
#[derive(Debug, Clone, Copy)]
pub(crate) enum JsonMode<'a> {
    Schema(&'a Value),
    Object,
}

/// Who spoke last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LastTurn {
    User,
    ToolResult,
    Other,
}

/// Everything reply planning needs, borrowed from the parsed request body.
#[derive(Debug)]
pub(crate) struct Prompt<'a> {
    pub(crate) hasher: Hasher,
    pub(crate) input_chars: usize,
    pub(crate) last_user_text: Cow<'a, str>,
    pub(crate) last_turn: LastTurn,
    pub(crate) tool_results: Vec<Cow<'a, str>>,
    pub(crate) images: usize,
    pub(crate) tools: Vec<Tool<'a>>,
    pub(crate) tool_choice: ToolChoice<'a>,
    pub(crate) parallel: bool,
    pub(crate) max_tokens: Option<u64>,
    pub(crate) stop: Vec<&'a str>,
    pub(crate) json: Option<JsonMode<'a>>,
    pub(crate) reasoning: bool,
    pub(crate) directives: Directives,
}

impl Default for Prompt<'_> {
    fn default() -> Self {
        Self {
            hasher: Hasher::default(),
            input_chars: 0,
            last_user_text: Cow::Borrowed(""),
            last_turn: LastTurn::Other,
            tool_results: Vec::new(),
            images: 0,
            tools: Vec::new(),
            tool_choice: ToolChoice::Auto,
            parallel: true,
            max_tokens: None,
            stop: Vec::new(),
            json: None,
            reasoning: false,
            directives: Directives::default(),
        }
    }
}

impl<'a> Prompt<'a> {
    /// Accounts one piece of input text: hash, size and `[[sim:...]]` directives.
    pub(crate) fn add_text(&mut self, text: &str) {
        self.hasher.write(text.as_bytes());
        self.input_chars += text.chars().count();
        if text.contains("[[sim:") {
            self.directives.scan(text);
        }
    }

    /// Records a user turn made of these text parts.
    pub(crate) fn set_user_turn(&mut self, texts: &[&'a str]) {
        self.last_turn = LastTurn::User;
        self.tool_results.clear();
        self.last_user_text = match texts {
            [] => Cow::Borrowed(""),
            [one] => Cow::Borrowed(one),
            many => Cow::Owned(many.concat()),
        };
    }

    /// Records a tool result; consecutive results accumulate.
    pub(crate) fn push_tool_result(&mut self, content: Cow<'a, str>) {
        if self.last_turn != LastTurn::ToolResult {
            self.tool_results.clear();
        }
        self.last_turn = LastTurn::ToolResult;
        self.tool_results.push(content);
    }

    pub(crate) fn seed(&self) -> u64 {
        self.hasher.finish()
    }
}

/// Concatenated text of a JSON string or an array of `{"text": ...}` parts.
pub(crate) fn text_of(value: &Value) -> Cow<'_, str> {
    match value {
        Value::String(s) => Cow::Borrowed(s.as_str()),
        Value::Array(parts) => {
            let mut texts = parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str));
            match (texts.next(), texts.next()) {
                (None, _) => Cow::Borrowed(""),
                (Some(one), None) => Cow::Borrowed(one),
                (Some(a), Some(b)) => {
                    let mut s = String::from(a);
                    s.push_str(b);
                    texts.for_each(|t| s.push_str(t));
                    Cow::Owned(s)
                }
            }
        }
        Value::Null => Cow::Borrowed(""),
        other => Cow::Owned(other.to_string()),
    }
}
