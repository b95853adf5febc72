//! Brute-force limits on secret checks: a client's secret (token endpoints, HTTP Basic on
//! every dialect) and a user's password (Logto's `password/verify`, Sumo's `mfa/disable`).
//! After `limit` failed checks of one key within `window`, that key is refused with 429 and
//! `Retry-After` until the window that began with its first failure ends.
//!
//! The count is kept in this process's memory, so the limit is **per instance**: with N
//! instances behind a balancer an attacker gets at most N × `limit` guesses per window. A
//! shared count would cost a database write per failed guess (on SQLite, the one write lock)
//! and let an attacker's flood queue behind legitimate writes; client secrets are 238-bit
//! random strings that no number of guesses finds, so the limit exists for the password
//! checks and to keep floods cheap, and per instance does both.
//!
//! Only failures count, and a success does not clear them: a key is never refused because it
//! was used correctly, and guessing cannot be interleaved with one good use to reset the
//! count. Keys are bounded in number (`MAX_KEYS`), so random ids cannot grow memory.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use poem::{Endpoint, Request, Response, Result};

/// Most keys tracked at once; past it, expired windows go first, then keys not yet refused.
const MAX_KEYS: usize = 100_000;

struct Window {
    start: Instant,
    failures: u32,
}

/// Failure counts per key (`client:<id>`, `password:<user id>`).
pub struct Throttle {
    limit: u32,
    window: Duration,
    keys: Mutex<HashMap<String, Window>>,
}

impl Throttle {
    pub fn new(limit: u32, window: Duration) -> Throttle {
        Throttle {
            limit: limit.max(1),
            window: window.max(Duration::from_secs(1)),
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// The key of a client (the id of an OAuth client: token endpoints and HTTP Basic).
    pub fn client_key(id: &str) -> String {
        format!("client:{id}")
    }

    /// The key of a user's password. With the organization in it, a caller of another
    /// organization never meets (nor learns of) a lock made by the user's own.
    pub fn password_key(org: &str, user: i64) -> String {
        format!("password:{org}:{user}")
    }

    /// `check` inside a request's database trip, where the `Retry-After` of the response
    /// cannot be set: the seconds are kept in `retry` for the handler to pass on.
    pub fn check_in_trip(
        &self,
        key: &str,
        retry: &std::sync::atomic::AtomicU64,
    ) -> std::result::Result<(), u64> {
        self.check(key)
            .inspect_err(|s| retry.store(*s, std::sync::atomic::Ordering::Relaxed))
    }

    /// Pass on seconds kept by `check_in_trip` (none kept: nothing).
    pub fn after_trip(retry: &std::sync::atomic::AtomicU64) {
        match retry.load(std::sync::atomic::Ordering::Relaxed) {
            0 => {}
            s => note_retry_after(s),
        }
    }

    /// `Err(seconds)` while `key` is refused. Notes the seconds for the `Retry-After` header
    /// of the response being made.
    pub fn check(&self, key: &str) -> std::result::Result<(), u64> {
        let now = Instant::now();
        let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        match keys.get(key) {
            Some(w) if w.failures >= self.limit && now < w.start + self.window => {
                let left = (w.start + self.window - now).as_secs_f64().ceil().max(1.0) as u64;
                note_retry_after(left);
                Err(left)
            }
            _ => Ok(()),
        }
    }

    /// The key of a user's password at the console's sign-in (and its re-authentication):
    /// a count of its own, so failures through an API (Logto's `password/verify`) cannot
    /// lock an administrator out of the console, nor console failures lock the API.
    pub fn console_key(org: &str, user: i64) -> String {
        format!("console:{org}:{user}")
    }

    /// Count a failed check of `key`; `true` when this failure is the one that makes it
    /// refused (the limit is reached).
    pub fn fail(&self, key: &str) -> bool {
        let now = Instant::now();
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        if keys.len() >= MAX_KEYS && !keys.contains_key(key) {
            let (window, limit) = (self.window, self.limit);
            keys.retain(|_, w| now < w.start + window);
            if keys.len() >= MAX_KEYS {
                keys.retain(|_, w| w.failures >= limit);
            }
            if keys.len() >= MAX_KEYS {
                return false;
            }
        }
        let w = keys.entry(key.to_string()).or_insert(Window {
            start: now,
            failures: 0,
        });
        if now >= w.start + self.window {
            *w = Window {
                start: now,
                failures: 0,
            };
        }
        w.failures = w.failures.saturating_add(1);
        w.failures == self.limit
    }
}

tokio::task_local! {
    static RETRY_AFTER: Cell<Option<u64>>;
}

/// Set the `Retry-After` of the response being made (no-op outside a request).
pub fn note_retry_after(seconds: u64) {
    let _ = RETRY_AFTER.try_with(|c| c.set(Some(seconds)));
}

/// Adds `Retry-After` to a 429 made because a key was refused (whatever dialect rendered it).
#[derive(Clone)]
pub struct RetryAfter;

super::middleware!(RetryAfter);

impl<E: Endpoint> Endpoint for super::Wrapped<RetryAfter, E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        RETRY_AFTER
            .scope(Cell::new(None), async {
                let mut resp = self.ep.get_response(req).await;
                if let Some(s) = RETRY_AFTER.with(|c| c.get()) {
                    if resp.status() == poem::http::StatusCode::TOO_MANY_REQUESTS {
                        resp.headers_mut()
                            .insert(poem::http::header::RETRY_AFTER, s.into());
                    }
                }
                Ok(resp)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_after_the_limit_until_the_window_ends() {
        let t = Throttle::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(t.check("client:a").is_ok());
            t.fail("client:a");
        }
        let left = t.check("client:a").unwrap_err();
        assert!((59..=60).contains(&left), "{left}");
        assert!(t.check("client:b").is_ok(), "other keys are not affected");
    }

    #[test]
    fn a_new_window_starts_after_the_old_one() {
        let t = Throttle::new(1, Duration::from_secs(1));
        t.fail("k");
        assert!(t.check("k").is_err());
        std::thread::sleep(Duration::from_millis(1100));
        assert!(t.check("k").is_ok());
        t.fail("k");
        assert!(t.check("k").is_err());
    }

    #[test]
    fn password_keys_are_per_organization() {
        let t = Throttle::new(1, Duration::from_secs(60));
        let retry = std::sync::atomic::AtomicU64::new(0);
        t.fail(&Throttle::password_key("acme", 7));
        assert!(t
            .check_in_trip(&Throttle::password_key("acme", 7), &retry)
            .is_err());
        assert!(retry.load(std::sync::atomic::Ordering::Relaxed) >= 59);
        assert!(t.check(&Throttle::password_key("globex", 7)).is_ok());
    }
}
