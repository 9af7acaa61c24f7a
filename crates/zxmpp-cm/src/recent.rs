//! Recently answered session creation requests, so that a retransmitted one (the client never saw the answer)
//! gets the same session's answer again instead of a second session (XEP-0124 §14.3: a repeated request is
//! answered from the cache).
//!
//! A creation request carries no sid, so it is recognised by its whole body, byte for byte, from the same client
//! address, within a short window: two *different* sessions from one address start with different bodies (a
//! client picks a random first rid). The table is bounded in entries, in the size of the bodies it keeps, and
//! in time.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;

/// How long a creation request is remembered.
pub(crate) const WINDOW: Duration = Duration::from_secs(10);
/// Most creation requests remembered at once (the oldest is forgotten first).
pub(crate) const MAX_ENTRIES: usize = 1024;
/// Larger creation requests are not remembered (a real one is a few hundred bytes).
pub(crate) const MAX_BODY: usize = 4096;

/// The answer given to a creation request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    pub(crate) sid: String,
    pub(crate) status: u16,
    pub(crate) content_type: String,
    pub(crate) body: Bytes,
}

#[derive(Debug)]
struct Entry {
    at: Instant,
    ip: IpAddr,
    request: Bytes,
    answer: Answer,
}

/// The table; see the [module docs](self).
#[derive(Debug)]
pub(crate) struct Recent {
    entries: VecDeque<Entry>,
    window: Duration,
    max_entries: usize,
    max_body: usize,
}

impl Default for Recent {
    fn default() -> Self {
        Self::new(WINDOW, MAX_ENTRIES, MAX_BODY)
    }
}

impl Recent {
    pub(crate) fn new(window: Duration, max_entries: usize, max_body: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            window,
            max_entries,
            max_body,
        }
    }

    fn expire(&mut self, now: Instant) {
        while self
            .entries
            .front()
            .is_some_and(|e| now.saturating_duration_since(e.at) >= self.window)
        {
            self.entries.pop_front();
        }
    }

    /// The answer to an identical request from `ip` within the window.
    pub(crate) fn get(&mut self, now: Instant, ip: IpAddr, request: &[u8]) -> Option<&Answer> {
        self.expire(now);
        self.entries
            .iter()
            .rev()
            .find(|e| e.ip == ip && e.request.as_ref() == request)
            .map(|e| &e.answer)
    }

    /// Remembers the answer to a creation request (unless the request is too large to keep).
    pub(crate) fn insert(&mut self, now: Instant, ip: IpAddr, request: Bytes, answer: Answer) {
        self.expire(now);
        if request.len() > self.max_body || self.max_entries == 0 {
            return;
        }
        while self.entries.len() >= self.max_entries {
            self.entries.pop_front();
        }
        self.entries.push_back(Entry {
            at: now,
            ip,
            request,
            answer,
        });
    }

    /// Forgets the requests answered for `sid` (its session is gone).
    pub(crate) fn forget(&mut self, sid: &str) {
        self.entries.retain(|e| e.answer.sid != sid);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(sid: &str) -> Answer {
        Answer {
            sid: sid.into(),
            status: 200,
            content_type: "text/xml".into(),
            body: Bytes::from(format!("<body sid='{sid}'/>")),
        }
    }

    const A: &[u8] = b"<body rid='1' to='example.org' wait='60' hold='1'/>";
    const B: &[u8] = b"<body rid='1' to='example.org' wait='30' hold='1'/>";

    #[test]
    fn identical_body_from_the_same_address_within_the_window() {
        let t0 = Instant::now();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let mut r = Recent::new(Duration::from_secs(10), 8, 4096);
        r.insert(t0, ip, Bytes::from_static(A), answer("s1"));
        assert_eq!(
            r.get(t0 + Duration::from_secs(9), ip, A)
                .map(|a| a.sid.as_str()),
            Some("s1")
        );
        // Same rid, other bytes: another session. Same bytes, another address: another client.
        assert!(r.get(t0, ip, B).is_none());
        assert!(r.get(t0, other, A).is_none());
        // Past the window: forgotten.
        assert!(r.get(t0 + Duration::from_secs(10), ip, A).is_none());
        assert_eq!(r.len(), 0);
    }

    #[test]
    fn bounded_in_entries_and_body_size() {
        let t0 = Instant::now();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let mut r = Recent::new(Duration::from_secs(10), 2, 64);
        for (i, body) in [&b"<a/>"[..], b"<b/>", b"<c/>"].into_iter().enumerate() {
            r.insert(t0, ip, Bytes::copy_from_slice(body), answer(&i.to_string()));
        }
        assert_eq!(r.len(), 2);
        assert!(r.get(t0, ip, b"<a/>").is_none());
        assert_eq!(r.get(t0, ip, b"<c/>").map(|a| a.sid.as_str()), Some("2"));
        r.insert(t0, ip, Bytes::from(vec![b'x'; 65]), answer("big"));
        assert_eq!(r.len(), 2);
        r.forget("2");
        assert!(r.get(t0, ip, b"<c/>").is_none());
    }
}
