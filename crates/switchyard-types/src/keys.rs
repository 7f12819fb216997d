//! Object keys matched as raw bytes.
//!
//! serde's derived field identifiers make `serde_json` check every key for UTF-8 and hand it
//! over as `&str` (about a hundred instructions for a short key); a response's usage object
//! alone has a dozen keys. [`KeyIn`] asks for the key as bytes instead (`serde_json` resolves
//! escapes, skips the UTF-8 check) and answers with its position in a list of known names.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Visitor};
use serde::Deserialize;

/// A map key looked up in `names`: `Some(index)` of the name it equals, `None` for any other.
///
/// ```
/// use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
/// use switchyard_types::keys::KeyIn;
///
/// struct Total;
/// impl<'de> Visitor<'de> for Total {
///     type Value = u64;
///     fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         f.write_str("an object")
///     }
///     fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<u64, A::Error> {
///         let mut total = 0;
///         while let Some(key) = map.next_key_seed(KeyIn(&["total_tokens"]))? {
///             match key {
///                 Some(0) => total = map.next_value()?,
///                 _ => drop(map.next_value::<IgnoredAny>()?),
///             }
///         }
///         Ok(total)
///     }
/// }
/// let mut de = serde_json::Deserializer::from_str(r#"{"id":"x","total_\u0074okens":45}"#);
/// assert_eq!(de.deserialize_map(Total).unwrap(), 45);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct KeyIn<'n>(pub &'n [&'static str]);

impl KeyIn<'_> {
    fn find(self, key: &[u8]) -> Option<usize> {
        self.0.iter().position(|name| name.as_bytes() == key)
    }
}

impl<'de> DeserializeSeed<'de> for KeyIn<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_bytes(self)
    }
}

impl<'de> Visitor<'de> for KeyIn<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Self::Value, E> {
        Ok(self.find(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.find(v.as_bytes()))
    }
}

/// A string (a value or an object key) borrowed from the input when it has no escapes, owned
/// otherwise. serde's own `Cow<str>` always copies, one allocation per string; derived structs
/// borrow only with `#[serde(borrow)]`.
#[derive(Debug)]
pub struct CowStr<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for CowStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = CowStr<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
    use serde::Deserializer as _;

    use super::{CowStr, KeyIn};

    /// A string without escapes is borrowed from the input; one with escapes is owned, resolved.
    #[test]
    fn strings_borrow_unless_escaped() {
        use std::borrow::Cow;
        let plain: CowStr<'_> = serde_json::from_str(r#""gpt-4o""#).unwrap();
        assert!(matches!(plain.0, Cow::Borrowed("gpt-4o")));
        let escaped: CowStr<'_> = serde_json::from_str(r#""gpt\u002d4o""#).unwrap();
        assert!(matches!(&escaped.0, Cow::Owned(s) if s == "gpt-4o"));
        assert!(serde_json::from_str::<CowStr<'_>>("7").is_err());
    }

    const NAMES: &[&str] = &["usage", "choices"];

    /// The index of every key of an object, in order.
    struct Indices;
    impl<'de> Visitor<'de> for Indices {
        type Value = Vec<Option<usize>>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(k) = map.next_key_seed(KeyIn(NAMES))? {
                map.next_value::<IgnoredAny>()?;
                out.push(k);
            }
            Ok(out)
        }
    }

    #[test]
    fn keys_match_by_bytes_with_escapes_resolved() {
        let json = r#"{"choices":[],"id":"x","us\u0061ge":{},"usage ":1,"":2,"é":3}"#;
        let mut de = serde_json::Deserializer::from_str(json);
        assert_eq!(
            de.deserialize_map(Indices).unwrap(),
            [Some(1), None, Some(0), None, None, None]
        );
    }

    #[test]
    fn keys_from_a_value_match_too() {
        let key = serde_json::Value::String("choices".into());
        assert_eq!(KeyIn(NAMES).deserialize(key).unwrap(), Some(1));
        assert!(KeyIn(NAMES).deserialize(serde_json::json!(1)).is_err());
    }

    #[test]
    fn a_key_with_invalid_utf8_is_not_a_known_name() {
        // Lone surrogate escapes decode to bytes that are not UTF-8; never a known name.
        let mut de = serde_json::Deserializer::from_str(r#"{"\ud800":1,"usage":2}"#);
        assert_eq!(de.deserialize_map(Indices).unwrap(), [None, Some(0)]);
    }
}
