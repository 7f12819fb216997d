//! Token usage as OpenAI reports it, including cached and reasoning details.

use serde::{Deserialize, Serialize};

use crate::scan;

/// Token usage of one completion.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Input tokens, cached ones included.
    #[serde(default)]
    pub prompt_tokens: u64,
    /// Output tokens, reasoning ones included.
    #[serde(default)]
    pub completion_tokens: u64,
    /// `prompt_tokens + completion_tokens`.
    #[serde(default)]
    pub total_tokens: u64,
    /// Breakdown of the prompt tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens_details: Option<PromptTokensDetails>,
    /// Breakdown of the completion tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_tokens_details: Option<CompletionTokensDetails>,
}

/// Prompt token breakdown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptTokensDetails {
    /// Tokens read from the provider's prompt cache.
    #[serde(default)]
    pub cached_tokens: u64,
    /// Tokens written to the provider's prompt cache (Anthropic `cache_creation_input_tokens`).
    /// Not an OpenAI field; omitted when zero.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_creation_tokens: u64,
}

/// Completion token breakdown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompletionTokensDetails {
    /// Hidden reasoning tokens.
    #[serde(default)]
    pub reasoning_tokens: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

impl Usage {
    /// Builds a usage record and fills `total_tokens`.
    pub fn new(prompt: u64, completion: u64) -> Self {
        Self {
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: prompt + completion,
            ..Self::default()
        }
    }

    /// Cached prompt tokens, zero when absent.
    pub fn cached_tokens(&self) -> u64 {
        self.prompt_tokens_details
            .as_ref()
            .map_or(0, |d| d.cached_tokens)
    }

    /// Reasoning tokens, zero when absent.
    pub fn reasoning_tokens(&self) -> u64 {
        self.completion_tokens_details
            .as_ref()
            .map_or(0, |d| d.reasoning_tokens)
    }
}

impl Usage {
    /// Reads a `usage` value as [`LenientUsage`] does (`None` when it is not an object or a
    /// known count is not a non-negative integer, and when the bytes are not JSON), by
    /// scanning ([`crate::scan`]) instead of deserialising.
    pub fn read_lenient(json: &[u8]) -> Option<Usage> {
        let mut usage = None;
        scan::walk_value(json, |m| {
            usage = Usage::read_member(m)?;
            Ok(())
        })
        .ok()?;
        usage
    }

    /// Reads the value of a member being walked as [`Usage::read_lenient`] does, in the same
    /// pass as the rest of the body: a reply's `usage`.
    pub fn read_member(m: &mut scan::Member<'_, '_>) -> Result<Option<Usage>, scan::ScanError> {
        let mut u = Usage::default();
        let mut odd = false;
        let is_object = m.object(|f| {
            let slot = match lenient_field(&f.key()) {
                Some(0) => &mut u.prompt_tokens,
                Some(1) => &mut u.completion_tokens,
                Some(2) => &mut u.total_tokens,
                Some(3) => {
                    match lenient_details(f)? {
                        Some(Some(d)) => {
                            u.prompt_tokens_details = Some(PromptTokensDetails {
                                cached_tokens: d[0],
                                cache_creation_tokens: d[1],
                            })
                        }
                        Some(None) => {}
                        None => odd = true,
                    }
                    return Ok(());
                }
                Some(4) => {
                    match lenient_details(f)? {
                        Some(Some(d)) => {
                            u.completion_tokens_details = Some(CompletionTokensDetails {
                                reasoning_tokens: d[2],
                            })
                        }
                        Some(None) => {}
                        None => odd = true,
                    }
                    return Ok(());
                }
                _ => return Ok(()),
            };
            match f.count()? {
                Some(n) => *slot = n,
                None => odd = true,
            }
            Ok(())
        })?;
        Ok((is_object && !odd).then_some(u))
    }
}

/// Position of a usage key in the order of the `lenient` module's `NAMES` (prompt, completion,
/// total, the two details objects, cached, cache creation, reasoning).
fn lenient_field(key: &scan::Key<'_>) -> Option<usize> {
    let resolved;
    let name = if key.is_escaped() {
        resolved = key.resolved();
        &*resolved
    } else {
        key.raw()
    };
    Some(match name {
        b"prompt_tokens" => 0,
        b"completion_tokens" => 1,
        b"total_tokens" => 2,
        b"prompt_tokens_details" => 3,
        b"completion_tokens_details" => 4,
        b"cached_tokens" => 5,
        b"cache_creation_tokens" => 6,
        b"reasoning_tokens" => 7,
        _ => return None,
    })
}

/// A details object's counts (cached, cache creation, reasoning): `Some(None)` for `null`,
/// `None` when odd. Every known count name is checked, as [`LenientUsage`] does.
fn lenient_details(
    m: &mut scan::Member<'_, '_>,
) -> Result<Option<Option<[u64; 3]>>, scan::ScanError> {
    let mut d = [0u64; 3];
    let mut odd = false;
    let is_object = m.object(|f| {
        let Some(i) = lenient_field(&f.key()).filter(|&i| i != 3 && i != 4) else {
            return Ok(());
        };
        match f.count()? {
            Some(n) if i >= 5 => d[i - 5] = n,
            Some(_) => {}
            None => odd = true,
        }
        Ok(())
    })?;
    Ok(if is_object {
        (!odd).then_some(Some(d))
    } else if m.raw()? == b"null" {
        Some(None)
    } else {
        None
    })
}

/// A `usage` member read in the same pass as the rest of a response, without ever failing it:
/// `None` when the value is not an object or a known count is not a non-negative integer
/// (an odd usage object is treated as unknown usage, not as a malformed response).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LenientUsage(pub Option<Usage>);

impl<'de> Deserialize<'de> for LenientUsage {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(lenient::UsageVisitor).map(LenientUsage)
    }
}

/// A token count read without ever failing: any JSON value, `Some` only for a non-negative
/// integer (`null` included in the odd ones: wrap it in `Option` where null means absent).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LenientCount(pub Option<u64>);

mod lenient {
    use std::fmt;

    use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use serde::Deserialize;

    use super::{CompletionTokensDetails, PromptTokensDetails, Usage};
    use crate::keys::KeyIn;

    #[derive(Clone, Copy)]
    enum Field {
        PromptTokens,
        CompletionTokens,
        TotalTokens,
        PromptTokensDetails,
        CompletionTokensDetails,
        CachedTokens,
        CacheCreationTokens,
        ReasoningTokens,
        Other,
    }

    /// Key names in [`Field`] order, matched as bytes ([`KeyIn`]).
    const NAMES: &[&str] = &[
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "prompt_tokens_details",
        "completion_tokens_details",
        "cached_tokens",
        "cache_creation_tokens",
        "reasoning_tokens",
    ];
    const FIELDS: [Field; 8] = [
        Field::PromptTokens,
        Field::CompletionTokens,
        Field::TotalTokens,
        Field::PromptTokensDetails,
        Field::CompletionTokensDetails,
        Field::CachedTokens,
        Field::CacheCreationTokens,
        Field::ReasoningTokens,
    ];

    /// The next key of `map` as a [`Field`].
    fn next_field<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Option<Field>, A::Error> {
        Ok(map.next_key_seed(KeyIn(NAMES))?.map(|i| {
            i.and_then(|i| FIELDS.get(i).copied())
                .unwrap_or(Field::Other)
        }))
    }

    type Count = super::LenientCount;

    impl<'de> Deserialize<'de> for Count {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(CountVisitor).map(super::LenientCount)
        }
    }

    /// The visitor's answer for anything that is not what it wants, after consuming it.
    macro_rules! reject_others {
        () => {
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(None)
            }
        };
    }

    /// `null` (or absent) rejected like any other odd value.
    macro_rules! reject_null {
        () => {
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
        };
    }

    struct CountVisitor;

    impl<'de> Visitor<'de> for CountVisitor {
        type Value = Option<u64>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a token count")
        }
        fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
            Ok(u64::try_from(v).ok())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        reject_others!();
        reject_null!();
    }

    /// Reads the counts of an object; `None` when it is not one or a count is odd.
    fn counts<'de, A: MapAccess<'de>>(
        mut map: A,
        mut set: impl FnMut(Field, u64),
    ) -> Result<Option<()>, A::Error> {
        let mut odd = false;
        while let Some(field) = next_field(&mut map)? {
            match field {
                Field::Other | Field::PromptTokensDetails | Field::CompletionTokensDetails => {
                    map.next_value::<IgnoredAny>()?;
                }
                f => match map.next_value::<Count>()?.0 {
                    Some(n) => set(f, n),
                    None => odd = true,
                },
            }
        }
        Ok((!odd).then_some(()))
    }

    pub(super) struct UsageVisitor;

    impl<'de> Visitor<'de> for UsageVisitor {
        type Value = Option<Usage>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a usage object")
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut u = Usage::default();
            let mut odd = false;
            while let Some(field) = next_field(&mut map)? {
                match field {
                    Field::PromptTokens | Field::CompletionTokens | Field::TotalTokens => {
                        match map.next_value::<Count>()?.0 {
                            Some(n) => match field {
                                Field::PromptTokens => u.prompt_tokens = n,
                                Field::CompletionTokens => u.completion_tokens = n,
                                _ => u.total_tokens = n,
                            },
                            None => odd = true,
                        }
                    }
                    Field::PromptTokensDetails => match map.next_value::<Details>()?.0 {
                        Some(Some(d)) => u.prompt_tokens_details = Some(d.prompt()),
                        Some(None) => {}
                        None => odd = true,
                    },
                    Field::CompletionTokensDetails => match map.next_value::<Details>()?.0 {
                        Some(Some(d)) => u.completion_tokens_details = Some(d.completion()),
                        Some(None) => {}
                        None => odd = true,
                    },
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok((!odd).then_some(u))
        }
        reject_others!();
        reject_null!();
    }

    #[derive(Default)]
    struct DetailCounts {
        cached: u64,
        cache_creation: u64,
        reasoning: u64,
    }

    impl DetailCounts {
        fn prompt(&self) -> PromptTokensDetails {
            PromptTokensDetails {
                cached_tokens: self.cached,
                cache_creation_tokens: self.cache_creation,
            }
        }
        fn completion(&self) -> CompletionTokensDetails {
            CompletionTokensDetails {
                reasoning_tokens: self.reasoning,
            }
        }
    }

    /// A details object: `Some(Some)` read, `Some(None)` null (as if absent), `None` odd.
    struct Details(Option<Option<DetailCounts>>);

    impl<'de> Deserialize<'de> for Details {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(DetailsVisitor).map(Details)
        }
    }

    struct DetailsVisitor;

    impl<'de> Visitor<'de> for DetailsVisitor {
        type Value = Option<Option<DetailCounts>>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a token details object")
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(Some(None))
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(Some(None))
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        reject_others!();
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            let mut d = DetailCounts::default();
            let ok = counts(map, |f, n| match f {
                Field::CachedTokens => d.cached = n,
                Field::CacheCreationTokens => d.cache_creation = n,
                Field::ReasoningTokens => d.reasoning = n,
                _ => {}
            })?;
            Ok(ok.map(|()| Some(d)))
        }
    }
}

#[cfg(test)]
mod lenient_tests {
    use super::{LenientUsage, Usage};

    /// The usage object of a real Chat Completions response.
    const OPENAI: &str = r#"{"completion_tokens":24,"completion_tokens_details":{"accepted_prediction_tokens":0,"audio_tokens":0,"reasoning_tokens":7,"rejected_prediction_tokens":0},"prompt_tokens":21,"prompt_tokens_details":{"audio_tokens":0,"cached_tokens":5},"total_tokens":45}"#;

    fn lenient(json: &str) -> Option<Usage> {
        serde_json::from_str::<LenientUsage>(json)
            .expect("never fails on valid JSON")
            .0
    }

    #[test]
    fn well_formed_usage_reads_as_the_strict_type_does() {
        let strict: Usage = serde_json::from_str(OPENAI).unwrap();
        assert_eq!(lenient(OPENAI), Some(strict.clone()));
        assert_eq!((strict.cached_tokens(), strict.reasoning_tokens()), (5, 7));
        let bare = r#"{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7,"prompt_tokens_details":null}"#;
        assert_eq!(lenient(bare), Some(Usage::new(3, 4)));
    }

    #[test]
    fn odd_usage_is_unknown_and_never_an_error() {
        for odd in [
            r#"{"prompt_tokens":"21","completion_tokens":4}"#,
            r#"{"prompt_tokens":-1}"#,
            r#"{"prompt_tokens":1.5}"#,
            r#"{"prompt_tokens":null}"#,
            r#"{"prompt_tokens_details":{"cached_tokens":null}}"#,
            r#"{"completion_tokens_details":[1]}"#,
            r#"{"total_tokens":{"a":[1,{"b":2}]}}"#,
            r#""n/a""#,
            r#"[1,2]"#,
            "7",
            "null",
        ] {
            assert_eq!(lenient(odd), None, "{odd}");
        }
        // In a whole response: the body still parses, usage is unknown.
        #[derive(serde::Deserialize)]
        struct View {
            usage: Option<LenientUsage>,
            #[allow(dead_code)]
            choices: serde::de::IgnoredAny,
        }
        let v: View = serde_json::from_str(
            r#"{"usage":{"prompt_tokens":"x","extra":[{}]},"choices":[{"message":{}}],"id":"c"}"#,
        )
        .unwrap();
        assert_eq!(v.usage, Some(LenientUsage(None)));
    }

    /// The scanning reader gives what the deserialiser gives, on real usage objects, odd ones,
    /// and every single-byte substitution and deletion of them that is still JSON.
    #[test]
    fn scanning_reader_agrees_with_the_deserialiser() {
        let seeds = [
            OPENAI,
            r#"{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7,"prompt_tokens_details":null,"completion_tokens_details":{}}"#,
            r#"{"prompt_tokens":18446744073709551615,"completion_tokens":0,"prompt_tokens_details":{"cached_tokens":2,"cache_creation_tokens":9,"prompt_tokens":1}}"#,
            r#"{"pr\u006fmpt_tokens":5,"total_tokens":-0,"x":[{"prompt_tokens":"a"}]}"#,
            r#"{"prompt_tokens":18446744073709551616}"#,
            r#"{"completion_tokens":1e2,"total_tokens":10}"#,
            r#"{"prompt_tokens":1,"prompt_tokens_details":{"cached_tokens":null}}"#,
            r#"{"completion_tokens_details":{"reasoning_tokens":"7"},"prompt_tokens":2}"#,
            r#"{"prompt_tokens_details":{"audio_tokens":0,"cached_tokens":5.0},"total_tokens":3}"#,
            r#"{"completion_tokens_details":7,"prompt_tokens_details":[]}"#,
        ];
        let mut checked = 0;
        let mut check = |json: &[u8]| {
            if let Ok(LenientUsage(want)) = serde_json::from_slice::<LenientUsage>(json) {
                if std::str::from_utf8(json).is_ok() {
                    assert_eq!(
                        Usage::read_lenient(json),
                        want,
                        "{}",
                        String::from_utf8_lossy(json)
                    );
                    checked += 1;
                }
            } else {
                assert_eq!(Usage::read_lenient(json), None);
            }
        };
        for seed in seeds {
            let seed = seed.as_bytes();
            check(seed);
            for i in 0..seed.len() {
                let mut v = seed.to_vec();
                v.remove(i);
                check(&v);
                for &b in b"0123456789-.e\"nul{}[]x_" {
                    let mut v = seed.to_vec();
                    v[i] = b;
                    check(&v);
                }
            }
        }
        for odd in [r#""n/a""#, "[1,2]", "7", "null", "true"] {
            assert_eq!(Usage::read_lenient(odd.as_bytes()), None, "{odd}");
        }
        assert!(checked > 1_000, "{checked}");
    }
}
