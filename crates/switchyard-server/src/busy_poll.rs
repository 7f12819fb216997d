//! Busy polling (`server.busy_poll`): the runtime keeps polling its sockets for a while after
//! a client's bytes arrive, instead of sleeping in `epoll_wait` as soon as it has nothing to do.
//!
//! A thread that sleeps costs the next event a wake-up: the kernel's, and on a virtual machine
//! the hypervisor's too (a halted vCPU is rescheduled by the host), which is tens of
//! microseconds on the machines of `bench/`. HAProxy's `busy-polling` and Linux's
//! `net.core.busy_poll` trade a core's idle time for that latency the same way; here the trade
//! is bounded by a window, so an idle gateway goes back to sleep.
//!
//! How: one task per runtime worker that, while the window is open, yields in a loop. tokio
//! runs a yielded task again only after it has polled its I/O driver *without blocking*
//! (`epoll_wait` with a zero timeout), so as long as a spinner is yielding, the worker polls
//! its sockets instead of parking, and every other task runs as before. The request path only
//! counts client reads ([`BusyPoll::poke`]); the spinners see the count change and keep the
//! window open, or, once it is unchanged for a whole window, sleep until the next poke.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::AbortHandle;
use tokio::time::Instant;

/// The busy-polling state of one listener.
#[derive(Debug)]
pub(crate) struct BusyPoll {
    window: Duration,
    /// Client reads so far (wrapping; only its changes matter).
    reads: AtomicU32,
    /// Set by a spinner about to sleep; the next poke clears it and wakes the spinners.
    sleeping: AtomicBool,
    wake: Notify,
}

impl BusyPoll {
    pub(crate) fn new(window: Duration) -> Arc<Self> {
        Arc::new(Self {
            window,
            reads: AtomicU32::new(0),
            sleeping: AtomicBool::new(false),
            wake: Notify::new(),
        })
    }

    /// Bytes arrived from a client: keep (or start) polling.
    #[inline]
    pub(crate) fn poke(&self) {
        self.reads.fetch_add(1, Ordering::SeqCst);
        if self.sleeping.load(Ordering::SeqCst) && self.sleeping.swap(false, Ordering::SeqCst) {
            self.wake.notify_waiters();
        }
    }

    /// Whether the spinners are asleep (the window closed with no client reads).
    #[cfg(test)]
    pub(crate) fn is_sleeping(&self) -> bool {
        self.sleeping.load(Ordering::SeqCst)
    }

    /// Starts `workers` spinners on the current runtime (tokio spreads them over its worker
    /// threads; with the current-thread runtime there is one). Abort them to stop.
    pub(crate) fn start(self: &Arc<Self>, workers: usize) -> Vec<AbortHandle> {
        (0..workers.max(1))
            .map(|_| tokio::spawn(Arc::clone(self).spin()).abort_handle())
            .collect()
    }

    async fn spin(self: Arc<Self>) {
        loop {
            let mut seen = self.reads.load(Ordering::SeqCst);
            let mut since = Instant::now();
            loop {
                tokio::task::yield_now().await;
                let reads = self.reads.load(Ordering::SeqCst);
                if reads != seen {
                    seen = reads;
                    since = Instant::now();
                } else if since.elapsed() >= self.window {
                    break;
                }
            }
            // Register before announcing the sleep, so that a poke in between is not lost.
            let woken = self.wake.notified();
            let mut woken = std::pin::pin!(woken);
            woken.as_mut().enable();
            self.sleeping.store(true, Ordering::SeqCst);
            if self.reads.load(Ordering::SeqCst) != seen {
                // A client read raced the decision: keep polling.
                self.sleeping.store(false, Ordering::SeqCst);
                continue;
            }
            woken.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Waits (in real time, up to 10 s) until `cond` holds.
    async fn eventually(what: &str, cond: impl Fn() -> bool) {
        for _ in 0..10_000 {
            if cond() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        panic!("never happened: {what}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn polls_for_the_window_after_a_read_then_sleeps_until_the_next() {
        let busy = BusyPoll::new(Duration::from_millis(20));
        let spinners = busy.start(1);
        // Other tasks still run while the spinner polls (it yields, never blocks).
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move { tx.send(7).ok() });
        assert_eq!(rx.await.ok(), Some(7));
        eventually("the window closes with no reads", || busy.is_sleeping()).await;
        busy.poke();
        assert!(!busy.is_sleeping(), "a read wakes the spinner");
        eventually("it sleeps again a window later", || busy.is_sleeping()).await;
        for s in spinners {
            s.abort();
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn reads_keep_the_window_open() {
        let busy = BusyPoll::new(Duration::from_millis(500));
        let spinners = busy.start(1);
        // A read every 5 ms for a second, two windows long: the spinner never sleeps.
        for _ in 0..200 {
            busy.poke();
            tokio::time::sleep(Duration::from_millis(5)).await;
            assert!(!busy.is_sleeping(), "slept while reads kept coming");
        }
        eventually("it sleeps once they stop", || busy.is_sleeping()).await;
        for s in spinners {
            s.abort();
        }
    }
}
