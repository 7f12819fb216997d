//! One-byte mutations of a payload: the inputs on which the tests of each fast path compare it
//! with its reference (the scanner with `serde_json`, the head reader with `httparse`, the
//! one-pass readers with the typed paths). Built for tests only (`feature = "testing"`).

/// Calls `check` with every one-byte deletion of `seed`, and with every replacement and
/// insertion of each byte of `bytes` at each position (insertions at the end too).
pub fn one_byte_mutations(seed: &[u8], bytes: &[u8], mut check: impl FnMut(&[u8])) {
    let mut v = Vec::with_capacity(seed.len() + 1);
    for i in 0..=seed.len() {
        if i < seed.len() {
            v.clear();
            v.extend_from_slice(seed);
            v.remove(i);
            check(&v);
        }
        for &b in bytes {
            if i < seed.len() {
                v.clear();
                v.extend_from_slice(seed);
                v[i] = b;
                check(&v);
            }
            v.clear();
            v.extend_from_slice(seed);
            v.insert(i, b);
            check(&v);
        }
    }
}
