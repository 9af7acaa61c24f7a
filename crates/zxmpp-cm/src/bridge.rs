//! The per-session glue between a [`CmSession`] (the BOSH side) and one upstream XMPP stream, without I/O.
//!
//! The driver feeds it HTTP requests, upstream XML events and the clock, and carries out the [`Action`]s it
//! asks for: connect, write bytes, do the TLS handshake, close. The bridge does STARTTLS itself (XEP-0206 §4:
//! the connection manager, not the browser, secures the upstream stream), forwards the post-TLS
//! `<stream:features/>` and every later stanza to the client, writes the client's payloads upstream, turns the
//! client's `xmpp:restart` into a new stream header (XEP-0206 §5), and maps upstream failures to BOSH terminal
//! conditions.

use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;
use zxmpp_bosh::{
    Announce, CmConfig, CmEvent, CmSession, CmTermination, CmTransmit, Condition, HttpId,
};
use zxmpp_xml::{Event, STREAM_CLOSE, STREAMS_NS, StreamOpen};

use crate::policy::{Policy, Target};

const NS_TLS: &str = "urn:ietf:params:xml:ns:xmpp-tls";
const STARTTLS: &[u8] = b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";

/// What the driver has to do for the upstream side.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Open a TCP connection to one of the target's candidates (check each resolved address with
    /// [`Policy::address_allowed`]), then call [`Bridge::handle_connected`] or [`Bridge::handle_connect_failed`].
    Connect(Target),
    /// Write these bytes to the upstream connection.
    Write(Bytes),
    /// A new stream begins: reset the upstream XML reader (and its buffer), then write this stream header.
    OpenStream(Bytes),
    /// Do the TLS handshake on the connection (after writing what came before), reset the XML reader, then call
    /// [`Bridge::handle_tls_established`] (or [`Bridge::handle_upstream_lost`]).
    StartTls {
        /// The name the certificate must carry.
        server_name: String,
    },
    /// Close the upstream connection (after writing what came before).
    Close,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the connection.
    Connecting,
    /// Stream opened; waiting for its features (`secure`: TLS is on, or plain is acceptable).
    Negotiating { secure: bool },
    /// `<starttls/>` sent; waiting for `<proceed/>`.
    TlsRequested,
    /// Features forwarded; stanzas flow both ways.
    Open,
    /// Upstream gone or never there.
    Closed,
}

/// One BOSH session bridged to one upstream stream. See the [module docs](self).
#[derive(Debug)]
pub struct Bridge {
    cm: CmSession,
    phase: Phase,
    domain: Option<String>,
    lang: Option<String>,
    plain_ok: bool,
    pending: Vec<Bytes>,
    actions: VecDeque<Action>,
    termination: Option<CmTermination>,
    upstream_open: bool,
    announce: Option<Announce>,
}

impl Bridge {
    /// Accepts a session creation request (see [`CmSession::accept`]) and decides where it goes with `policy`:
    /// the first action is [`Action::Connect`], or the session is already terminated with the condition the
    /// policy gave (`host-unknown`, `improper-addressing`).
    ///
    /// # Errors
    /// As [`CmSession::accept`]: answer [`zxmpp_bosh::Error::Refused`] with its condition, anything else with
    /// `bad-request`.
    pub fn accept(
        now: Instant,
        config: CmConfig,
        sid: String,
        secret: [u8; 32],
        http: HttpId,
        request: &[u8],
        policy: &Policy,
    ) -> Result<Self, zxmpp_bosh::Error> {
        // One upstream stream per session: multiple streams (XEP-0124 §16) are not offered.
        let mut config = config;
        config.multiple_streams = false;
        // Refuse a destination before answering anything: no session, no sid handed out.
        let parsed = zxmpp_bosh::Body::parse(request, &config.limits)?;
        if parsed.body.sid.is_none() {
            policy
                .target(parsed.body.to.as_deref(), parsed.body.route.as_deref())
                .map_err(zxmpp_bosh::Error::Refused)?;
        }
        let cm = CmSession::accept(now, config, sid, secret, http, request)?;
        let mut bridge = Self {
            cm,
            phase: Phase::Connecting,
            domain: None,
            lang: None,
            plain_ok: false,
            pending: Vec::new(),
            actions: VecDeque::new(),
            termination: None,
            upstream_open: false,
            announce: None,
        };
        bridge.pump(now, Some(policy));
        Ok(bridge)
    }

    /// The session id.
    #[must_use]
    pub fn sid(&self) -> &str {
        self.cm.sid()
    }

    /// The Content-Type every HTTP response of this session carries.
    #[must_use]
    pub fn content_type(&self) -> &str {
        self.cm.content_type()
    }

    /// Why the session ended, once it has.
    #[must_use]
    pub fn termination(&self) -> Option<&CmTermination> {
        self.termination.as_ref()
    }

    /// Whether the session is over and has stopped answering retransmissions: drop it.
    #[must_use]
    pub fn is_finished(&self, now: Instant) -> bool {
        self.cm.is_finished(now)
    }

    /// Hands in an HTTP request for this session.
    pub fn handle_request(&mut self, now: Instant, http: HttpId, request: &[u8]) {
        self.cm.handle_request(now, http, request);
        self.pump(now, None);
    }

    /// Runs the timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.cm.handle_timeout(now);
        self.pump(now, None);
    }

    /// The TCP connection is up; `plain_ok` says whether it may stay without TLS (policy and address).
    pub fn handle_connected(&mut self, now: Instant, plain_ok: bool) {
        if self.phase != Phase::Connecting {
            return;
        }
        self.plain_ok = plain_ok;
        self.upstream_open = true;
        self.open_stream(Phase::Negotiating { secure: false });
        self.pump(now, None);
    }

    /// No candidate could be reached (refused, timed out, or every address was forbidden).
    pub fn handle_connect_failed(&mut self, now: Instant) {
        self.fail(now, Condition::RemoteConnectionFailed, Vec::new());
    }

    /// The TLS handshake succeeded; the XML reader has been reset.
    pub fn handle_tls_established(&mut self, now: Instant) {
        if self.phase == Phase::TlsRequested {
            self.open_stream(Phase::Negotiating { secure: true });
        }
        self.pump(now, None);
    }

    /// The upstream connection broke (read or write error, TLS failure, end of file).
    pub fn handle_upstream_lost(&mut self, now: Instant) {
        self.upstream_open = false;
        self.fail(now, Condition::RemoteConnectionFailed, Vec::new());
    }

    /// Ends the session because the manager shuts down (`system-shutdown`).
    pub fn shutdown(&mut self, now: Instant) {
        self.fail(now, Condition::SystemShutdown, Vec::new());
    }

    /// Hands in one event of the upstream XML stream.
    pub fn handle_upstream(&mut self, now: Instant, event: &Event<'_>) {
        match event {
            Event::StreamOpen(header) | Event::StreamRestart(header) => {
                let from = header.from().map(|s| s.into_owned());
                let id = header.id().map(|s| s.into_owned());
                let version = header.version().map(|s| s.into_owned());
                // Announced with the features of this stream, never for the stream before TLS.
                self.announce = Some(Announce::new(from, id, version));
            }
            Event::Stanza(stanza) => {
                let bytes = Bytes::copy_from_slice(stanza.as_bytes());
                if stanza.is("error", STREAMS_NS) {
                    self.fail(now, Condition::RemoteStreamError, vec![bytes]);
                } else if stanza.is("features", STREAMS_NS) {
                    self.features(now, bytes, stanza.child("starttls", NS_TLS).is_some());
                } else if stanza.is("proceed", NS_TLS) && self.phase == Phase::TlsRequested {
                    if let Some(domain) = self.domain.clone() {
                        self.actions.push_back(Action::StartTls {
                            server_name: domain,
                        });
                    }
                } else if stanza.ns() == NS_TLS {
                    self.fail(now, Condition::RemoteConnectionFailed, Vec::new());
                } else if self.phase == Phase::Open && self.cm.send(now, None, bytes).is_err() {
                    self.fail(now, Condition::UndefinedCondition, Vec::new());
                }
            }
            Event::StreamClose => {
                self.fail(now, Condition::RemoteConnectionFailed, Vec::new());
            }
            #[allow(unreachable_patterns)]
            _ => {}
        }
        self.pump(now, None);
    }

    /// The next HTTP response to write.
    pub fn poll_transmit(&mut self) -> Option<CmTransmit> {
        self.cm.poll_transmit()
    }

    /// The next upstream action.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`Bridge::handle_timeout`] wants to run.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.cm.poll_timeout()
    }

    fn features(&mut self, now: Instant, bytes: Bytes, starttls: bool) {
        match self.phase {
            Phase::Negotiating { secure: false } if starttls => {
                self.actions
                    .push_back(Action::Write(Bytes::from_static(STARTTLS)));
                self.phase = Phase::TlsRequested;
            }
            Phase::Negotiating { secure: false } if !self.plain_ok => {
                self.fail(now, Condition::RemoteConnectionFailed, Vec::new());
            }
            Phase::Negotiating { .. } | Phase::Open => {
                if let Some(announce) = self.announce.take() {
                    self.cm.announce(now, announce);
                }
                if self.cm.send(now, None, bytes).is_err() {
                    self.fail(now, Condition::UndefinedCondition, Vec::new());
                    return;
                }
                self.phase = Phase::Open;
                for payload in std::mem::take(&mut self.pending) {
                    self.actions.push_back(Action::Write(payload));
                }
            }
            Phase::Connecting | Phase::TlsRequested | Phase::Closed => {}
        }
    }

    fn open_stream(&mut self, next: Phase) {
        let mut header = StreamOpen::new("jabber:client")
            .to(self.domain.clone().unwrap_or_default())
            .version("1.0");
        if let Some(lang) = &self.lang {
            header = header.lang(lang.clone());
        }
        self.actions
            .push_back(Action::OpenStream(Bytes::from(header.to_string())));
        self.phase = next;
    }

    fn fail(&mut self, now: Instant, condition: Condition, payloads: Vec<Bytes>) {
        self.cm.close_upstream(now, condition, None, payloads);
        self.pump(now, None);
    }

    fn close_upstream_side(&mut self) {
        if self.phase != Phase::Closed {
            if self.upstream_open {
                self.actions
                    .push_back(Action::Write(Bytes::from_static(STREAM_CLOSE.as_bytes())));
                self.actions.push_back(Action::Close);
            }
            self.upstream_open = false;
            self.phase = Phase::Closed;
        }
    }

    fn pump(&mut self, now: Instant, mut routing: Option<&Policy>) {
        while let Some(event) = self.cm.poll_event() {
            match event {
                CmEvent::StreamOpened {
                    to, route, lang, ..
                } => {
                    let Some(policy) = routing.take() else {
                        continue;
                    };
                    match policy.target(to.as_deref(), route.as_deref()) {
                        Ok(target) => {
                            self.domain = Some(target.domain.clone());
                            self.lang = lang;
                            self.actions.push_back(Action::Connect(target));
                        }
                        Err(condition) => {
                            self.phase = Phase::Closed;
                            self.cm.close_upstream(now, condition, None, Vec::new());
                        }
                    }
                }
                CmEvent::Payloads { payloads, .. } => {
                    for payload in payloads {
                        if self.phase == Phase::Open {
                            self.actions.push_back(Action::Write(payload));
                        } else {
                            self.pending.push(payload);
                        }
                    }
                }
                CmEvent::Restart { .. } if self.phase == Phase::Open => {
                    self.open_stream(Phase::Negotiating { secure: true });
                }
                CmEvent::Terminated(termination) => {
                    self.termination = Some(termination);
                    self.close_upstream_side();
                }
                _ => {}
            }
        }
    }
}
