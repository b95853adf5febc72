//! PostgreSQL's `LISTEN` for the event tasks (docs/events.md): one dedicated libpq
//! connection per instance, outside the pool, that runs no statement after its `LISTEN`s and
//! turns notifications into in-process wake-ups. `muster_events` (sent by the `events_notify`
//! trigger when a transaction that inserted events commits, on whichever instance) wakes the
//! sequencer; `muster_sequenced` (sent by a sequencer round that numbered events) wakes the
//! feed's long polls and, when the round made deliveries, the deliverer.
//!
//! diesel has no `LISTEN`, so this talks to libpq (`pq-sys`, which diesel already links)
//! directly: the same connection strings, TLS and environment as the pool. The socket is
//! watched by tokio; a lost connection is reopened with a backoff, and both tasks are woken
//! after each (re)connection, since notifications sent meanwhile were lost. Behind all this,
//! the tasks' slow safety poll (`WebhookConfig::poll`) catches anything still missed.

use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use crate::request::EventSignals;
use crate::store::events::{DELIVERIES_PAYLOAD, EVENTS_CHANNEL, SEQUENCED_CHANNEL};

/// A libpq connection that listens. Owned by one task; closed when dropped.
struct Listening(*mut pq_sys::PGconn);

// SAFETY: the connection is used by one task at a time (moved, never shared); libpq
// connections may move between threads.
unsafe impl Send for Listening {}

impl Drop for Listening {
    fn drop(&mut self) {
        // SAFETY: the pointer came from PQconnectdb and is finished exactly once.
        unsafe { pq_sys::PQfinish(self.0) }
    }
}

/// What arrived on the connection.
#[derive(Debug, Default, PartialEq, Eq)]
struct Arrived {
    events: bool,
    sequenced: bool,
    deliveries: bool,
}

impl Listening {
    /// Connect (blocking: run it off the runtime) and listen on both channels.
    fn open(url: &str) -> Result<Listening, String> {
        let c = CString::new(url).map_err(|_| "the database URL holds a NUL byte".to_string())?;
        // SAFETY: a valid C string; the result is owned by `Listening` (NULL only when out of
        // memory).
        let conn = unsafe { pq_sys::PQconnectdb(c.as_ptr()) };
        if conn.is_null() {
            return Err("libpq could not allocate a connection".into());
        }
        let l = Listening(conn);
        // SAFETY: a live connection.
        if unsafe { pq_sys::PQstatus(l.0) } != pq_sys::ConnStatusType::CONNECTION_OK {
            return Err(l.error());
        }
        l.exec(&format!(
            "LISTEN {EVENTS_CHANNEL}; LISTEN {SEQUENCED_CHANNEL}"
        ))?;
        Ok(l)
    }

    fn error(&self) -> String {
        // SAFETY: a live connection; the message is owned by it and copied out here.
        let msg = unsafe { CStr::from_ptr(pq_sys::PQerrorMessage(self.0)) };
        msg.to_string_lossy().trim().to_string()
    }

    fn exec(&self, sql: &str) -> Result<(), String> {
        let c = CString::new(sql).map_err(|_| "a NUL byte in SQL".to_string())?;
        // SAFETY: a live connection and a valid C string; the result is cleared once.
        unsafe {
            let r = pq_sys::PQexec(self.0, c.as_ptr());
            let ok = pq_sys::PQresultStatus(r) == pq_sys::ExecStatusType::PGRES_COMMAND_OK;
            pq_sys::PQclear(r);
            if ok {
                Ok(())
            } else {
                Err(self.error())
            }
        }
    }

    fn socket(&self) -> RawFd {
        // SAFETY: a live connection.
        unsafe { pq_sys::PQsocket(self.0) }
    }

    /// Whether the socket has more to read now (without waiting).
    fn readable_now(&self) -> bool {
        // SAFETY: polls the connection's own socket, at once (end time 0).
        unsafe { pq_sys::PQsocketPoll(self.socket(), 1, 0, 0) > 0 }
    }

    /// Read what the server sent and take the notifications out. An error means the
    /// connection is lost.
    fn drain(&mut self) -> Result<Arrived, String> {
        let mut got = Arrived::default();
        // SAFETY: a live connection; each notification is freed once, after its fields are
        // copied.
        unsafe {
            if pq_sys::PQconsumeInput(self.0) == 0
                || pq_sys::PQstatus(self.0) != pq_sys::ConnStatusType::CONNECTION_OK
            {
                return Err(self.error());
            }
            loop {
                let n = pq_sys::PQnotifies(self.0);
                if n.is_null() {
                    break;
                }
                let channel = CStr::from_ptr((*n).relname).to_bytes();
                let payload = CStr::from_ptr((*n).extra).to_bytes();
                if channel == EVENTS_CHANNEL.as_bytes() {
                    got.events = true;
                } else if channel == SEQUENCED_CHANNEL.as_bytes() {
                    got.sequenced = true;
                    got.deliveries |= payload == DELIVERIES_PAYLOAD.as_bytes();
                }
                pq_sys::PQfreemem(n.cast());
            }
        }
        Ok(got)
    }
}

#[derive(Debug)]
struct Fd(RawFd);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

/// Wake the tasks for what arrived.
fn wake(signals: &EventSignals, got: &Arrived) {
    if got.events {
        signals.recorded.notify_one();
    }
    if got.sequenced {
        signals.sequenced.send_modify(|v| *v += 1);
    }
    if got.deliveries {
        signals.deliveries.notify_one();
    }
}

/// How often the connection is read even without a readiness event: a notification that
/// libpq buffered (TLS) is seen within this. Reading runs no statement.
const RECHECK: Duration = Duration::from_secs(5);

/// Listen on `url` until the task is aborted, reconnecting with a backoff (1 s doubling to
/// 30 s) whenever the connection is lost.
pub async fn listen(url: String, signals: Arc<EventSignals>) {
    let mut backoff = Duration::from_secs(1);
    loop {
        let u = url.clone();
        match tokio::task::spawn_blocking(move || Listening::open(&u)).await {
            Ok(Ok(l)) => {
                backoff = Duration::from_secs(1);
                tracing::debug!("listening for event notifications");
                // Whatever was sent while nobody listened is lost: look now.
                wake(
                    &signals,
                    &Arrived {
                        events: true,
                        sequenced: true,
                        deliveries: true,
                    },
                );
                let e = serve(l, &signals).await;
                tracing::warn!(error = %e, "the event notification connection was lost; reconnecting");
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot open the event notification connection; retrying")
            }
            Err(e) => tracing::warn!(error = %e, "the event notification connect task failed"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}

/// Turn notifications into wake-ups until the connection fails (the error says why).
async fn serve(mut l: Listening, signals: &EventSignals) -> String {
    // SAFETY: the socket is `l`'s, open until `l` is dropped, which is after `fd` (a
    // parameter outlives the locals); nothing here makes libpq replace it (no PQreset).
    let fd = match unsafe { AsyncFd::register_with_interest(Fd(l.socket()), Interest::READABLE) } {
        Ok(fd) => fd,
        Err(e) => return format!("cannot watch the socket: {e}"),
    };
    loop {
        let guard = tokio::select! {
            g = fd.readable() => match g {
                Ok(g) => Some(g),
                Err(e) => return format!("watching the socket: {e}"),
            },
            _ = tokio::time::sleep(RECHECK) => None,
        };
        match l.drain() {
            Ok(got) => wake(signals, &got),
            Err(e) => return e,
        }
        // The readiness is an edge: clear it only once the socket has nothing more.
        if let Some(mut g) = guard {
            if !l.readable_now() {
                g.clear_ready();
            }
        }
    }
}
