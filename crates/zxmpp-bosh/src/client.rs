//! The client side of a BOSH session (XEP-0124, XEP-0206), sans-IO.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

use crate::body::{Limits, ParsedBody};
use crate::keys::KeyChain;
use crate::{Body, BodyType, Condition, Error, Rid, Version};

/// Format version of [`ClientSnapshot`].
pub const CLIENT_SNAPSHOT_VERSION: u32 = 1;

/// What the client asks for when it creates a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClientConfig {
    /// `to`: the domain of the first stream.
    pub to: String,
    /// `route`: `proto:host:port`, for proxy connection managers.
    pub route: Option<String>,
    /// `from`: the client's identity (e.g. its bare JID).
    pub from: Option<String>,
    /// `xml:lang`.
    pub lang: Option<String>,
    /// `wait` in seconds (default 60).
    pub wait: u32,
    /// `hold` (default 1). 0 asks for a polling session.
    pub hold: u32,
    /// `content`: the Content-Type the responses must carry.
    pub content: Option<String>,
    /// `xmpp:version` (XEP-0206), default `Some("1.0")`; `None` for a plain XEP-0124 session.
    pub xmpp_version: Option<String>,
    /// Use acknowledgements (XEP-0124 §9), default true.
    pub acks: bool,
    /// Use key sequencing (XEP-0124 §15), default true.
    pub keys: bool,
    /// Number of keys per key chain (default 256, at least 2).
    pub key_chain_len: u32,
    /// How long past `wait` the client waits for a response before it resends the request (default 10 s).
    pub timeout_margin_secs: u32,
    /// How many times one request is resent before the session is given up (default 8).
    pub max_retries: u32,
    /// Most payloads put in one request (default 64).
    pub max_payloads_per_request: usize,
    /// Limits for parsing responses.
    pub limits: Limits,
}

impl ClientConfig {
    /// A configuration for a session with the domain `to`, with the defaults listed on each field.
    #[must_use]
    pub fn new(to: impl Into<String>) -> Self {
        Self {
            to: to.into(),
            route: None,
            from: None,
            lang: Some("en".to_owned()),
            wait: 60,
            hold: 1,
            content: None,
            xmpp_version: Some("1.0".to_owned()),
            acks: true,
            keys: true,
            key_chain_len: 256,
            timeout_margin_secs: 10,
            max_retries: 8,
            max_payloads_per_request: 64,
            limits: Limits::default(),
        }
    }

    /// Sets `route`.
    #[must_use]
    pub fn with_route(mut self, route: impl Into<String>) -> Self {
        self.route = Some(route.into());
        self
    }

    /// Sets `from`.
    #[must_use]
    pub fn with_from(mut self, from: impl Into<String>) -> Self {
        self.from = Some(from.into());
        self
    }

    /// Sets `xml:lang` (`None` to omit it).
    #[must_use]
    pub fn with_lang(mut self, lang: Option<String>) -> Self {
        self.lang = lang;
        self
    }

    /// Sets `wait` (seconds).
    #[must_use]
    pub const fn with_wait(mut self, secs: u32) -> Self {
        self.wait = secs;
        self
    }

    /// Sets `hold`.
    #[must_use]
    pub const fn with_hold(mut self, hold: u32) -> Self {
        self.hold = hold;
        self
    }

    /// Sets `content`.
    #[must_use]
    pub fn with_content(mut self, content: impl Into<String>) -> Self {
        self.content = Some(content.into());
        self
    }

    /// Sets `xmpp:version` (`None` for plain XEP-0124).
    #[must_use]
    pub fn with_xmpp_version(mut self, version: Option<String>) -> Self {
        self.xmpp_version = version;
        self
    }

    /// Turns acknowledgements on or off.
    #[must_use]
    pub const fn with_acks(mut self, on: bool) -> Self {
        self.acks = on;
        self
    }

    /// Turns key sequencing on or off.
    #[must_use]
    pub const fn with_keys(mut self, on: bool) -> Self {
        self.keys = on;
        self
    }

    /// Sets the number of keys per chain.
    #[must_use]
    pub const fn with_key_chain_len(mut self, len: u32) -> Self {
        self.key_chain_len = len;
        self
    }

    /// Sets the response timeout margin past `wait` (seconds).
    #[must_use]
    pub const fn with_timeout_margin(mut self, secs: u32) -> Self {
        self.timeout_margin_secs = secs;
        self
    }

    /// Sets how often one request may be resent.
    #[must_use]
    pub const fn with_max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// Sets the response parsing limits.
    #[must_use]
    pub const fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

/// The session parameters the connection manager granted (XEP-0124 §7.2, XEP-0206 §4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SessionParams {
    /// `sid`.
    pub sid: String,
    /// `wait` (s).
    pub wait: u32,
    /// `hold`.
    pub hold: u32,
    /// `requests`: most simultaneous requests.
    pub requests: u32,
    /// `polling` (s): shortest interval between empty requests.
    pub polling: u32,
    /// `inactivity` (s), if given.
    pub inactivity: Option<u32>,
    /// `maxpause` (s); pausing is possible only when given.
    pub maxpause: Option<u32>,
    /// `ver`; `None` for a legacy connection manager.
    pub ver: Option<Version>,
    /// Whether both sides use acknowledgements.
    pub acks: bool,
    /// The first stream's name when the connection manager supports multiple streams (XEP-0124 §16).
    pub stream: Option<String>,
    /// `from`: the backend server's identity.
    pub from: Option<String>,
    /// `authid` (XEP-0206).
    pub authid: Option<String>,
    /// `xmpp:version` (XEP-0206).
    pub xmpp_version: Option<String>,
    /// `xmpp:restartlogic` (XEP-0206).
    pub restart_logic: bool,
    /// `accept`: encodings the connection manager decompresses.
    pub accept: Option<String>,
    /// `charsets`.
    pub charsets: Option<String>,
    /// `secure`.
    pub secure: Option<bool>,
}

/// Identifies one HTTP request the client asked to send: the rid and which copy of it.
///
/// Give it back to [`ClientSession::handle_response`] with the outcome of that HTTP request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RequestId {
    rid: Rid,
    attempt: u32,
}

impl RequestId {
    /// The request's rid.
    #[must_use]
    pub const fn rid(self) -> Rid {
        self.rid
    }

    /// Which copy of the request this is: 1 for the first transmission, 2 for the first resend, …
    #[must_use]
    pub const fn attempt(self) -> u32 {
        self.attempt
    }
}

/// An HTTP request to send: POST `body` to the connection manager, then report the outcome with `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub struct Transmit {
    /// Identifies this request in [`ClientSession::handle_response`].
    pub id: RequestId,
    /// The exact bytes of the HTTP body; a resend of the same rid has the same bytes.
    pub body: Bytes,
}

/// The outcome of an HTTP request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpOutcome {
    /// An HTTP 200 response with this body.
    Ok(Bytes),
    /// A response with another HTTP status. 400, 403 and 404 end the session (XEP-0124 §17.1); other statuses
    /// (a proxy's 502, a 503, …) make the client resend the request.
    Status(u16),
    /// No response: connection refused or reset, timeout. The request is resent with the same rid and bytes.
    Failed,
}

/// A payload received from the connection manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Payload {
    /// The stream it belongs to: `None` is the first stream (XEP-0124 §16.5).
    pub stream: Option<String>,
    /// The payload's bytes: one complete element, a zero-copy slice of the response.
    #[serde(with = "crate::text_bytes")]
    pub bytes: Bytes,
    /// Prefixes declared on the enclosing `<body/>` (e.g. `stream`), needed to parse the payload alone.
    pub namespaces: Vec<(String, String)>,
}

impl Payload {
    /// The payload as a document of its own: the prefixes declared on the enclosing `<body/>` (e.g. `stream` for
    /// `<stream:features/>`) are declared on the payload's start tag unless it declares them itself. Without such
    /// prefixes the bytes are borrowed unchanged.
    #[must_use]
    pub fn standalone(&self) -> std::borrow::Cow<'_, [u8]> {
        let bytes: &[u8] = &self.bytes;
        let name_end = bytes
            .iter()
            .skip(1)
            .position(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'/' | b'>'))
            .map(|i| i + 1);
        let tag_end = bytes.iter().position(|b| *b == b'>').unwrap_or(bytes.len());
        let start_tag = bytes.get(..tag_end).unwrap_or(bytes);
        let missing: Vec<&(String, String)> = self
            .namespaces
            .iter()
            .filter(|(prefix, _)| {
                let decl = format!("xmlns:{prefix}=");
                !start_tag.windows(decl.len()).any(|w| w == decl.as_bytes())
            })
            .collect();
        let Some(name_end) =
            name_end.filter(|_| !missing.is_empty() && bytes.first() == Some(&b'<'))
        else {
            return std::borrow::Cow::Borrowed(bytes);
        };
        let mut out = Vec::with_capacity(bytes.len() + 64);
        out.extend_from_slice(bytes.get(..name_end).unwrap_or_default());
        for (prefix, uri) in missing {
            out.extend_from_slice(b" xmlns:");
            out.extend_from_slice(prefix.as_bytes());
            out.extend_from_slice(b"='");
            out.extend_from_slice(zxmpp_xml::escape_attr(uri).as_bytes());
            out.push(b'\'');
        }
        out.extend_from_slice(bytes.get(name_end..).unwrap_or_default());
        std::borrow::Cow::Owned(out)
    }
}

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Termination {
    /// The client's own terminate request was answered.
    Closed,
    /// The connection manager sent `type='terminate'` (with its condition, if any; `see-other-uri` carries the URI).
    Condition {
        /// The condition, `None` when the body had none.
        condition: Option<Condition>,
        /// The `<uri/>` of `see-other-uri`.
        uri: Option<String>,
    },
    /// An HTTP error status that ends the session (XEP-0124 §17.1).
    HttpStatus {
        /// The status code.
        status: u16,
        /// The binding condition it stands for, if any.
        condition: Option<Condition>,
    },
    /// A request was resent [`ClientConfig::max_retries`] times without an answer.
    RetriesExhausted {
        /// The rid given up on.
        rid: Rid,
    },
    /// The session creation response was unusable (no `sid`, `wait` or `requests`).
    InvalidCreationResponse,
    /// The rid space (2^53 − 1) is exhausted.
    RidsExhausted,
}

/// Something that happened in the session; drain with [`ClientSession::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ClientEvent {
    /// The session was created.
    Connected(SessionParams),
    /// A response carried stream attributes that arrived after session creation (XEP-0124 §7.2, XEP-0206 §4).
    StreamInfo {
        /// The stream they describe (`None`: the first).
        stream: Option<String>,
        /// `from`.
        from: Option<String>,
        /// `authid`.
        authid: Option<String>,
        /// `xmpp:version`.
        xmpp_version: Option<String>,
    },
    /// A payload arrived (in order, exactly once).
    Payload(Payload),
    /// A stream was added (XEP-0124 §16.3).
    StreamAdded {
        /// Its name.
        stream: String,
        /// `from`.
        from: Option<String>,
    },
    /// A stream was closed, by the client or with a stream-scoped terminal error (XEP-0124 §16.5, §16.6).
    StreamClosed {
        /// Its name.
        stream: String,
        /// The condition, when the connection manager closed it.
        condition: Option<Condition>,
    },
    /// The pause was granted; the caller may stop sending until [`ClientSession::resume`].
    Paused {
        /// The granted pause in seconds.
        secs: u32,
    },
    /// The session ended. Nothing more is sent.
    Terminated(Termination),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Queued {
    Payload {
        stream: Option<String>,
        #[serde(with = "crate::text_bytes")]
        bytes: Bytes,
    },
    Restart,
    AddStream {
        to: String,
        route: Option<String>,
        from: Option<String>,
    },
    Pause(u32),
    Terminate {
        stream: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Kind {
    Create,
    Normal,
    Restart,
    AddStream,
    Pause(u32),
    Terminate(Option<String>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Pending {
    #[serde(with = "crate::text_bytes")]
    body: Bytes,
    kind: Kind,
    /// Attempt number of the latest copy sent (0: never sent).
    attempt: u32,
    retries: u32,
    needs_send: bool,
    empty: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Phase {
    Creating,
    Active,
    /// A pause request is out: no new request until it is answered.
    Pausing,
    Paused(u32),
    Terminating,
    Terminated,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct KeyState {
    chain: KeyChain,
    generation: u64,
}

/// A response that arrived before a lower rid's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Answered {
    kind: Kind,
    #[serde(with = "crate::text_bytes")]
    bytes: Bytes,
}

/// The serializable part of a client session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct State {
    config: ClientConfig,
    entropy: [u8; 32],
    phase: Phase,
    params: Option<SessionParams>,
    /// The next rid to use.
    next_rid: u64,
    /// Every rid up to this one has been answered and processed (the `ack` value).
    processed: u64,
    unanswered: BTreeMap<u64, Pending>,
    /// Responses that arrived before a lower rid's, waiting to be processed in rid order.
    answered: BTreeMap<u64, Answered>,
    queue: VecDeque<Queued>,
    keys: Option<KeyState>,
    /// Open streams (names) when the connection manager supports multiple streams.
    streams: Vec<String>,
    events: VecDeque<ClientEvent>,
}

/// The whole resumable state of a [`ClientSession`], with a format version; serialize it with serde.
///
/// Restoring resends every unanswered request with its original rid and bytes, never skips a rid and never
/// resends one that was answered. Events not yet drained are kept too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientSnapshot {
    format_version: u32,
    state: State,
}

impl ClientSnapshot {
    /// The snapshot's format version ([`CLIENT_SNAPSHOT_VERSION`] when written by this build).
    #[must_use]
    pub const fn format_version(&self) -> u32 {
        self.format_version
    }
}

/// A BOSH client session: a sans-IO state machine (see the crate docs for the run loop).
#[derive(Debug)]
pub struct ClientSession {
    s: State,
    /// When the latest copy of each unanswered rid was sent.
    sent_at: HashMap<u64, Instant>,
    last_empty_sent: Option<Instant>,
    last_sent: Option<Instant>,
}

fn derive(entropy: &[u8; 32], label: &[u8], counter: u64) -> [u8; 20] {
    let mut h = Sha1::new();
    h.update(entropy);
    h.update(label);
    h.update(counter.to_be_bytes());
    h.finalize().into()
}

impl ClientSession {
    /// Starts a session: the first [`ClientSession::poll_transmit`] gives the session creation request.
    ///
    /// `entropy` must be 32 bytes from a cryptographically secure generator (e.g. `getrandom`): the initial rid
    /// and the key chains are derived from it (XEP-0124 §14.1, §15.3, §21.3). Tests may pass fixed bytes.
    #[must_use]
    pub fn new(config: ClientConfig, entropy: [u8; 32], now: Instant) -> Self {
        let _ = now;
        let seed = derive(&entropy, b"rid", 0);
        let mut first = [0u8; 8];
        first.copy_from_slice(seed.get(..8).unwrap_or(&[1; 8]));
        // At most 2^52, leaving 2^52 requests before the rid could pass 2^53 − 1.
        let rid = (u64::from_be_bytes(first) & ((1 << 52) - 1)).max(1);
        let keys = config.keys.then(|| KeyState {
            chain: KeyChain::from_seed(&derive(&entropy, b"key", 0), config.key_chain_len),
            generation: 0,
        });
        let mut session = Self {
            s: State {
                config,
                entropy,
                phase: Phase::Creating,
                params: None,
                next_rid: rid,
                processed: rid - 1,
                unanswered: BTreeMap::new(),
                answered: BTreeMap::new(),
                queue: VecDeque::new(),
                keys,
                streams: Vec::new(),
                events: VecDeque::new(),
            },
            sent_at: HashMap::new(),
            last_empty_sent: None,
            last_sent: None,
        };
        session.build_creation();
        session
    }

    /// The resumable state.
    #[must_use]
    pub fn snapshot(&self) -> ClientSnapshot {
        ClientSnapshot {
            format_version: CLIENT_SNAPSHOT_VERSION,
            state: self.s.clone(),
        }
    }

    /// Continues a session from a snapshot: every unanswered request is resent unchanged.
    ///
    /// # Errors
    /// [`Error::UnsupportedSnapshotVersion`] for a snapshot of another format version,
    /// [`Error::InvalidSnapshot`] when its contents contradict each other.
    pub fn restore(snapshot: ClientSnapshot, now: Instant) -> Result<Self, Error> {
        let _ = now;
        if snapshot.format_version != CLIENT_SNAPSHOT_VERSION {
            return Err(Error::UnsupportedSnapshotVersion {
                found: snapshot.format_version,
                supported: CLIENT_SNAPSHOT_VERSION,
            });
        }
        let mut s = snapshot.state;
        let bad_rid = |r: &u64| *r <= s.processed || *r >= s.next_rid;
        if s.processed >= s.next_rid
            || s.unanswered.keys().any(bad_rid)
            || s.answered.keys().any(bad_rid)
            || Rid::new(s.next_rid).is_none()
        {
            return Err(Error::InvalidSnapshot("rids out of order"));
        }
        for pending in s.unanswered.values_mut() {
            pending.needs_send = true;
        }
        Ok(Self {
            s,
            sent_at: HashMap::new(),
            last_empty_sent: None,
            last_sent: None,
        })
    }

    /// The granted session parameters, once the session is created.
    #[must_use]
    pub fn params(&self) -> Option<&SessionParams> {
        self.s.params.as_ref()
    }

    /// The session id, once the session is created.
    #[must_use]
    pub fn sid(&self) -> Option<&str> {
        self.s.params.as_ref().map(|p| p.sid.as_str())
    }

    /// Whether the session is over.
    #[must_use]
    pub fn is_terminated(&self) -> bool {
        self.s.phase == Phase::Terminated
    }

    /// Whether a granted pause is in effect.
    #[must_use]
    pub fn is_paused(&self) -> bool {
        matches!(self.s.phase, Phase::Paused(_))
    }

    /// The open streams' names (multiple streams, XEP-0124 §16); empty when not supported.
    #[must_use]
    pub fn streams(&self) -> &[String] {
        &self.s.streams
    }

    /// Number of requests sent and not yet answered.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.s.unanswered.len()
    }

    /// Queues a payload (one complete element, e.g. a stanza) for the first stream, or for all streams when
    /// several are open (XEP-0124 §16.4 broadcast).
    ///
    /// # Errors
    /// [`Error::InvalidState`] once the session is terminating or over.
    pub fn send(&mut self, payload: impl Into<Bytes>) -> Result<(), Error> {
        self.enqueue(Queued::Payload {
            stream: None,
            bytes: payload.into(),
        })
    }

    /// Queues a payload for one stream (XEP-0124 §16.4).
    ///
    /// # Errors
    /// [`Error::InvalidState`] once the session is terminating or over, or for a stream that is not open.
    pub fn send_to(&mut self, stream: &str, payload: impl Into<Bytes>) -> Result<(), Error> {
        if !self.s.streams.iter().any(|s| s == stream) {
            return Err(Error::InvalidState("no such stream"));
        }
        self.enqueue(Queued::Payload {
            stream: Some(stream.to_owned()),
            bytes: payload.into(),
        })
    }

    /// Asks for an XMPP stream restart (XEP-0206 §5), after SASL success. Payloads queued later are sent after it.
    ///
    /// # Errors
    /// [`Error::InvalidState`] once the session is terminating or over.
    pub fn restart(&mut self) -> Result<(), Error> {
        self.enqueue(Queued::Restart)
    }

    /// Asks to open another stream to `to` (XEP-0124 §16.3); [`ClientEvent::StreamAdded`] follows.
    ///
    /// # Errors
    /// [`Error::InvalidState`] when the connection manager did not announce multiple streams.
    pub fn add_stream(
        &mut self,
        to: &str,
        route: Option<&str>,
        from: Option<&str>,
    ) -> Result<(), Error> {
        if self.s.streams.is_empty() {
            return Err(Error::InvalidState(
                "the connection manager does not support multiple streams",
            ));
        }
        self.enqueue(Queued::AddStream {
            to: to.to_owned(),
            route: route.map(str::to_owned),
            from: from.map(str::to_owned),
        })
    }

    /// Asks to pause the session for `secs` seconds (XEP-0124 §10); [`ClientEvent::Paused`] follows. Take a
    /// [`ClientSession::snapshot`] after it, and call [`ClientSession::resume`] within the pause.
    ///
    /// # Errors
    /// [`Error::InvalidState`] when the connection manager gave no `maxpause` or `secs` exceeds it.
    pub fn pause(&mut self, secs: u32) -> Result<(), Error> {
        match self.s.params.as_ref().and_then(|p| p.maxpause) {
            Some(max) if secs <= max => self.enqueue(Queued::Pause(secs)),
            _ => Err(Error::InvalidState("pause not allowed by maxpause")),
        }
    }

    /// Ends a pause: requests flow again.
    pub fn resume(&mut self, now: Instant) {
        let _ = now;
        if let Phase::Paused(_) = self.s.phase {
            self.s.phase = Phase::Active;
            self.last_empty_sent = None;
        }
    }

    /// Ends the session gracefully (XEP-0124 §13); payloads queued before are sent first, the last of them in the
    /// terminate request itself.
    ///
    /// # Errors
    /// [`Error::InvalidState`] once the session is terminating or over.
    pub fn terminate(&mut self) -> Result<(), Error> {
        self.enqueue(Queued::Terminate { stream: None })
    }

    /// Closes one stream (XEP-0124 §16.5); closing the last one ends the session.
    ///
    /// # Errors
    /// [`Error::InvalidState`] for an unknown stream or once the session is terminating.
    pub fn close_stream(&mut self, stream: &str) -> Result<(), Error> {
        if !self.s.streams.iter().any(|s| s == stream) {
            return Err(Error::InvalidState("no such stream"));
        }
        self.enqueue(Queued::Terminate {
            stream: Some(stream.to_owned()),
        })
    }

    fn enqueue(&mut self, item: Queued) -> Result<(), Error> {
        let closing = self
            .s
            .queue
            .iter()
            .any(|q| matches!(q, Queued::Terminate { stream: None }));
        if matches!(self.s.phase, Phase::Terminating | Phase::Terminated) || closing {
            return Err(Error::InvalidState(
                "the session is terminating or terminated",
            ));
        }
        self.s.queue.push_back(item);
        Ok(())
    }

    /// The next event, if any.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.s.events.pop_front()
    }

    /// How long the client waits for a response before it resends a request (`wait` + margin): give the HTTP
    /// layer a timeout at least this long, or report [`HttpOutcome::Failed`] when it gives up earlier.
    #[must_use]
    pub fn request_timeout(&self) -> Duration {
        self.timeout_duration()
    }

    fn timeout_duration(&self) -> Duration {
        let wait = self
            .s
            .params
            .as_ref()
            .map_or(self.s.config.wait, |p| p.wait);
        Duration::from_secs(u64::from(wait) + u64::from(self.s.config.timeout_margin_secs.max(1)))
    }

    /// The next instant [`ClientSession::handle_timeout`] wants to run, if any.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.is_terminated() {
            return None;
        }
        let timeout = self.timeout_duration();
        let mut next: Option<Instant> = None;
        let mut consider = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        for (rid, pending) in &self.s.unanswered {
            if !pending.needs_send
                && let Some(at) = self.sent_at.get(rid)
            {
                consider(*at + timeout);
            }
        }
        if let Some(at) = self.empty_poll_allowed_at() {
            consider(at);
        }
        next
    }

    /// When an empty poll will be allowed, if one is wanted and blocked only by the polling interval.
    fn empty_poll_allowed_at(&self) -> Option<Instant> {
        let params = self.s.params.as_ref()?;
        if self.s.phase != Phase::Active || !self.s.queue.is_empty() || !self.window_open(false) {
            return None;
        }
        let polling = Duration::from_secs(u64::from(params.polling));
        if params.hold == 0 {
            if !self.s.unanswered.is_empty() {
                return None;
            }
            return self.last_empty_sent.map(|t| t + polling);
        }
        if self.s.unanswered.len() >= params.hold as usize {
            return None;
        }
        self.last_empty_sent.map(|t| t + polling)
    }

    /// Runs the timers: resends requests whose response is overdue.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.is_terminated() {
            return;
        }
        let timeout = self.timeout_duration();
        let due: Vec<u64> = self
            .s
            .unanswered
            .iter()
            .filter(|(rid, p)| {
                !p.needs_send && self.sent_at.get(rid).is_some_and(|t| *t + timeout <= now)
            })
            .map(|(rid, _)| *rid)
            .collect();
        for rid in due {
            self.retry(rid);
        }
    }

    fn retry(&mut self, rid: u64) {
        let max = self.s.config.max_retries;
        let Some(pending) = self.s.unanswered.get_mut(&rid) else {
            return;
        };
        if pending.needs_send {
            return;
        }
        pending.retries += 1;
        if pending.retries > max {
            let rid = Rid::new(rid).unwrap_or(Rid(1));
            self.finish(Termination::RetriesExhausted { rid });
            return;
        }
        pending.needs_send = true;
        self.sent_at.remove(&rid);
    }

    /// The next HTTP request to send, if any. Call until `None` after every input.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        self.handle_timeout(now);
        if self.is_terminated() {
            return None;
        }
        if !self.s.unanswered.values().any(|p| p.needs_send) {
            self.build_next(now);
        }
        let (rid, pending) = self.s.unanswered.iter_mut().find(|(_, p)| p.needs_send)?;
        pending.needs_send = false;
        pending.attempt += 1;
        let rid_value = *rid;
        let id = RequestId {
            rid: Rid(rid_value),
            attempt: pending.attempt,
        };
        let body = pending.body.clone();
        if pending.attempt == 1 {
            // §12: only consecutive empty requests must be `polling` apart.
            self.last_empty_sent = pending.empty.then_some(now);
        }
        self.last_sent = Some(now);
        self.sent_at.insert(rid_value, now);
        Some(Transmit { id, body })
    }

    /// Whether a new rid may be used: at most `requests` unprocessed requests (one more to pause or terminate).
    fn window_open(&self, special: bool) -> bool {
        let Some(params) = &self.s.params else {
            return false;
        };
        let limit = u64::from(params.requests.max(1)) + u64::from(special);
        let unprocessed = self.s.next_rid - 1 - self.s.processed;
        unprocessed < limit && (self.s.unanswered.len() as u64) < limit
    }

    fn build_next(&mut self, now: Instant) {
        if self.s.phase != Phase::Active {
            return;
        }
        let special = matches!(
            self.s.queue.front(),
            Some(Queued::Pause(_) | Queued::Terminate { .. })
        );
        if !self.window_open(special) {
            return;
        }
        if self.s.queue.is_empty() {
            let wanted = self.empty_poll_allowed_at().is_none_or(|at| at <= now)
                && self.s.params.as_ref().is_some_and(|p| {
                    if p.hold == 0 {
                        self.s.unanswered.is_empty()
                    } else {
                        self.s.unanswered.len() < p.hold as usize
                    }
                });
            if wanted {
                self.build(Kind::Normal, Body::default(), Vec::new());
            }
            return;
        }
        match self.s.queue.pop_front() {
            Some(Queued::Payload { stream, bytes }) => {
                let mut payloads = vec![bytes];
                while payloads.len() < self.s.config.max_payloads_per_request.max(1) {
                    match self.s.queue.front() {
                        Some(Queued::Payload { stream: s, .. }) if *s == stream => {
                            if let Some(Queued::Payload { bytes, .. }) = self.s.queue.pop_front() {
                                payloads.push(bytes);
                            }
                        }
                        _ => break,
                    }
                }
                let mut body = Body {
                    stream: stream.clone(),
                    ..Body::default()
                };
                let mut kind = Kind::Normal;
                if let Some(Queued::Terminate { stream: s }) = self.s.queue.front()
                    && (s.is_none() || *s == stream)
                {
                    kind = Kind::Terminate(s.clone());
                    body.kind = Some(BodyType::Terminate);
                    body.stream = s.clone();
                    self.s.queue.pop_front();
                }
                self.build(kind, body, payloads);
            }
            Some(Queued::Restart) => {
                let body = Body {
                    to: Some(self.s.config.to.clone()),
                    lang: self.s.config.lang.clone(),
                    xmpp_restart: Some(true),
                    ..Body::default()
                };
                self.build(Kind::Restart, body, Vec::new());
            }
            Some(Queued::AddStream { to, route, from }) => {
                let body = Body {
                    to: Some(to),
                    route,
                    from,
                    lang: self.s.config.lang.clone(),
                    xmpp_version: self.s.config.xmpp_version.clone(),
                    ..Body::default()
                };
                self.build(Kind::AddStream, body, Vec::new());
            }
            Some(Queued::Pause(secs)) => {
                let body = Body {
                    pause: Some(secs),
                    ..Body::default()
                };
                self.build(Kind::Pause(secs), body, Vec::new());
            }
            Some(Queued::Terminate { stream }) => {
                let body = Body {
                    kind: Some(BodyType::Terminate),
                    stream: stream.clone(),
                    ..Body::default()
                };
                self.build(Kind::Terminate(stream), body, Vec::new());
            }
            None => {}
        }
    }

    fn build_creation(&mut self) {
        let c = &self.s.config;
        let body = Body {
            to: Some(c.to.clone()),
            route: c.route.clone(),
            from: c.from.clone(),
            lang: c.lang.clone(),
            ver: Some(Version::V1_11),
            wait: Some(c.wait),
            hold: Some(c.hold),
            content: c.content.clone(),
            ack: if c.acks { Rid::new(1) } else { None },
            xmpp_version: c.xmpp_version.clone(),
            ..Body::default()
        };
        self.build(Kind::Create, body, Vec::new());
    }

    fn build(&mut self, kind: Kind, mut body: Body, payloads: Vec<Bytes>) {
        let Some(rid) = Rid::new(self.s.next_rid) else {
            self.finish(Termination::RidsExhausted);
            return;
        };
        self.s.next_rid += 1;
        body.rid = Some(rid);
        if kind != Kind::Create {
            body.sid = self.s.params.as_ref().map(|p| p.sid.clone());
            let acks = self.s.params.as_ref().is_some_and(|p| p.acks);
            if acks && self.s.processed + 1 < rid.get() {
                body.ack = Rid::new(self.s.processed);
            }
        }
        if let Some(keys) = &mut self.s.keys {
            if kind == Kind::Create {
                body.newkey = Some(keys.chain.take_newkey());
            } else {
                let (key, last) = keys.chain.take();
                body.key = Some(key);
                if last {
                    keys.generation += 1;
                    let seed = derive(&self.s.entropy, b"key", keys.generation);
                    keys.chain = KeyChain::from_seed(&seed, self.s.config.key_chain_len);
                    body.newkey = Some(keys.chain.take_newkey());
                }
            }
        }
        let empty = payloads.is_empty() && kind == Kind::Normal;
        let bytes = Bytes::from(body.to_bytes(payloads.iter().map(|p| p.as_ref())));
        if matches!(kind, Kind::Terminate(None)) {
            self.s.phase = Phase::Terminating;
        }
        if matches!(kind, Kind::Pause(_)) {
            self.s.phase = Phase::Pausing;
        }
        self.s.unanswered.insert(
            rid.get(),
            Pending {
                body: bytes,
                kind,
                attempt: 0,
                retries: 0,
                needs_send: true,
                empty,
            },
        );
    }

    /// Hands in the outcome of the HTTP request `id` (from [`Transmit::id`]).
    ///
    /// Responses may come in any order and more than once; they are processed in rid order, exactly once.
    pub fn handle_response(&mut self, now: Instant, id: RequestId, outcome: HttpOutcome) {
        let rid = id.rid.get();
        let Some(pending) = self.s.unanswered.get(&rid) else {
            return;
        };
        if self.is_terminated() {
            return;
        }
        let latest = id.attempt >= pending.attempt;
        let bytes = match outcome {
            HttpOutcome::Failed => {
                if latest {
                    self.retry(rid);
                }
                return;
            }
            HttpOutcome::Status(status) => {
                let condition = Condition::from_http_status(status);
                if condition.is_some()
                    || (400..500).contains(&status) && status != 408 && status != 429
                {
                    self.finish(Termination::HttpStatus { status, condition });
                } else if latest {
                    self.retry(rid);
                }
                return;
            }
            HttpOutcome::Ok(bytes) => bytes,
        };
        let parsed = match Body::parse(&bytes, &self.s.config.limits) {
            Ok(parsed) => parsed,
            Err(_) => {
                if latest {
                    self.retry(rid);
                }
                return;
            }
        };
        if parsed.body.kind == Some(BodyType::Error) {
            // Recoverable binding error (XEP-0124 §17.3): resend this and every earlier unanswered request.
            if latest {
                let earlier: Vec<u64> = self.s.unanswered.range(..=rid).map(|(r, _)| *r).collect();
                for r in earlier {
                    self.retry(r);
                }
            }
            return;
        }
        if let Some(report) = parsed.body.report {
            // XEP-0124 §9.2: the connection manager says we missed the response to `report`.
            if report.get() != rid && self.s.unanswered.contains_key(&report.get()) {
                self.retry(report.get());
            }
        }
        let ParsedBody {
            body,
            payloads,
            uri,
            ..
        } = parsed;
        let Some(pending) = self.s.unanswered.remove(&rid) else {
            return;
        };
        self.sent_at.remove(&rid);
        if rid == self.s.processed + 1 {
            // The common case: in order, processed with the parse we already have.
            self.s.processed = rid;
            self.process_parsed(now, pending.kind, &bytes, body, payloads, uri);
            self.process_in_order(now);
        } else {
            self.s.answered.insert(
                rid,
                Answered {
                    kind: pending.kind,
                    bytes,
                },
            );
        }
    }

    fn process_in_order(&mut self, now: Instant) {
        while !self.is_terminated() {
            let next = self.s.processed + 1;
            let Some(Answered { kind, bytes }) = self.s.answered.remove(&next) else {
                break;
            };
            self.s.processed = next;
            self.process(now, kind, &bytes);
        }
    }

    fn finish(&mut self, termination: Termination) {
        if self.is_terminated() {
            return;
        }
        self.s.phase = Phase::Terminated;
        self.s.unanswered.clear();
        self.s.answered.clear();
        self.s.queue.clear();
        self.sent_at.clear();
        self.s
            .events
            .push_back(ClientEvent::Terminated(termination));
    }

    fn process(&mut self, now: Instant, kind: Kind, bytes: &Bytes) {
        let Ok(parsed) = Body::parse(bytes, &self.s.config.limits) else {
            return;
        };
        let ParsedBody {
            body,
            payloads,
            uri,
            ..
        } = parsed;
        self.process_parsed(now, kind, bytes, body, payloads, uri);
    }

    fn process_parsed(
        &mut self,
        now: Instant,
        kind: Kind,
        bytes: &Bytes,
        body: Body,
        payloads: Vec<std::ops::Range<usize>>,
        uri: Option<String>,
    ) {
        let _ = now;
        if kind == Kind::Create {
            if body.is_terminate() {
                self.finish(Termination::Condition {
                    condition: body.condition,
                    uri,
                });
                return;
            }
            let (Some(sid), Some(wait)) = (body.sid.clone(), body.wait) else {
                self.finish(Termination::InvalidCreationResponse);
                return;
            };
            let hold = body
                .hold
                .unwrap_or(self.s.config.hold)
                .min(self.s.config.hold);
            let requests = body.requests.unwrap_or(hold + 1).max(1);
            // `requests='1'` asks for a polling session (XEP-0124 §12): nothing may wait at the connection manager.
            let hold = hold.min(requests - 1);
            let params = SessionParams {
                sid,
                wait: wait.min(self.s.config.wait),
                hold,
                requests,
                polling: body.polling.unwrap_or(0),
                inactivity: body.inactivity,
                maxpause: body.maxpause,
                ver: body.ver,
                acks: self.s.config.acks && body.ack.is_some(),
                stream: body.stream.clone(),
                from: body.from.clone(),
                authid: body.authid.clone(),
                xmpp_version: body.xmpp_version.clone(),
                restart_logic: body.xmpp_restartlogic.unwrap_or(false),
                accept: body.accept.clone(),
                charsets: body.charsets.clone(),
                secure: body.secure,
            };
            if let Some(stream) = &body.stream {
                self.s.streams.push(stream.clone());
            }
            self.s.params = Some(params.clone());
            self.s.phase = Phase::Active;
            self.s.events.push_back(ClientEvent::Connected(params));
        } else if (body.from.is_some() || body.authid.is_some() || body.xmpp_version.is_some())
            && kind != Kind::AddStream
        {
            if let Some(params) = &mut self.s.params {
                let first = body.stream.is_none() || body.stream == params.stream;
                if first {
                    params.from = body.from.clone().or(params.from.take());
                    params.authid = body.authid.clone().or(params.authid.take());
                    params.xmpp_version = body.xmpp_version.clone().or(params.xmpp_version.take());
                }
                if let Some(logic) = body.xmpp_restartlogic {
                    params.restart_logic = logic;
                }
            }
            self.s.events.push_back(ClientEvent::StreamInfo {
                stream: body.stream.clone(),
                from: body.from.clone(),
                authid: body.authid.clone(),
                xmpp_version: body.xmpp_version.clone(),
            });
        }
        if kind == Kind::AddStream
            && let Some(stream) = &body.stream
            && !body.is_terminate()
            && !self.s.streams.contains(stream)
        {
            self.s.streams.push(stream.clone());
            self.s.events.push_back(ClientEvent::StreamAdded {
                stream: stream.clone(),
                from: body.from.clone(),
            });
        }
        if !payloads.is_empty() {
            // An answer with payloads: polling again at once is not "too frequent" (§12).
            self.last_empty_sent = None;
        }
        let see_other = body.condition == Some(Condition::SeeOtherUri);
        for range in payloads {
            let Some(slice) = bytes.get(range.clone()) else {
                continue;
            };
            if see_other && slice.starts_with(b"<uri") {
                continue;
            }
            self.s.events.push_back(ClientEvent::Payload(Payload {
                stream: body.stream.clone(),
                bytes: bytes.slice(range),
                namespaces: body.namespaces.clone(),
            }));
        }
        if body.is_terminate() {
            if let Some(stream) = &body.stream
                && self.s.streams.len() > 1
                && self.s.streams.contains(stream)
            {
                self.s.streams.retain(|s| s != stream);
                self.s.events.push_back(ClientEvent::StreamClosed {
                    stream: stream.clone(),
                    condition: body.condition.clone(),
                });
                return;
            }
            if matches!(kind, Kind::Terminate(None)) && body.condition.is_none() {
                self.finish(Termination::Closed);
            } else {
                self.finish(Termination::Condition {
                    condition: body.condition,
                    uri,
                });
            }
            return;
        }
        match kind {
            Kind::Terminate(None) => self.finish(Termination::Closed),
            Kind::Terminate(Some(stream)) => {
                if self.s.streams.contains(&stream) {
                    self.s.streams.retain(|s| *s != stream);
                    self.s.events.push_back(ClientEvent::StreamClosed {
                        stream,
                        condition: None,
                    });
                }
                if self.s.streams.is_empty() {
                    self.finish(Termination::Closed);
                }
            }
            Kind::Pause(secs) => {
                if self.s.phase == Phase::Pausing {
                    self.s.phase = Phase::Paused(secs);
                    self.s.events.push_back(ClientEvent::Paused { secs });
                }
            }
            Kind::Create | Kind::Normal | Kind::Restart | Kind::AddStream => {}
        }
    }
}
