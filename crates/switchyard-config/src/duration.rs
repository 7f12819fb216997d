//! Human durations in config: `250ms`, `5s`, `2m`, `1h`, `1m30s`.

use std::time::Duration;

/// Parses `250ms`, `5s`, `2m`, `1h`, `1m30s`, `1.5s`. A bare number is seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let s = text.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(secs) = s.parse::<f64>() {
        return secs_to_duration(secs);
    }
    let mut total = 0.0_f64;
    let mut num = String::new();
    let bytes: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut saw_unit = false;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            i += 1;
            continue;
        }
        let value: f64 = num.parse().ok()?;
        num.clear();
        let (unit, len) = match (c, bytes.get(i + 1)) {
            ('m', Some('s')) => (0.001, 2),
            ('u' | 'µ', Some('s')) => (0.000_001, 2),
            ('h', _) => (3600.0, 1),
            ('m', _) => (60.0, 1),
            ('s', _) => (1.0, 1),
            _ => return None,
        };
        total += value * unit;
        saw_unit = true;
        i += len;
    }
    if !num.is_empty() || !saw_unit {
        return None;
    }
    secs_to_duration(total)
}

fn secs_to_duration(secs: f64) -> Option<Duration> {
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("5 parsecs"), None);
        assert_eq!(parse_duration("-1s"), None);
    }
}
