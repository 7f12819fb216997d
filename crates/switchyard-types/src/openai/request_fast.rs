//! A chat request read in one pass with the JSON scanner, for the translated path.
//!
//! `serde_json::from_slice::<ChatRequest>` buffers every unknown member and every message's
//! content through serde's intermediate `Content` tree (flattened `extra` maps, an untagged
//! content enum): ~6,100 instructions for a two-message request, the largest piece of the
//! gateway's own work on a cross-format request once the reply side was cut
//! (docs/benchmarks.md). Here the scanner validates the body and hands over each member:
//! strings are borrowed or unescaped in place, messages read member by member, and every other
//! value (numbers, `stop`, `tools`, `tool_choice`, structured content, unknown members) is
//! deserialised from its own bytes with `serde_json` as the whole would deserialise it: the
//! derive reads known members of a struct with a flattened map one by one from the stream, so
//! each value sees the same deserialiser either way.
//!
//! Anything out of the ordinary (an escaped or repeated key, a role it does not name, a value
//! of the wrong type, a missing `model` or `messages`, a body that is not JSON) answers `None`,
//! and [`ChatRequest::from_json`] takes serde's answer, so errors are serde's own. A test checks
//! that both agree on every one-byte mutation of real requests.

use std::borrow::Cow;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{ChatRequest, Content, Extra, Message, Role};
use crate::scan::{self, Member, ScanError};

impl ChatRequest {
    /// Parses a chat request: in one pass when it has the common shape, else with serde (whose
    /// error it returns). Always the value `serde_json::from_slice` gives.
    pub fn from_json(body: &[u8]) -> serde_json::Result<ChatRequest> {
        match read(body) {
            Some(req) => Ok(req),
            None => serde_json::from_slice(body),
        }
    }
}

/// Stops the walk: the body is left to serde (never shown to anyone).
#[cold]
fn bail(m: &Member<'_, '_>) -> ScanError {
    m.invalid("not the common shape")
}

/// A member's value deserialised from its own bytes, as the derive would read it in place.
fn value<T: DeserializeOwned>(m: &mut Member<'_, '_>) -> Result<T, ScanError> {
    let raw = m.raw()?;
    serde_json::from_slice(raw).map_err(|_| bail(m))
}

/// A string member; `null` reads as `None` when `nullable`.
fn string(m: &mut Member<'_, '_>, nullable: bool) -> Result<Option<String>, ScanError> {
    match m.first() {
        Some(b'"') => Ok(m.str()?.map(Cow::into_owned)),
        Some(b'n') if nullable => match m.raw()? {
            b"null" => Ok(None),
            _ => Err(bail(m)),
        },
        _ => Err(bail(m)),
    }
}

/// Marks member `bit` as seen; a repeated member bails (serde refuses or merges it).
fn once(seen: &mut u32, bit: u32, m: &Member<'_, '_>) -> Result<(), ScanError> {
    if *seen & (1 << bit) != 0 {
        return Err(bail(m));
    }
    *seen |= 1 << bit;
    Ok(())
}

fn read(body: &[u8]) -> Option<ChatRequest> {
    let mut r = ChatRequest::default();
    let mut seen = 0u32;
    let mut model = false;
    let mut messages = false;
    scan::walk(body, |m| {
        let key = m.key();
        if key.is_escaped() {
            return Err(bail(m));
        }
        let bit = match key.raw() {
            b"model" => 0,
            b"messages" => 1,
            b"stream" => 2,
            b"stream_options" => 3,
            b"temperature" => 4,
            b"top_p" => 5,
            b"max_tokens" => 6,
            b"max_completion_tokens" => 7,
            b"stop" => 8,
            b"n" => 9,
            b"seed" => 10,
            b"user" => 11,
            b"tools" => 12,
            b"tool_choice" => 13,
            b"parallel_tool_calls" => 14,
            b"response_format" => 15,
            b"presence_penalty" => 16,
            b"frequency_penalty" => 17,
            b"reasoning_effort" => 18,
            other => {
                let name = std::str::from_utf8(other).map_err(|_| bail(m))?.to_owned();
                let v: Value = value(m)?;
                if r.extra.insert(name, v).is_some() {
                    return Err(bail(m));
                }
                return Ok(());
            }
        };
        once(&mut seen, bit, m)?;
        match bit {
            0 => {
                r.model = string(m, false)?.unwrap_or_default();
                model = true;
            }
            1 => {
                let mut list = Vec::new();
                if !m.array(|e| {
                    list.push(message(e)?);
                    Ok(())
                })? {
                    return Err(bail(m));
                }
                r.messages = list;
                messages = true;
            }
            2 => r.stream = value(m)?,
            3 => r.stream_options = value(m)?,
            4 => r.temperature = value(m)?,
            5 => r.top_p = value(m)?,
            6 => r.max_tokens = value(m)?,
            7 => r.max_completion_tokens = value(m)?,
            8 => r.stop = value(m)?,
            9 => r.n = value(m)?,
            10 => r.seed = value(m)?,
            11 => r.user = string(m, true)?,
            12 => r.tools = value(m)?,
            13 => r.tool_choice = value(m)?,
            14 => r.parallel_tool_calls = value(m)?,
            15 => r.response_format = value(m)?,
            16 => r.presence_penalty = value(m)?,
            17 => r.frequency_penalty = value(m)?,
            _ => r.reasoning_effort = string(m, true)?,
        }
        Ok(())
    })
    .ok()?;
    (model && messages).then_some(r)
}

/// One message of the common shape.
fn message(e: &mut Member<'_, '_>) -> Result<Message, ScanError> {
    let mut role = None;
    let mut content = None;
    let mut name = None;
    let mut tool_calls = None;
    let mut tool_call_id = None;
    let mut refusal = None;
    let mut reasoning_content = None;
    let mut extra = Extra::new();
    let mut seen = 0u32;
    let is_object = e.object(|f| {
        let key = f.key();
        if key.is_escaped() {
            return Err(bail(f));
        }
        let bit = match key.raw() {
            b"role" => 0,
            b"content" => 1,
            b"name" => 2,
            b"tool_calls" => 3,
            b"tool_call_id" => 4,
            b"refusal" => 5,
            b"reasoning_content" => 6,
            other => {
                let name = std::str::from_utf8(other).map_err(|_| bail(f))?.to_owned();
                let v: Value = value(f)?;
                if extra.insert(name, v).is_some() {
                    return Err(bail(f));
                }
                return Ok(());
            }
        };
        once(&mut seen, bit, f)?;
        match bit {
            0 => {
                role = Some(match string(f, false)?.as_deref() {
                    Some("system") => Role::System,
                    Some("developer") => Role::Developer,
                    Some("user") => Role::User,
                    Some("assistant") => Role::Assistant,
                    Some("tool") => Role::Tool,
                    Some("function") => Role::Function,
                    _ => return Err(bail(f)),
                })
            }
            1 => {
                content = match f.first() {
                    Some(b'"') => f.str()?.map(|s| Content::Text(s.into_owned())),
                    _ => value(f)?,
                }
            }
            2 => name = string(f, true)?,
            3 => tool_calls = value(f)?,
            4 => tool_call_id = string(f, true)?,
            5 => refusal = string(f, true)?,
            _ => reasoning_content = string(f, true)?,
        }
        Ok(())
    })?;
    let (true, Some(role)) = (is_object, role) else {
        return Err(bail(e));
    };
    Ok(Message {
        role,
        content,
        name,
        tool_calls,
        tool_call_id,
        refusal,
        reasoning_content,
        extra,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mutate::one_byte_mutations;

    /// Requests as the official SDKs send them: a plain chat, and a tool loop with every
    /// message form, structured content and most parameters.
    const PLAIN: &str = r#"{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a concise assistant."},{"role":"user","content":"Write one short sentence about switchyards and trains."}],"max_tokens":64,"temperature":0.2}"#;
    const TOOLS: &str = r#"{"model":"claude-sonnet-4-5","messages":[{"role":"developer","content":"Use tools.","name":"ops"},{"role":"user","content":[{"type":"text","text":"Weather in \"Paris\"?\n"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo=","detail":"low"}}]},{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}],"refusal":null,"reasoning_content":"think"},{"role":"tool","tool_call_id":"call_1","content":"15 °C"}],"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}],"tool_choice":"auto","parallel_tool_calls":false,"stream":true,"stream_options":{"include_usage":true},"stop":["\n\n","END"],"top_p":0.9,"max_completion_tokens":256,"n":1,"seed":-7,"user":"u-1","response_format":{"type":"json_object"},"presence_penalty":0.5,"frequency_penalty":-0.25,"reasoning_effort":"low","metadata":{"trace":[1,2.5,null,true]},"logit_bias":{"50256":-100}}"#;

    #[test]
    fn sdk_requests_are_read_in_one_pass() {
        for body in [PLAIN, TOOLS] {
            let fast = read(body.as_bytes()).expect("the one-pass reader answers");
            let serde: ChatRequest = serde_json::from_slice(body.as_bytes()).unwrap();
            assert_eq!(fast, serde);
        }
    }

    /// Where the one-pass reader answers, serde gives the same request: on every one-byte
    /// change, insertion and deletion of the requests above.
    #[test]
    fn the_one_pass_reader_agrees_with_serde_on_mutated_requests() {
        const BYTES: &[u8] = b"\"\\{}[],:0 n.e-t";
        let mut answered = 0;
        let mut check = |body: &[u8]| {
            if let Some(fast) = read(body) {
                answered += 1;
                let serde: Result<ChatRequest, _> = serde_json::from_slice(body);
                assert_eq!(
                    Some(&fast),
                    serde.as_ref().ok(),
                    "{}",
                    String::from_utf8_lossy(body)
                );
            }
        };
        for seed in [PLAIN, TOOLS] {
            let seed = seed.as_bytes();
            one_byte_mutations(seed, BYTES, &mut check);
        }
        assert!(answered > 5_000, "{answered} answered");
    }

    /// Shapes at the edge of the one-pass reader parse as serde parses them: the same request
    /// or an error (with serde's message).
    #[test]
    fn odd_shapes_parse_as_serde_parses_them() {
        for body in [
            r#"{"model":"m","model":"n","messages":[]}"#,
            r#"{"\u006dodel":"m","messages":[]}"#,
            r#"{"model":null,"messages":[]}"#,
            r#"{"messages":[]}"#,
            r#"{"model":"m"}"#,
            r#"{"model":"m","messages":null}"#,
            r#"{"model":"m","messages":[{"role":"User","content":"x"}]}"#,
            r#"{"model":"m","messages":[{"content":"x"}]}"#,
            r#"{"model":"m","messages":[{"role":"user","content":7}]}"#,
            r#"{"model":"m","messages":[{"role":"user","content":"a","content":"b"}]}"#,
            r#"{"model":"m","messages":[{"role":"user","x":1,"x":2}]}"#,
            r#"{"model":"m","messages":[{"role":"user","name":5}]}"#,
            r#"{"model":"m","messages":["user"]}"#,
            r#"{"model":"m","messages":[],"n":1.5}"#,
            r#"{"model":"m","messages":[],"max_tokens":-1}"#,
            r#"{"model":"m","messages":[],"temperature":1e400}"#,
            r#"{"model":"m","messages":[],"stop":"END"}"#,
            r#"{"model":"m","messages":[],"stop":7}"#,
            r#"{"model":"m","messages":[],"stream":"yes"}"#,
            r#"{"model":"m","messages":[],"user":null,"reasoning_effort":null}"#,
            r#"{"model":"m","messages":[],"extra":1,"extra":2}"#,
            r#"{"model":"m","messages":[],"big":18446744073709551616,"neg":-0.0}"#,
            r#"{"model":"m","messages":[]} x"#,
            r#"[]"#,
        ] {
            let ours = ChatRequest::from_json(body.as_bytes()).map_err(|e| e.to_string());
            let serde =
                serde_json::from_slice::<ChatRequest>(body.as_bytes()).map_err(|e| e.to_string());
            assert_eq!(ours, serde, "{body}");
        }
    }
}
