//! Configuration: raw YAML to validated config.
