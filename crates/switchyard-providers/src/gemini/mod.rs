//! The Google Gemini dialect.
