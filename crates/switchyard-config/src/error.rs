//! Configuration errors, each naming where the problem is.

/// A config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `${VAR}` substitution failed.
    #[error("line {line}: {message}")]
    Interpolation {
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// YAML syntax or shape error.
    #[error("{}{path}: {message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
    Parse {
        /// Field path, e.g. `models[0].deployments[1].weight`.
        path: String,
        /// 1-based line, when known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// A value is well-formed YAML but invalid.
    #[error("{path}: {message}")]
    Invalid {
        /// Field path.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl ConfigError {
    pub(crate) fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            path: path.into(),
            message: message.into(),
        }
    }
}
