//! Borrowed top-level view of a JSON request body, for the same-format fast path.
//!
//! The body is validated and split into its top-level members by [`crate::scan`] without
//! parsing their values: each value stays a byte range of the input. Routing reads the few
//! fields it needs (model, stream flag), and [`Members::rewrite`] writes the body back with the
//! model replaced and chosen members dropped or added, every other value byte for byte as the
//! client sent it.

use serde::Deserialize;

use crate::scan::{self, ScanError};

/// Top-level members of a JSON object, in order, values unparsed, as byte ranges into the body
/// they came from: no borrow, so a request can keep it next to its body and never parse the top
/// level twice. Key names are ranges into the body too; only a name written with escapes is
/// kept, resolved, in a string of its own (rare: one allocation per body, not one per member).
#[derive(Debug, Clone, Default)]
pub struct Members {
    /// Names that had escapes, resolved.
    escaped: String,
    /// (name, value range in the body), in order.
    members: Vec<(Name, std::ops::Range<usize>)>,
}

/// Where a member's name is.
#[derive(Debug, Clone)]
enum Name {
    /// As written in the body (no escapes).
    Body(std::ops::Range<usize>),
    /// Resolved, in [`Members::escaped`].
    Escaped(std::ops::Range<usize>),
}

impl Members {
    /// Splits `body` into members; errors when it is not a JSON object (the whole body is
    /// validated, see [`crate::scan`]).
    pub fn parse(body: &[u8]) -> Result<Self, ScanError> {
        let mut out = Members {
            escaped: String::new(),
            members: Vec::with_capacity(8),
        };
        let base = body.as_ptr() as usize;
        scan::object(body, |key, value| {
            let name = if key.is_escaped() {
                let start = out.escaped.len();
                out.escaped
                    .push_str(&String::from_utf8_lossy(&key.resolved()));
                Name::Escaped(start..out.escaped.len())
            } else {
                let start = key.raw().as_ptr() as usize - base;
                Name::Body(start..start + key.raw().len())
            };
            out.members.push((name, value));
        })?;
        Ok(out)
    }

    /// A member's name (compared as bytes: no UTF-8 check on the lookup path).
    fn name<'s>(&'s self, body: &'s [u8], name: &Name) -> &'s [u8] {
        match name {
            Name::Body(r) => body.get(r.clone()).unwrap_or_default(),
            Name::Escaped(r) => self.escaped.as_bytes().get(r.clone()).unwrap_or_default(),
        }
    }

    /// Raw bytes of a member's value.
    pub fn get<'b>(&self, body: &'b [u8], key: &str) -> Option<&'b [u8]> {
        self.members
            .iter()
            .find(|(k, _)| self.name(body, k) == key.as_bytes())
            .and_then(|(_, r)| body.get(r.clone()))
    }

    /// Whether a member is present and not `null`.
    pub fn has(&self, body: &[u8], key: &str) -> bool {
        self.get(body, key).is_some_and(|v| v != b"null")
    }

    /// A member parsed as `T`; `Ok(None)` when absent or null.
    pub fn field<'b, T: Deserialize<'b>>(
        &self,
        body: &'b [u8],
        key: &str,
    ) -> Result<Option<T>, serde_json::Error> {
        match self.get(body, key) {
            None => Ok(None),
            Some(b"null") => Ok(None),
            Some(v) => serde_json::from_slice(v).map(Some),
        }
    }

    /// Member names in order (`body` is the one this was parsed from).
    pub fn keys<'s>(&'s self, body: &'s [u8]) -> impl Iterator<Item = &'s str> {
        self.members
            .iter()
            .map(move |(k, _)| std::str::from_utf8(self.name(body, k)).unwrap_or_default())
    }

    /// Writes the object back: `model` replaced, members in `drop` left out, `add` appended
    /// (each `(key, raw JSON)`), everything else byte for byte as in `body`.
    pub fn rewrite(
        &self,
        body: &[u8],
        model: Option<&str>,
        drop: &[&str],
        add: &[(&str, &str)],
    ) -> Vec<u8> {
        let mut out = Vec::with_capacity(body.len() + 64);
        out.push(b'{');
        let mut first = true;
        // Writes the separator before every member but the first.
        let mut next = |out: &mut Vec<u8>| {
            if !std::mem::take(&mut first) {
                out.push(b',');
            }
        };
        for (name, range) in &self.members {
            let key = self.name(body, name);
            if drop.iter().any(|d| d.as_bytes() == key)
                || add.iter().any(|(k, _)| k.as_bytes() == key)
            {
                continue;
            }
            next(&mut out);
            match name {
                // Written without escapes in the body: copied as it was.
                Name::Body(_) => {
                    out.push(b'"');
                    out.extend_from_slice(key);
                    out.push(b'"');
                }
                Name::Escaped(_) => {
                    write_json_string(&mut out, std::str::from_utf8(key).unwrap_or_default())
                }
            }
            out.push(b':');
            match model {
                Some(model) if key == b"model" => write_json_string(&mut out, model),
                _ => out.extend_from_slice(body.get(range.clone()).unwrap_or(b"null")),
            }
        }
        for (key, value) in add {
            next(&mut out);
            write_json_string(&mut out, key);
            out.push(b':');
            out.extend_from_slice(value.as_bytes());
        }
        out.push(b'}');
        out
    }
}

pub use crate::json_string::write_json_string;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrite_keeps_every_other_byte() {
        let body = br#"{"model":"alias","messages":[{"role":"user","content":"hi \u00e9"}],"future_field":{"x": [1, 2.50]},"stream":true}"#;
        let top = Members::parse(body).unwrap();
        assert_eq!(
            top.field::<String>(body, "model").unwrap().as_deref(),
            Some("alias")
        );
        assert_eq!(top.field::<bool>(body, "stream").unwrap(), Some(true));
        let out = top.rewrite(body, Some("gpt-4o"), &[], &[]);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi \u00e9"}],"future_field":{"x": [1, 2.50]},"stream":true}"#
        );
    }

    #[test]
    fn rewrite_drops_and_adds() {
        let body = br#"{"model":"a","seed":1,"stream_options":{"include_usage":false}}"#;
        let top = Members::parse(body).unwrap();
        let out = top.rewrite(
            body,
            None,
            &["seed"],
            &[("stream_options", r#"{"include_usage":true}"#)],
        );
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"model":"a","stream_options":{"include_usage":true}}"#
        );
    }

    #[test]
    fn members_resolve_escaped_keys_and_keep_order() {
        let body = br#"{"model":"alias","a\u0062":[1, {"x":"y"}],"stream":true,"n":null}"#;
        let m = Members::parse(body).unwrap();
        assert_eq!(
            m.keys(body).collect::<Vec<_>>(),
            ["model", "ab", "stream", "n"]
        );
        assert_eq!(m.get(body, "ab"), Some(&br#"[1, {"x":"y"}]"#[..]));
        assert_eq!(m.field::<bool>(body, "stream").unwrap(), Some(true));
        assert!(!m.has(body, "n"));
        assert_eq!(
            std::str::from_utf8(&m.rewrite(body, Some("gpt"), &["n"], &[("x", "1")])).unwrap(),
            r#"{"model":"gpt","ab":[1, {"x":"y"}],"stream":true,"x":1}"#
        );
    }

    #[test]
    fn non_object_is_an_error() {
        assert!(Members::parse(b"[1,2]").is_err());
        assert!(Members::parse(b"{\"model\":").is_err());
        assert!(Members::parse(b"{\"model\":\"a\"} x").is_err());
        assert!(Members::parse(b"{\"model\":\"a\"}\n").is_ok());
    }
}
