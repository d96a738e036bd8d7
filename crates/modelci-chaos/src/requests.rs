//! The request log of an HTTP proxy: one record per request the proxy received, with what
//! became of it, so that resilience oracles can read what the dependency behind the proxy
//! actually received (the attempts of each client request, when, and how many at once).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use serde::Serialize;
use serde_json::{Value, json};

/// The most records a log keeps: past this the oldest are dropped.
pub const MAX_REQUESTS: usize = 1_000_000;

/// What became of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Forwarded to the upstream, its answer passed back (or, while `finished` is `None`,
    /// being forwarded).
    Forwarded,
    /// Answered by an `http_error` toxic, without contacting the upstream.
    InjectedError,
    /// Its answer was cut off by `abort_body` (or `limit_data`): the connection was closed
    /// after part of the body.
    Aborted,
    /// The client's connection was reset without an answer (`reset`, `reset_peer`).
    Reset,
    /// Held by a `timeout` toxic: still held while `finished` is `None`, else the connection
    /// was closed without an answer (the toxic's `timeout` passed, or the proxy stopped).
    Held,
    /// The upstream could not be reached or failed mid-answer (the client got a 502, or a
    /// body cut off).
    UpstreamError,
}

impl Outcome {
    /// The outcome's JSON name: `forwarded`, `injected_error`, `aborted`, `reset`, `held`,
    /// `upstream_error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Forwarded => "forwarded",
            Outcome::InjectedError => "injected_error",
            Outcome::Aborted => "aborted",
            Outcome::Reset => "reset",
            Outcome::Held => "held",
            Outcome::UpstreamError => "upstream_error",
        }
    }
}

/// One request an HTTP proxy received.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRecord {
    /// The proxy's sequence number, from 1 (it keeps counting across clears).
    pub id: u64,
    /// The request's `X-Request-Id` header, if it had one.
    pub request_id: Option<String>,
    /// The request's `X-Attempt` header, if it had one that is a number.
    pub attempt: Option<u32>,
    /// The method (`POST`).
    pub method: String,
    /// The path, without the query (`/v2/models/a/infer`).
    pub path: String,
    /// When the proxy received its head.
    pub started: Instant,
    /// When its answer was complete or failed (the connection closed, reset or cut off);
    /// `None` while it is in flight.
    pub finished: Option<Instant>,
    /// The status the client was sent, if an answer's head was sent (`None` too when the
    /// client went away before its answer; the outcome is then what was under way).
    pub status: Option<u16>,
    /// What became of it.
    pub outcome: Outcome,
    /// The names of the toxics applied to it, in order.
    pub toxics: Vec<String>,
}

impl RequestRecord {
    /// The record as the API writes it, its times in milliseconds since `origin` (the
    /// proxy's creation).
    pub fn to_json(&self, origin: Instant) -> Value {
        let ms = |t: Instant| t.saturating_duration_since(origin).as_secs_f64() * 1000.0;
        json!({
            "id": self.id,
            "request_id": self.request_id,
            "attempt": self.attempt,
            "method": self.method,
            "path": self.path,
            "started_ms": ms(self.started),
            "finished_ms": self.finished.map(ms),
            "status": self.status,
            "outcome": self.outcome.as_str(),
            "toxics": self.toxics,
        })
    }
}

/// The records of one proxy, with the count of requests in flight.
#[derive(Debug, Default)]
pub(crate) struct RequestLog {
    /// In id order: a record's index is its id less the first one's.
    records: Mutex<VecDeque<RequestRecord>>,
    next_id: AtomicU64,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

impl RequestLog {
    fn lock(&self) -> MutexGuard<'_, VecDeque<RequestRecord>> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Logs a request that arrived now; its id. It counts as in flight until [`Self::end`].
    pub(crate) fn begin(
        &self,
        request_id: Option<String>,
        attempt: Option<u32>,
        method: String,
        path: String,
    ) -> u64 {
        let mut records = self.lock();
        let id = self.next_id.fetch_add(1, Ordering::SeqCst) + 1;
        if records.len() >= MAX_REQUESTS {
            records.pop_front();
        }
        records.push_back(RequestRecord {
            id,
            request_id,
            attempt,
            method,
            path,
            started: Instant::now(),
            finished: None,
            status: None,
            outcome: Outcome::Forwarded,
            toxics: Vec::new(),
        });
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        id
    }

    /// Changes the record `id` (nothing when it was cleared or dropped since).
    pub(crate) fn update(&self, id: u64, f: impl FnOnce(&mut RequestRecord)) {
        let mut records = self.lock();
        let Some(first) = records.front().map(|r| r.id) else {
            return;
        };
        let Some(index) = id.checked_sub(first).and_then(|i| usize::try_from(i).ok()) else {
            return;
        };
        if let Some(r) = records.get_mut(index) {
            f(r);
        }
    }

    /// The request `id` is over: it gets its finish time and leaves the in-flight count (call
    /// it once per request).
    pub(crate) fn end(&self, id: u64) {
        let now = Instant::now();
        self.update(id, |r| {
            r.finished.get_or_insert(now);
        });
        // Never below zero.
        let _ = self
            .in_flight
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
    }

    /// Every record kept, oldest first.
    pub(crate) fn snapshot(&self) -> Vec<RequestRecord> {
        self.lock().iter().cloned().collect()
    }

    /// Requests in flight now.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// The most requests in flight at once since the last clear.
    pub(crate) fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    /// Forgets every record; the maximum in flight starts again from those in flight now.
    pub(crate) fn clear(&self) {
        let mut records = self.lock();
        records.clear();
        self.max_in_flight
            .store(self.in_flight.load(Ordering::SeqCst), Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_found_by_id_and_counted_in_flight() {
        let log = RequestLog::default();
        let a = log.begin(Some("r1".into()), Some(1), "POST".into(), "/a".into());
        let b = log.begin(None, None, "GET".into(), "/b".into());
        assert_eq!((a, b), (1, 2));
        assert_eq!((log.in_flight(), log.max_in_flight()), (2, 2));
        log.update(b, |r| r.status = Some(200));
        log.end(b);
        assert_eq!(log.in_flight(), 1);
        let snap = log.snapshot();
        assert_eq!(snap[1].status, Some(200));
        assert!(snap[1].finished.is_some() && snap[0].finished.is_none());
        log.clear();
        assert!(log.snapshot().is_empty());
        assert_eq!(log.max_in_flight(), 1, "the one still in flight");
        // A record cleared away is no longer changed; ids go on.
        log.update(a, |r| r.status = Some(500));
        log.end(a);
        assert_eq!(log.in_flight(), 0);
        let c = log.begin(None, None, "GET".into(), "/c".into());
        assert_eq!(c, 3);
        let json = log.snapshot()[0].to_json(log.snapshot()[0].started);
        assert_eq!(json["started_ms"], 0.0);
        assert_eq!(json["outcome"], "forwarded");
        assert_eq!(json["finished_ms"], Value::Null);
    }
}
