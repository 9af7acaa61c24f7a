//! The client state machine.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::Digest as _;
use zxmpp_caps::{Algorithm, CacheConfig, Caps, CapsCache, LegacyProfile, NS_DISCO_INFO};
use zxmpp_state::{
    ClientSnapshot, IqPurpose, PendingIq, Phase, QueuedStanza, Roster, RosterItem, Settings,
    StreamManagement,
};
use zxmpp_xml::{Element, STREAMS_NS};

use super::config::ClientConfig;
use super::error::Error;
use super::event::{ClientEvent, IqRequest, Message, Presence};
use super::io::{Transmit, TransportEvent, TransportKind};
use super::xml::{
    NS_BIND, NS_PING, NS_ROSTER, NS_ROSTER_VER, NS_SASL, NS_SM, NS_STANZAS, NS_STREAM_ERRORS,
    NS_TLS, attr, condition, first_child, iq, is_stanza, push_attr, push_text_el, raw, text_child,
};
use crate::sasl::{Mechanism, Scram, plain};

/// Which stream of the login sequence a header or features belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Before authentication (possibly before TLS).
    PreAuth,
    /// After SASL success.
    PostAuth,
}

/// Waiting for the server's stream header.
#[derive(Debug)]
struct AwaitingHeader {
    stage: Stage,
}

/// Waiting for `<stream:features/>`.
#[derive(Debug)]
struct AwaitingFeatures {
    stage: Stage,
}

/// The SASL exchange in progress.
#[derive(Debug)]
enum Authenticating {
    Plain,
    Scram(Box<Scram>),
}

/// Waiting for the result of the bind iq.
#[derive(Debug)]
struct Binding {
    id: String,
}

/// Waiting for `<resumed/>` or `<failed/>`.
#[derive(Debug)]
struct Resuming;

/// Waiting for `<enabled/>` or `<failed/>`; stanzas already flow.
#[derive(Debug)]
struct EnablingSm;

/// Where the connection stands.
#[derive(Debug)]
enum State {
    /// No connection: waiting for `TransportEvent::Connected`.
    Idle,
    AwaitingHeader(AwaitingHeader),
    AwaitingFeatures(AwaitingFeatures),
    /// `<starttls/>` sent, waiting for `<proceed/>`.
    AwaitingTlsProceed,
    /// `Transmit::StartTls` given, waiting for `TransportEvent::TlsEstablished`.
    AwaitingTls,
    Authenticating(Authenticating),
    Binding(Binding),
    Resuming(Resuming),
    EnablingSm(EnablingSm),
    /// The session is established.
    Online,
    /// Stopped for good (closed, or authentication failed); only a new `Connected` starts again.
    Closed,
}

/// XEP-0198 state of the current (or resumable) session.
#[derive(Debug)]
struct Sm {
    id: Option<String>,
    location: Option<String>,
    max_secs: Option<u32>,
    /// `<enabled/>` received: inbound stanzas are counted.
    enabled: bool,
    inbound: u32,
    acked: u32,
    unacked: VecDeque<QueuedStanza>,
}

#[derive(Debug)]
struct Pending {
    id: String,
    to: Option<String>,
    purpose: IqPurpose,
    deadline: Instant,
}

/// A sans-IO XMPP client: feed it transport events, drain its transmits and events (see the crate docs).
#[derive(Debug)]
pub struct Client {
    settings: Settings,
    password: Option<String>,
    local: String,
    domain: String,
    state: State,
    transport: Option<TransportKind>,
    secure: bool,
    bound_jid: Option<String>,
    sm: Option<Sm>,
    sm_offered: bool,
    roster_ver_offered: bool,
    roster: Roster,
    caps: CapsCache,
    own_caps: Option<Caps<'static>>,
    legacy: Option<LegacyProfile>,
    outbound: VecDeque<QueuedStanza>,
    pending: Vec<Pending>,
    presence: Option<String>,
    counter: u64,
    nonce_override: Option<String>,
    ack_deadline: Option<Instant>,
    last_now: Instant,
    transmits: VecDeque<Transmit>,
    events: VecDeque<ClientEvent>,
}

fn split_jid(jid: &str) -> Result<(String, String), Error> {
    let bare = jid.split('/').next().unwrap_or_default();
    match bare.split_once('@') {
        Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !domain.contains('@') =>
        {
            Ok((local.to_owned(), domain.to_owned()))
        }
        _ => Err(Error::InvalidJid(jid.to_owned())),
    }
}

fn bare(jid: &str) -> &str {
    jid.split('/').next().unwrap_or(jid)
}

fn millis(d: u64) -> Duration {
    Duration::from_millis(d)
}

impl Client {
    /// A client that has not connected yet; it waits for [`TransportEvent::Connected`].
    ///
    /// # Errors
    /// [`Error::InvalidJid`] when the configured JID is not `local@domain`.
    pub fn new(config: ClientConfig, now: Instant) -> Result<Self, Error> {
        let mut snapshot = ClientSnapshot::new(config.settings);
        snapshot.phase = Phase::Offline;
        Self::restore(snapshot, Some(config.password), now)
    }

    /// A client continuing from a snapshot. The password is not part of snapshots: without it the client can
    /// go on with a stream that is still alive (a restored BOSH session), but cannot log in again or resume on
    /// a new connection (XEP-0198 resumption follows authentication), so pass it unless the snapshot is only
    /// inspected.
    ///
    /// A snapshot taken `Online` restores `Online` (a BOSH stream restored with its session goes on); one
    /// taken while negotiating restores offline; pending iq deadlines continue from `now` with the time they
    /// had left.
    ///
    /// # Errors
    /// [`Error::InvalidJid`], [`Error::Caps`] for a bad caps cache, [`Error::Restore`] for contradictions.
    pub fn restore(
        snapshot: ClientSnapshot,
        password: Option<String>,
        now: Instant,
    ) -> Result<Self, Error> {
        let (local, domain) = split_jid(&snapshot.settings.jid)?;
        let caps = CapsCache::restore(CacheConfig::default(), snapshot.caps_cache)?;
        let own_caps = Caps::for_info(
            snapshot.settings.caps_node.clone(),
            &snapshot.settings.disco,
            Algorithm::Sha1,
        )
        .ok()
        .map(Caps::into_owned);
        let legacy = snapshot
            .settings
            .ichat_caps
            .as_deref()
            .map(LegacyProfile::ichat);
        let enabling = snapshot.phase == Phase::EnablingSm;
        let sm = snapshot.stream_management.map(|s| Sm {
            id: s.id,
            location: s.location,
            max_secs: s.max_secs,
            enabled: !enabling,
            inbound: s.inbound,
            acked: s.acked,
            unacked: s.unacked.into(),
        });
        let state = match snapshot.phase {
            Phase::Online => {
                if snapshot.bound_jid.is_none() {
                    return Err(Error::Restore("online without a bound JID"));
                }
                State::Online
            }
            Phase::Closed => State::Closed,
            // The stream goes on if the transport does (a restored BOSH session): `<enabled/>` is on its way.
            Phase::EnablingSm if sm.is_some() && snapshot.bound_jid.is_some() => {
                State::EnablingSm(EnablingSm)
            }
            _ => State::Idle,
        };
        let pending = snapshot
            .pending_iqs
            .into_iter()
            .map(|p| Pending {
                deadline: now + millis(p.remaining_ms),
                id: p.id,
                to: p.to,
                purpose: p.purpose,
            })
            .collect();
        Ok(Self {
            settings: snapshot.settings,
            password,
            local,
            domain,
            state,
            transport: None,
            secure: false,
            bound_jid: snapshot.bound_jid,
            sm,
            sm_offered: false,
            roster_ver_offered: snapshot.roster.version.is_some(),
            roster: snapshot.roster,
            caps,
            own_caps,
            legacy,
            outbound: snapshot.outbound.into(),
            pending,
            presence: snapshot.presence,
            counter: snapshot.counter,
            nonce_override: None,
            ack_deadline: None,
            last_now: now,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        })
    }

    /// Everything needed to go on later except the password and the transport's own state (set
    /// [`ClientSnapshot::transport`] yourself). Deadlines are stored relative to the latest `now` the client
    /// was given. Drain [`Client::poll_transmit`] first: transmits not yet taken are not part of it (with
    /// XEP-0198 the stanzas among them are in the unacknowledged queue anyway).
    #[must_use]
    pub fn snapshot(&self) -> ClientSnapshot {
        let phase = match self.state {
            State::Idle => Phase::Offline,
            State::Online => Phase::Online,
            State::Closed => Phase::Closed,
            State::EnablingSm(_) => Phase::EnablingSm,
            _ => Phase::Negotiating,
        };
        let enabling = matches!(self.state, State::EnablingSm(_));
        let now = self.last_now;
        ClientSnapshot {
            taken_at_ms: None,
            settings: self.settings.clone(),
            phase,
            bound_jid: self.bound_jid.clone(),
            stream_management: self.sm.as_ref().filter(|s| s.enabled || enabling).map(|s| {
                StreamManagement {
                    id: s.id.clone(),
                    location: s.location.clone(),
                    max_secs: s.max_secs,
                    inbound: s.inbound,
                    acked: s.acked,
                    unacked: s.unacked.iter().cloned().collect(),
                }
            }),
            roster: self.roster.clone(),
            caps_cache: self.caps.snapshot(),
            // Stanzas sent after <enable/> but before <enabled/> have no resumable session: they go out
            // again in the next one (while enabling they stay in the pending state, see `Phase::EnablingSm`).
            outbound: self
                .sm
                .iter()
                .filter(|s| !s.enabled && !enabling)
                .flat_map(|s| s.unacked.iter())
                .chain(self.outbound.iter())
                .cloned()
                .collect(),
            pending_iqs: self
                .pending
                .iter()
                .map(|p| PendingIq {
                    id: p.id.clone(),
                    to: p.to.clone(),
                    purpose: p.purpose.clone(),
                    remaining_ms: u64::try_from(
                        p.deadline.saturating_duration_since(now).as_millis(),
                    )
                    .unwrap_or(u64::MAX),
                })
                .collect(),
            presence: self.presence.clone(),
            counter: self.counter,
            transport: None,
        }
    }

    // ----- accessors -----

    /// The bound full JID of the current or last session.
    #[must_use]
    pub fn jid(&self) -> Option<&str> {
        self.bound_jid.as_deref()
    }

    /// Whether the session is established and stanzas go out at once.
    #[must_use]
    pub fn is_online(&self) -> bool {
        matches!(self.state, State::Online | State::EnablingSm(_))
    }

    /// Whether the client stopped for good (closed, or authentication failed).
    #[must_use]
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// The roster as last known.
    #[must_use]
    pub fn roster(&self) -> &Roster {
        &self.roster
    }

    /// The caps cache.
    #[must_use]
    pub fn caps_cache(&self) -> &CapsCache {
        &self.caps
    }

    /// The `<c/>` this client advertises in its presence.
    #[must_use]
    pub fn own_caps(&self) -> Option<&Caps<'static>> {
        self.own_caps.as_ref()
    }

    /// How many stanzas were sent and not yet acknowledged (XEP-0198).
    #[must_use]
    pub fn unacked(&self) -> usize {
        self.sm.as_ref().map_or(0, |s| s.unacked.len())
    }

    /// How many stanzas wait for the session to be established.
    #[must_use]
    pub fn queued(&self) -> usize {
        self.outbound.len()
    }

    /// The XEP-0198 resumption id, if the session can be resumed.
    #[must_use]
    pub fn resumption_id(&self) -> Option<&str> {
        self.sm.as_ref().and_then(|s| s.id.as_deref())
    }

    /// With the iChat caps profile ([`ClientConfig::with_ichat_caps`]): which `ext` bundles to advertise from
    /// the next [`Client::send_presence`] on (iChat drops `avavail` during a call); unknown names are left out.
    pub fn set_ichat_ext(&mut self, names: &[&str]) {
        if let Some(profile) = &mut self.legacy {
            profile.set_active(names);
        }
    }

    /// Uses `nonce` as the client nonce of the next SCRAM exchange instead of one derived from the entropy
    /// (to replay a specification's example exchange). It must be printable ASCII without `,`.
    pub fn set_next_sasl_nonce(&mut self, nonce: impl Into<String>) {
        self.nonce_override = Some(nonce.into());
    }

    // ----- outputs -----

    /// The next thing for the transport to do.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event for the application.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// When [`Client::handle_timeout`] must be called next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.pending
            .iter()
            .map(|p| p.deadline)
            .chain(self.ack_deadline)
            .chain(self.caps.poll_timeout())
            .min()
    }

    // ----- inputs -----

    /// Expires iq requests, sends due XEP-0198 ack requests, runs the caps cache's timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.touch(now);
        let mut i = 0;
        while i < self.pending.len() {
            if self.pending.get(i).is_some_and(|p| p.deadline <= now) {
                let p = self.pending.swap_remove(i);
                match p.purpose {
                    IqPurpose::App => self.events.push_back(ClientEvent::IqTimeout { id: p.id }),
                    IqPurpose::Caps { node } => {
                        let jid = p.to.unwrap_or_default();
                        self.caps.handle_disco_error(now, &jid, &node);
                    }
                    _ => {}
                }
            } else {
                i += 1;
            }
        }
        if self.ack_deadline.is_some_and(|d| d <= now) {
            self.ack_deadline = None;
            if self.is_online() && self.unacked() > 0 {
                self.transmits
                    .push_back(Transmit::Stanza(format!("<r xmlns='{NS_SM}'/>")));
            }
        }
        self.caps.handle_timeout(now);
        self.pump_caps(now);
    }

    /// Feeds what the transport saw.
    pub fn handle_transport(&mut self, now: Instant, event: TransportEvent<'_>) {
        self.touch(now);
        match event {
            TransportEvent::Connected { secure, transport } => {
                self.connected(secure, transport);
            }
            TransportEvent::TlsEstablished => {
                if matches!(self.state, State::AwaitingTls) {
                    self.secure = true;
                    self.open_stream(Stage::PreAuth, true);
                }
            }
            TransportEvent::StreamOpened(_header) => {
                if let State::AwaitingHeader(AwaitingHeader { stage }) = self.state {
                    self.state = State::AwaitingFeatures(AwaitingFeatures { stage });
                }
            }
            TransportEvent::Stanza(el) => self.element(now, el),
            TransportEvent::StreamClosed => {
                if !matches!(self.state, State::Closed | State::Idle) {
                    self.transmits.push_back(Transmit::CloseStream);
                    self.lost("stream closed by the server".to_owned());
                }
            }
            TransportEvent::Disconnected { reason } => {
                if !matches!(self.state, State::Closed | State::Idle) {
                    self.lost(reason);
                }
            }
        }
    }

    // ----- application commands -----

    /// Sends a chat message (queued while offline; with XEP-0198 resent after a reconnection until
    /// acknowledged). Returns its id.
    pub fn send_message(&mut self, now: Instant, to: &str, body: &str) -> String {
        self.touch(now);
        let id = self.next_id();
        let mut out = String::with_capacity(64 + body.len());
        out.push_str("<message");
        push_attr(&mut out, "type", "chat");
        push_attr(&mut out, "id", &id);
        push_attr(&mut out, "to", to);
        out.push('>');
        push_text_el(&mut out, "body", body);
        out.push_str("</message>");
        self.send_stanza(now, Some(id.clone()), out);
        id
    }

    /// Sets this client's presence (with its XEP-0115 caps): `show` is `away`, `chat`, `dnd`, `xa` or `None`
    /// for plain available. It is resent at the start of every new session.
    pub fn send_presence(&mut self, now: Instant, show: Option<&str>, status: Option<&str>) {
        self.touch(now);
        let mut out = String::from("<presence>");
        if let Some(show) = show {
            push_text_el(&mut out, "show", show);
        }
        if let Some(status) = status {
            push_text_el(&mut out, "status", status);
        }
        if let Some(profile) = &self.legacy {
            out.push_str(&profile.caps().to_xml());
        } else if let Some(caps) = &self.own_caps {
            out.push_str(&caps.to_xml());
        }
        out.push_str("</presence>");
        self.presence = Some(out.clone());
        // Offline, it goes out at the start of the next session anyway (once).
        if self.is_online() {
            self.transmit_stanza(now, QueuedStanza { id: None, xml: out });
        }
    }

    /// Sends any stanza as written (subscriptions, groupchat, …); it takes part in XEP-0198 like the others.
    pub fn send_raw(&mut self, now: Instant, stanza: impl Into<String>) {
        self.touch(now);
        self.send_stanza(now, None, stanza.into());
    }

    /// Sends an iq request (`set` or get) with `payload` as its child, to `to` (or the account's server).
    /// Returns its id; the answer comes as [`ClientEvent::IqResult`], [`ClientEvent::IqError`] or
    /// [`ClientEvent::IqTimeout`].
    pub fn send_iq(&mut self, now: Instant, to: Option<&str>, set: bool, payload: &str) -> String {
        self.touch(now);
        self.request(now, to, set, payload, IqPurpose::App)
    }

    /// Answers an [`IqRequest`]: `Ok(payload)` gives a result (with the child, if any), `Err(condition)` an
    /// error with that defined condition (e.g. `service-unavailable`).
    pub fn respond_iq(
        &mut self,
        now: Instant,
        request: &IqRequest,
        answer: Result<Option<&str>, &str>,
    ) {
        self.touch(now);
        let out = match answer {
            Ok(payload) => iq(
                "result",
                &request.id,
                request.from.as_deref(),
                payload.unwrap_or(""),
            ),
            Err(condition) => error_iq(&request.id, request.from.as_deref(), "cancel", condition),
        };
        self.send_stanza(now, None, out);
    }

    /// Asks for the roster (with the stored version if the server supports versioning). The answer comes as
    /// [`ClientEvent::Roster`].
    pub fn request_roster(&mut self, now: Instant) {
        self.touch(now);
        let mut inner = String::from("<query");
        push_attr(&mut inner, "xmlns", NS_ROSTER);
        if self.roster_ver_offered {
            push_attr(
                &mut inner,
                "ver",
                self.roster.version.as_deref().unwrap_or(""),
            );
        }
        inner.push_str("/>");
        self.request(now, None, false, &inner, IqPurpose::Roster);
    }

    /// Closes the session: unavailable presence, then the end of the stream. XEP-0198 state is dropped (a
    /// closed session cannot be resumed); [`ClientEvent::Closed`] follows.
    pub fn close(&mut self, now: Instant) {
        self.touch(now);
        if self.is_online() {
            self.transmits.push_back(Transmit::Stanza(
                "<presence type='unavailable'/>".to_owned(),
            ));
        }
        if !matches!(self.state, State::Idle | State::Closed) {
            self.transmits.push_back(Transmit::CloseStream);
        }
        self.sm = None;
        self.ack_deadline = None;
        self.state = State::Closed;
        self.events.push_back(ClientEvent::Closed);
    }

    // ----- internals -----

    fn touch(&mut self, now: Instant) {
        if now > self.last_now {
            self.last_now = now;
        }
    }

    fn derive(&mut self, label: &[u8]) -> [u8; 32] {
        self.counter = self.counter.wrapping_add(1);
        let mut h = sha2::Sha256::new();
        h.update(self.settings.entropy);
        h.update(label);
        h.update(self.counter.to_be_bytes());
        h.finalize().into()
    }

    fn next_id(&mut self) -> String {
        let counter = self.counter.wrapping_add(1);
        let d = self.derive(b"id");
        let tag: String = d.iter().take(4).map(|b| format!("{b:02x}")).collect();
        format!("{tag}-{counter}")
    }

    fn nonce(&mut self) -> String {
        if let Some(nonce) = self.nonce_override.take() {
            return nonce;
        }
        let d = self.derive(b"nonce");
        B64.encode(d.get(..24).unwrap_or(&d))
    }

    fn request(
        &mut self,
        now: Instant,
        to: Option<&str>,
        set: bool,
        payload: &str,
        purpose: IqPurpose,
    ) -> String {
        let id = self.next_id();
        let out = iq(if set { "set" } else { "get" }, &id, to, payload);
        self.pending.push(Pending {
            id: id.clone(),
            to: to.map(str::to_owned),
            purpose,
            deadline: now + millis(self.settings.iq_timeout_ms),
        });
        self.send_stanza(now, Some(id.clone()), out);
        id
    }

    /// Sends a stanza now if the session is up, else queues it.
    fn send_stanza(&mut self, now: Instant, id: Option<String>, xml: String) {
        let stanza = QueuedStanza { id, xml };
        if self.is_online() {
            self.transmit_stanza(now, stanza);
        } else {
            self.outbound.push_back(stanza);
        }
    }

    fn transmit_stanza(&mut self, now: Instant, stanza: QueuedStanza) {
        self.transmits
            .push_back(Transmit::Stanza(stanza.xml.clone()));
        let every = self.settings.ack_every.max(1) as usize;
        let delay = millis(self.settings.ack_delay_ms);
        if let Some(sm) = &mut self.sm {
            sm.unacked.push_back(stanza);
            if sm.unacked.len() % every == 0 {
                self.transmits
                    .push_back(Transmit::Stanza(format!("<r xmlns='{NS_SM}'/>")));
                self.ack_deadline = None;
            } else if self.ack_deadline.is_none() {
                self.ack_deadline = Some(now + delay);
            }
        }
    }

    fn connected(&mut self, secure: bool, transport: TransportKind) {
        // A stream management state that was never enabled cannot be resumed: what it sent goes out again.
        if self.sm.as_ref().is_some_and(|s| !s.enabled) {
            self.requeue_unacked();
        }
        self.transport = Some(transport);
        self.secure = secure;
        self.sm_offered = false;
        self.open_stream(Stage::PreAuth, false);
    }

    fn open_stream(&mut self, stage: Stage, restart: bool) {
        self.transmits.push_back(Transmit::OpenStream {
            to: self.domain.clone(),
            lang: self.settings.lang.clone(),
            restart,
        });
        self.state = State::AwaitingHeader(AwaitingHeader { stage });
    }

    /// The stream is gone (transport broke or the server closed it).
    fn lost(&mut self, reason: String) {
        let resumable = self.password.is_some()
            && self
                .sm
                .as_ref()
                .is_some_and(|s| s.enabled && s.id.is_some());
        if !resumable {
            self.requeue_unacked();
        }
        self.ack_deadline = None;
        self.state = State::Idle;
        self.events
            .push_back(ClientEvent::Disconnected { resumable, reason });
    }

    /// Ends XEP-0198 for good: stanzas not acknowledged go back in front of the outbound queue.
    fn requeue_unacked(&mut self) {
        if let Some(sm) = self.sm.take() {
            for stanza in sm.unacked.into_iter().rev() {
                self.outbound.push_front(stanza);
            }
        }
    }

    fn fail_auth(&mut self, condition: String, text: Option<String>) {
        self.transmits.push_back(Transmit::CloseStream);
        self.state = State::Closed;
        self.events
            .push_back(ClientEvent::AuthFailed { condition, text });
    }

    fn element(&mut self, now: Instant, el: &Element<'_>) {
        if el.is("error", STREAMS_NS) {
            let condition =
                condition(el, NS_STREAM_ERRORS).unwrap_or_else(|| "undefined-condition".to_owned());
            let text = text_child(el, NS_STREAM_ERRORS);
            self.events
                .push_back(ClientEvent::StreamError { condition, text });
            // A stream error ends the stream and the session (RFC 6120 §4.9.1.1).
            self.requeue_unacked();
            self.transmits.push_back(Transmit::CloseStream);
            self.lost("stream error".to_owned());
            return;
        }
        let state = std::mem::replace(&mut self.state, State::Idle);
        self.state = match state {
            State::AwaitingHeader(AwaitingHeader { stage })
            | State::AwaitingFeatures(AwaitingFeatures { stage })
                if el.is("features", STREAMS_NS) =>
            {
                self.features(now, stage, el)
            }
            State::AwaitingTlsProceed if el.ns() == NS_TLS => {
                if el.name() == "proceed" {
                    self.transmits.push_back(Transmit::StartTls);
                    State::AwaitingTls
                } else {
                    self.fail_auth("tls-failure".to_owned(), None);
                    State::Closed
                }
            }
            State::Authenticating(auth) if el.ns() == NS_SASL => self.sasl(auth, el),
            State::Binding(binding)
                if el.name() == "iq" && attr(el, "id").as_deref() == Some(&binding.id) =>
            {
                self.bound(now, binding, el)
            }
            State::Resuming(Resuming) if el.ns() == NS_SM => self.resume_answer(now, el),
            State::EnablingSm(EnablingSm)
                if el.ns() == NS_SM && el.name() != "a" && el.name() != "r" =>
            {
                if el.name() == "enabled" {
                    if let Some(sm) = &mut self.sm {
                        sm.enabled = true;
                        let resume = attr(el, "resume");
                        if matches!(resume.as_deref(), Some("true" | "1")) {
                            sm.id = attr(el, "id");
                        }
                        sm.location = attr(el, "location");
                        sm.max_secs = attr(el, "max").and_then(|m| m.parse().ok());
                    }
                } else {
                    // <failed/>: no stream management; what was sent stays sent.
                    self.sm = None;
                    self.ack_deadline = None;
                }
                self.go_online(now, false, false);
                State::Online
            }
            state @ (State::Online | State::EnablingSm(_)) => {
                self.state = state;
                self.online_element(now, el);
                return;
            }
            other => other,
        };
    }

    fn features(&mut self, now: Instant, stage: Stage, el: &Element<'_>) -> State {
        match stage {
            Stage::PreAuth => {
                let tls = el.child("starttls", NS_TLS);
                if !self.secure
                    && self.transport == Some(TransportKind::Tcp)
                    && self.settings.starttls
                    && tls.is_some()
                {
                    self.transmits
                        .push_back(Transmit::Stanza(format!("<starttls xmlns='{NS_TLS}'/>")));
                    return State::AwaitingTlsProceed;
                }
                if !self.secure && !self.settings.allow_insecure_auth {
                    self.fail_auth("encryption-required".to_owned(), None);
                    return State::Closed;
                }
                let Some(password) = self.password.clone() else {
                    self.fail_auth("no-password".to_owned(), None);
                    return State::Closed;
                };
                let offered: Vec<String> = el
                    .child("mechanisms", NS_SASL)
                    .map(|m| {
                        m.children()
                            .filter(|c| c.is("mechanism", NS_SASL))
                            .map(|c| c.text().trim().to_owned())
                            .collect()
                    })
                    .unwrap_or_default();
                let chosen = self
                    .settings
                    .mechanisms
                    .iter()
                    .filter(|m| offered.contains(m))
                    .find_map(|m| Mechanism::from_name(m));
                let Some(mechanism) = chosen else {
                    self.fail_auth("no-mechanism".to_owned(), None);
                    return State::Closed;
                };
                let (initial, auth) = match mechanism {
                    Mechanism::Plain => (plain(&self.local, &password), Authenticating::Plain),
                    _ => {
                        let nonce = self.nonce();
                        match Scram::new(mechanism, &self.local, &password, &nonce) {
                            Some(scram) => (
                                scram.client_first().into_bytes(),
                                Authenticating::Scram(Box::new(scram)),
                            ),
                            None => {
                                self.fail_auth("no-mechanism".to_owned(), None);
                                return State::Closed;
                            }
                        }
                    }
                };
                let mut out = String::from("<auth");
                push_attr(&mut out, "xmlns", NS_SASL);
                push_attr(&mut out, "mechanism", mechanism.name());
                out.push('>');
                out.push_str(&B64.encode(initial));
                out.push_str("</auth>");
                self.transmits.push_back(Transmit::Stanza(out));
                State::Authenticating(auth)
            }
            Stage::PostAuth => {
                self.sm_offered = el.child("sm", NS_SM).is_some();
                self.roster_ver_offered = el.child("ver", NS_ROSTER_VER).is_some();
                let resumable = self
                    .sm
                    .as_ref()
                    .and_then(|s| s.id.clone().map(|id| (id, s.inbound)));
                match resumable {
                    Some((previd, h)) if self.sm_offered && self.settings.stream_management => {
                        let mut out = String::from("<resume");
                        push_attr(&mut out, "xmlns", NS_SM);
                        push_attr(&mut out, "previd", &previd);
                        push_attr(&mut out, "h", &h.to_string());
                        out.push_str("/>");
                        self.transmits.push_back(Transmit::Stanza(out));
                        State::Resuming(Resuming)
                    }
                    _ => {
                        self.requeue_unacked();
                        self.bind(now)
                    }
                }
            }
        }
    }

    fn bind(&mut self, _now: Instant) -> State {
        let id = self.next_id();
        let mut inner = String::from("<bind");
        push_attr(&mut inner, "xmlns", NS_BIND);
        inner.push('>');
        if let Some(resource) = &self.settings.resource {
            push_text_el(&mut inner, "resource", resource);
        }
        inner.push_str("</bind>");
        self.transmits
            .push_back(Transmit::Stanza(iq("set", &id, None, &inner)));
        State::Binding(Binding { id })
    }

    fn sasl(&mut self, auth: Authenticating, el: &Element<'_>) -> State {
        let data = || -> Result<Vec<u8>, ()> {
            let text = el.text();
            let text = text.trim();
            if text == "=" {
                Ok(Vec::new())
            } else {
                B64.decode(text).map_err(|_| ())
            }
        };
        match (el.name(), auth) {
            ("challenge", Authenticating::Scram(mut scram)) => {
                let reply = data()
                    .map_err(|()| "challenge is not Base64".to_owned())
                    .and_then(|d| scram.client_final(&d).map_err(|e| e.to_string()));
                match reply {
                    Ok(reply) => {
                        let mut out = String::from("<response");
                        push_attr(&mut out, "xmlns", NS_SASL);
                        out.push('>');
                        out.push_str(&B64.encode(reply));
                        out.push_str("</response>");
                        self.transmits.push_back(Transmit::Stanza(out));
                        State::Authenticating(Authenticating::Scram(scram))
                    }
                    Err(text) => {
                        self.abort_sasl();
                        self.fail_auth("malformed-challenge".to_owned(), Some(text));
                        State::Closed
                    }
                }
            }
            ("success", auth) => {
                if let Authenticating::Scram(scram) = auth {
                    let verified = data()
                        .map_err(|()| "success data is not Base64".to_owned())
                        .and_then(|d| scram.verify_server_final(&d).map_err(|e| e.to_string()));
                    if let Err(text) = verified {
                        self.fail_auth("server-signature".to_owned(), Some(text));
                        return State::Closed;
                    }
                }
                self.open_stream(Stage::PostAuth, true);
                std::mem::replace(&mut self.state, State::Idle)
            }
            ("failure", _) => {
                let condition =
                    condition(el, NS_SASL).unwrap_or_else(|| "not-authorized".to_owned());
                let text = text_child(el, NS_SASL);
                self.fail_auth(condition, text);
                State::Closed
            }
            (_, auth) => State::Authenticating(auth),
        }
    }

    fn abort_sasl(&mut self) {
        self.transmits
            .push_back(Transmit::Stanza(format!("<abort xmlns='{NS_SASL}'/>")));
    }

    fn bound(&mut self, now: Instant, _binding: Binding, el: &Element<'_>) -> State {
        let jid = el
            .child("bind", NS_BIND)
            .and_then(|b| b.child("jid", NS_BIND))
            .map(|j| j.text().trim().to_owned());
        match (attr(el, "type").as_deref(), jid) {
            (Some("result"), Some(jid)) if !jid.is_empty() => {
                self.bound_jid = Some(jid);
            }
            (Some("result"), _) => {
                self.bound_jid = Some(format!("{}@{}", self.local, self.domain));
            }
            _ => {
                let condition = condition(
                    &el.child("error", el.ns()).unwrap_or_else(|| el.clone()),
                    NS_STANZAS,
                )
                .unwrap_or_else(|| "undefined-condition".to_owned());
                self.fail_auth(format!("bind: {condition}"), None);
                return State::Closed;
            }
        }
        if self.sm_offered && self.settings.stream_management {
            self.transmits.push_back(Transmit::Stanza(format!(
                "<enable xmlns='{NS_SM}' resume='true'/>"
            )));
            self.sm = Some(Sm {
                id: None,
                location: None,
                max_secs: None,
                enabled: false,
                inbound: 0,
                acked: 0,
                unacked: VecDeque::new(),
            });
            // Stanzas may flow while <enabled/> is on its way; they count from the <enable/>.
            self.state = State::EnablingSm(EnablingSm);
            self.start_session(now);
            std::mem::replace(&mut self.state, State::Idle)
        } else {
            self.sm = None;
            self.go_online(now, false, true);
            State::Online
        }
    }

    /// A new session: roster, presence, queued stanzas.
    fn start_session(&mut self, now: Instant) {
        if self.settings.fetch_roster {
            self.request_roster(now);
        }
        if let Some(presence) = self.presence.clone() {
            self.transmit_stanza(
                now,
                QueuedStanza {
                    id: None,
                    xml: presence,
                },
            );
        }
        self.flush_outbound(now);
    }

    fn flush_outbound(&mut self, now: Instant) {
        while let Some(stanza) = self.outbound.pop_front() {
            self.transmit_stanza(now, stanza);
        }
    }

    /// Reports the session as established; `start` also starts a new session (roster, presence, queue).
    fn go_online(&mut self, now: Instant, resumed: bool, start: bool) {
        self.state = State::Online;
        let jid = self.bound_jid.clone().unwrap_or_default();
        self.events.push_back(ClientEvent::Online { jid, resumed });
        if start {
            self.start_session(now);
        }
    }

    fn resume_answer(&mut self, now: Instant, el: &Element<'_>) -> State {
        let h = attr(el, "h").and_then(|h| h.parse::<u32>().ok());
        if el.name() == "resumed" {
            if let Some(h) = h {
                self.acknowledge(h);
            }
            // Resend everything not acknowledged, once, in order; it stays in the queue until acked.
            let resend: Vec<String> = self
                .sm
                .as_ref()
                .map(|s| s.unacked.iter().map(|q| q.xml.clone()).collect())
                .unwrap_or_default();
            let any = !resend.is_empty();
            for xml in resend {
                self.transmits.push_back(Transmit::Stanza(xml));
            }
            if any {
                self.transmits
                    .push_back(Transmit::Stanza(format!("<r xmlns='{NS_SM}'/>")));
            }
            self.go_online(now, true, false);
            self.flush_outbound(now);
            State::Online
        } else if el.name() == "failed" {
            if let Some(h) = h {
                self.acknowledge(h);
            }
            let condition =
                condition(el, NS_STANZAS).unwrap_or_else(|| "undefined-condition".to_owned());
            self.requeue_unacked();
            self.events
                .push_back(ClientEvent::ResumeFailed { condition });
            self.bind(now)
        } else {
            State::Resuming(Resuming)
        }
    }

    /// The server handled `h` stanzas in all: drop them from the unacknowledged queue.
    fn acknowledge(&mut self, h: u32) {
        let Some(sm) = &mut self.sm else { return };
        let count = h.wrapping_sub(sm.acked) as usize;
        if count > sm.unacked.len() {
            // More than we sent (or h went backwards): a broken server. Dropping stanzas on its word could lose
            // them, so the acknowledgement is ignored (XEP-0198 §4 `handled-count-too-high`).
            return;
        }
        for stanza in sm.unacked.drain(..count) {
            if let Some(id) = stanza.id {
                self.events.push_back(ClientEvent::Acked { id });
            }
        }
        sm.acked = h;
        if sm.unacked.is_empty() {
            self.ack_deadline = None;
        }
    }

    fn online_element(&mut self, now: Instant, el: &Element<'_>) {
        if el.ns() == NS_SM {
            match el.name() {
                "r" => {
                    let h = self.sm.as_ref().map_or(0, |s| s.inbound);
                    self.transmits
                        .push_back(Transmit::Stanza(format!("<a xmlns='{NS_SM}' h='{h}'/>")));
                }
                "a" => {
                    if let Some(h) = attr(el, "h").and_then(|h| h.parse::<u32>().ok()) {
                        self.acknowledge(h);
                    }
                }
                _ => {}
            }
            return;
        }
        if !is_stanza(el) {
            return;
        }
        if let Some(sm) = self.sm.as_mut().filter(|s| s.enabled) {
            sm.inbound = sm.inbound.wrapping_add(1);
        }
        match el.name() {
            "message" => self.events.push_back(ClientEvent::Message(Message {
                from: attr(el, "from"),
                to: attr(el, "to"),
                id: attr(el, "id"),
                kind: attr(el, "type"),
                body: el.child("body", el.ns()).map(|b| b.text().into_owned()),
                stanza: raw(el),
            })),
            "presence" => self.presence_in(now, el),
            _ => self.iq_in(now, el),
        }
    }

    fn presence_in(&mut self, now: Instant, el: &Element<'_>) {
        let from = attr(el, "from");
        let kind = attr(el, "type");
        let caps = Caps::from_presence(el).ok().flatten().map(Caps::into_owned);
        if let Some(from) = &from {
            match (kind.as_deref(), &caps) {
                (Some("unavailable"), _) => self.caps.handle_unavailable(now, from),
                (None, Some(caps)) => self.caps.handle_caps(now, from, caps),
                _ => {}
            }
        }
        let ns = el.ns();
        self.events.push_back(ClientEvent::Presence(Presence {
            from,
            kind,
            show: el.child("show", ns).map(|s| s.text().into_owned()),
            status: el.child("status", ns).map(|s| s.text().into_owned()),
            caps,
            stanza: raw(el),
        }));
        self.pump_caps(now);
    }

    /// Sends the caps cache's queries and forwards its events.
    fn pump_caps(&mut self, now: Instant) {
        while let Some(query) = self.caps.poll_query() {
            let mut inner = String::from("<query");
            push_attr(&mut inner, "xmlns", NS_DISCO_INFO);
            push_attr(&mut inner, "node", &query.node);
            inner.push_str("/>");
            self.request(
                now,
                Some(&query.jid),
                false,
                &inner,
                IqPurpose::Caps { node: query.node },
            );
        }
        while let Some(event) = self.caps.poll_event() {
            self.events.push_back(ClientEvent::Caps(event));
        }
    }

    fn iq_in(&mut self, now: Instant, el: &Element<'_>) {
        let id = attr(el, "id").unwrap_or_default();
        let from = attr(el, "from");
        match attr(el, "type").as_deref() {
            Some(kind @ ("result" | "error")) => {
                let Some(pos) = self.pending.iter().position(|p| {
                    p.id == id
                        && from_matches(
                            p.to.as_deref(),
                            from.as_deref(),
                            self.bound_jid.as_deref(),
                            &self.domain,
                        )
                }) else {
                    return;
                };
                let p = self.pending.swap_remove(pos);
                let ok = kind == "result";
                match p.purpose {
                    IqPurpose::App => {
                        if ok {
                            self.events.push_back(ClientEvent::IqResult {
                                id,
                                payload: first_child(el).map(|c| raw(&c)),
                            });
                        } else {
                            let condition = el
                                .child("error", el.ns())
                                .and_then(|e| condition(&e, NS_STANZAS))
                                .unwrap_or_else(|| "undefined-condition".to_owned());
                            self.events.push_back(ClientEvent::IqError {
                                id,
                                condition,
                                stanza: raw(el),
                            });
                        }
                    }
                    IqPurpose::Roster if ok => self.roster_result(el),
                    IqPurpose::Caps { node } => {
                        let jid = p.to.unwrap_or_default();
                        let info = el.child("query", NS_DISCO_INFO).and_then(|q| {
                            zxmpp_caps::DiscoInfo::from_element(&q, &zxmpp_caps::Limits::default())
                                .ok()
                        });
                        match (ok, info) {
                            (true, Some(info)) => {
                                self.caps.handle_disco_info(now, &jid, &node, &info);
                            }
                            _ => {
                                self.caps.handle_disco_error(now, &jid, &node);
                            }
                        }
                        self.pump_caps(now);
                    }
                    _ => {}
                }
            }
            Some(kind @ ("get" | "set")) => {
                let set = kind == "set";
                let Some(child) = first_child(el) else {
                    let out = error_iq(&id, from.as_deref(), "modify", "bad-request");
                    self.send_stanza(now, None, out);
                    return;
                };
                if !set && child.is("query", NS_DISCO_INFO) {
                    self.answer_disco(now, &id, from.as_deref(), &child);
                } else if !set && child.is("ping", NS_PING) {
                    self.send_stanza(now, None, iq("result", &id, from.as_deref(), ""));
                } else if set && child.is("query", NS_ROSTER) {
                    self.roster_push(now, &id, from.as_deref(), &child);
                } else {
                    self.events.push_back(ClientEvent::IqRequest(IqRequest {
                        id,
                        from,
                        set,
                        payload: raw(&child),
                    }));
                }
            }
            _ => {}
        }
    }

    fn answer_disco(&mut self, now: Instant, id: &str, from: Option<&str>, query: &Element<'_>) {
        let node = attr(query, "node");
        if let Some(profile) = &self.legacy {
            let out = match profile.answer(node.as_deref()) {
                Some(info) => iq("result", id, from, &info.to_xml()),
                None => error_iq(id, from, "cancel", "item-not-found"),
            };
            self.send_stanza(now, None, out);
            return;
        }
        let ours = self
            .own_caps
            .as_ref()
            .map(|c| format!("{}#{}", c.node, c.ver));
        let out = match node {
            None => iq("result", id, from, &self.settings.disco.to_xml()),
            Some(node) if Some(&node) == ours.as_ref() => {
                let info = self.settings.disco.clone().with_node(node);
                iq("result", id, from, &info.to_xml())
            }
            Some(_) => error_iq(id, from, "cancel", "item-not-found"),
        };
        self.send_stanza(now, None, out);
    }

    fn roster_result(&mut self, el: &Element<'_>) {
        if let Some(query) = el.child("query", NS_ROSTER) {
            self.roster.items = query
                .children()
                .filter(|c| c.is("item", NS_ROSTER))
                .filter_map(|c| roster_item(&c))
                .collect();
            self.roster.version = attr(&query, "ver");
        }
        // An empty result: the stored roster is current (RFC 6121 §2.6.3).
        self.events.push_back(ClientEvent::Roster {
            version: self.roster.version.clone(),
            items: self.roster.items.clone(),
        });
    }

    fn roster_push(&mut self, now: Instant, id: &str, from: Option<&str>, query: &Element<'_>) {
        let own = format!("{}@{}", self.local, self.domain);
        let legit = from.is_none_or(|f| bare(f).eq_ignore_ascii_case(&own));
        let items: Vec<RosterItem> = query
            .children()
            .filter(|c| c.is("item", NS_ROSTER))
            .filter_map(|c| roster_item(&c))
            .collect();
        let [item] = items.as_slice() else {
            let out = error_iq(id, from, "modify", "bad-request");
            self.send_stanza(now, None, out);
            return;
        };
        if !legit {
            // RFC 6121 §2.1.6: ignore pushes from anyone but the server.
            let out = error_iq(id, from, "cancel", "service-unavailable");
            self.send_stanza(now, None, out);
            return;
        }
        let item = item.clone();
        self.roster.items.retain(|i| i.jid != item.jid);
        if item.subscription != "remove" {
            self.roster.items.push(item.clone());
        }
        if let Some(ver) = attr(query, "ver") {
            self.roster.version = Some(ver);
        }
        self.send_stanza(now, None, iq("result", id, from, ""));
        self.events.push_back(ClientEvent::RosterPush {
            item,
            version: self.roster.version.clone(),
        });
    }
}

/// Whether an iq answer comes from whom the request went to (RFC 6120 §8.1.2.1: a request to the server or
/// to no one is answered from the server, the bare JID, or nobody).
fn from_matches(to: Option<&str>, from: Option<&str>, own: Option<&str>, domain: &str) -> bool {
    match (to, from) {
        (Some(to), Some(from)) => to == from,
        (Some(to), None) => to == domain || own.is_some_and(|o| bare(o) == to),
        (None, None) => true,
        (None, Some(from)) => {
            from == domain || own.is_some_and(|o| bare(o) == bare(from) || o == from)
        }
    }
}

fn roster_item(el: &Element<'_>) -> Option<RosterItem> {
    let jid = attr(el, "jid")?;
    Some(RosterItem {
        jid,
        name: attr(el, "name"),
        subscription: attr(el, "subscription").unwrap_or_else(|| "none".to_owned()),
        ask: attr(el, "ask").as_deref() == Some("subscribe"),
        approved: matches!(attr(el, "approved").as_deref(), Some("true" | "1")),
        groups: el
            .children()
            .filter(|c| c.is("group", NS_ROSTER))
            .map(|c| c.text().into_owned())
            .collect(),
    })
}

fn error_iq(id: &str, to: Option<&str>, kind: &str, condition: &str) -> String {
    let mut inner = String::from("<error");
    push_attr(&mut inner, "type", kind);
    inner.push_str("><");
    inner.push_str(condition);
    push_attr(&mut inner, "xmlns", NS_STANZAS);
    inner.push_str("/></error>");
    iq("error", id, to, &inner)
}
