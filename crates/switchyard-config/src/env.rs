//! `${VAR}` and `${VAR:-default}` substitution before YAML parsing. `$${` escapes a literal `${`.

use std::collections::HashMap;

use crate::error::ConfigError;

/// Substitutes variables from `env`. A variable that is unset and has no default is an error
/// naming it and its line.
pub fn interpolate(text: &str, env: &HashMap<String, String>) -> Result<String, ConfigError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos..];
        if let Some(tail) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = tail;
            continue;
        }
        let Some(body_start) = after.strip_prefix("${") else {
            out.push('$');
            rest = &after[1..];
            continue;
        };
        let Some(end) = body_start.find('}') else {
            return Err(ConfigError::Interpolation {
                line: line_of(text, text.len() - rest.len() + pos),
                message: "unterminated `${`".to_owned(),
            });
        };
        let expr = &body_start[..end];
        let (name, default) = match expr.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (expr, None),
        };
        let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(ConfigError::Interpolation {
                line: line_of(text, text.len() - rest.len() + pos),
                message: format!("`{name}` is not a valid variable name"),
            });
        }
        match (env.get(name).filter(|v| !v.is_empty()), default) {
            (Some(v), _) => out.push_str(v),
            (None, Some(d)) => out.push_str(d),
            (None, None) => {
                return Err(ConfigError::Interpolation {
                    line: line_of(text, text.len() - rest.len() + pos),
                    message: format!("environment variable `{name}` is not set (write `${{{name}:-}}` to allow empty)"),
                })
            }
        }
        rest = &body_start[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_defaults_and_escapes() {
        let env = HashMap::from([("KEY".to_owned(), "sk-1".to_owned())]);
        assert_eq!(
            interpolate("a: ${KEY}\nb: ${NOPE:-x}\nc: $${KEY} $5", &env).unwrap(),
            "a: sk-1\nb: x\nc: ${KEY} $5"
        );
        let err = interpolate("a: 1\nb: ${MISSING}", &env).unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        assert!(err.to_string().contains("MISSING"));
    }
}
