//! A blocking driver for one [`ClientSession`] over real HTTP: the crate's run loop (poll_transmit → POST on a
//! thread → handle_response; poll_event; poll_timeout → handle_timeout), with a log of every exchange and two
//! fault injections for the tests.

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use minidom::Element;
use zxmpp_bosh::{ClientConfig, ClientEvent, ClientSession, HttpOutcome, RequestId, Termination};

use crate::http::Http;
use crate::xmpp::{self, Server};

/// Longest life of one client: every wait of a test ends by then, whatever its own bound.
const LIFETIME: Duration = Duration::from_secs(90);

/// Changes the bytes of a request before they are POSTed.
type Rewrite = Box<dyn FnOnce(&[u8]) -> Vec<u8>>;

/// One HTTP request the session asked for and what the server answered.
#[derive(Debug, Clone)]
pub(crate) struct Exchange {
    /// The session's id of the request.
    pub(crate) id: RequestId,
    /// The bytes actually POSTed.
    pub(crate) sent: Vec<u8>,
    /// The HTTP status and body, once answered.
    pub(crate) reply: Option<(u16, Vec<u8>)>,
    /// Whether the reply was withheld from the session (reported to it as a failed request).
    pub(crate) withheld: bool,
}

/// One client: a session, its HTTP endpoint and what went over the wire.
pub(crate) struct Client {
    /// Name used in the log (e.g. the account).
    pub(crate) name: String,
    /// The session under test.
    pub(crate) session: ClientSession,
    http: Http<RequestId>,
    /// Every request sent, in order.
    pub(crate) exchanges: Vec<Exchange>,
    /// Every event drained from the session, in order.
    pub(crate) events: Vec<ClientEvent>,
    /// Events not yet looked at by a `run_until`.
    inbox: VecDeque<ClientEvent>,
    /// When the client must be done (see [`LIFETIME`]).
    end_of_life: Instant,
    /// How many requests had been sent at the latest [`Client::reload`].
    pub(crate) reloaded_at: Option<usize>,
    /// Change the bytes of the next request before they are POSTed (the session is not told).
    rewrite_next: Option<Rewrite>,
    /// Withhold the next 200 reply that carries a payload and report the request as failed instead.
    withhold_next_payload_reply: bool,
}

/// 32 bytes that differ between clients and runs (the crate wants CSPRNG bytes; tests need only distinct ones).
fn entropy(name: &str) -> [u8; 32] {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut out = [0u8; 32];
    for (i, b) in nanos
        .to_le_bytes()
        .iter()
        .chain(name.as_bytes())
        .enumerate()
    {
        out[i % 32] ^= b.rotate_left(i as u32 % 8);
    }
    out[31] ^= std::process::id() as u8;
    out
}

impl Client {
    /// A session with `server`'s domain; `config` adjusts the defaults.
    pub(crate) fn new(
        name: &str,
        server: &Server,
        config: impl FnOnce(ClientConfig) -> ClientConfig,
    ) -> Self {
        let config = config(ClientConfig::new(server.domain.clone()).with_wait(10));
        let session = ClientSession::new(config, entropy(name), Instant::now());
        // Every HTTP request ends a little after the session would resend it by itself.
        let http = Http::new(
            name,
            &server.bosh,
            session.request_timeout() + Duration::from_secs(10),
        );
        Self {
            name: name.to_owned(),
            session,
            http,
            exchanges: Vec::new(),
            events: Vec::new(),
            inbox: VecDeque::new(),
            end_of_life: Instant::now() + LIFETIME,
            reloaded_at: None,
            rewrite_next: None,
            withhold_next_payload_reply: false,
        }
    }

    /// The next request is POSTed with `rewrite` applied to its bytes.
    pub(crate) fn rewrite_next_request(
        &mut self,
        rewrite: impl FnOnce(&[u8]) -> Vec<u8> + 'static,
    ) {
        self.rewrite_next = Some(Box::new(rewrite));
    }

    /// The next HTTP 200 reply carrying at least one payload is withheld: the session is told the request failed.
    pub(crate) fn withhold_next_payload_reply(&mut self) {
        self.withhold_next_payload_reply = true;
    }

    /// Queues a payload.
    pub(crate) fn send(&mut self, payload: String) {
        self.session
            .send(Bytes::from(payload))
            .unwrap_or_else(|e| panic!("{}: send: {e}", self.name));
    }

    /// One turn of the run loop: sends every request the session has, moves its events to the inbox, and
    /// unless there are some, waits at most `max_wait` for a reply (handed in) or a timer (run).
    fn step(&mut self, max_wait: Duration) {
        while let Some(transmit) = self.session.poll_transmit(Instant::now()) {
            let mut sent = transmit.body.to_vec();
            if let Some(rewrite) = self.rewrite_next.take() {
                sent = rewrite(&sent);
            }
            self.exchanges.push(Exchange {
                id: transmit.id,
                sent: sent.clone(),
                reply: None,
                withheld: false,
            });
            self.http.post(transmit.id, sent);
        }
        while let Some(event) = self.session.poll_event() {
            eprintln!("{} event: {event:?}", self.name);
            self.events.push(event.clone());
            self.inbox.push_back(event);
        }
        if !self.inbox.is_empty() {
            return;
        }
        let wake = Instant::now() + max_wait;
        let wake = self.session.poll_timeout().map_or(wake, |t| t.min(wake));
        match self.http.recv(wake) {
            Some(reply) => self.hand_in(reply.tag, reply.result),
            None => self.session.handle_timeout(Instant::now()),
        }
    }

    /// Runs the loop until `pick` accepts an event (returned) or `within` has passed (panics, naming `what`).
    /// A termination that `pick` does not accept panics too.
    pub(crate) fn run_until<T>(
        &mut self,
        what: &str,
        within: Duration,
        pick: impl FnMut(&ClientEvent) -> Option<T>,
    ) -> T {
        self.run_until_with(&mut [], what, within, pick)
    }

    /// Sends every request the session has now, without waiting for anything.
    pub(crate) fn flush(&mut self) {
        self.step(Duration::ZERO);
    }

    /// Runs the loop of this client and the `others` for `duration`, leaving their events in their inboxes.
    pub(crate) fn pump(&mut self, others: &mut [&mut Client], duration: Duration) {
        let end = Instant::now() + duration;
        while Instant::now() < end {
            for other in others.iter_mut() {
                other.step(Duration::ZERO);
            }
            let left = end.saturating_duration_since(Instant::now());
            self.step(left.min(Duration::from_millis(10)));
        }
    }

    /// [`Client::run_until`] while keeping the `others` moving too (their events wait in their inboxes).
    pub(crate) fn run_until_with<T>(
        &mut self,
        others: &mut [&mut Client],
        what: &str,
        within: Duration,
        mut pick: impl FnMut(&ClientEvent) -> Option<T>,
    ) -> T {
        let deadline = (Instant::now() + within).min(self.end_of_life);
        loop {
            while let Some(event) = self.inbox.pop_front() {
                if let Some(found) = pick(&event) {
                    return found;
                }
                if let ClientEvent::Terminated(why) = &event {
                    panic!(
                        "{}: the session ended ({why:?}) while waiting for {what}",
                        self.name
                    );
                }
            }
            let now = Instant::now();
            assert!(
                now < deadline,
                "{}: no {what} within {within:?} (or the client's {LIFETIME:?})",
                self.name
            );
            for other in others.iter_mut() {
                other.step(Duration::ZERO);
            }
            let slice = if others.is_empty() {
                deadline - now
            } else {
                Duration::from_millis(10)
            };
            self.step(slice.min(deadline - now));
        }
    }

    fn hand_in(&mut self, id: RequestId, result: Result<(u16, Vec<u8>), String>) {
        let exchange = self.exchanges.iter_mut().rev().find(|e| e.id == id);
        let outcome = match result {
            Ok((200, body)) => {
                let withhold = self.withhold_next_payload_reply
                    && xmpp::parse(&body).children().next().is_some();
                if let Some(exchange) = exchange {
                    exchange.reply = Some((200, body.clone()));
                    exchange.withheld = withhold;
                }
                if withhold {
                    self.withhold_next_payload_reply = false;
                    eprintln!("{}: withholding the reply to {id:?}", self.name);
                    HttpOutcome::Failed
                } else {
                    HttpOutcome::Ok(Bytes::from(body))
                }
            }
            Ok((status, body)) => {
                if let Some(exchange) = exchange {
                    exchange.reply = Some((status, body));
                }
                HttpOutcome::Status(status)
            }
            Err(_) => HttpOutcome::Failed,
        };
        self.session.handle_response(Instant::now(), id, outcome);
    }

    /// Waits for the next payload and parses it.
    pub(crate) fn next_stanza(&mut self, what: &str, within: Duration) -> Element {
        self.run_until(what, within, |event| match event {
            ClientEvent::Payload(payload) => {
                Some(xmpp::parse_payload(&payload.bytes, &payload.namespaces))
            }
            _ => None,
        })
    }

    /// Waits for a payload that `pick` accepts; other payloads are skipped.
    pub(crate) fn stanza_where<T>(
        &mut self,
        what: &str,
        within: Duration,
        pick: impl FnMut(&Element) -> Option<T>,
    ) -> T {
        self.stanza_where_with(&mut [], what, within, pick)
    }

    /// [`Client::stanza_where`] while keeping the `others` moving.
    pub(crate) fn stanza_where_with<T>(
        &mut self,
        others: &mut [&mut Client],
        what: &str,
        within: Duration,
        mut pick: impl FnMut(&Element) -> Option<T>,
    ) -> T {
        self.run_until_with(others, what, within, |event| match event {
            ClientEvent::Payload(payload) => {
                pick(&xmpp::parse_payload(&payload.bytes, &payload.namespaces))
            }
            _ => None,
        })
    }

    /// Waits for the session to end and returns why.
    pub(crate) fn termination(&mut self, within: Duration) -> Termination {
        self.run_until("the end of the session", within, |event| match event {
            ClientEvent::Terminated(why) => Some(why.clone()),
            _ => None,
        })
    }

    /// Ends the session (XEP-0124 §13) and checks both ends: the server answers the terminate request with
    /// `<body type='terminate'/>` (no condition), and the session reports [`Termination::Closed`]. Returns the
    /// server's answer to the terminate request.
    pub(crate) fn terminate_and_check(&mut self, within: Duration) -> Element {
        self.session
            .terminate()
            .unwrap_or_else(|e| panic!("{}: terminate: {e}", self.name));
        let why = self.termination(within);
        // The session may have ended on the answer to an earlier (held) request: collect the terminate
        // request's own answer too.
        let deadline = (Instant::now() + within).min(self.end_of_life);
        let index = self
            .exchanges
            .iter()
            .rposition(|e| xmpp::parse(&e.sent).attr("type") == Some("terminate"))
            .unwrap_or_else(|| panic!("{}: no terminate request was sent", self.name));
        while self.exchanges[index].reply.is_none() {
            assert!(
                Instant::now() < deadline,
                "{}: the terminate request was not answered",
                self.name
            );
            self.step(Duration::from_millis(100));
        }
        let ack = match &self.exchanges[index].reply {
            Some((200, body)) => xmpp::parse(body),
            other => panic!("{}: terminate answered with {other:?}", self.name),
        };
        assert!(
            ack.is("body", xmpp::NS_HTTPBIND)
                && ack.attr("type") == Some("terminate")
                && ack.attr("condition").is_none(),
            "{}: the server did not acknowledge terminate: {ack:?}",
            self.name
        );
        let others: Vec<String> = self.exchanges[..index]
            .iter()
            .filter_map(|e| e.reply.as_ref())
            .map(|(_, body)| String::from_utf8_lossy(body).into_owned())
            .filter(|body| body.contains("type='terminate'") || body.contains("type=\"terminate\""))
            .collect();
        assert_eq!(
            why,
            Termination::Closed,
            "{}: the server acknowledged terminate ({ack:?}) but the session reported {why:?}; \
             answers to earlier requests that carried type='terminate': {others:?}",
            self.name
        );
        assert!(self.session.is_terminated());
        ack
    }

    /// Creates the session, authenticates with SASL PLAIN, restarts the stream and binds a resource; returns
    /// the bound full JID.
    pub(crate) fn log_in(&mut self, user: &str, password: &str, resource: &str) -> String {
        let within = Duration::from_secs(20);
        let params = self.run_until(
            "the session creation response",
            within,
            |event| match event {
                ClientEvent::Connected(params) => Some(params.clone()),
                _ => None,
            },
        );
        assert!(!params.sid.is_empty(), "{}: empty sid", self.name);
        let features = self.next_stanza("stream features", within);
        assert!(
            features.is("features", "http://etherx.jabber.org/streams"),
            "not features: {features:?}"
        );
        let mechanisms = features
            .get_child("mechanisms", xmpp::NS_SASL)
            .unwrap_or_else(|| panic!("{}: no SASL mechanisms offered: {features:?}", self.name));
        assert!(
            mechanisms.children().any(|m| m.text() == "PLAIN"),
            "{}: PLAIN not offered: {mechanisms:?}",
            self.name
        );

        self.send(xmpp::sasl_plain_auth(user, password));
        let outcome = self.next_stanza("the SASL outcome", within);
        assert!(
            outcome.is("success", xmpp::NS_SASL),
            "{}: SASL PLAIN failed: {outcome:?}",
            self.name
        );

        self.session
            .restart()
            .unwrap_or_else(|e| panic!("{}: restart: {e}", self.name));
        let features = self.next_stanza("stream features after the restart", within);
        assert!(
            features.has_child("bind", xmpp::NS_BIND),
            "{}: no resource binding offered after the restart: {features:?}",
            self.name
        );

        self.send(xmpp::bind_iq("bind-1", resource));
        let result = self.stanza_where("the bind result", within, |s| {
            (s.attr("id") == Some("bind-1")).then(|| s.clone())
        });
        xmpp::bound_jid(&result).unwrap_or_else(|| panic!("{}: bind failed: {result:?}", self.name))
    }

    /// Simulates a reload: the session is saved as JSON, everything in memory is dropped (the HTTP requests in
    /// flight included: their answers are lost), and a new session is restored from the JSON.
    pub(crate) fn reload(&mut self, server: &Server) {
        let json = serde_json::to_string(&self.session.snapshot())
            .unwrap_or_else(|e| panic!("{}: snapshot to JSON: {e}", self.name));
        eprintln!("{} reload, snapshot: {json}", self.name);
        let snapshot = serde_json::from_str(&json)
            .unwrap_or_else(|e| panic!("{}: snapshot from JSON: {e}", self.name));
        self.session = ClientSession::restore(snapshot, Instant::now())
            .unwrap_or_else(|e| panic!("{}: restore: {e}", self.name));
        let timeout = self.session.request_timeout() + Duration::from_secs(10);
        self.http = Http::new(&self.name, &server.bosh, timeout);
        self.inbox.clear();
        self.reloaded_at = Some(self.exchanges.len());
    }

    /// Requests whose rid was sent more than once, with every copy's bytes and replies.
    pub(crate) fn resent_rids(&self) -> Vec<Vec<&Exchange>> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for exchange in &self.exchanges {
            let rid = exchange.id.rid();
            if !seen.insert(rid) {
                continue;
            }
            let copies: Vec<&Exchange> = self
                .exchanges
                .iter()
                .filter(|e| e.id.rid() == rid)
                .collect();
            if copies.len() > 1 {
                out.push(copies);
            }
        }
        out
    }
}
