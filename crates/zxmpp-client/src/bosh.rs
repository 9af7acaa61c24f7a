//! Sans-IO glue between a [`Client`] and a `zxmpp_bosh` client session (XMPP over BOSH, XEP-0206).
//!
//! A [`Client`] speaks an XMPP stream; a [`zxmpp_bosh::ClientSession`] speaks HTTP requests carrying `<body/>`
//! wrappers. [`BoshGlue`] is what sits between the two, without any I/O: it turns the client's
//! [`Transmit`]s into session payloads, restarts and terminates, synthesizes the stream header a TCP server
//! would have sent (XEP-0206 §4: the session attributes are the stream's), and hands each received payload to the
//! client as a stanza of a `jabber:client` stream. The tokio BOSH driver posts the session's requests; a test or
//! another runtime can drive the very same glue.
//!
//! ```
//! use std::time::Instant;
//! use zxmpp_client::bosh::BoshGlue;
//! use zxmpp_client::{Client, ClientConfig, TransportEvent, TransportKind};
//!
//! let now = Instant::now();
//! let mut client = Client::new(ClientConfig::new("juliet@example.com", "secret", [7; 32]), now)?;
//! let mut glue = BoshGlue::new(zxmpp_xml::Config::default());
//! client.handle_transport(now, TransportEvent::Connected { secure: true, transport: TransportKind::Bosh });
//! // The client opens its stream: the glue makes the BOSH session for it.
//! glue.stage(&mut client, |to, lang| {
//!     let config = zxmpp_bosh::ClientConfig::new(to).with_lang(lang);
//!     Some(zxmpp_bosh::ClientSession::new(config, [9; 32], now))
//! });
//! let request = glue.poll_transmit(now).expect("the session creation request");
//! assert!(std::str::from_utf8(&request.body)?.contains("to='example.com'"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::time::Instant;

use zxmpp_bosh::{
    ClientEvent as SessionEvent, ClientSession, ClientSnapshot, HttpOutcome, Payload, RequestId,
    SessionParams, Termination,
};
use zxmpp_xml::{Config as XmlConfig, Event, Status, StreamOpen, StreamReader};

use crate::{Client, Transmit, TransportEvent};

/// Why the glue gave up its BOSH session; the session is gone afterwards ([`BoshGlue::session`] is `None`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BoshError {
    /// A received payload was not one complete element.
    #[error("a BOSH payload is not a complete element")]
    IncompletePayload,
    /// A received payload was not well-formed restricted XML; the glue terminated the session.
    #[error("XML error in a BOSH payload: {0}")]
    Payload(#[source] zxmpp_xml::Error),
    /// The BOSH session ended.
    #[error("the BOSH session ended: {0:?}")]
    Terminated(Termination),
}

/// The sans-IO glue of one client and its BOSH session. See the [module docs](self).
#[derive(Debug)]
pub struct BoshGlue {
    session: Option<ClientSession>,
    /// The next payload starts a new stream (after an `xmpp:restart`).
    header_due: bool,
    /// The parameters of the current stream, for the synthesized header.
    params: Option<SessionParams>,
    xml: XmlConfig,
    scratch: Vec<u8>,
}

impl BoshGlue {
    /// Glue without a session yet: [`BoshGlue::stage`] makes one when the client opens its stream.
    #[must_use]
    pub fn new(xml: XmlConfig) -> Self {
        Self {
            session: None,
            header_due: false,
            params: None,
            xml,
            scratch: Vec::new(),
        }
    }

    /// Glue that goes on with a saved BOSH session: same `sid`, unanswered requests resent unchanged, and no
    /// stream header for the client (its stream goes on). A saved session that had already ended gives glue
    /// without a session.
    ///
    /// # Errors
    /// The snapshot's own error when it cannot be restored.
    pub fn restore(
        snapshot: ClientSnapshot,
        now: Instant,
        xml: XmlConfig,
    ) -> Result<Self, zxmpp_bosh::Error> {
        let session = ClientSession::restore(snapshot, now)?;
        let mut glue = Self::new(xml);
        if !session.is_terminated() {
            glue.params = session.params().cloned();
            glue.session = Some(session);
        }
        Ok(glue)
    }

    /// The BOSH session, once there is one.
    #[must_use]
    pub fn session(&self) -> Option<&ClientSession> {
        self.session.as_ref()
    }

    /// The session id, once the connection manager created the session.
    #[must_use]
    pub fn sid(&self) -> Option<&str> {
        self.session.as_ref().and_then(ClientSession::sid)
    }

    /// The BOSH session's resumable state (`None` when there is no session).
    #[must_use]
    pub fn snapshot(&self) -> Option<ClientSnapshot> {
        self.session.as_ref().map(ClientSession::snapshot)
    }

    /// Drops the session (it is left to expire at the connection manager); the next stream the client opens
    /// gets a new one.
    pub fn reset(&mut self) {
        self.session = None;
        self.params = None;
        self.header_due = false;
    }

    /// Moves what the client wants to send into the BOSH session. When the client opens a stream and there is no
    /// session, `new_session(to, lang)` makes one (`None`: not now). Take the HTTP requests this makes with
    /// [`BoshGlue::poll_transmit`], and call [`BoshGlue::pump`] for what the session has to say.
    pub fn stage(
        &mut self,
        client: &mut Client,
        mut new_session: impl FnMut(String, Option<String>) -> Option<ClientSession>,
    ) {
        while let Some(transmit) = client.poll_transmit() {
            match transmit {
                Transmit::OpenStream { to, lang, restart } => {
                    if restart && let Some(session) = self.session.as_mut() {
                        if session.restart().is_ok() {
                            self.header_due = true;
                        }
                    } else if self.session.is_none() {
                        self.session = new_session(to, lang);
                    }
                }
                // TLS is HTTPS's business here.
                Transmit::StartTls => {}
                Transmit::Stanza(xml) => {
                    if let Some(session) = self.session.as_mut() {
                        // A terminated session takes nothing; `pump` reports its end.
                        let _ = session.send(qualify(xml));
                    }
                }
                Transmit::CloseStream => {
                    if let Some(session) = self.session.as_mut() {
                        let _ = session.terminate();
                    }
                }
                #[allow(unreachable_patterns)]
                _ => {}
            }
        }
    }

    /// The next HTTP request the session wants posted.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<zxmpp_bosh::Transmit> {
        self.session.as_mut()?.poll_transmit(now)
    }

    /// The outcome of a posted request.
    pub fn handle_response(&mut self, now: Instant, id: RequestId, outcome: HttpOutcome) {
        if let Some(session) = self.session.as_mut() {
            session.handle_response(now, id, outcome);
        }
    }

    /// When the session wants [`BoshGlue::handle_timeout`] called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.session.as_ref().and_then(ClientSession::poll_timeout)
    }

    /// The session's timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(session) = self.session.as_mut() {
            session.handle_timeout(now);
        }
    }

    /// Hands the session's events to the client: the stream header at session creation and after a restart,
    /// each payload as a stanza. `Ok(true)` when these events established the session (the connection manager
    /// answered its creation request).
    ///
    /// # Errors
    /// [`BoshError`] when the session ended or a payload broke the stream; the session is dropped then (after a
    /// terminate request for a broken payload, which [`BoshGlue::poll_transmit`] no longer yields) and the
    /// client is not told: that is the caller's (`TransportEvent::Disconnected`).
    pub fn pump(&mut self, client: &mut Client, now: Instant) -> Result<bool, BoshError> {
        let mut connected = false;
        while let Some(event) = self.session.as_mut().and_then(ClientSession::poll_event) {
            match event {
                SessionEvent::Connected(params) => {
                    connected = true;
                    self.params = Some(params);
                    self.header_due = false;
                    self.open_stream(client, now);
                }
                SessionEvent::StreamInfo {
                    from,
                    authid,
                    xmpp_version,
                    stream: None,
                } => {
                    if let Some(params) = self.params.as_mut() {
                        params.from = from.or(params.from.take());
                        params.authid = authid.or(params.authid.take());
                        params.xmpp_version = xmpp_version.or(params.xmpp_version.take());
                    }
                }
                SessionEvent::Payload(payload) => {
                    if self.header_due {
                        self.header_due = false;
                        self.open_stream(client, now);
                    }
                    if let Err(error) = self.deliver(client, now, &payload) {
                        if let Some(session) = self.session.as_mut() {
                            let _ = session.terminate();
                        }
                        self.reset();
                        return Err(error);
                    }
                }
                SessionEvent::Terminated(why) => {
                    self.reset();
                    return Err(BoshError::Terminated(why));
                }
                _ => {}
            }
        }
        Ok(connected)
    }

    /// Synthesizes the stream header a TCP server would have sent.
    fn open_stream(&mut self, client: &mut Client, now: Instant) {
        let mut header = StreamOpen::new("jabber:client").declaration(false);
        if let Some(params) = &self.params {
            if let Some(from) = &params.from {
                header = header.from(from.clone());
            }
            if let Some(id) = params.authid.as_ref().or(Some(&params.sid)) {
                header = header.id(id.clone());
            }
            header = header.version(
                params
                    .xmpp_version
                    .clone()
                    .unwrap_or_else(|| "1.0".to_owned()),
            );
        }
        self.scratch.clear();
        self.scratch
            .extend_from_slice(header.to_string().as_bytes());
        let mut reader = StreamReader::new(self.xml);
        if let Ok(Status::Complete(Event::StreamOpen(h))) = reader.next(&self.scratch) {
            client.handle_transport(now, TransportEvent::StreamOpened(&h));
        }
    }

    /// Parses one payload as a stanza of a `jabber:client` stream carrying the `<body/>`'s prefixes, and hands
    /// it to the client.
    fn deliver(
        &mut self,
        client: &mut Client,
        now: Instant,
        payload: &Payload,
    ) -> Result<(), BoshError> {
        let mut header = StreamOpen::new("jabber:client").declaration(false);
        for (prefix, uri) in &payload.namespaces {
            if !prefix.is_empty() && prefix != "stream" && prefix != "xml" {
                header = header.attr(format!("xmlns:{prefix}"), uri.clone());
            }
        }
        self.scratch.clear();
        self.scratch
            .extend_from_slice(header.to_string().as_bytes());
        self.scratch.extend_from_slice(&payload.bytes);
        let mut reader = StreamReader::new(self.xml);
        loop {
            match reader.next(&self.scratch) {
                Ok(Status::Complete(Event::Stanza(stanza))) => {
                    client.handle_transport(now, TransportEvent::Stanza(&stanza));
                    return Ok(());
                }
                Ok(Status::Complete(Event::StreamClose)) => {
                    client.handle_transport(now, TransportEvent::StreamClosed);
                    return Ok(());
                }
                Ok(Status::Complete(_)) => {}
                Ok(Status::Partial) => return Err(BoshError::IncompletePayload),
                Err(e) => return Err(BoshError::Payload(e)),
            }
        }
    }
}

/// Gives a top-level element without a namespace of its own `xmlns='jabber:client'`: over TCP it inherits that
/// from the stream header, inside a BOSH `<body/>` it would inherit the httpbind namespace (XEP-0206 §6 wants
/// stanzas qualified by `jabber:client`).
fn qualify(xml: String) -> String {
    let Some(rest) = xml.strip_prefix('<') else {
        return xml;
    };
    let name_end = rest
        .find(|c: char| c.is_ascii_whitespace() || c == '/' || c == '>')
        .unwrap_or(rest.len());
    let Some(tag_end) = rest.find('>') else {
        return xml;
    };
    let (name, start_tag) = (&rest[..name_end], &rest[..tag_end]);
    if name.contains(':') || start_tag.contains("xmlns=") {
        return xml;
    }
    let mut out = String::with_capacity(xml.len() + 24);
    out.push('<');
    out.push_str(name);
    out.push_str(" xmlns='jabber:client'");
    out.push_str(&rest[name_end..]);
    out
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use zxmpp_bosh::{Condition, HttpOutcome, Termination};

    use super::{BoshError, BoshGlue, qualify};
    use crate::{Client, ClientConfig, TransportEvent, TransportKind};

    fn started() -> (Client, BoshGlue, zxmpp_bosh::Transmit, Instant) {
        let now = Instant::now();
        let mut client = Client::new(
            ClientConfig::new("juliet@example.com", "secret", [7; 32]),
            now,
        )
        .unwrap();
        client.handle_transport(
            now,
            TransportEvent::Connected {
                secure: true,
                transport: TransportKind::Bosh,
            },
        );
        let mut glue = BoshGlue::new(zxmpp_xml::Config::default());
        glue.stage(&mut client, |to, lang| {
            let config = zxmpp_bosh::ClientConfig::new(to).with_lang(lang);
            Some(zxmpp_bosh::ClientSession::new(config, [9; 32], now))
        });
        let request = glue.poll_transmit(now).unwrap();
        (client, glue, request, now)
    }

    /// XEP-0206 §4: the session creation response opens the client's stream, with the `authid` as its id.
    #[test]
    fn the_creation_response_opens_the_clients_stream() {
        let (mut client, mut glue, request, now) = started();
        let response = "<body xmlns='http://jabber.org/protocol/httpbind' xmlns:xmpp='urn:xmpp:xbosh' \
            sid='s1' wait='60' requests='2' hold='1' ver='1.11' from='example.com' authid='stream-7' \
            xmpp:version='1.0'><stream:features xmlns:stream='http://etherx.jabber.org/streams'>\
            <mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms>\
            </stream:features></body>";
        glue.handle_response(now, request.id, HttpOutcome::Ok(response.into()));
        assert!(glue.pump(&mut client, now).unwrap(), "established");
        assert_eq!(glue.sid(), Some("s1"));
        // The features reached the client: it answers with SASL, which the glue queues in the session.
        glue.stage(&mut client, |_, _| None);
        let auth = glue.poll_transmit(now).unwrap();
        let auth = std::str::from_utf8(&auth.body).unwrap();
        assert!(
            auth.contains("<auth") && auth.contains("mechanism='PLAIN'"),
            "{auth}"
        );
    }

    /// A `type='terminate'` answer ends the session: reported once, and the glue is left without one.
    #[test]
    fn a_terminate_answer_drops_the_session() {
        let (mut client, mut glue, request, now) = started();
        let response = "<body xmlns='http://jabber.org/protocol/httpbind' type='terminate' \
            condition='host-unknown'/>";
        glue.handle_response(now, request.id, HttpOutcome::Ok(response.into()));
        match glue.pump(&mut client, now) {
            Err(BoshError::Terminated(Termination::Condition { condition, .. })) => {
                assert_eq!(condition, Some(Condition::HostUnknown));
            }
            other => panic!("{other:?}"),
        }
        assert!(glue.session().is_none() && glue.snapshot().is_none());
        assert!(glue.poll_transmit(now).is_none());
    }

    #[test]
    fn qualify_adds_the_client_namespace_only_when_missing() {
        assert_eq!(
            qualify("<message to='a@b'><body>x</body></message>".into()),
            "<message xmlns='jabber:client' to='a@b'><body>x</body></message>"
        );
        assert_eq!(
            qualify("<presence/>".into()),
            "<presence xmlns='jabber:client'/>"
        );
        assert_eq!(
            qualify("<r xmlns='urn:xmpp:sm:3'/>".into()),
            "<r xmlns='urn:xmpp:sm:3'/>"
        );
        assert_eq!(
            qualify("<stream:x xmlns:stream='s'/>".into()),
            "<stream:x xmlns:stream='s'/>"
        );
        // The namespace of a child does not count.
        assert_eq!(
            qualify("<iq type='get'><query xmlns='jabber:iq:roster'/></iq>".into()),
            "<iq xmlns='jabber:client' type='get'><query xmlns='jabber:iq:roster'/></iq>"
        );
    }
}
