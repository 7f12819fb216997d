//! Cheap prompt features for routing rules, computed in microseconds from the canonical
//! request: size, tools, images, turns, language and an estimate of task complexity.
//!
//! The complexity estimate is a transparent score, not a model: it adds weight for signals of
//! multi-step work (code, reasoning verbs, several questions, long prompts, many turns, tools)
//! and subtracts for signals of light tasks (summarise, classify, translate, extract). Scores
//! below 0.35 are `simple`, above 0.65 `complex`, `moderate` between. Examples live in the
//! tests of this module and in docs/routing.md.

use std::sync::LazyLock;

use aho_corasick::automaton::{Automaton, OverlappingState};
use aho_corasick::dfa::DFA;
use aho_corasick::Input;
use serde::Serialize;
use switchyard_types::openai::{ChatRequest, Content, ContentPart, Role};

use crate::request::estimate_tokens;

/// Features of one request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromptFeatures {
    /// Estimated prompt tokens.
    pub tokens: u64,
    /// Tools offered.
    pub tools: bool,
    /// Number of tools offered.
    pub tool_count: u64,
    /// Images present.
    pub images: bool,
    /// User turns.
    pub turns: u64,
    /// Detected language of the last user message (ISO 639-1, or `unknown`).
    pub language: String,
    /// `simple`, `moderate` or `complex`.
    pub complexity: String,
    /// Score behind `complexity`, 0 to 1.
    pub complexity_score: f64,
    /// Dominant task: `summarization`, `classification`, `translation`, `extraction`, `code`,
    /// `reasoning` or `chat`.
    pub task: String,
    /// Text of the last user message (for `matches` / `contains` in rules).
    pub last_user_text: String,
    /// Text of the system prompt.
    pub system_text: String,
}

/// Longest text the features look at and expose (`last_user_text`, `system_text`): enough to
/// classify a request, bounded so a 100 KB prompt costs no more than an 8 KB one.
pub const MAX_TEXT: usize = 8 * 1024;

fn truncate_at_char(s: &mut String, max: usize) {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
}

/// Which of the costlier features the rules use (from their source text): what no rule
/// mentions is not computed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wants {
    /// `prompt.language`.
    pub language: bool,
    /// `prompt.complexity`, `prompt.complexity_score`, `prompt.task`.
    pub complexity: bool,
}

impl Wants {
    /// Everything (explanations, tests).
    pub const ALL: Wants = Wants {
        language: true,
        complexity: true,
    };
}

/// Extracts every feature.
pub fn extract(req: &ChatRequest) -> PromptFeatures {
    extract_with(req, Wants::ALL)
}

/// What the features read of a message's content.
trait Texts {
    /// Calls `f` with each text piece in order; returns whether an image is present.
    fn each_text(&self, f: &mut dyn FnMut(&str)) -> bool;
}

impl Texts for Content {
    fn each_text(&self, f: &mut dyn FnMut(&str)) -> bool {
        match self {
            Content::Text(t) => {
                f(t);
                false
            }
            Content::Parts(parts) => {
                let mut images = false;
                for p in parts {
                    match p {
                        ContentPart::Text { text, .. } => f(text),
                        ContentPart::ImageUrl { .. } => images = true,
                        ContentPart::Other(_) => {}
                    }
                }
                images
            }
        }
    }
}

/// Extracts features, skipping the ones nobody wants (`language` is then `unknown`,
/// `complexity` `moderate`, `task` `chat`).
pub fn extract_with(req: &ChatRequest, wants: Wants) -> PromptFeatures {
    let tool_count = req.tools.as_ref().map_or(0, |t| t.len() as u64);
    features(
        req.messages.iter().map(|m| (m.role, m.content.as_ref())),
        tool_count,
        wants,
    )
}

/// Features of an OpenAI-format body read from its `messages` and `tools` members alone,
/// borrowing the texts: no parse of the whole request into owned strings. `None` when the
/// members do not read as expected; the caller then parses the request canonically, which
/// says what is wrong.
pub fn extract_from_members(
    messages: &[u8],
    tools: Option<&[u8]>,
    wants: Wants,
) -> Option<PromptFeatures> {
    let messages: Vec<view::Message<'_>> = serde_json::from_slice(messages).ok()?;
    let tool_count = match tools {
        None | Some(b"null") => 0,
        Some(t) => serde_json::from_slice::<Vec<serde::de::IgnoredAny>>(t)
            .ok()?
            .len() as u64,
    };
    Some(features(
        messages.iter().map(|m| (m.role, m.content.as_ref())),
        tool_count,
        wants,
    ))
}

fn features<'c, C: Texts + 'c>(
    messages: impl Iterator<Item = (Role, Option<&'c C>)>,
    tool_count: u64,
    wants: Wants,
) -> PromptFeatures {
    let mut chars = 0usize;
    let mut images = false;
    let mut turns = 0u64;
    let mut last_user: Option<&C> = None;
    let mut system = String::new();
    for (role, content) in messages {
        let Some(c) = content else {
            if role == Role::User {
                turns += 1;
                last_user = None;
            }
            continue;
        };
        match role {
            Role::User => {
                turns += 1;
                last_user = Some(c);
                images |= c.each_text(&mut |t| chars += t.len());
            }
            Role::System | Role::Developer => {
                images |= c.each_text(&mut |t| {
                    chars += t.len();
                    system.push_str(t);
                });
            }
            Role::Assistant | Role::Tool | Role::Function => {
                images |= c.each_text(&mut |t| chars += t.len());
            }
        }
    }
    let mut last_user = last_user.map_or_else(String::new, |c| {
        let mut s = String::new();
        c.each_text(&mut |t| s.push_str(t));
        s
    });
    truncate_at_char(&mut last_user, MAX_TEXT);
    truncate_at_char(&mut system, MAX_TEXT);
    let tokens = estimate_tokens(chars);
    let (task, score) = if wants.complexity {
        complexity(&last_user, tokens, turns, tool_count)
    } else {
        ("chat", 0.5)
    };
    let label = if score < 0.35 {
        "simple"
    } else if score > 0.65 {
        "complex"
    } else {
        "moderate"
    };
    PromptFeatures {
        tokens,
        tools: tool_count > 0,
        tool_count,
        images,
        turns,
        language: if wants.language {
            detect_language(&last_user)
        } else {
            "unknown"
        }
        .to_owned(),
        complexity: label.to_owned(),
        complexity_score: (score * 100.0).round() / 100.0,
        task: task.to_owned(),
        last_user_text: last_user,
        system_text: system,
    }
}

/// Borrowed views of OpenAI messages: what [`extract_from_members`] reads, and no more.
mod view {
    use std::borrow::Cow;
    use std::fmt;

    use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use serde::Deserialize;
    use serde_json::value::RawValue;
    use switchyard_types::keys::CowStr;
    use switchyard_types::openai::Role;

    use super::Texts;

    /// A message: its role and content; other members are skipped.
    #[derive(Deserialize)]
    pub(super) struct Message<'a> {
        pub(super) role: Role,
        #[serde(borrow, default)]
        pub(super) content: Option<Content<'a>>,
    }

    /// A string, or parts.
    pub(super) enum Content<'a> {
        Text(Cow<'a, str>),
        Parts(Vec<Part<'a>>),
    }

    /// A content part as the canonical request reads it: text when `type` is `text` with a
    /// string `text`, an image when `type` is `image_url` with an `image_url` object holding
    /// a string `url`, anything else ignored.
    pub(super) enum Part<'a> {
        Text(Cow<'a, str>),
        Image,
        Other,
    }

    /// What the canonical `ImageUrl` requires: a string `url`, a string `detail` if any.
    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct ImageRef<'a> {
        #[serde(borrow)]
        url: Cow<'a, str>,
        #[serde(borrow, default)]
        detail: Option<Cow<'a, str>>,
    }

    impl<'de: 'a, 'a> Deserialize<'de> for Part<'a> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Part<'de>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a content part")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                    let mut kind: Option<Cow<'de, str>> = None;
                    let mut text: Option<Cow<'de, str>> = None;
                    let mut image = false;
                    while let Some(CowStr(key)) = map.next_key::<CowStr<'de>>()? {
                        match &*key {
                            "type" => kind = map.next_value::<Option<CowStr<'de>>>()?.map(|c| c.0),
                            "text" => text = map.next_value::<Option<CowStr<'de>>>()?.map(|c| c.0),
                            "image_url" => {
                                let raw: &'de RawValue = map.next_value()?;
                                image = serde_json::from_str::<ImageRef<'_>>(raw.get()).is_ok();
                            }
                            _ => {
                                map.next_value::<IgnoredAny>()?;
                            }
                        }
                    }
                    Ok(match (kind.as_deref(), text) {
                        (Some("text"), Some(t)) => Part::Text(t),
                        (Some("image_url"), _) if image => Part::Image,
                        _ => Part::Other,
                    })
                }
                // Anything but an object is an `Other` part, as in the canonical request.
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                    while seq.next_element::<IgnoredAny>()?.is_some() {}
                    Ok(Part::Other)
                }
                fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                    Ok(Part::Other)
                }
                fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                    Ok(Part::Other)
                }
                fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                    Ok(Part::Other)
                }
                fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                    Ok(Part::Other)
                }
                fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                    Ok(Part::Other)
                }
                fn visit_unit<E>(self) -> Result<Self::Value, E> {
                    Ok(Part::Other)
                }
            }
            d.deserialize_any(V)
        }
    }

    impl<'de: 'a, 'a> Deserialize<'de> for Content<'a> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Content<'de>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a string or an array of content parts")
                }
                fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                    Ok(Content::Text(Cow::Borrowed(v)))
                }
                fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                    Ok(Content::Text(Cow::Owned(v.to_owned())))
                }
                fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                    Ok(Content::Text(Cow::Owned(v)))
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                    let mut parts = Vec::with_capacity(seq.size_hint().unwrap_or(2));
                    while let Some(p) = seq.next_element()? {
                        parts.push(p);
                    }
                    Ok(Content::Parts(parts))
                }
            }
            d.deserialize_any(V)
        }
    }

    impl Texts for Content<'_> {
        fn each_text(&self, f: &mut dyn FnMut(&str)) -> bool {
            match self {
                Content::Text(t) => {
                    f(t);
                    false
                }
                Content::Parts(parts) => {
                    let mut images = false;
                    for p in parts {
                        match p {
                            Part::Text(t) => f(t),
                            Part::Image => images = true,
                            Part::Other => {}
                        }
                    }
                    images
                }
            }
        }
    }
}

const LIGHT: &[(&str, &str)] = &[
    ("summar", "summarization"),
    ("tl;dr", "summarization"),
    ("tldr", "summarization"),
    ("classif", "classification"),
    ("categori", "classification"),
    ("sentiment", "classification"),
    ("translate", "translation"),
    ("extract", "extraction"),
    ("list the", "extraction"),
];

const HEAVY: &[(&str, &str)] = &[
    ("step by step", "reasoning"),
    ("prove", "reasoning"),
    ("derive", "reasoning"),
    ("analy", "reasoning"),
    ("trade-off", "reasoning"),
    ("tradeoff", "reasoning"),
    ("design", "reasoning"),
    ("architect", "reasoning"),
    ("optimi", "reasoning"),
    ("why ", "reasoning"),
    ("compare", "reasoning"),
    ("plan ", "reasoning"),
    ("debug", "code"),
    ("refactor", "code"),
    ("implement", "code"),
    ("function", "code"),
    ("algorithm", "code"),
    ("stack trace", "code"),
    ("compile", "code"),
    ("```", "code"),
];

const _: () = assert!(HEAVY.len() + LIGHT.len() <= 64, "needle bits fit a u64");

/// Signs of code, matched case-sensitively on the original text.
const CODE_LIKE: &[&str] = &["fn ", "def ", "class ", "=>", "{", "};", "import "];

/// [`HEAVY`] then [`LIGHT`] needles in one automaton (ASCII case-insensitive: the needles are
/// ASCII), and [`CODE_LIKE`] in another: one pass over the text each, instead of one search
/// per needle (36 searches of the whole text). DFAs used by their concrete type: through
/// `AhoCorasick` (a trait object) each byte costs a virtual call, ~17 instructions a byte.
static NEEDLES: LazyLock<Option<(DFA, DFA)>> = LazyLock::new(|| {
    let words = DFA::builder()
        .ascii_case_insensitive(true)
        .build(HEAVY.iter().chain(LIGHT).map(|(needle, _)| needle))
        .ok()?;
    let code = DFA::builder().build(CODE_LIKE).ok()?;
    Some((words, code))
});

/// Bit i set when pattern i of `dfa` occurs in `text`.
fn present(dfa: &DFA, text: &str) -> u64 {
    let input = Input::new(text);
    let mut state = OverlappingState::start();
    let mut seen = 0u64;
    while dfa.try_find_overlapping(&input, &mut state).is_ok() {
        match state.get_match() {
            Some(m) => seen |= 1 << m.pattern().as_usize(),
            None => break,
        }
    }
    seen
}

/// Which keywords and code signs a text holds: the needle bits of [`HEAVY`] then [`LIGHT`],
/// and of [`CODE_LIKE`].
fn keywords(text: &str) -> (u64, u64) {
    match NEEDLES.as_ref() {
        Some((words, code)) => (present(words, text), present(code, text)),
        None => (0, 0),
    }
}

fn complexity(text: &str, tokens: u64, turns: u64, tools: u64) -> (&'static str, f64) {
    let (words, code) = keywords(text);
    let mut score: f64 = 0.3;
    let mut task = "chat";
    let mut heavy_hits = 0;
    for (i, (_, t)) in HEAVY.iter().enumerate() {
        if words & (1 << i) != 0 {
            heavy_hits += 1;
            task = t;
        }
    }
    let light = (0..LIGHT.len())
        .find(|i| words & (1 << (HEAVY.len() + i)) != 0)
        .map(|i| LIGHT[i]);
    score += 0.18 * f64::from(heavy_hits.min(3));
    if let Some((_, t)) = light {
        score -= 0.2;
        if heavy_hits == 0 {
            task = t;
        }
    }
    let code_like = code.count_ones();
    if code_like >= 2 {
        score += 0.2;
        if light.is_none() {
            task = "code";
        }
    }
    let questions = text.bytes().filter(|&b| b == b'?').count();
    if questions >= 3 {
        score += 0.1;
    }
    score += match tokens {
        0..=200 => 0.0,
        201..=2000 => 0.05,
        _ => 0.1,
    };
    if turns > 6 {
        score += 0.05;
    }
    if tools > 0 {
        score += 0.05;
    }
    (task, score.clamp(0.0, 1.0))
}

/// FNV-1a, for the fixed stop-word table.
#[derive(Default)]
struct Fnv1a(u64);

impl std::hash::Hasher for Fnv1a {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// Detects the language: by script first (CJK, Cyrillic, Arabic, ...), then for Latin text by
/// stop-word counts for en, es, fr, de, pt, it, nl.
pub fn detect_language(text: &str) -> &'static str {
    let mut counts = [0usize; 8];
    let mut letters = 0usize;
    for c in text.chars().take(2000) {
        if c.is_ascii() {
            // Latin letters: the common case, one comparison.
            if c.is_ascii_alphabetic() {
                letters += 1;
                counts[0] += 1;
            }
            continue;
        }
        if !c.is_alphabetic() {
            continue;
        }
        letters += 1;
        let idx = match c as u32 {
            0x3040..=0x30FF => 1,                   // kana: ja
            0xAC00..=0xD7AF | 0x1100..=0x11FF => 2, // hangul: ko
            0x4E00..=0x9FFF | 0x3400..=0x4DBF => 3, // han: zh (ja if kana present)
            0x0400..=0x04FF => 4,                   // cyrillic: ru
            0x0600..=0x06FF => 5,                   // arabic
            0x0900..=0x097F => 6,                   // devanagari: hi
            0x0370..=0x03FF => 7,                   // greek
            _ => 0,
        };
        counts[idx] += 1;
    }
    if letters == 0 {
        return "unknown";
    }
    if counts[1] > 0 && counts[1] + counts[3] > letters / 3 {
        return "ja";
    }
    let scripts = [
        (2, "ko"),
        (3, "zh"),
        (4, "ru"),
        (5, "ar"),
        (6, "hi"),
        (7, "el"),
    ];
    for (i, lang) in scripts {
        if counts[i] > letters / 3 {
            return lang;
        }
    }
    const STOP: &[(&str, &[&str])] = &[
        (
            "en",
            &[
                "the", "and", "is", "to", "of", "what", "how", "you", "this", "please", "my", "it",
            ],
        ),
        (
            "es",
            &[
                "el", "la", "los", "las", "que", "de", "y", "es", "por", "para", "cómo", "qué",
                "una",
            ],
        ),
        (
            "fr",
            &[
                "le", "la", "les", "et", "est", "que", "des", "une", "pour", "vous", "je",
                "comment",
            ],
        ),
        (
            "de",
            &[
                "der", "die", "das", "und", "ist", "nicht", "ich", "sie", "wie", "mit", "ein",
                "eine",
            ],
        ),
        (
            "pt",
            &[
                "o", "os", "que", "não", "uma", "para", "com", "você", "como", "é", "do", "da",
            ],
        ),
        (
            "it",
            &[
                "il", "che", "non", "una", "per", "sono", "come", "della", "gli", "è", "ciao", "di",
            ],
        ),
        (
            "nl",
            &[
                "de", "het", "een", "en", "van", "ik", "niet", "dat", "hoe", "wat", "zijn", "je",
            ],
        ),
    ];
    // One pass over the words, one lookup each (was: every word against every list), and
    // none for a word longer than every stop word. The table is fixed, so a plain FNV hash
    // serves (SipHash's protection is for tables that callers fill).
    type Fnv = std::hash::BuildHasherDefault<Fnv1a>;
    static INDEX: LazyLock<(std::collections::HashMap<&'static str, u8, Fnv>, usize)> =
        LazyLock::new(|| {
            let mut m = std::collections::HashMap::default();
            let mut longest = 0;
            for (i, (_, stops)) in STOP.iter().enumerate() {
                for w in *stops {
                    *m.entry(*w).or_insert(0u8) |= 1 << i;
                    longest = longest.max(w.len());
                }
            }
            (m, longest)
        });
    let (index, longest) = &*INDEX;
    let mut hits = [0usize; 7];
    let mut all_ascii = true;
    let mut lower = String::new();
    for word in text
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .take(400)
    {
        let ascii = word.is_ascii();
        all_ascii &= ascii;
        // Lowercasing keeps an ASCII word's length, and a char (at most 4 bytes) lowercases
        // to at least 1 byte.
        if word.len() > *longest * if ascii { 1 } else { 4 } {
            continue;
        }
        lower.clear();
        if ascii {
            lower.push_str(word);
            lower.make_ascii_lowercase();
        } else {
            lower.extend(word.chars().flat_map(char::to_lowercase));
        }
        if let Some(&mask) = index.get(lower.as_str()) {
            for (i, h) in hits.iter_mut().enumerate() {
                *h += usize::from(mask & (1 << i) != 0);
            }
        }
    }
    let mut best = ("unknown", 0usize);
    for ((lang, _), n) in STOP.iter().zip(hits) {
        if n > best.1 {
            best = (lang, n);
        }
    }
    if best.1 == 0 && all_ascii {
        return "en";
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_types::openai::Message;

    fn req(text: &str) -> ChatRequest {
        ChatRequest {
            model: "m".into(),
            messages: vec![Message::text(Role::User, text)],
            ..Default::default()
        }
    }

    #[test]
    fn simple_tasks_score_simple() {
        for t in [
            "Summarize this paragraph in one sentence: the meeting moved to Tuesday.",
            "Classify the sentiment of this review: great product!",
            "Translate 'good morning' to French",
        ] {
            let f = extract(&req(t));
            assert_eq!(f.complexity, "simple", "{t}: {f:?}");
        }
        assert_eq!(
            extract(&req("Summarize this article")).task,
            "summarization"
        );
    }

    #[test]
    fn multi_step_reasoning_and_code_score_complex() {
        for t in [
            "Analyze the trade-offs step by step and design an architecture for a multi-region database.",
            "Debug this function and refactor it: ```fn main() { let x = 1; }``` why does it not compile?",
        ] {
            let f = extract(&req(t));
            assert_eq!(f.complexity, "complex", "{t}: {f:?}");
        }
        assert_eq!(
            extract(&req("please debug and refactor my parser")).task,
            "code"
        );
    }

    /// The keywords as first found: one case-folded `contains` per needle.
    fn reference_keywords(text: &str) -> (u64, u64) {
        let lower = text.to_lowercase();
        let words = HEAVY
            .iter()
            .chain(LIGHT)
            .enumerate()
            .filter(|(_, (needle, _))| lower.contains(needle))
            .fold(0, |bits, (i, _)| bits | 1 << i);
        let code = CODE_LIKE
            .iter()
            .enumerate()
            .filter(|(_, sign)| text.contains(*sign))
            .fold(0, |bits, (i, _)| bits | 1 << i);
        (words, code)
    }

    /// The one-pass scan finds exactly what a search per needle finds: every needle alone, in
    /// upper case, overlapping others, several together, and the code signs.
    #[test]
    fn one_pass_scan_finds_what_a_search_per_needle_finds() {
        let mut texts: Vec<String> = HEAVY
            .iter()
            .chain(LIGHT)
            .flat_map(|(n, _)| {
                [
                    format!("please {n} this"),
                    format!("{} IT NOW", n.to_uppercase()),
                    (*n).to_owned(),
                ]
            })
            .collect();
        texts.extend(CODE_LIKE.iter().map(|c| format!("x {c} y")));
        texts.extend(
            [
                "",
                "why why why? why? why?",
                "Analyze the trade-offs step by step, then design and optimize it.",
                "summarize and classify, then translate and extract; list the items",
                "Debug why this fn main() { x => y }; import os fails to compile",
                "def f(): class A: pass  import sys",
                "TL;DR: Compare the ALGORITHM, then PLAN the refactor",
                "tradeofftrade-off analyanalysis designarchitect",
                "Résumé: summarisez l'analyse étape par étape",
                "{}{}{}",
            ]
            .map(str::to_owned),
        );
        for t in &texts {
            assert_eq!(keywords(t), reference_keywords(t), "{t:?}");
        }
        assert_ne!(keywords("prove it").0, 0, "a hit is seen");
    }

    /// Features read from the `messages` and `tools` members alone equal those of the whole
    /// request parsed canonically, for every shape of content the canonical request models.
    #[test]
    fn member_views_read_like_the_canonical_request() {
        let bodies = [
            r#"{"model":"m","messages":[{"role":"user","content":"Write one short sentence about trains."}]}"#,
            r#"{"model":"m","messages":[{"role":"system","content":"You are terse."},{"role":"developer","content":"Be kind."},{"role":"user","content":"Why? How? What?"}],"tools":[{"type":"function","function":{"name":"f","parameters":{}}},{"type":"function","function":{"name":"g"}}]}"#,
            r#"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"Describe "},{"type":"image_url","image_url":{"url":"https://x/y.png","detail":"high"}},{"type":"text","text":"this \"photo\" caf\u00e9"}]}]}"#,
            r#"{"model":"m","messages":[{"role":"user","content":"debug my function"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"42"},{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAA","format":"wav"}}]}]}"#,
            r#"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":"https://not-an-object"},{"type":"image_url","image_url":{"url":"u","detail":5}},{"type":"text","text":"Résumé: summarize step by step"}]},{"role":"user"}],"tools":null}"#,
            r#"{"model":"m","messages":[{"role":"system","content":[{"type":"text","text":"sys "},{"type":"text","text":"two"}]},{"role":"user","content":"¿Cómo puedo cambiar la contraseña de mi cuenta?","name":"ana"}],"temperature":0.2}"#,
        ];
        for body in bodies {
            let canonical: ChatRequest = serde_json::from_str(body).expect(body);
            let members = switchyard_types::peek::Members::parse(body.as_bytes()).expect(body);
            let light = extract_from_members(
                members.get(body.as_bytes(), "messages").expect("messages"),
                members.get(body.as_bytes(), "tools"),
                Wants::ALL,
            );
            assert_eq!(light, Some(extract(&canonical)), "{body}");
        }
        // What the view cannot read is left to the canonical parse (and its error).
        for messages in [
            r#"[{"role":"robot","content":"hi"}]"#,
            r#"[{"content":"hi"}]"#,
            r#"[{"role":"user","content":5}]"#,
            r#"{"role":"user"}"#,
        ] {
            assert_eq!(
                extract_from_members(messages.as_bytes(), None, Wants::ALL),
                None,
                "{messages}"
            );
        }
    }

    #[test]
    fn languages_are_detected() {
        assert_eq!(detect_language("How do I reset my password?"), "en");
        assert_eq!(
            detect_language("¿Cómo puedo cambiar la contraseña de mi cuenta?"),
            "es"
        );
        assert_eq!(
            detect_language("Comment est-ce que je peux changer le mot de passe?"),
            "fr"
        );
        assert_eq!(
            detect_language("Wie kann ich das Passwort ändern? Ich weiß es nicht"),
            "de"
        );
        assert_eq!(
            detect_language("パスワードをリセットするにはどうすればいいですか"),
            "ja"
        );
        assert_eq!(detect_language("如何重置我的密码"), "zh");
        assert_eq!(detect_language("Как сбросить пароль?"), "ru");
    }
}
