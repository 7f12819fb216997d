//! Wire formats and the canonical chat model.
