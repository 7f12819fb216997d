//! JSON string literals written exactly as `serde_json` writes them, eight bytes at a time.
//!
//! `serde_json` looks every byte of a string up in its escape table (~5 instructions a byte);
//! a reply's text is most of what the gateway writes when it translates one, so the bodies it
//! builds by hand ([`crate::openai::ChatResponse::to_json`]) write strings here: a word whose
//! bytes need no escape is copied whole. The output is `serde_json`'s byte for byte: `"` and
//! `\` escaped with a backslash, the control bytes as `\b \t \n \f \r` or `\u00xx` (lowercase
//! hex), everything else (DEL, non-ASCII) as is; a test compares every byte and random text.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Appends `s` as a JSON string literal, quotes included.
pub fn write_json_string(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0; // first byte not yet copied
    let mut at = 0;
    while at < bytes.len() {
        if let Some(chunk) = bytes.get(at..at + 8) {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            if needs_escape(u64::from_le_bytes(w)) == 0 {
                at += 8;
                continue;
            }
        }
        // A word with a byte to escape, or the last few bytes: one at a time up to the word's end.
        let end = (at + 8).min(bytes.len());
        while at < end {
            let b = bytes[at];
            if let Some(escape) = escape(b) {
                out.extend_from_slice(&bytes[start..at]);
                out.extend_from_slice(escape.as_bytes());
                start = at + 1;
            }
            at += 1;
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// High bit set in the bytes of `w` that may need an escape: `"`, `\` or a control byte
/// (none set means none does; a set bit may be a false alarm, which costs a byte-wise look).
#[inline(always)]
fn needs_escape(w: u64) -> u64 {
    let quote = w ^ (ONES * u64::from(b'"'));
    let backslash = w ^ (ONES * u64::from(b'\\'));
    let zero = |v: u64| v.wrapping_sub(ONES) & !v;
    (zero(quote) | zero(backslash) | (w.wrapping_sub(ONES * 0x20) & !w)) & HIGH
}

/// The escape `serde_json` writes for `b`, if any.
#[inline]
fn escape(b: u8) -> Option<&'static str> {
    const CONTROL: [&str; 32] = [
        "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006", "\\u0007",
        "\\b", "\\t", "\\n", "\\u000b", "\\f", "\\r", "\\u000e", "\\u000f", "\\u0010", "\\u0011",
        "\\u0012", "\\u0013", "\\u0014", "\\u0015", "\\u0016", "\\u0017", "\\u0018", "\\u0019",
        "\\u001a", "\\u001b", "\\u001c", "\\u001d", "\\u001e", "\\u001f",
    ];
    match b {
        b'"' => Some("\\\""),
        b'\\' => Some("\\\\"),
        0..=0x1F => Some(CONTROL[usize::from(b)]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(s: &str) -> String {
        let mut out = Vec::new();
        write_json_string(&mut out, s);
        String::from_utf8(out).expect("UTF-8 in, UTF-8 out")
    }

    #[test]
    fn every_character_is_written_as_serde_json_writes_it() {
        for c in (0u32..0x800)
            .chain([0xFFFD, 0x1F600])
            .filter_map(char::from_u32)
        {
            for at in 0..10 {
                let mut s = "abcdefghij".to_owned();
                s.insert(at, c);
                assert_eq!(
                    ours(&s),
                    serde_json::to_string(&s).unwrap(),
                    "{c:?} at {at}"
                );
            }
        }
        assert_eq!(ours(""), "\"\"");
    }

    #[test]
    fn random_text_is_written_as_serde_json_writes_it() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let alphabet: Vec<char> = "ab \"\\\n\t\u{1}\u{7f}é€😀/".chars().collect();
        for _ in 0..2_000 {
            let mut s = String::new();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for i in 0..(x % 40) {
                s.push(alphabet[((x >> (i % 50)) as usize + i as usize) % alphabet.len()]);
            }
            assert_eq!(ours(&s), serde_json::to_string(&s).unwrap(), "{s:?}");
        }
    }
}
