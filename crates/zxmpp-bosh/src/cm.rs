//! The connection-manager side of a BOSH session (what PunJab or mod_bosh do), sans-IO.
//!
//! The HTTP server routes each request to a session by its `sid` (use [`Body::parse`] to read it) and hands it
//! in with an id of its own ([`HttpId`]); the session says which response to write for which id. The XMPP
//! server behind is the "upstream": the caller forwards [`CmEvent`]s to it and feeds its output back with
//! [`CmSession::send`], [`CmSession::announce_with`] (or [`CmSession::announce`]) and
//! [`CmSession::close_upstream`].

use std::collections::{BTreeMap, VecDeque};
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

use crate::body::{Limits, NS_STREAM};
use crate::keys::verify_key;
use crate::rare::RareDeque;
use crate::{Body, BodyType, Condition, Error, Rid, Version};

/// Format version of [`CmSnapshot`].
pub const CM_SNAPSHOT_VERSION: u32 = 1;

/// The connection manager's policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CmConfig {
    /// Largest `wait` granted (s, default 60).
    pub max_wait: u32,
    /// Largest `hold` granted (default 1).
    pub max_hold: u32,
    /// `polling` (s, default 2); 0 to leave it out.
    pub polling: u32,
    /// `inactivity` (s, default 60).
    pub inactivity: u32,
    /// `maxpause` (s, default 120); `None` disables pausing.
    pub maxpause: Option<u32>,
    /// Whether to acknowledge requests with `ack` (default true).
    pub acks: bool,
    /// Whether to enforce key sequencing when the client uses it (default true).
    pub check_keys: bool,
    /// Whether to offer multiple streams (XEP-0124 §16, default true).
    pub multiple_streams: bool,
    /// `xmpp:restartlogic` (XEP-0206, default true).
    pub restart_logic: bool,
    /// `secure`, if the caller knows (e.g. HTTPS).
    pub secure: Option<bool>,
    /// `accept`: encodings the caller's HTTP layer decompresses.
    pub accept: Option<String>,
    /// Milliseconds after sending a response before a client ack that misses it triggers a `report` (default 1000).
    pub report_after_ms: u64,
    /// Seconds a terminated session keeps answering retransmissions from its cache (default 30).
    pub linger_secs: u32,
    /// Most copies of one rid answered before `policy-violation` (default 32).
    pub max_repeats: u32,
    /// Most bytes of payloads queued for the client (default 4 MiB).
    pub max_outbound_bytes: usize,
    /// Most payloads per response (default 64).
    pub max_payloads_per_response: usize,
    /// Limits for parsing requests.
    pub limits: Limits,
    /// Whether XEP-0124 §11's second overactivity rule ends the session (default false): a full window of
    /// unanswered requests, the last one empty and arriving within `polling` of the one before, is then a
    /// `policy-violation`. The rule is a SHOULD, and it ends sessions that are fine: a client restored after a
    /// page reload (Strophe.js `keepalive`) sends its first, empty request while the previous page's poll is
    /// still held. By default the oldest held request is answered instead, as Prosody's mod_bosh does. The
    /// first rule (more unanswered requests than `requests`) always applies.
    #[serde(default)]
    pub strict_overactivity: bool,
}

impl Default for CmConfig {
    fn default() -> Self {
        Self {
            max_wait: 60,
            max_hold: 1,
            polling: 2,
            inactivity: 60,
            maxpause: Some(120),
            acks: true,
            check_keys: true,
            multiple_streams: true,
            restart_logic: true,
            secure: None,
            accept: None,
            report_after_ms: 1000,
            linger_secs: 30,
            max_repeats: 32,
            max_outbound_bytes: 4 << 20,
            max_payloads_per_response: 64,
            limits: Limits::default(),
            strict_overactivity: false,
        }
    }
}

/// The caller's id for one HTTP request (e.g. a connection counter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct HttpId(pub u64);

/// An HTTP response to write.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub struct CmTransmit {
    /// The request it answers.
    pub http: HttpId,
    /// HTTP status: 200, or 400/403/404 for the terminal conditions sent to legacy clients (XEP-0124 §17.1).
    pub status: u16,
    /// The body bytes.
    pub body: Bytes,
}

/// Stream attributes learned from upstream, sent to the client in the next response (XEP-0124 §7.2, XEP-0206 §4).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Announce {
    /// The stream they describe (`None`: the first).
    pub stream: Option<String>,
    /// `from`: the server's identity.
    pub from: Option<String>,
    /// `authid`: the XMPP stream id.
    pub authid: Option<String>,
    /// `xmpp:version`.
    pub xmpp_version: Option<String>,
}

impl Announce {
    /// An announcement with `from`, `authid` and `xmpp:version`.
    #[must_use]
    pub fn new(from: Option<String>, authid: Option<String>, xmpp_version: Option<String>) -> Self {
        Self {
            stream: None,
            from,
            authid,
            xmpp_version,
        }
    }
}

/// Why a connection-manager session ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum CmTermination {
    /// The client terminated it.
    ByClient,
    /// The client was inactive too long (XEP-0124 §10); nothing was sent.
    Inactivity,
    /// The client broke a rule; this condition was sent (`item-not-found`, `policy-violation`, `bad-request`).
    Violation(Condition),
    /// The caller closed it from upstream with this condition.
    Upstream(Condition),
}

/// What the upstream (the XMPP server side) has to do; drain with [`CmSession::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum CmEvent {
    /// Open a stream to the server (the first one at session creation, or an added one, XEP-0124 §16.3).
    StreamOpened {
        /// Its name, when multiple streams are on.
        stream: Option<String>,
        /// `to`.
        to: Option<String>,
        /// `route`.
        route: Option<String>,
        /// `from`.
        from: Option<String>,
        /// `xml:lang`.
        lang: Option<String>,
        /// `xmpp:version`.
        xmpp_version: Option<String>,
    },
    /// Payloads from the client, in rid order, each exactly once. `stream: None` means the first stream, or all
    /// streams when several are open (broadcast).
    Payloads {
        /// Target stream.
        stream: Option<String>,
        /// The payloads (each one complete element), zero-copy slices of the request.
        payloads: Vec<Bytes>,
    },
    /// Restart the XMPP stream (XEP-0206 §5).
    Restart {
        /// The stream (`None`: the first).
        stream: Option<String>,
    },
    /// The client closed one stream.
    StreamClosed {
        /// Its name.
        stream: String,
    },
    /// The session ended.
    Terminated(CmTermination),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Held {
    rid: u64,
    #[serde(skip)]
    http: Option<HttpId>,
    #[serde(skip)]
    since: Option<Instant>,
    added_stream: Option<String>,
    /// Answer at once (pause, terminate, add-stream requests).
    immediate: bool,
    /// A pause request: its response carries no payload.
    pause: bool,
    terminate: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Params {
    wait: u32,
    hold: u32,
    requests: u32,
    polling: u32,
    inactivity: u32,
    maxpause: Option<u32>,
    client_acks: bool,
    acks: bool,
    legacy: bool,
    ver: Version,
    content: Option<Box<str>>,
}

/// An upstream termination waiting for a response: the stream it ends (`None`: the session), its condition,
/// and the payloads that go with it.
type Termination = (Option<String>, Condition, Vec<Bytes>);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct CmState {
    /// Shared: a connection manager gives every session the same configuration (serialized as the value).
    config: Arc<CmConfig>,
    // Boxed strings (here, in `last_key` and `Params::content`): no spare capacity, 16 bytes inline, not 24.
    sid: Box<str>,
    secret: [u8; 32],
    stream_counter: u64,
    params: Params,
    /// Boxed: set only once the session has ended.
    closed: Option<Box<CmTermination>>,
    creation_rid: u64,
    creation_pending: bool,
    /// Lowest rid not yet processed.
    next_rid: u64,
    last_responded: u64,
    client_ack: u64,
    last_key: Option<Box<str>>,
    cache: VecDeque<(u64, Bytes)>,
    held: VecDeque<Held>,
    out_of_order: BTreeMap<u64, Bytes>,
    outbound: RareDeque<(Option<String>, Bytes)>,
    outbound_bytes: usize,
    /// Boxed: set only between learning a stream's attributes and the response that carries them.
    announce: Option<Box<Announce>>,
    /// Announcements of other streams waiting for `announce` to be sent (one response speaks for one stream).
    #[serde(default)]
    announce_queue: RareDeque<Announce>,
    /// Boxed: set only while an upstream termination waits for a response.
    pending_terminate: Option<Box<Termination>>,
    /// Terminations of other single streams waiting for `pending_terminate` to be sent.
    #[serde(default)]
    terminate_queue: RareDeque<Termination>,
    streams: Vec<String>,
    closed_streams: RareDeque<String>,
    repeats: (u64, u32),
    last_response_empty: bool,
    events: RareDeque<CmEvent>,
}

/// The resumable state of a [`CmSession`] with a format version. Held HTTP requests are not part of it (their
/// connections die with the process): on restore their rids are answered into the cache, where the client's
/// retransmissions find them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CmSnapshot {
    format_version: u32,
    state: CmState,
}

impl CmSnapshot {
    /// The snapshot's format version ([`CM_SNAPSHOT_VERSION`] when written by this build).
    #[must_use]
    pub const fn format_version(&self) -> u32 {
        self.format_version
    }
}

/// One BOSH session on the connection-manager side.
#[derive(Debug)]
pub struct CmSession {
    s: CmState,
    /// When each cached response went out, by rid (at most `requests + 1`: a small vector, not a map).
    sent_at: Vec<(u64, Instant)>,
    /// The connections of the out-of-order requests, by rid (at most the window).
    ooo_http: Vec<(u64, HttpId)>,
    last_activity: Instant,
    closed_at: Option<Instant>,
    inactivity_override: Option<u32>,
    last_empty_arrival: Option<Instant>,
    last_arrival: Option<Instant>,
    /// Boxed: set only between a client ack that missed a response and the `report` that answers it.
    pending_report: Option<Box<(u64, u64)>>,
    transmits: RareDeque<CmTransmit>,
}

/// Sets `key`'s value in a small map kept as a vector; the value it replaces.
fn insert<V>(map: &mut Vec<(u64, V)>, key: u64, value: V) -> Option<V> {
    match map.iter_mut().find(|(k, _)| *k == key) {
        Some((_, v)) => Some(std::mem::replace(v, value)),
        None => {
            map.push((key, value));
            None
        }
    }
}

/// Takes `key`'s value out of a small map kept as a vector.
fn remove<V>(map: &mut Vec<(u64, V)>, key: u64) -> Option<V> {
    let i = map.iter().position(|(k, _)| *k == key)?;
    Some(map.remove(i).1)
}

fn terminate_bytes(condition: Option<&Condition>, stream: Option<&str>) -> Bytes {
    let mut body = Body::terminate(condition.cloned());
    body.stream = stream.map(str::to_owned);
    Bytes::from(body.to_bytes([]))
}

impl CmSession {
    /// Gives back the memory of its queues beyond what they hold now. A connection manager holds many sessions
    /// that are idle most of the time; calling this when one goes quiet keeps an idle session small (its drained
    /// queues own no allocation). Nothing observable changes.
    pub fn shrink_to_fit(&mut self) {
        let s = &mut self.s;
        s.cache.shrink_to_fit();
        s.held.shrink_to_fit();
        s.outbound.shrink_to_fit();
        s.announce_queue.shrink_to_fit();
        s.terminate_queue.shrink_to_fit();
        s.streams.shrink_to_fit();
        s.closed_streams.shrink_to_fit();
        s.events.shrink_to_fit();
        self.sent_at.shrink_to_fit();
        self.ooo_http.shrink_to_fit();
        self.transmits.shrink_to_fit();
    }

    /// Creates a session from a session creation request (XEP-0124 §7.1), received as HTTP request `http`.
    ///
    /// `sid` must be unpredictable and unique (XEP-0124 §21.3); `secret` (32 random bytes) seeds stream names.
    /// `config` is a [`CmConfig`] or an `Arc<CmConfig>`: a connection manager shares one among all its sessions.
    /// The creation response is ready at once in [`CmSession::poll_transmit`].
    ///
    /// # Errors
    /// A parse error, or [`Error::Refused`] with the condition to answer with (write it with
    /// [`Body::terminate`]): `bad-request` for a body with a `sid` or without `rid` or `wait`,
    /// `improper-addressing` without `to` and `route`.
    pub fn accept(
        now: Instant,
        config: impl Into<Arc<CmConfig>>,
        sid: String,
        secret: [u8; 32],
        http: HttpId,
        request: &[u8],
    ) -> Result<Self, Error> {
        let config: Arc<CmConfig> = config.into();
        let parsed = Body::parse(request, &config.limits)?;
        let body = parsed.body;
        let (Some(rid), None, Some(wait)) = (body.rid, &body.sid, body.wait) else {
            return Err(Error::Refused(Condition::BadRequest));
        };
        if body.to.is_none() && body.route.is_none() {
            return Err(Error::Refused(Condition::ImproperAddressing));
        }
        let hold = body.hold.unwrap_or(1).min(config.max_hold);
        let params = Params {
            wait: wait.min(config.max_wait),
            hold,
            requests: hold + 1,
            polling: config.polling,
            inactivity: config.inactivity,
            maxpause: config.maxpause,
            client_acks: body.ack.is_some(),
            acks: config.acks,
            legacy: body.ver.is_none(),
            ver: body.ver.map_or(Version::V1_11, |v| v.min(Version::V1_11)),
            content: body.content.as_deref().map(Box::from),
        };
        let mut session = Self {
            s: CmState {
                config,
                sid: sid.into_boxed_str(),
                secret,
                stream_counter: 0,
                params,
                closed: None,
                creation_rid: rid.get(),
                creation_pending: true,
                next_rid: rid.get() + 1,
                last_responded: rid.get() - 1,
                client_ack: rid.get() - 1,
                last_key: body.newkey.as_deref().map(Box::from),
                cache: VecDeque::new(),
                held: VecDeque::new(),
                out_of_order: BTreeMap::new(),
                outbound: RareDeque::new(),
                outbound_bytes: 0,
                announce: None,
                announce_queue: RareDeque::new(),
                pending_terminate: None,
                terminate_queue: RareDeque::new(),
                streams: Vec::new(),
                closed_streams: RareDeque::new(),
                repeats: (0, 0),
                last_response_empty: false,
                events: RareDeque::new(),
            },
            sent_at: Vec::new(),
            ooo_http: Vec::new(),
            last_activity: now,
            closed_at: None,
            inactivity_override: None,
            last_empty_arrival: None,
            last_arrival: None,
            pending_report: None,
            transmits: RareDeque::new(),
        };
        let stream = session
            .s
            .config
            .multiple_streams
            .then(|| session.new_stream_name());
        if let Some(name) = &stream {
            session.s.streams.push(name.clone());
        }
        session.s.events.push_back(CmEvent::StreamOpened {
            stream,
            to: body.to,
            route: body.route,
            from: body.from,
            lang: body.lang,
            xmpp_version: body.xmpp_version,
        });
        session.s.held.push_back(Held {
            rid: rid.get(),
            http: Some(http),
            since: Some(now),
            added_stream: None,
            immediate: true,
            pause: false,
            terminate: false,
        });
        session.flush(now);
        Ok(session)
    }

    fn new_stream_name(&mut self) -> String {
        self.s.stream_counter += 1;
        let mut h = Sha1::new();
        h.update(self.s.secret);
        h.update(b"stream");
        h.update(self.s.stream_counter.to_be_bytes());
        let mut name = hex::encode(h.finalize());
        name.truncate(20);
        name
    }

    /// The rid of the session creation request.
    #[must_use]
    pub fn creation_rid(&self) -> Rid {
        Rid(self.s.creation_rid)
    }

    /// The session id.
    #[must_use]
    pub fn sid(&self) -> &str {
        &self.s.sid
    }

    /// The HTTP Content-Type every response must carry (the client's `content`, XEP-0124 §7.1).
    #[must_use]
    pub fn content_type(&self) -> &str {
        self.s
            .params
            .content
            .as_deref()
            .unwrap_or("text/xml; charset=utf-8")
    }

    /// Whether the session has ended (it may still answer retransmissions until [`CmSession::is_finished`]).
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.s.closed.is_some()
    }

    /// Whether the session has ended and its linger time is over: the caller can drop it.
    #[must_use]
    pub fn is_finished(&self, now: Instant) -> bool {
        self.closed_at
            .is_some_and(|at| at + Duration::from_secs(self.s.config.linger_secs.into()) <= now)
    }

    /// Open stream names (multiple streams).
    #[must_use]
    pub fn streams(&self) -> &[String] {
        &self.s.streams
    }

    /// Number of requests held.
    #[must_use]
    pub fn held(&self) -> usize {
        self.s.held.len()
    }

    /// The resumable state.
    #[must_use]
    pub fn snapshot(&self) -> CmSnapshot {
        CmSnapshot {
            format_version: CM_SNAPSHOT_VERSION,
            state: self.s.clone(),
        }
    }

    /// Continues a session from a snapshot.
    ///
    /// # Errors
    /// [`Error::UnsupportedSnapshotVersion`] for another format version.
    pub fn restore(snapshot: CmSnapshot, now: Instant) -> Result<Self, Error> {
        if snapshot.format_version != CM_SNAPSHOT_VERSION {
            return Err(Error::UnsupportedSnapshotVersion {
                found: snapshot.format_version,
                supported: CM_SNAPSHOT_VERSION,
            });
        }
        let mut session = Self {
            s: snapshot.state,
            sent_at: Vec::new(),
            ooo_http: Vec::new(),
            last_activity: now,
            closed_at: None,
            inactivity_override: None,
            last_empty_arrival: None,
            last_arrival: None,
            pending_report: None,
            transmits: RareDeque::new(),
        };
        if session.s.closed.is_some() {
            session.closed_at = Some(now);
        }
        session.s.out_of_order.clear();
        session.flush(now);
        Ok(session)
    }

    /// The next HTTP response to write.
    pub fn poll_transmit(&mut self) -> Option<CmTransmit> {
        self.transmits.pop_front()
    }

    /// The next upstream event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<CmEvent> {
        self.s.events.pop_front()
    }

    /// When [`CmSession::handle_timeout`] wants to run next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if let Some(at) = self.closed_at {
            return Some(at + Duration::from_secs(self.s.config.linger_secs.into()));
        }
        let live = self.s.held.iter().find(|h| h.http.is_some());
        match live.and_then(|h| h.since) {
            Some(since) => Some(since + Duration::from_secs(self.s.params.wait.into())),
            None if self.s.out_of_order.is_empty() => Some(self.last_activity + self.inactivity()),
            None => None,
        }
    }

    fn inactivity(&self) -> Duration {
        Duration::from_secs(
            self.inactivity_override
                .unwrap_or(self.s.params.inactivity)
                .into(),
        )
    }

    /// Runs the timers: answers requests held for `wait`, ends an inactive session.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.s.closed.is_some() {
            return;
        }
        self.flush(now);
        let holding =
            self.s.held.iter().any(|h| h.http.is_some()) || !self.s.out_of_order.is_empty();
        if !holding && self.last_activity + self.inactivity() <= now {
            self.s.held.clear();
            self.close(now, CmTermination::Inactivity);
        }
    }

    /// Queues a payload from upstream for the client (`stream: None`: the first stream).
    ///
    /// # Errors
    /// [`Error::QueueFull`] past [`CmConfig::max_outbound_bytes`]; [`Error::InvalidState`] once closed.
    pub fn send(
        &mut self,
        now: Instant,
        stream: Option<&str>,
        payload: impl Into<Bytes>,
    ) -> Result<(), Error> {
        self.enqueue(stream, payload.into())?;
        self.flush(now);
        Ok(())
    }

    fn enqueue(&mut self, stream: Option<&str>, payload: Bytes) -> Result<(), Error> {
        if self.s.closed.is_some() {
            return Err(Error::InvalidState("the session is closed"));
        }
        let limit = self.s.config.max_outbound_bytes;
        if self.s.outbound_bytes + payload.len() > limit {
            return Err(Error::QueueFull { limit });
        }
        self.s.outbound_bytes += payload.len();
        self.s
            .outbound
            .push_back((stream.map(str::to_owned), payload));
        Ok(())
    }

    /// Sends the stream attributes learned from upstream together with that stream's first payload (its
    /// `<stream:features/>`), in one response, as XEP-0206 §4 and §5 show them: a client that reads the
    /// attributes finds the features beside them. [`CmSession::announce`] followed by [`CmSession::send`] may
    /// answer a held request in between, so that the two arrive in two responses.
    ///
    /// # Errors
    /// As [`CmSession::send`]; nothing is announced then.
    pub fn announce_with(
        &mut self,
        now: Instant,
        announce: Announce,
        payload: impl Into<Bytes>,
    ) -> Result<(), Error> {
        self.enqueue(announce.stream.as_deref(), payload.into())?;
        self.set_announce(announce);
        self.flush(now);
        Ok(())
    }

    /// Sends stream attributes learned from upstream (`from`, `authid`, `xmpp:version`) in the next response.
    pub fn announce(&mut self, now: Instant, announce: Announce) {
        if self.s.closed.is_none() {
            self.set_announce(announce);
            self.flush(now);
        }
    }

    fn set_announce(&mut self, announce: Announce) {
        let pending_other = self
            .s
            .announce
            .as_ref()
            .is_some_and(|a| !self.same_stream(&a.stream, &announce.stream));
        if pending_other {
            // Another stream's announcement waits for the one already pending; a newer one for the same
            // stream replaces the older.
            let queue = &mut self.s.announce_queue;
            queue.retain(|a| a.stream != announce.stream);
            queue.push_back(announce);
        } else {
            self.s.announce = Some(Box::new(announce));
        }
    }

    /// Whether two stream references name the same stream (`None`: the first one).
    fn same_stream(&self, a: &Option<String>, b: &Option<String>) -> bool {
        let first = self.s.streams.first();
        a.as_ref().or(first) == b.as_ref().or(first)
    }

    /// Whether a termination for `stream` ends only that stream (several are open and it is one of them).
    fn ends_one_stream(&self, stream: &Option<String>) -> bool {
        stream
            .as_ref()
            .is_some_and(|s| self.s.streams.len() > 1 && self.s.streams.contains(s))
    }

    /// Ends the session (or only `stream`, when several are open) from upstream with a terminal condition,
    /// after the payloads already queued; `payloads` (e.g. a `<stream:error/>` for `remote-stream-error`,
    /// XEP-0206 §6) go in the terminating body.
    pub fn close_upstream(
        &mut self,
        now: Instant,
        condition: Condition,
        stream: Option<&str>,
        payloads: Vec<Bytes>,
    ) {
        if self.s.closed.is_none() {
            let new = (stream.map(str::to_owned), condition, payloads);
            match self.s.pending_terminate.as_deref() {
                // The whole session ends anyway.
                Some((pending, ..)) if !self.ends_one_stream(pending) => {}
                // Another single stream's termination is pending: this one follows it.
                Some(_) if self.ends_one_stream(&new.0) => self.s.terminate_queue.push_back(new),
                _ => {
                    self.s.terminate_queue.clear();
                    self.s.pending_terminate = Some(Box::new(new));
                }
            }
            self.flush(now);
        }
    }

    fn respond_error(&mut self, http: HttpId, condition: Condition) {
        let status = if self.s.params.legacy {
            legacy_status(&condition)
        } else {
            200
        };
        self.transmits.push_back(CmTransmit {
            http,
            status,
            body: terminate_bytes(Some(&condition), None),
        });
    }

    fn violation(&mut self, now: Instant, http: impl Into<Option<HttpId>>, condition: Condition) {
        if let Some(http) = http.into() {
            self.respond_error(http, condition.clone());
        }
        let held: Vec<HttpId> = self.s.held.iter().filter_map(|h| h.http).collect();
        for other in held {
            self.respond_error(other, condition.clone());
        }
        for (_, other) in std::mem::take(&mut self.ooo_http) {
            self.respond_error(other, condition.clone());
        }
        self.s.held.clear();
        self.s.out_of_order.clear();
        self.close(now, CmTermination::Violation(condition));
    }

    fn close(&mut self, now: Instant, reason: CmTermination) {
        if self.s.closed.is_none() {
            self.s.closed = Some(Box::new(reason.clone()));
            self.closed_at = Some(now);
            self.s.outbound.clear();
            self.s.outbound_bytes = 0;
            self.s.events.push_back(CmEvent::Terminated(reason));
        }
    }

    /// Hands in an HTTP request `http` for this session (its `sid` should match; the caller routes by `sid`).
    ///
    /// A copy of the session creation request (no `sid`, the same `rid`) is answered with the cached creation
    /// response: route a sid-less request whose rid matches [`CmSession::creation_rid`] here rather than creating
    /// a second session. Once a request with the sid has come, the client has that response, and a late copy gets
    /// a recoverable error instead (as does a late copy of any request whose response the client must have, see
    /// `docs/bosh.md` in the repository).
    pub fn handle_request(&mut self, now: Instant, http: HttpId, request: &[u8]) {
        let parsed = match Body::parse(request, &self.s.config.limits) {
            Ok(parsed) => parsed,
            Err(_) => {
                if self.s.closed.is_some() {
                    self.respond_error(http, Condition::BadRequest);
                } else {
                    self.violation(now, http, Condition::BadRequest);
                }
                return;
            }
        };
        let ranges = parsed.payloads;
        let body = parsed.body;
        let repeated_creation =
            body.sid.is_none() && body.rid.is_some_and(|rid| rid.get() == self.s.creation_rid);
        if repeated_creation {
            self.repeat(now, http, self.s.creation_rid);
            return;
        }
        if body.sid.as_deref() != Some(&*self.s.sid) {
            self.respond_error(http, Condition::ItemNotFound);
            return;
        }
        let Some(rid) = body.rid else {
            if self.s.closed.is_some() {
                self.respond_error(http, Condition::BadRequest);
            } else {
                self.violation(now, http, Condition::BadRequest);
            }
            return;
        };
        let r = rid.get();
        if r < self.s.next_rid {
            self.repeat(now, http, r);
            return;
        }
        if self.s.closed.is_some() {
            self.respond_error(http, Condition::ItemNotFound);
            return;
        }
        let special = u64::from(body.pause.is_some() || body.is_terminate());
        let requests = u64::from(self.s.params.requests);
        if r >= self.s.next_rid + requests + special {
            // XEP-0124 §14.2: beyond the window.
            self.violation(now, http, Condition::ItemNotFound);
            return;
        }
        if r - self.s.last_responded > requests + special {
            // XEP-0124 §11: more simultaneous requests than `requests`.
            self.violation(now, http, Condition::PolicyViolation);
            return;
        }
        if self.s.out_of_order.contains_key(&r) {
            // A copy of a request still waiting for a lower rid: answer the old connection with a recoverable error.
            if let Some(old) = insert(&mut self.ooo_http, r, http) {
                self.recoverable(old);
            }
            return;
        }
        if r == self.s.next_rid {
            let bytes = Bytes::copy_from_slice(request);
            self.s.next_rid += 1;
            self.process(now, r, Some(http), body, ranges, &bytes);
        } else {
            self.s
                .out_of_order
                .insert(r, Bytes::copy_from_slice(request));
            insert(&mut self.ooo_http, r, http);
        }
        while self.s.closed.is_none() {
            let next = self.s.next_rid;
            let Some(bytes) = self.s.out_of_order.remove(&next) else {
                break;
            };
            let http = remove(&mut self.ooo_http, next);
            self.s.next_rid += 1;
            match Body::parse(&bytes, &self.s.config.limits) {
                Ok(parsed) => {
                    let (body, ranges) = (parsed.body, parsed.payloads);
                    self.process(now, next, http, body, ranges, &bytes);
                }
                Err(_) => {
                    self.violation(now, http, Condition::BadRequest);
                }
            }
        }
        self.flush(now);
    }

    fn recoverable(&mut self, http: HttpId) {
        let body = Body {
            kind: Some(BodyType::Error),
            ..Body::default()
        };
        self.transmits.push_back(CmTransmit {
            http,
            status: 200,
            body: Bytes::from(body.to_bytes([])),
        });
    }

    /// Without acknowledgements, a new request still tells which responses the client has: it makes at most
    /// `requests` simultaneous requests, one more to pause or terminate (XEP-0124 §11), so sending rid `r` means
    /// it has the responses up to `r - requests` (`r - requests - 1` for a pause or terminate), and it has the
    /// session creation response, where it learned the `sid` it sends. Those are dropped from the retransmission
    /// cache (an idle session keeps only the responses the client may still ask for again), and a late copy of
    /// one of those requests is answered as a recoverable error, as with explicit acks.
    fn forget_implicitly_acked(&mut self, r: u64, body: &Body) {
        let extra = u64::from(body.pause.is_some() || body.is_terminate());
        let received = r
            .saturating_sub(u64::from(self.s.params.requests) + extra)
            .max(self.s.creation_rid);
        if received > self.s.client_ack && received < r {
            self.s.client_ack = received;
            self.s.cache.retain(|(rid, _)| *rid > received);
            self.sent_at.retain(|(rid, _)| *rid > received);
        }
    }

    fn repeat(&mut self, now: Instant, http: HttpId, r: u64) {
        if self.s.repeats.0 == r {
            self.s.repeats.1 += 1;
        } else {
            self.s.repeats = (r, 1);
        }
        if self.s.repeats.1 > self.s.config.max_repeats && self.s.closed.is_none() {
            self.violation(now, http, Condition::PolicyViolation);
            return;
        }
        if let Some((_, cached)) = self.s.cache.iter().find(|(rid, _)| *rid == r) {
            let body = cached.clone();
            self.transmits.push_back(CmTransmit {
                http,
                status: 200,
                body,
            });
            return;
        }
        if self.s.closed.is_none() {
            if let Some(held) = self.s.held.iter_mut().find(|h| h.rid == r) {
                let old = held.http.replace(http);
                if held.since.is_none() {
                    held.since = Some(now);
                }
                if let Some(old) = old {
                    self.recoverable(old);
                }
                return;
            }
            if (self.s.creation_rid..=self.s.client_ack).contains(&r) {
                // A late copy of a request whose response the client has (by its `ack`, or implicitly by the rids
                // it sent since) received: nothing is lost, and the client ignores the answer; do not end the
                // session over it.
                self.recoverable(http);
                return;
            }
            // XEP-0124 §14.3: the response is no longer available.
            self.violation(now, http, Condition::ItemNotFound);
        } else {
            self.respond_error(http, Condition::ItemNotFound);
        }
    }

    fn process(
        &mut self,
        now: Instant,
        r: u64,
        http: Option<HttpId>,
        body: Body,
        ranges: Vec<Range<usize>>,
        bytes: &Bytes,
    ) {
        // Key sequencing (XEP-0124 §15.4).
        if self.s.config.check_keys {
            if let Some(previous) = &self.s.last_key
                && !body
                    .key
                    .as_deref()
                    .is_some_and(|key| verify_key(key, previous))
            {
                self.violation(now, http, Condition::ItemNotFound);
                return;
            }
            if body.newkey.is_some() || body.key.is_some() {
                self.s.last_key = body
                    .newkey
                    .as_deref()
                    .or(body.key.as_deref())
                    .map(Box::from);
            }
        }
        self.last_activity = now;
        // Response acknowledgements (XEP-0124 §9.2).
        let mut report = None;
        if self.s.params.client_acks {
            let ack = body.ack.map_or(r - 1, Rid::get).min(self.s.last_responded);
            if ack > self.s.client_ack {
                self.s.client_ack = ack;
                let acked = self.s.client_ack;
                self.s.cache.retain(|(rid, _)| *rid > acked);
                self.sent_at.retain(|(rid, _)| *rid > acked);
            }
            if ack < self.s.last_responded
                && let Some((_, at)) = self.sent_at.iter().find(|(rid, _)| *rid == ack + 1)
            {
                let elapsed = now.saturating_duration_since(*at);
                if elapsed >= Duration::from_millis(self.s.config.report_after_ms) {
                    report = Some((
                        ack + 1,
                        u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
                    ));
                }
            }
        } else {
            self.forget_implicitly_acked(r, &body);
        }
        self.inactivity_override = None;
        let payloads: Vec<Bytes> = ranges.into_iter().map(|range| bytes.slice(range)).collect();
        let mut held = Held {
            rid: r,
            http,
            since: Some(now),
            added_stream: None,
            immediate: report.is_some(),
            pause: false,
            terminate: false,
        };
        if let Some((rid, ms)) = report {
            self.pending_report = Some(Box::new((rid, ms)));
        }
        // Pause (XEP-0124 §10).
        if let Some(pause) = body.pause
            && self.s.params.maxpause.is_some_and(|max| pause <= max)
        {
            self.inactivity_override = Some(pause);
            for h in &mut self.s.held {
                h.immediate = true;
            }
            held.immediate = true;
            held.pause = true;
            self.s.held.push_back(held);
            return;
        }
        let multi = self.s.streams.len() > 1;
        if let Some(stream) = &body.stream
            && self.s.config.multiple_streams
            && !self.s.streams.contains(stream)
            && !body.is_terminate()
        {
            if self.s.closed_streams.contains(stream) {
                held.immediate = false;
                self.s.held.push_back(held);
                return;
            }
            if !payloads.is_empty() {
                self.violation(now, http, Condition::ItemNotFound);
                return;
            }
        }
        // Terminate (XEP-0124 §13, §16.5).
        if body.is_terminate() {
            if !payloads.is_empty() {
                self.s.events.push_back(CmEvent::Payloads {
                    stream: body.stream.clone(),
                    payloads,
                });
            }
            held.immediate = true;
            match &body.stream {
                Some(stream) if multi && self.s.streams.contains(stream) => {
                    self.s.streams.retain(|s| s != stream);
                    self.s.closed_streams.push_back(stream.clone());
                    if self.s.closed_streams.len() > 16 {
                        self.s.closed_streams.pop_front();
                    }
                    self.s.events.push_back(CmEvent::StreamClosed {
                        stream: stream.clone(),
                    });
                }
                _ => {
                    for h in &mut self.s.held {
                        h.immediate = true;
                    }
                    held.terminate = true;
                }
            }
            self.s.held.push_back(held);
            return;
        }
        let restart = body.xmpp_restart == Some(true);
        if restart {
            // XEP-0206 §5: payloads of a restart request are ignored.
            self.s.events.push_back(CmEvent::Restart {
                stream: body.stream.clone(),
            });
        } else if body.to.is_some() && self.s.config.multiple_streams && r != self.s.creation_rid {
            // XEP-0124 §16.3: add a stream.
            let name = self.new_stream_name();
            self.s.streams.push(name.clone());
            self.s.events.push_back(CmEvent::StreamOpened {
                stream: Some(name.clone()),
                to: body.to.clone(),
                route: body.route.clone(),
                from: body.from.clone(),
                lang: body.lang.clone(),
                xmpp_version: body.xmpp_version.clone(),
            });
            held.added_stream = Some(name);
            held.immediate = true;
        } else if !payloads.is_empty() {
            self.s.events.push_back(CmEvent::Payloads {
                stream: body.stream.clone(),
                payloads: payloads.clone(),
            });
        }
        // Polling sessions (XEP-0124 §12): two empty requests within `polling`, the first answered empty.
        let empty = payloads.is_empty() && !restart && held.added_stream.is_none();
        if empty
            && self.s.params.hold == 0
            && self.s.params.polling > 0
            && let Some(previous) = self.last_empty_arrival
        {
            let polling = Duration::from_secs(self.s.params.polling.into());
            if self.s.last_response_empty && now.saturating_duration_since(previous) < polling {
                self.violation(now, http, Condition::PolicyViolation);
                return;
            }
        }
        // XEP-0124 §11: a full window of requests none of which was answered, the last one empty and arriving
        // within `polling` of the one before: requests more frequent than permitted.
        let previous_arrival = self.last_arrival.replace(now);
        let window_full = r - self.s.last_responded == u64::from(self.s.params.requests);
        if empty && window_full && self.s.params.polling > 0 && self.s.config.strict_overactivity {
            let polling = Duration::from_secs(self.s.params.polling.into());
            if previous_arrival.is_some_and(|t| now.saturating_duration_since(t) < polling) {
                self.violation(now, http, Condition::PolicyViolation);
                return;
            }
        }
        if empty {
            self.last_empty_arrival = Some(now);
        }
        self.s.held.push_back(held);
    }

    fn flush(&mut self, now: Instant) {
        let wait = Duration::from_secs(self.s.params.wait.into());
        let hold = self.s.params.hold as usize;
        while let Some(front) = self.s.held.front() {
            let has_data = !self.s.outbound.is_empty()
                || self.s.announce.is_some()
                || self.s.pending_terminate.is_some()
                || self.pending_report.is_some();
            let due = front.immediate
                || front.http.is_none()
                || self.s.creation_pending
                || self.s.closed.is_some()
                || self.s.held.len() > hold
                || (has_data && !front.pause)
                || front.since.is_some_and(|since| since + wait <= now);
            if !due {
                break;
            }
            self.respond_front(now);
        }
    }

    fn respond_front(&mut self, now: Instant) {
        let Some(held) = self.s.held.pop_front() else {
            return;
        };
        let r = held.rid;
        let mut body = Body::default();
        let params = &self.s.params;
        if self.s.creation_pending && r == self.s.creation_rid {
            self.s.creation_pending = false;
            body.sid = Some(self.s.sid.to_string());
            body.wait = Some(params.wait);
            body.hold = Some(params.hold);
            body.requests = Some(params.requests);
            body.polling = (params.polling > 0).then_some(params.polling);
            body.inactivity = Some(params.inactivity);
            body.maxpause = params.maxpause;
            body.ver = Some(params.ver);
            body.secure = self.s.config.secure;
            body.accept = self.s.config.accept.clone();
            body.stream = self.s.streams.first().cloned();
            if params.acks && params.client_acks {
                body.ack = Rid::new(r);
            }
            if self.s.config.restart_logic {
                body.xmpp_restartlogic = Some(true);
            }
        } else if params.acks && params.client_acks && self.s.next_rid - 1 != r {
            body.ack = Rid::new(self.s.next_rid - 1);
        }
        if let Some((rid, ms)) = self.pending_report.take().map(|r| *r) {
            body.report = Rid::new(rid);
            body.time = Some(ms);
        }
        if let Some(name) = &held.added_stream {
            body.stream = Some(name.clone());
        }
        let mut payloads: Vec<Bytes> = Vec::new();
        if !held.pause && held.added_stream.is_none() && !held.terminate {
            // One response speaks for one stream (XEP-0124 §16): the announced one, else the one of the first
            // queued payload.
            let mut speaking: Option<Option<String>> = None;
            if let Some(announce) = self.s.announce.take().map(|a| *a) {
                body.from = announce.from;
                body.authid = announce.authid;
                body.xmpp_version = announce.xmpp_version;
                if announce.stream.is_some() {
                    body.stream.clone_from(&announce.stream);
                }
                speaking = Some(announce.stream);
                self.s.announce = self.s.announce_queue.pop_front().map(Box::new);
            }
            let front_stream = self.s.outbound.front().map(|(s, _)| s.clone());
            if let Some(stream) = front_stream
                && speaking
                    .as_ref()
                    .is_none_or(|s| self.same_stream(s, &stream))
            {
                while payloads.len() < self.s.config.max_payloads_per_response.max(1) {
                    match self.s.outbound.front() {
                        Some((s, _)) if *s == stream => {
                            if let Some((_, p)) = self.s.outbound.pop_front() {
                                self.s.outbound_bytes -= p.len();
                                payloads.push(p);
                            }
                        }
                        _ => break,
                    }
                }
                if self.s.streams.len() > 1 || (stream.is_some() && body.stream.is_none()) {
                    body.stream = stream.clone().or_else(|| self.s.streams.first().cloned());
                }
                speaking = Some(stream);
            }
            let terminate_fits = self
                .s
                .pending_terminate
                .as_deref()
                .is_some_and(|(stream, ..)| {
                    !self.ends_one_stream(stream)
                        || speaking
                            .as_ref()
                            .is_none_or(|s| self.same_stream(s, stream))
                });
            if self.s.outbound.is_empty()
                && terminate_fits
                && let Some((stream, condition, extra)) =
                    self.s.pending_terminate.take().map(|t| *t)
            {
                self.s.pending_terminate = self.s.terminate_queue.pop_front().map(Box::new);
                body.kind = Some(BodyType::Terminate);
                body.condition = Some(condition.clone());
                payloads.extend(extra);
                match stream {
                    Some(stream)
                        if self.s.streams.len() > 1 && self.s.streams.contains(&stream) =>
                    {
                        self.s.streams.retain(|s| *s != stream);
                        body.stream = Some(stream);
                    }
                    _ => {
                        self.close(now, CmTermination::Upstream(condition));
                    }
                }
            }
        }
        if held.terminate {
            body.kind = Some(BodyType::Terminate);
            self.close(now, CmTermination::ByClient);
        }
        if payloads.iter().any(|p| p.starts_with(b"<stream:")) {
            body.namespaces
                .push(("stream".to_owned(), NS_STREAM.to_owned()));
        }
        let mut bytes = body.to_bytes(payloads.iter().map(|p| p.as_ref()));
        // Kept in the cache for retransmissions while the session idles: no spare capacity (and `Bytes` then
        // takes the allocation over without a shared header of its own).
        bytes.shrink_to_fit();
        let bytes = Bytes::from(bytes);
        self.s.last_response_empty = payloads.is_empty();
        self.s.cache.push_back((r, bytes.clone()));
        let cap = self.s.params.requests as usize + 1;
        while self.s.cache.len() > cap {
            if let Some((old, _)) = self.s.cache.pop_front() {
                remove(&mut self.sent_at, old);
            }
        }
        insert(&mut self.sent_at, r, now);
        self.s.last_responded = r;
        self.last_activity = now;
        if let Some(http) = held.http {
            self.transmits.push_back(CmTransmit {
                http,
                status: 200,
                body: bytes,
            });
        }
        if self.s.closed.is_some() {
            // Answer every other open request with an empty body (XEP-0124 §13).
            while let Some(other) = self.s.held.pop_front() {
                let empty = Bytes::from(Body::default().to_bytes([]));
                self.s.cache.push_back((other.rid, empty.clone()));
                self.s.last_responded = other.rid;
                if let Some(http) = other.http {
                    self.transmits.push_back(CmTransmit {
                        http,
                        status: 200,
                        body: empty,
                    });
                }
            }
        }
    }
}

fn legacy_status(condition: &Condition) -> u16 {
    match condition {
        Condition::BadRequest => 400,
        Condition::PolicyViolation => 403,
        Condition::ItemNotFound => 404,
        _ => 200,
    }
}

#[cfg(test)]
mod size_tests {
    use super::*;

    /// Guards idle-session memory: a connection manager keeps one `CmSession` per BOSH session (×100,000).
    #[test]
    fn idle_session_sizes() {
        let sizes = [
            ("CmSession", std::mem::size_of::<CmSession>()),
            ("CmState", std::mem::size_of::<CmState>()),
            ("CmConfig", std::mem::size_of::<CmConfig>()),
            ("Params", std::mem::size_of::<Params>()),
            ("Held", std::mem::size_of::<Held>()),
            ("Announce", std::mem::size_of::<Option<Announce>>()),
            ("CmEvent", std::mem::size_of::<CmEvent>()),
            ("CmTransmit", std::mem::size_of::<CmTransmit>()),
            (
                "Option<CmTermination>",
                std::mem::size_of::<Option<CmTermination>>(),
            ),
        ];
        for (name, size) in sizes {
            println!("{name}: {size} bytes");
        }
        // 1024 bytes (CmState 800) before rarely used state (announcements, terminations, reports, the end) went
        // behind boxes, the queues that are empty while the session idles became one pointer wide and the rid
        // maps small vectors, long-lived strings `Box<str>`; 616 (CmState 480) on x86_64 after; 512 (376) with
        // the configuration shared (`Arc<CmConfig>`).
        assert!(std::mem::size_of::<CmSession>() <= 520);
        assert!(std::mem::size_of::<CmState>() <= 384);
    }
}
