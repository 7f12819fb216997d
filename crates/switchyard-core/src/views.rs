//! What the gateway reads of what it forwards unchanged: a same-format reply (its usage, and
//! proof that it is one) and each same-format stream event (of an OpenAI chunk its identity,
//! deltas, finish, usage and error; of an Anthropic event its type, text, stop reason, usage
//! and error). The bytes themselves go to the client as they came; these views only feed
//! accounting and the stream's tap.
//!
//! Written by hand rather than derived because they run once per request and once per stream
//! event: keys are matched as bytes ([`KeyIn`]) instead of being checked for UTF-8 and compared
//! as strings, strings are borrowed where they have no escapes, and every member the gateway
//! does not read (`object`, `index`, `logprobs`, `system_fingerprint`, a reply's whole
//! `choices`, ...) is skipped unparsed. The reply views validate the whole body with
//! [`scan`] (a reply that is not JSON fails as malformed instead of reaching the client as a
//! success) and parse only its `usage`.

use std::borrow::Cow;

use smallvec::SmallVec;
use switchyard_types::openai::{FinishReason, Usage};
use switchyard_types::scan::{self, ScanError};

// The `serde` visitors the Anthropic views were read with, kept as the reference the scanning
// readers are tested against.
#[cfg(test)]
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
#[cfg(test)]
use serde::Deserialize;
#[cfg(test)]
use std::fmt;
#[cfg(test)]
use switchyard_types::keys::{CowStr, KeyIn};
#[cfg(test)]
use switchyard_types::openai::LenientCount;

/// One `chat.completion.chunk`, as far as the tap needs it.
#[derive(Default)]
pub(crate) struct OaChunkView<'a> {
    pub id: Option<Cow<'a, str>>,
    pub model: Option<Cow<'a, str>>,
    pub created: Option<u64>,
    /// Empty when absent or `null`; one inline (a chunk almost always has one choice).
    pub choices: SmallVec<[OaChoiceView<'a>; 1]>,
    /// Raw (never `null`), parsed on its own: an odd usage object must not break the stream.
    pub usage: Option<&'a [u8]>,
    pub error: Option<serde_json::Value>,
}

/// One entry of `choices`.
#[derive(Default)]
pub(crate) struct OaChoiceView<'a> {
    pub delta: Option<OaDeltaView<'a>>,
    pub finish_reason: Option<FinishReason>,
}

/// A choice's `delta`.
#[derive(Default)]
pub(crate) struct OaDeltaView<'a> {
    pub content: Option<Cow<'a, str>>,
    pub reasoning_content: Option<Cow<'a, str>>,
    pub reasoning: Option<Cow<'a, str>>,
    pub tool_calls: bool,
}

/// The next value of `map` as an optional string, borrowed where it can be.
#[cfg(test)]
fn text<'de: 'a, 'a, A: MapAccess<'de>>(map: &mut A) -> Result<Option<Cow<'a, str>>, A::Error> {
    Ok(map.next_value::<Option<CowStr<'a>>>()?.map(|t| t.0))
}

/// A finish reason off the wire. One this gateway does not know (`model_length`, `abort`,
/// `insufficient_system_resource` from OpenAI-compatible providers) still says the choice
/// finished: the chunk is forwarded as it came, and the tap counts it as a stop.
fn finish_reason(wire: &str) -> FinishReason {
    match wire {
        "length" => FinishReason::Length,
        "tool_calls" => FinishReason::ToolCalls,
        "content_filter" => FinishReason::ContentFilter,
        "function_call" => FinishReason::FunctionCall,
        _ => FinishReason::Stop,
    }
}

/// A `Deserialize` for an object type whose visitor fills a default value member by member.
#[cfg(test)]
macro_rules! object_view {
    (
        $ty:ident $(<$lt:lifetime>)?, $what:literal, $names:expr,
        |$view:ident, $map:ident, $index:ident| $body:block
    ) => {
        impl<'de $(: $lt, $lt)?> Deserialize<'de> for $ty$(<$lt>)? {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V$(<$lt>)?(std::marker::PhantomData<($(&$lt (),)?)>);
                impl<'de $(: $lt, $lt)?> Visitor<'de> for V$(<$lt>)? {
                    type Value = $ty$(<$lt>)?;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($what)
                    }
                    fn visit_map<A: MapAccess<'de>>(
                        self,
                        mut $map: A,
                    ) -> Result<Self::Value, A::Error> {
                        let mut $view = <$ty$(<$lt>)?>::default();
                        while let Some(key) = $map.next_key_seed(KeyIn($names))? {
                            let Some($index) = key else {
                                $map.next_value::<IgnoredAny>()?;
                                continue;
                            };
                            $body
                        }
                        Ok($view)
                    }
                }
                d.deserialize_map(V(std::marker::PhantomData))
            }
        }
    };
}

impl<'a> OaChunkView<'a> {
    /// A chunk read on its own (tests).
    #[cfg(test)]
    pub(crate) fn read(data: &'a [u8], identity: bool) -> Result<Self, ScanError> {
        let mut view = Self::default();
        view.read_into(data, identity)?;
        Ok(view)
    }

    /// Reads one chunk's `data` in one pass of [`scan`] (which also validates it) into a view
    /// the caller holds, fresh (a few hundred bytes: built in place, not copied out on every
    /// event). With `identity` false, `id`, `model` and `created` (known from the first chunk)
    /// are scanned but not read. A member of the wrong type is an error, as it is to a typed
    /// parser.
    pub(crate) fn read_into(&mut self, data: &'a [u8], identity: bool) -> Result<(), ScanError> {
        scan::walk(data, |m| {
            let key = m.key();
            match (&*key.resolved(), identity) {
                (b"choices", _) => {
                    self.choices.clear();
                    m.array_or_null("invalid type: expected an array of choices", |c| {
                        self.choices.push(OaChoiceView::default());
                        match self.choices.last_mut() {
                            Some(choice) => choice.read_into(c),
                            None => Ok(()),
                        }
                    })?;
                }
                (b"usage", _) => self.usage = Some(m.raw()?).filter(|u| *u != b"null"),
                (b"error", _) => {
                    let raw = m.raw()?;
                    self.error = serde_json::from_slice::<Option<serde_json::Value>>(raw)
                        .map_err(|_| m.invalid("invalid error object"))?;
                }
                (b"id", true) => self.id = m.str()?,
                (b"model", true) => self.model = m.str()?,
                (b"created", true) => {
                    self.created = match m.count()? {
                        Some(n) => Some(n),
                        None if m.raw()? == b"null" => None,
                        None => return Err(m.invalid("invalid type: expected an integer")),
                    }
                }
                _ => {}
            }
            Ok(())
        })
    }
}

impl<'a> OaChoiceView<'a> {
    fn read_into(&mut self, m: &mut scan::Member<'_, 'a>) -> Result<(), ScanError> {
        let is_object = m.object(|f| {
            match &*f.key().resolved() {
                b"delta" => {
                    let delta = self.delta.insert(OaDeltaView::default());
                    if !f.object_or_null("invalid type: expected a delta object", |d| {
                        delta.read_member(d)
                    })? {
                        self.delta = None;
                    }
                }
                b"finish_reason" => self.finish_reason = f.str()?.map(|r| finish_reason(&r)),
                _ => {}
            }
            Ok(())
        })?;
        if !is_object {
            return Err(m.invalid("invalid type: expected a stream choice object"));
        }
        Ok(())
    }
}

impl<'a> OaDeltaView<'a> {
    fn read_member(&mut self, d: &mut scan::Member<'_, 'a>) -> Result<(), ScanError> {
        match &*d.key().resolved() {
            b"content" => self.content = d.str()?,
            b"reasoning_content" => self.reasoning_content = d.str()?,
            b"reasoning" => self.reasoning = d.str()?,
            b"tool_calls" => self.tool_calls = d.raw()? != b"null",
            _ => {}
        }
        Ok(())
    }
}

/// One Anthropic stream event (`message_start`, `content_block_delta`, `message_delta`, ...).
#[derive(Debug, Default, PartialEq)]
pub(crate) struct AnEventView<'a> {
    /// The event's `type`.
    pub kind: Cow<'a, str>,
    /// `message_start`: its usage.
    pub message_usage: Option<AnUsage>,
    pub delta: Option<AnDeltaView<'a>>,
    pub usage: Option<AnUsage>,
    /// `content_block_start`: the block's `type`.
    pub block_kind: Option<Cow<'a, str>>,
    pub error: Option<serde_json::Value>,
}

/// A `delta`: text, thinking, or the message's stop reason.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct AnDeltaView<'a> {
    pub text: Option<Cow<'a, str>>,
    pub thinking: Option<Cow<'a, str>>,
    pub stop_reason: Option<Cow<'a, str>>,
}

/// Token counts of an Anthropic `usage` object. A count that is not a non-negative integer
/// marks the object `odd` (unknown usage) instead of failing the reply or the stream, as an
/// OpenAI usage object is read ([`Usage::read_lenient`]); `null` counts as absent.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AnUsage {
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub cache_read_input_tokens: Option<u64>,
    pub cache_creation_input_tokens: Option<u64>,
    pub odd: bool,
}

/// `message` of `message_start`, as far as its usage (the test reference's).
#[cfg(test)]
#[derive(Default)]
struct AnMessageView {
    usage: Option<AnUsage>,
}

/// `content_block` of `content_block_start`, as far as its type (the test reference's).
#[cfg(test)]
#[derive(Default)]
struct AnBlockView<'a> {
    kind: Option<Cow<'a, str>>,
}

#[cfg(test)]
object_view!(
    AnEventView<'a>,
    "a stream event object",
    &[
        "type",
        "message",
        "delta",
        "usage",
        "content_block",
        "error"
    ],
    |view, map, i| {
        match i {
            0 => view.kind = text(&mut map)?.unwrap_or_default(),
            1 => {
                view.message_usage = map
                    .next_value::<Option<AnMessageView>>()?
                    .and_then(|m| m.usage)
            }
            2 => view.delta = map.next_value()?,
            3 => view.usage = map.next_value()?,
            4 => {
                view.block_kind = map
                    .next_value::<Option<AnBlockView<'a>>>()?
                    .and_then(|b| b.kind)
            }
            _ => view.error = map.next_value()?,
        }
    }
);

#[cfg(test)]
object_view!(
    AnDeltaView<'a>,
    "a delta object",
    &["text", "thinking", "stop_reason"],
    |view, map, i| {
        match i {
            0 => view.text = text(&mut map)?,
            1 => view.thinking = text(&mut map)?,
            _ => view.stop_reason = text(&mut map)?,
        }
    }
);

#[cfg(test)]
object_view!(
    AnBlockView<'a>,
    "a content block object",
    &["type"],
    |view, map, _i| {
        view.kind = text(&mut map)?;
    }
);

#[cfg(test)]
object_view!(
    AnMessageView,
    "a message object",
    &["usage"],
    |view, map, _i| {
        view.usage = map.next_value()?;
    }
);

/// Any JSON value: an object is read member by member; anything else (a number, a string, an
/// array) is an odd usage rather than a failed reply or event. (The reference the scanning
/// reader is tested against.)
#[cfg(test)]
impl<'de> Deserialize<'de> for AnUsage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        const NAMES: &[&str] = &[
            "input_tokens",
            "output_tokens",
            "cache_read_input_tokens",
            "cache_creation_input_tokens",
        ];
        struct V;
        const ODD: AnUsage = AnUsage::ODD;
        impl<'de> Visitor<'de> for V {
            type Value = AnUsage;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a usage object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AnUsage, A::Error> {
                let mut view = AnUsage::default();
                while let Some(key) = map.next_key_seed(KeyIn(NAMES))? {
                    let Some(i) = key else {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    };
                    let n = match map.next_value::<Option<LenientCount>>()? {
                        Some(LenientCount(None)) => {
                            view.odd = true;
                            None
                        }
                        n => n.and_then(|c| c.0),
                    };
                    match i {
                        0 => view.input_tokens = n,
                        1 => view.output_tokens = n,
                        2 => view.cache_read_input_tokens = n,
                        _ => view.cache_creation_input_tokens = n,
                    }
                }
                Ok(view)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<AnUsage, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(ODD)
            }
            fn visit_bool<E>(self, _: bool) -> Result<AnUsage, E> {
                Ok(ODD)
            }
            fn visit_i64<E>(self, _: i64) -> Result<AnUsage, E> {
                Ok(ODD)
            }
            fn visit_u64<E>(self, _: u64) -> Result<AnUsage, E> {
                Ok(ODD)
            }
            fn visit_f64<E>(self, _: f64) -> Result<AnUsage, E> {
                Ok(ODD)
            }
            fn visit_str<E>(self, _: &str) -> Result<AnUsage, E> {
                Ok(ODD)
            }
            fn visit_unit<E>(self) -> Result<AnUsage, E> {
                Ok(AnUsage::default())
            }
        }
        d.deserialize_any(V)
    }
}

impl<'a> AnEventView<'a> {
    /// Reads one event's `data` in one pass of [`scan`] (which also validates it); a member
    /// the view reads of the wrong type is an error, as it is to a typed parser.
    pub(crate) fn read(data: &'a [u8]) -> Result<Self, ScanError> {
        let mut view = Self::default();
        scan::walk(data, |m| {
            match &*m.key().resolved() {
                b"type" => view.kind = m.str()?.unwrap_or_default(),
                b"message" => {
                    let mut usage = None;
                    m.object_or_null("invalid type: expected a message object", |f| {
                        if f.key().is("usage") {
                            usage = AnUsage::read_member(f)?;
                        }
                        Ok(())
                    })?;
                    view.message_usage = usage;
                }
                b"delta" => {
                    let mut delta = AnDeltaView::default();
                    let is_object =
                        m.object_or_null("invalid type: expected a delta object", |f| {
                            match &*f.key().resolved() {
                                b"text" => delta.text = f.str()?,
                                b"thinking" => delta.thinking = f.str()?,
                                b"stop_reason" => delta.stop_reason = f.str()?,
                                _ => {}
                            }
                            Ok(())
                        })?;
                    view.delta = is_object.then_some(delta);
                }
                b"usage" => view.usage = AnUsage::read_member(m)?,
                b"content_block" => {
                    let mut kind = None;
                    m.object_or_null("invalid type: expected a content block object", |f| {
                        if f.key().is("type") {
                            kind = f.str()?;
                        }
                        Ok(())
                    })?;
                    view.block_kind = kind;
                }
                b"error" => {
                    let raw = m.raw()?;
                    view.error = serde_json::from_slice::<Option<serde_json::Value>>(raw)
                        .map_err(|_| m.invalid("invalid error object"))?;
                }
                _ => {}
            }
            Ok(())
        })?;
        Ok(view)
    }
}

impl AnUsage {
    /// An unknown usage: a value that is not a usage object at all.
    const ODD: AnUsage = AnUsage {
        input_tokens: None,
        output_tokens: None,
        cache_read_input_tokens: None,
        cache_creation_input_tokens: None,
        odd: true,
    };

    /// Reads a `usage` member: `None` for `null`, odd for anything but an object, and within
    /// an object a count that is not a non-negative integer (nor `null`) marks it odd.
    pub(crate) fn read_member(m: &mut scan::Member<'_, '_>) -> Result<Option<Self>, ScanError> {
        let mut u = AnUsage::default();
        let is_object = m.object(|f| {
            let field = match &*f.key().resolved() {
                b"input_tokens" => 0,
                b"output_tokens" => 1,
                b"cache_read_input_tokens" => 2,
                b"cache_creation_input_tokens" => 3,
                _ => return Ok(()),
            };
            let n = match f.count()? {
                Some(n) => Some(n),
                None => {
                    u.odd |= f.raw()? != b"null";
                    None
                }
            };
            match field {
                0 => u.input_tokens = n,
                1 => u.output_tokens = n,
                2 => u.cache_read_input_tokens = n,
                _ => u.cache_creation_input_tokens = n,
            }
            Ok(())
        })?;
        Ok(if is_object {
            Some(u)
        } else if m.raw()? == b"null" {
            None
        } else {
            Some(Self::ODD)
        })
    }
}

/// A same-format OpenAI reply: usage (read leniently: an odd usage object never fails the
/// reply), and whether it has non-null `choices`.
#[derive(Default)]
pub(crate) struct OaReplyView {
    pub usage: Option<Usage>,
    pub choices: bool,
}

impl OaReplyView {
    /// Validates the whole reply ([`scan`]) and reads its two members in the same pass.
    pub(crate) fn read(body: &[u8]) -> Result<Self, ScanError> {
        let (usage, choices) = read_reply(body, "choices", Usage::read_member)?;
        Ok(Self { usage, choices })
    }
}

/// A same-format Anthropic reply: usage, and whether it has non-null `content`.
#[derive(Default)]
pub(crate) struct AnReplyView {
    pub usage: Option<AnUsage>,
    pub content: bool,
}

impl AnReplyView {
    /// Validates the whole reply ([`scan`]) and reads its two members in the same pass.
    pub(crate) fn read(body: &[u8]) -> Result<Self, ScanError> {
        let (usage, content) = read_reply(body, "content", AnUsage::read_member)?;
        Ok(Self { usage, content })
    }
}

/// Validates a reply and reads, in one pass, its `usage` (with `read_usage`; the last one
/// wins) and whether its `payload` member is present and not `null`.
fn read_reply<U>(
    body: &[u8],
    payload: &str,
    read_usage: impl Fn(&mut scan::Member<'_, '_>) -> Result<Option<U>, ScanError>,
) -> Result<(Option<U>, bool), ScanError> {
    let mut usage = None;
    let mut present = false;
    scan::walk(body, |m| {
        if m.key().is("usage") {
            usage = read_usage(m)?;
        } else if m.key().is(payload) {
            present = m.raw()? != b"null";
        }
        Ok(())
    })?;
    Ok((usage, present))
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::{OaChunkView, OaReplyView};
    use switchyard_types::openai::FinishReason;

    fn view(json: &str) -> Result<OaChunkView<'_>, switchyard_types::scan::ScanError> {
        OaChunkView::read(json.as_bytes(), true)
    }

    fn rest(json: &str) -> Result<OaChunkView<'_>, switchyard_types::scan::ScanError> {
        OaChunkView::read(json.as_bytes(), false)
    }

    /// Chunks as OpenAI sends them: the first (role), content, finish, usage-only.
    #[test]
    fn real_chunks_read_as_expected() {
        let first = view(r#"{"id":"chatcmpl-B9","object":"chat.completion.chunk","created":1727000000,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}"#).unwrap();
        assert_eq!(first.id.as_deref(), Some("chatcmpl-B9"));
        assert_eq!(first.model.as_deref(), Some("gpt-4o-mini-2024-07-18"));
        assert_eq!(first.created, Some(1_727_000_000));
        assert_eq!(first.choices.len(), 1);
        let d = first.choices[0].delta.as_ref().unwrap();
        assert_eq!(d.content.as_deref(), Some(""));
        assert!(!d.tool_calls && first.choices[0].finish_reason.is_none());
        assert!(first.usage.is_none() && first.error.is_none());

        let text = view(r#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":" caf\u00e9 \"q\""},"logprobs":null,"finish_reason":null}]}"#).unwrap();
        let d = text.choices[0].delta.as_ref().unwrap();
        assert_eq!(d.content.as_deref(), Some(" café \"q\""));
        assert!(matches!(d.content, Some(Cow::Owned(_))), "escapes resolved");
        assert!(
            matches!(text.model, Some(Cow::Borrowed("m"))),
            "no escapes: borrowed"
        );

        let finish =
            view(r#"{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#)
                .unwrap();
        assert_eq!(
            finish.choices[0].finish_reason,
            Some(FinishReason::ToolCalls)
        );

        let usage = view(r#"{"id":"c","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}"#).unwrap();
        assert!(usage.choices.is_empty());
        assert_eq!(
            usage.usage,
            Some(&br#"{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}"#[..])
        );
    }

    #[test]
    fn reasoning_tool_calls_and_errors() {
        let v = view(r#"{"choices":[{"delta":{"reasoning_content":"think","tool_calls":[{"index":0,"id":"call_1","function":{"name":"f","arguments":""}}]}}]}"#).unwrap();
        let d = v.choices[0].delta.as_ref().unwrap();
        assert_eq!(d.reasoning_content.as_deref(), Some("think"));
        assert!(d.tool_calls);
        let v = view(r#"{"choices":[{"delta":{"reasoning":"r","tool_calls":null}}]}"#).unwrap();
        let d = v.choices[0].delta.as_ref().unwrap();
        assert_eq!(d.reasoning.as_deref(), Some("r"));
        assert!(!d.tool_calls);
        let v = view(r#"{"error":{"message":"overloaded","type":"server_error"}}"#).unwrap();
        assert_eq!(v.error.unwrap()["message"], "overloaded");
    }

    /// Once the stream's identity is known, a chunk's `id`, `model` and `created` are skipped:
    /// the rest reads the same, and odd identity members no longer matter.
    #[test]
    fn the_rest_of_a_chunk_reads_without_its_identity() {
        let json = r#"{"id":"chatcmpl-B9","object":"chat.completion.chunk","created":"yesterday","model":7,"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":"length"}],"usage":null}"#;
        assert!(
            view(json).is_err(),
            "the full view still checks identity members"
        );
        let rest = rest(json).unwrap();
        assert!(rest.id.is_none() && rest.model.is_none() && rest.created.is_none());
        let c = &rest.choices[0];
        assert_eq!(c.delta.as_ref().unwrap().content.as_deref(), Some("Hi"));
        assert_eq!(c.finish_reason, Some(FinishReason::Length));
        let rest = super::tests::rest(
            r#"{"choices":[],"usage":{"prompt_tokens":1},"error":{"message":"m"}}"#,
        )
        .unwrap();
        assert!(rest.choices.is_empty() && rest.usage.is_some() && rest.error.is_some());
    }

    #[test]
    fn an_unknown_finish_reason_still_finishes() {
        let v = view(r#"{"choices":[{"delta":{},"finish_reason":"model_length"}]}"#).unwrap();
        assert_eq!(v.choices[0].finish_reason, Some(FinishReason::Stop));
        let v = view(r#"{"choices":[{"delta":{},"finish_reason":null}]}"#).unwrap();
        assert_eq!(v.choices[0].finish_reason, None);
    }

    #[test]
    fn null_choices_are_none_and_bad_chunks_are_errors() {
        assert!(view(r#"{"id":"c","choices":null}"#)
            .unwrap()
            .choices
            .is_empty());
        for bad in [
            r#"{"choices":[{"delta":{"content":1}}]}"#,
            r#"{"created":"yesterday"}"#,
            r#"{"choices":[{"finish_reason":7}]}"#,
            r#"[1]"#,
            r#"{"choices":[}"#,
            r#"{"choices":{"delta":{}}}"#,
            r#"{"choices":[null]}"#,
            r#"{"choices":[{"delta":"text"}]}"#,
            r#"{"created":-1}"#,
            r#"{"id":"c","choices":[]} x"#,
        ] {
            assert!(view(bad).is_err(), "{bad}");
        }
        // Before the identity is known, and after: the same chunk is refused for its choices.
        assert!(rest(r#"{"choices":[{"delta":{"content":1}}]}"#).is_err());
        assert!(view(r#"{"id":null,"model":null,"created":null,"choices":[]}"#).is_ok());
    }

    /// Events of a real Anthropic Messages stream, in order.
    #[test]
    fn anthropic_events_read_as_expected() {
        use super::AnEventView;
        let an = |json: &'static str| AnEventView::read(json.as_bytes()).unwrap();

        let start = an(
            r#"{"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":10,"output_tokens":1}}}"#,
        );
        assert_eq!(start.kind, "message_start");
        let u = start.message_usage.unwrap();
        assert_eq!(
            (u.input_tokens, u.cache_read_input_tokens, u.output_tokens),
            (Some(25), Some(10), Some(1))
        );

        let block = an(
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{}}}"#,
        );
        assert_eq!(block.block_kind.as_deref(), Some("tool_use"));

        let delta = an(
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello, caf\u00e9"}}"#,
        );
        assert_eq!(delta.delta.unwrap().text.as_deref(), Some("Hello, café"));

        let thinking = an(
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me think"}}"#,
        );
        assert_eq!(
            thinking.delta.unwrap().thinking.as_deref(),
            Some("Let me think")
        );

        let end = an(
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}"#,
        );
        assert_eq!(end.delta.unwrap().stop_reason.as_deref(), Some("end_turn"));
        assert_eq!(end.usage.unwrap().output_tokens, Some(15));

        let err =
            an(r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#);
        assert_eq!(err.kind, "error");
        assert_eq!(err.error.unwrap()["type"], "overloaded_error");

        assert_eq!(an(r#"{"type":"ping"}"#).kind, "ping");
        let odd =
            an(r#"{"type":"message_delta","usage":{"output_tokens":"15","input_tokens":null}}"#);
        let u = odd.usage.unwrap();
        assert!(
            u.odd,
            "a string count is unknown usage, not a broken stream"
        );
        assert_eq!((u.output_tokens, u.input_tokens), (None, None));
        let not_object = an(r#"{"type":"message_start","message":{"usage":"n/a"}}"#);
        assert!(not_object.message_usage.is_some_and(|u| u.odd));
        assert!(
            !an(r#"{"type":"message_delta","usage":{"input_tokens":null}}"#)
                .usage
                .unwrap()
                .odd
        );
        for bad in [
            "[]",
            r#"{"type":1}"#,
            r#"{"type":"message_start","message":[]}"#,
            r#"{"type":"content_block_delta","delta":"x"}"#,
            r#"{"type":"content_block_start","content_block":{"type":7}}"#,
            r#"{"type":"ping"} x"#,
        ] {
            assert!(AnEventView::read(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    /// The scanning reader reads what the `serde` visitors it replaced read, and refuses what
    /// they refused, on real events and every single-byte edit of them that is still UTF-8.
    #[test]
    fn anthropic_events_read_as_the_serde_views_did() {
        use super::AnEventView;
        let events = [
            r#"{"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","stop_reason":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":10,"output_tokens":1}}}"#,
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01","input":{}}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi caf\u00e9"}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hm"}}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}"#,
            r#"{"type":"message_delta","usage":{"output_tokens":"15","input_tokens":null,"cache_read_input_tokens":-1}}"#,
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
            r#"{"type":"message_stop","usage":[1],"message":null,"delta":null,"content_block":null}"#,
        ];
        let mut compared = 0;
        let mut check = |json: &[u8]| {
            if std::str::from_utf8(json).is_err() {
                return;
            }
            let want = serde_json::from_slice::<AnEventView<'_>>(json).ok();
            let got = AnEventView::read(json).ok();
            assert_eq!(got, want, "{}", String::from_utf8_lossy(json));
            compared += 1;
        };
        for event in events {
            let event = event.as_bytes();
            check(event);
            for i in 0..event.len() {
                let mut v = event.to_vec();
                v.remove(i);
                check(&v);
                for &b in b"0123456789-.\"{}[]:,nulx " {
                    let mut v = event.to_vec();
                    v[i] = b;
                    check(&v);
                }
            }
        }
        assert!(compared > 10_000, "{compared}");
    }

    /// A real Chat Completions response (OpenAI's shape, as the simulator sends it).
    const RESPONSE: &str = r#"{"choices":[{"finish_reason":"stop","index":0,"logprobs":null,"message":{"annotations":[],"content":"vista saddle sable","refusal":null,"role":"assistant"}}],"created":1700000000,"id":"chatcmpl-sim000001","model":"gpt-4o-mini","object":"chat.completion","service_tier":"default","system_fingerprint":"fp_sim","usage":{"completion_tokens":24,"completion_tokens_details":{"accepted_prediction_tokens":0,"audio_tokens":0,"reasoning_tokens":3,"rejected_prediction_tokens":0},"prompt_tokens":21,"prompt_tokens_details":{"audio_tokens":0,"cached_tokens":5},"total_tokens":45}}"#;

    fn reply(json: &str) -> Result<OaReplyView, switchyard_types::scan::ScanError> {
        OaReplyView::read(json.as_bytes())
    }

    #[test]
    fn a_real_response_gives_choices_and_usage() {
        let v = reply(RESPONSE).unwrap();
        assert!(v.choices);
        let u = v.usage.unwrap();
        assert_eq!(
            (u.prompt_tokens, u.completion_tokens, u.total_tokens),
            (21, 24, 45)
        );
        assert_eq!((u.cached_tokens(), u.reasoning_tokens()), (5, 3));
    }

    #[test]
    fn escaped_keys_and_missing_usage_are_read() {
        let v = reply(r#"{"ch\u006fices":[],"us\u0061ge":{"prompt_tokens":2}}"#).unwrap();
        assert!(v.choices);
        assert_eq!(v.usage.map(|u| u.prompt_tokens), Some(2));
        let v = reply(r#"{"choices":[{}],"usage":null}"#).unwrap();
        assert!(v.choices && v.usage.is_none());
    }

    #[test]
    fn odd_usage_is_unknown_not_malformed() {
        let v = reply(r#"{"usage":{"prompt_tokens":"21"},"choices":[]}"#).unwrap();
        assert!(v.choices && v.usage.is_none());
    }

    #[test]
    fn not_a_completion_object() {
        assert!(!reply(r#"{"choices":null}"#).unwrap().choices);
        assert!(!reply(r#"{"id":"x"}"#).unwrap().choices);
        for bad in [
            r#"[{"usage":null},[1]]"#,
            r#"{"choices":[]} trailing"#,
            r#"{"choices":[}"#,
            r#""choices""#,
            "",
        ] {
            assert!(reply(bad).is_err(), "{bad}");
        }
    }

    /// A real Messages API reply, and replies that are not one.
    #[test]
    fn anthropic_replies_read_as_expected() {
        use super::AnReplyView;
        let an = |json: &str| AnReplyView::read(json.as_bytes());
        let v = an(r#"{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hi"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":4,"output_tokens":6}}"#).unwrap();
        assert!(v.content);
        let u = v.usage.unwrap();
        assert_eq!(
            (u.input_tokens, u.cache_read_input_tokens, u.output_tokens),
            (Some(12), Some(4), Some(6))
        );
        assert!(!an(r#"{"type":"message","content":null}"#).unwrap().content);
        let odd = an(r#"{"content":[],"usage":{"input_tokens":-3,"output_tokens":2}}"#).unwrap();
        assert!(odd.content && odd.usage.is_some_and(|u| u.odd));
        // A usage that is not an object at all is odd too, never a failed reply.
        for usage in [r#""n/a""#, "[1,{\"a\":2}]", "7", "-1.5", "true"] {
            let v = an(&format!(r#"{{"content":[],"usage":{usage}}}"#)).unwrap();
            assert!(v.content && v.usage.is_some_and(|u| u.odd), "{usage}");
        }
        assert!(an(r#"{"content":[],"usage":null}"#)
            .unwrap()
            .usage
            .is_none());
        assert!(an(r#"{"content":[]"#).is_err());
    }
}
