//! Response bodies made of pre-rendered frames, paced by the latency knobs and cut by faults.

use std::io;
use std::time::Duration;

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use tokio::sync::watch;

use crate::state::wait_closed;

/// Role of a frame in a stream, for fault placement and pacing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Prelude, block boundaries, pings, comments.
    Other,
    /// A content-bearing event (text, reasoning or argument fragment).
    Content,
    /// Finish, usage and terminator events.
    Finish,
}

/// How a stream is cut short.
#[derive(Debug, Clone)]
pub(crate) enum Cut {
    None,
    /// Abort the connection after N content frames.
    Drop(usize),
    /// Go silent after N content frames.
    Stall(usize),
    /// Send this frame after N content frames, then end.
    Error(usize, Bytes),
}

/// Pacing of a stream.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Pace {
    pub(crate) first: Duration,
    pub(crate) interval: Duration,
}

/// Builds a streaming body.
pub(crate) fn body(
    frames: Vec<(Kind, Bytes)>,
    cut: Cut,
    pace: Pace,
    closing: watch::Receiver<bool>,
) -> Body {
    if matches!(cut, Cut::None) && pace.first.is_zero() && pace.interval.is_zero() {
        let len = frames.iter().map(|(_, b)| b.len()).sum();
        let mut all = BytesMut::with_capacity(len);
        for (_, bytes) in frames {
            all.extend_from_slice(&bytes);
        }
        return Body::from(all.freeze());
    }
    let state = Player {
        frames: frames.into_iter(),
        cut,
        pace,
        closing,
        started: false,
        sent: 0,
        done: false,
    };
    Body::from_stream(futures_util::stream::unfold(
        state,
        |mut player| async move {
            let item = player.step().await?;
            Some((item, player))
        },
    ))
}

struct Player {
    frames: std::vec::IntoIter<(Kind, Bytes)>,
    cut: Cut,
    pace: Pace,
    closing: watch::Receiver<bool>,
    started: bool,
    sent: usize,
    done: bool,
}

impl Player {
    async fn step(&mut self) -> Option<Result<Bytes, io::Error>> {
        if self.done {
            return None;
        }
        if !self.started {
            self.started = true;
            if !self.pace.first.is_zero() {
                tokio::time::sleep(self.pace.first).await;
            }
        }
        let Some((kind, bytes)) = self.frames.next() else {
            self.done = true;
            return self.act().await;
        };
        let at = match self.cut {
            Cut::None => None,
            Cut::Drop(n) | Cut::Stall(n) | Cut::Error(n, _) => Some(n),
        };
        if let Some(n) = at {
            if kind == Kind::Finish || (kind == Kind::Content && self.sent == n) {
                self.done = true;
                return self.act().await;
            }
        }
        if kind == Kind::Content {
            if self.sent > 0 && !self.pace.interval.is_zero() {
                tokio::time::sleep(self.pace.interval).await;
            }
            self.sent += 1;
        }
        Some(Ok(bytes))
    }

    async fn act(&mut self) -> Option<Result<Bytes, io::Error>> {
        match std::mem::replace(&mut self.cut, Cut::None) {
            Cut::None => None,
            Cut::Drop(_) => {
                // Give the server a pending poll so what was sent so far is flushed first.
                tokio::task::yield_now().await;
                Some(Err(aborted()))
            }
            Cut::Stall(_) => {
                wait_closed(self.closing.clone()).await;
                Some(Err(aborted()))
            }
            Cut::Error(_, frame) => Some(Ok(frame)),
        }
    }
}

fn aborted() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "simulated connection drop",
    )
}
