//! The `date` header's value, formatted once a second per thread (as hyper does).

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

/// `Sun, 06 Nov 1994 08:49:37 GMT`: always 29 bytes.
const LEN: usize = 29;

struct Cached {
    second: u64,
    value: [u8; LEN],
}

thread_local! {
    static CACHED: RefCell<Cached> = const {
        RefCell::new(Cached { second: u64::MAX, value: [b' '; LEN] })
    };
}

/// Appends the current date to `out`.
pub(crate) fn extend(out: &mut Vec<u8>) {
    let now = SystemTime::now();
    let second = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    CACHED.with(|c| {
        let mut c = c.borrow_mut();
        if c.second != second {
            let text = httpdate::fmt_http_date(now);
            if text.len() == LEN {
                c.value.copy_from_slice(text.as_bytes());
                c.second = second;
            } else {
                out.extend_from_slice(text.as_bytes());
                return;
            }
        }
        out.extend_from_slice(&c.value);
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_date_is_an_http_date_of_now() {
        let mut out = Vec::new();
        super::extend(&mut out);
        let text = std::str::from_utf8(&out).expect("ascii");
        let parsed = httpdate::parse_http_date(text).expect("an HTTP date");
        let off = std::time::SystemTime::now()
            .duration_since(parsed)
            .expect("not in the future");
        assert!(off.as_secs() <= 2, "{text} is {off:?} old");
        // The cached value is the same text.
        let mut again = Vec::new();
        super::extend(&mut again);
        assert_eq!(again.len(), out.len());
    }
}
