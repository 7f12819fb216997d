//! Deterministic content: hashing, reply words, JSON samples from schemas, chunk splitting.

use serde_json::{Map, Value};

const WORDS: [&str; 64] = [
    "river", "stone", "signal", "harbor", "lantern", "meadow", "copper", "orbit", "maple",
    "thunder", "velvet", "canyon", "ember", "glacier", "willow", "prism", "falcon", "anchor",
    "cedar", "delta", "echo", "fable", "garnet", "horizon", "island", "jasper", "kernel", "lagoon",
    "mosaic", "nectar", "oasis", "pepper", "quartz", "ripple", "saddle", "timber", "umbra",
    "valley", "walnut", "yonder", "zephyr", "amber", "beacon", "cobalt", "dune", "fern", "grove",
    "hollow", "ivory", "juniper", "kestrel", "linen", "marble", "north", "opal", "pine", "quill",
    "raven", "sable", "tide", "upland", "vista", "wren", "zenith",
];

/// Fixed text of the simulated reasoning / thinking output.
pub(crate) const REASONING: &str = "Let me think about this request step by step.";

/// Opaque signature attached to thinking blocks and Gemini function calls.
pub(crate) const SIGNATURE: &str = "c2ltLXNpZ25hdHVyZS0wMDAx";

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// Incremental FNV-1a hash.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hasher(u64);

impl Default for Hasher {
    fn default() -> Self {
        Self(FNV_OFFSET)
    }
}

impl Hasher {
    pub(crate) fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(FNV_PRIME);
        }
    }

    pub(crate) fn finish(self) -> u64 {
        self.0
    }
}

pub(crate) fn hash(bytes: &[u8]) -> u64 {
    let mut hasher = Hasher::default();
    hasher.write(bytes);
    hasher.finish()
}

/// xorshift64* generator; never seeded with 0.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// `n` words chosen from the fixed list, seeded by `seed`.
pub(crate) fn words(seed: u64, n: usize) -> String {
    let mut rng = Rng::new(seed);
    let mut out = String::with_capacity(n * 8);
    for i in 0..n {
        if i > 0 {
            out.push(' ');
        }
        let index = (rng.next_u64() >> 58) as usize; // 6 bits: 0..64
        out.push_str(WORDS[index % WORDS.len()]);
    }
    out
}

/// Prompt tokens for a number of input characters: chars / 4 rounded up, at least 1.
pub(crate) fn tokens_for_chars(chars: usize) -> u64 {
    (chars.div_ceil(4)).max(1) as u64
}

/// Number of whitespace-separated words.
pub(crate) fn word_count(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

/// First `n` words of `text` (verbatim up to the end of the n-th word).
pub(crate) fn first_words(text: &str, n: usize) -> &str {
    if n == 0 {
        return "";
    }
    let mut seen = 0;
    let mut in_word = false;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            if in_word {
                seen += 1;
                if seen == n {
                    return &text[..i];
                }
            }
            in_word = false;
        } else {
            in_word = true;
        }
    }
    text
}

/// Splits `text` into at most `n` non-empty pieces at word starts; the pieces concatenate back
/// to `text`.
pub(crate) fn split_words(text: &str, n: usize) -> Vec<&str> {
    if text.is_empty() {
        return Vec::new();
    }
    let mut starts = Vec::new();
    let mut prev_space = true;
    for (i, c) in text.char_indices() {
        let space = c.is_whitespace();
        if !space && prev_space && i > 0 {
            // Cut before the whitespace run preceding this word, so pieces read " word".
            let cut = text[..i].trim_end().len();
            if cut > 0 {
                starts.push(cut);
            }
        }
        prev_space = space;
    }
    let pieces = n.clamp(1, starts.len() + 1);
    let mut out = Vec::with_capacity(pieces);
    let mut from = 0;
    for k in 1..pieces {
        // Piece k starts at word floor(k * words / pieces), which is >= 1 here.
        let word = k * (starts.len() + 1) / pieces;
        let Some(&cut) = starts.get(word.saturating_sub(1)) else {
            break;
        };
        if cut > from {
            out.push(&text[from..cut]);
            from = cut;
        }
    }
    out.push(&text[from..]);
    out
}

/// Splits `text` into `n` pieces of roughly equal length at char boundaries.
pub(crate) fn split_even(text: &str, n: usize) -> Vec<&str> {
    let n = n.max(1);
    let size = text.len().div_ceil(n).max(1);
    let mut out = Vec::with_capacity(n);
    let mut from = 0;
    while from < text.len() {
        let mut to = (from + size).min(text.len());
        while !text.is_char_boundary(to) {
            to += 1;
        }
        out.push(&text[from..to]);
        from = to;
    }
    out
}

/// A deterministic JSON value satisfying (the common subset of) a JSON schema.
pub(crate) fn sample(schema: &Value) -> Value {
    sample_depth(schema, 0)
}

fn sample_depth(schema: &Value, depth: usize) -> Value {
    if depth > 8 {
        return Value::Null;
    }
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|v| v.first())
    {
        return first.clone();
    }
    if let Some(value) = schema.get("const") {
        return value.clone();
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(first) = schema
            .get(key)
            .and_then(Value::as_array)
            .and_then(|v| v.first())
        {
            return sample_depth(first, depth + 1);
        }
    }
    let kind = match schema.get("type") {
        Some(Value::String(kind)) => kind.as_str(),
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(Value::as_str)
            .find(|k| !k.eq_ignore_ascii_case("null"))
            .unwrap_or("null"),
        _ if schema.get("properties").is_some() => "object",
        _ => "string",
    };
    match kind.to_ascii_lowercase().as_str() {
        "number" | "integer" => Value::from(1),
        "boolean" => Value::Bool(true),
        "null" => Value::Null,
        "array" => {
            let item = schema.get("items").map_or(Value::from("sample"), |items| {
                sample_depth(items, depth + 1)
            });
            Value::Array(vec![item])
        }
        "object" => sample_object(schema, depth),
        _ => Value::from("sample"),
    }
}

fn sample_object(schema: &Value, depth: usize) -> Value {
    let mut out = Map::new();
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return Value::Object(out);
    };
    let required: Option<Vec<&str>> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect());
    for (name, prop) in props {
        let wanted = required
            .as_ref()
            .is_none_or(|req| req.contains(&name.as_str()));
        if wanted {
            out.insert(name.clone(), sample_depth(prop, depth + 1));
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn split_words_round_trips() {
        let text = "alpha beta  gamma delta epsilon";
        for n in 1..8 {
            let pieces = split_words(text, n);
            assert_eq!(pieces.concat(), text);
            assert!(pieces.len() <= n.max(1));
            assert!(pieces.iter().all(|p| !p.is_empty()));
        }
        assert_eq!(split_words(text, 5).len(), 5);
        assert_eq!(split_words("one", 4), vec!["one"]);
    }

    #[test]
    fn first_words_and_counts() {
        assert_eq!(first_words("a b  c d", 3), "a b  c");
        assert_eq!(first_words("a b", 5), "a b");
        assert_eq!(word_count(" a b "), 2);
        assert_eq!(tokens_for_chars(0), 1);
        assert_eq!(tokens_for_chars(9), 3);
    }

    #[test]
    fn schema_samples() {
        let schema = json!({"type":"object","properties":{
            "city":{"type":"string"},"n":{"type":"integer"},"ok":{"type":"boolean"},
            "unit":{"type":"string","enum":["c","f"]},"opt":{"type":"string"},
            "nested":{"type":"object","properties":{"x":{"type":"number"}}}},
            "required":["city","n","ok","unit","nested"]});
        assert_eq!(
            sample(&schema),
            json!({"city":"sample","n":1,"ok":true,"unit":"c","nested":{"x":1}})
        );
    }

    #[test]
    fn words_are_deterministic() {
        assert_eq!(words(7, 5), words(7, 5));
        assert_eq!(word_count(&words(7, 5)), 5);
    }
}
