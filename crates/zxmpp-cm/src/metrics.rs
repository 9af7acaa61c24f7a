//! Counters, written in the Prometheus text exposition format (version 0.0.4).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// The manager's counters; cheap to update from any task.
#[derive(Debug, Default)]
pub struct Metrics {
    sessions_active: AtomicU64,
    sessions_created: AtomicU64,
    requests: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    errors: Mutex<BTreeMap<String, u64>>,
}

impl Metrics {
    /// A session started.
    pub fn session_started(&self) {
        self.sessions_created.fetch_add(1, Ordering::Relaxed);
        self.sessions_active.fetch_add(1, Ordering::Relaxed);
    }

    /// A session ended.
    pub fn session_ended(&self) {
        let _ = self
            .sessions_active
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_sub(1))
            });
    }

    /// An HTTP request of `bytes` bytes came in.
    pub fn request(&self, bytes: usize) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.bytes_in.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// A response of `bytes` bytes went out.
    pub fn response(&self, bytes: usize) {
        self.bytes_out.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// An error with this condition (a BOSH condition, or `too-large`, `limit`, …).
    pub fn error(&self, condition: &str) {
        if let Ok(mut map) = self.errors.lock() {
            *map.entry(condition.to_owned()).or_default() += 1;
        }
    }

    /// Sessions open now.
    #[must_use]
    pub fn active_sessions(&self) -> u64 {
        self.sessions_active.load(Ordering::Relaxed)
    }

    /// The exposition text.
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = String::new();
        let gauge = [(
            "zxmpp_cm_sessions",
            "BOSH sessions open now.",
            &self.sessions_active,
        )];
        let counters = [
            (
                "zxmpp_cm_sessions_created_total",
                "BOSH sessions created.",
                &self.sessions_created,
            ),
            (
                "zxmpp_cm_requests_total",
                "HTTP requests to the BOSH endpoint.",
                &self.requests,
            ),
            (
                "zxmpp_cm_request_bytes_total",
                "Bytes of HTTP request bodies received.",
                &self.bytes_in,
            ),
            (
                "zxmpp_cm_response_bytes_total",
                "Bytes of HTTP response bodies sent.",
                &self.bytes_out,
            ),
        ];
        for (name, help, value) in gauge {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
        }
        for (name, help, value) in counters {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
        }
        let _ = writeln!(
            out,
            "# HELP zxmpp_cm_errors_total Sessions ended or requests refused, by condition.\n# TYPE zxmpp_cm_errors_total counter"
        );
        if let Ok(map) = self.errors.lock() {
            for (condition, n) in map.iter() {
                let label = condition.replace('\\', "\\\\").replace('"', "\\\"");
                let _ = writeln!(out, "zxmpp_cm_errors_total{{condition=\"{label}\"}} {n}");
            }
        }
        out
    }
}
