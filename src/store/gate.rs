//! Admission in front of the connection pool: as many requests run as there are connections,
//! a bounded number wait in line (first come, first served) for at most a bounded time, and
//! the rest are refused at once with `StoreError::Overloaded` (a 503 with `Retry-After` in
//! the caller's dialect). Without the bound an overloaded server queues without limit: every
//! request waits longer, clients time out and retry, and the queue only grows.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{StoreError, StoreResult};

/// How many requests may wait for a connection, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLimits {
    /// Requests waiting beyond those being served; one more is refused at once. 0: none wait.
    pub depth: usize,
    /// The longest a request waits in line before it is refused.
    pub wait: Duration,
}

impl QueueLimits {
    pub const DEFAULT_DEPTH: usize = 128;
    pub const DEFAULT_WAIT_MS: u64 = 5000;
}

impl Default for QueueLimits {
    fn default() -> Self {
        QueueLimits {
            depth: QueueLimits::DEFAULT_DEPTH,
            wait: Duration::from_millis(QueueLimits::DEFAULT_WAIT_MS),
        }
    }
}

/// What `Gate::load` reports: permits in use, requests in line, requests refused so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateLoad {
    pub in_use: usize,
    pub waiting: usize,
    pub refused: u64,
}

/// A fair semaphore with a bounded line in front of it.
#[derive(Debug)]
pub struct Gate {
    permits: usize,
    semaphore: Arc<Semaphore>,
    waiting: AtomicUsize,
    refused: AtomicU64,
    limits: QueueLimits,
}

/// A place in line, given up however the wait ends (admitted, timed out, or the request
/// dropped by its client).
struct Place<'a>(&'a AtomicUsize);

impl Drop for Place<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Gate {
    pub fn new(permits: usize, limits: QueueLimits) -> Gate {
        Gate {
            permits,
            semaphore: Arc::new(Semaphore::new(permits)),
            waiting: AtomicUsize::new(0),
            refused: AtomicU64::new(0),
            limits,
        }
    }

    pub fn limits(&self) -> QueueLimits {
        self.limits
    }

    /// A permit now, or after waiting in line; `Overloaded` when the line is full or the
    /// wait runs out.
    pub async fn enter(&self) -> StoreResult<OwnedSemaphorePermit> {
        // tokio's semaphore hands released permits to waiters first, so this never jumps
        // the line.
        if let Ok(p) = self.semaphore.clone().try_acquire_owned() {
            return Ok(p);
        }
        let ahead = self.waiting.fetch_add(1, Ordering::SeqCst);
        let _place = Place(&self.waiting);
        if ahead >= self.limits.depth {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(StoreError::Overloaded);
        }
        match tokio::time::timeout(self.limits.wait, self.semaphore.clone().acquire_owned()).await {
            Ok(Ok(p)) => Ok(p),
            Ok(Err(closed)) => Err(StoreError::Busy(closed.to_string())),
            Err(_elapsed) => {
                self.refused.fetch_add(1, Ordering::Relaxed);
                Err(StoreError::Overloaded)
            }
        }
    }

    pub fn load(&self) -> GateLoad {
        GateLoad {
            in_use: self
                .permits
                .saturating_sub(self.semaphore.available_permits()),
            waiting: self.waiting.load(Ordering::SeqCst),
            refused: self.refused.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(depth: usize, wait_ms: u64) -> QueueLimits {
        QueueLimits {
            depth,
            wait: Duration::from_millis(wait_ms),
        }
    }

    #[tokio::test]
    async fn a_full_line_refuses_at_once_and_a_freed_permit_goes_to_the_first_in_line() {
        let gate = Arc::new(Gate::new(1, limits(1, 60_000)));
        let held = gate.enter().await.unwrap();
        let g = gate.clone();
        let waiter = tokio::spawn(async move { g.enter().await.map(|_| ()) });
        while gate.load().waiting < 1 {
            tokio::task::yield_now().await;
        }
        // The line (one place) is taken: the next is refused without waiting.
        assert!(matches!(gate.enter().await, Err(StoreError::Overloaded)));
        assert_eq!(
            gate.load(),
            GateLoad {
                in_use: 1,
                waiting: 1,
                refused: 1
            }
        );
        drop(held);
        waiter.await.unwrap().unwrap();
        assert_eq!(gate.load().waiting, 0);
        assert_eq!(gate.load().in_use, 0);
        // Load gone, the gate admits again.
        let _again = gate.enter().await.unwrap();
    }

    #[tokio::test]
    async fn a_wait_that_runs_out_is_refused() {
        let gate = Gate::new(1, limits(4, 250));
        let _held = gate.enter().await.unwrap();
        let started = std::time::Instant::now();
        assert!(matches!(gate.enter().await, Err(StoreError::Overloaded)));
        assert!(started.elapsed() >= Duration::from_millis(250));
        assert_eq!(gate.load().waiting, 0);
        assert_eq!(gate.load().refused, 1);
    }

    #[tokio::test]
    async fn depth_zero_means_nobody_waits() {
        let gate = Gate::new(1, limits(0, 60_000));
        let _held = gate.enter().await.unwrap();
        assert!(matches!(gate.enter().await, Err(StoreError::Overloaded)));
    }
}
