//! A Messages response in its common shape, read in one pass with the JSON scanner.
//!
//! The typed path ([`super::response::decode`]) deserialises the whole response with serde
//! first: its flattened `extra` maps and internally tagged content blocks buffer every member
//! into serde's intermediate `Content` tree and deserialise it a second time, ~16,500
//! instructions for a short text reply, a fifth of a cross-format request's work in the
//! gateway (docs/benchmarks.md). Here the scanner validates the body and hands over the few
//! members a `chat.completion` needs (id, model, text and tool-use blocks, stop reason, the
//! usage counts); nothing else is built.
//!
//! Only the shape providers send is read: text and tool-use blocks, string and count
//! members of the expected types, plain (unescaped) keys, no key twice. Anything else (a
//! thinking block, a count written `1.0`, a `null` where a string belongs, a body that is not
//! JSON) answers `None` and the typed path decodes the body, so both give the same answer,
//! error or not; a test checks it on every one-byte mutation of real responses.

use std::borrow::Cow;

use serde_json::Value;
use switchyard_types::anthropic as wire;
use switchyard_types::openai::{ChatResponse, Extra, ToolCall};
use switchyard_types::scan::{self, Member, ScanError};

use super::response::{arguments_string, completion, Decoded};

/// The response as a `chat.completion`, or `None` to leave the body to the typed path.
pub(crate) fn decode(body: &[u8]) -> Option<ChatResponse> {
    let mut r = Reply::default();
    let mut seen = 0u16;
    scan::walk(body, |m| {
        let key = m.key();
        if key.is_escaped() {
            return Err(bail(m));
        }
        let bit = match key.raw() {
            b"id" => 0,
            b"type" => 1,
            b"role" => 2,
            b"model" => 3,
            b"content" => 4,
            b"stop_reason" => 5,
            b"stop_sequence" => 6,
            b"usage" => 7,
            // Unmodelled members go to `extra`, which nobody reads: scanned only.
            _ => return Ok(()),
        };
        if seen & (1 << bit) != 0 {
            return Err(bail(m));
        }
        seen |= 1 << bit;
        match bit {
            0 => r.id = string(m)?,
            1 | 2 => {
                string(m)?;
            }
            3 => r.model = string(m)?,
            4 => {
                if !m.array(|b| block(b, &mut r))? {
                    return Err(bail(m));
                }
            }
            5 => r.stop_reason = string_or_null(m)?,
            6 => {
                string_or_null(m)?;
            }
            _ => r.usage = read_usage(m)?,
        }
        Ok(())
    })
    .ok()?;
    Some(completion(Decoded {
        id: r.id,
        model: r.model,
        text: r.text,
        reasoning: String::new(),
        tool_calls: r.tool_calls,
        extra: Extra::new(),
        stop_reason: r.stop_reason,
        usage: &r.usage,
    }))
}

#[derive(Default)]
struct Reply {
    id: String,
    model: String,
    text: String,
    tool_calls: Vec<ToolCall>,
    stop_reason: Option<String>,
    usage: wire::Usage,
}

/// Leaves the body to the typed path: an error that stops the walk (never shown to anyone).
#[cold]
fn bail(m: &Member<'_, '_>) -> ScanError {
    m.invalid("not the common shape")
}

/// A string member (`null` and other types bail: the typed path refuses or reads them).
fn string(m: &mut Member<'_, '_>) -> Result<String, ScanError> {
    if m.first() != Some(b'"') {
        return Err(bail(m));
    }
    m.str()?.map(Cow::into_owned).ok_or_else(|| bail(m))
}

fn string_or_null(m: &mut Member<'_, '_>) -> Result<Option<String>, ScanError> {
    match m.first() {
        Some(b'"' | b'n') => Ok(m.str()?.map(Cow::into_owned)),
        _ => Err(bail(m)),
    }
}

/// One content block: text appended, a tool use kept; any other block bails.
fn block(b: &mut Member<'_, '_>, r: &mut Reply) -> Result<(), ScanError> {
    let mut kind: Option<Cow<'_, str>> = None;
    let mut text: Option<Cow<'_, str>> = None;
    let mut id = None;
    let mut name = None;
    let mut input: Option<&[u8]> = None;
    let mut seen = 0u8;
    let is_object = b.object(|f| {
        let key = f.key();
        if key.is_escaped() {
            return Err(bail(f));
        }
        let bit = match key.raw() {
            b"type" => 0,
            b"text" => 1,
            b"id" => 2,
            b"name" => 3,
            b"input" => 4,
            _ => return Ok(()),
        };
        if seen & (1 << bit) != 0 {
            return Err(bail(f));
        }
        seen |= 1 << bit;
        if bit == 4 {
            input = Some(f.raw()?);
            return Ok(());
        }
        if f.first() != Some(b'"') {
            return Err(bail(f));
        }
        let value = f.str()?;
        match bit {
            0 => kind = value,
            1 => text = value,
            2 => id = value,
            _ => name = value,
        }
        Ok(())
    })?;
    if !is_object {
        return Err(bail(b));
    }
    match kind.as_deref() {
        Some("text") => {
            let Some(text) = text else {
                return Err(bail(b));
            };
            r.text.push_str(&text);
        }
        Some("tool_use") => {
            let (Some(id), Some(name)) = (id, name) else {
                return Err(bail(b));
            };
            let input = match input {
                Some(raw) => serde_json::from_slice::<Value>(raw).map_err(|_| bail(b))?,
                None => Value::Null,
            };
            r.tool_calls.push(ToolCall::function(
                id.into_owned(),
                name.into_owned(),
                arguments_string(&input),
            ));
        }
        _ => return Err(bail(b)),
    }
    Ok(())
}

/// `usage`: the four counts (a count or `null`); `output_tokens_details` and odd values bail,
/// anything else is scanned only.
fn read_usage(m: &mut Member<'_, '_>) -> Result<wire::Usage, ScanError> {
    let mut u = wire::Usage::default();
    let mut seen = 0u8;
    let is_object = m.object(|f| {
        let key = f.key();
        if key.is_escaped() {
            return Err(bail(f));
        }
        let (bit, slot) = match key.raw() {
            b"input_tokens" => (0, &mut u.input_tokens),
            b"cache_creation_input_tokens" => (1, &mut u.cache_creation_input_tokens),
            b"cache_read_input_tokens" => (2, &mut u.cache_read_input_tokens),
            b"output_tokens" => (3, &mut u.output_tokens),
            b"output_tokens_details" => return Err(bail(f)),
            _ => return Ok(()),
        };
        if seen & (1 << bit) != 0 {
            return Err(bail(f));
        }
        seen |= 1 << bit;
        if f.first() == Some(b'n') {
            return match f.raw()? {
                b"null" => Ok(()),
                _ => Err(bail(f)),
            };
        }
        *slot = Some(f.count()?.ok_or_else(|| bail(f))?);
        Ok(())
    })?;
    if !is_object {
        return Err(bail(m));
    }
    Ok(u)
}
