//! The Anthropic Messages dialect (upstream adapter and ingress translation).
