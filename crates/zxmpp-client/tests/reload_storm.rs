//! `reload_storm` (issue 7): the whole client stack — the sans-IO [`Client`] core plus a `zxmpp_bosh`
//! [`ClientSession`] driven exactly as `zxmpp_client::drivers::bosh` drives it — against a `zxmpp_bosh`
//! [`CmSession`] with a scripted XMPP upstream behind it, joined by a simulated network that drops, delays,
//! duplicates and reorders HTTP requests and responses. The clock is manual, so every case is deterministic.
//!
//! At random instants the client process "dies": everything is dropped except the last committed record, which
//! holds the encoded `zxmpp_state::ClientSnapshot` (with the BOSH session in `transport`, JSON and binary encodings
//! alternating) and the application's durable state (the messages it delivered, how many it sent). A new client
//! is restored from that record alone and goes on, without logging in again. A death falls at one of three points
//! of a step: before the record is saved (the events of the step are lost with the process), after the save but
//! before the HTTP requests are posted (they are lost), or between steps.
//!
//! The write-ahead rule of the reference client is modelled explicitly: input → `handle_*` → events drained into
//! the application's (volatile) log → transmits drained into the BOSH session → its HTTP requests staged → the
//! record saved (log and snapshot together, atomically) → only then the staged requests posted.
//!
//! The BOSH driver's logic is the crate's sans-IO [`BoshGlue`] (`zxmpp_client::bosh`), which the tokio driver
//! runs too; [`Driver`] here adds only the staging of requests and the simulator's session configuration.
//!
//! Checked: every message the upstream sent is delivered to the application exactly once and in order; every
//! message the application sent reaches the upstream exactly once and in order; one login (one SASL `<auth/>`,
//! one bind, one `Online`); no rid skipped, no rid posted twice with different bytes; the BOSH session never ends.
//!
//! Deaths start once the resource is bound (with XEP-0198 possibly while `<enabled/>` is still awaited); a death
//! during SASL or bind needs a new login by design, which `drivers::bosh` now handles by starting a new session.
//! Each case draws its faults (up to 25 % of requests and responses lost, 20 % doubled, delays up to 3 s, so
//! reordered), XEP-0198 on or off, up to 150 messages each way over ten simulated minutes and 10–49 deaths (in
//! half of the cases a few right after the bind); cases run until the deaths add up.
//!
//! `RELOAD_STORM_RESTARTS` sets the total number of restarts (default 1000), `RELOAD_STORM_SEED` the first seed
//! (a failing case prints its own), `RELOAD_STORM_TRACE=1` prints the exchanges. Run with `--nocapture` to see
//! the statistics (deaths at each point, records in each encoding, HTTP exchanges lost and doubled).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use bytes::Bytes;
use zxmpp_bosh::{
    Announce, ClientConfig as SessionConfig, ClientSession, CmConfig, CmEvent, CmSession, HttpId,
    HttpOutcome, RequestId,
};
use zxmpp_client::bosh::BoshGlue;
use zxmpp_client::state::{ClientSnapshot, Encoding, TransportSnapshot};
use zxmpp_client::{
    Client, ClientConfig, ClientEvent, TransportEvent, TransportKind, sasl::Mechanism,
};
use zxmpp_xml::{Config as XmlConfig, parse_document};

const PASSWORD: &str = "storm-password";
const NS_SM: &str = "urn:xmpp:sm:3";
const PEER: &str = "upstream@example.com";

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
    fn chance(&mut self, per_mille: u32) -> bool {
        self.below(1000) < u64::from(per_mille)
    }
    fn entropy(&mut self) -> [u8; 32] {
        let mut e = [0u8; 32];
        for b in &mut e {
            *b = self.next() as u8;
        }
        e
    }
}

#[derive(Debug, Clone, Copy)]
struct Faults {
    drop_per_mille: u32,
    dup_per_mille: u32,
    fail_per_mille: u32,
    max_delay_ms: u64,
    stream_management: bool,
}

// ---------------------------------------------------------------------------------------------------------------
// The BOSH driver, sans-IO (mirrors crates/zxmpp-client/src/drivers/bosh.rs).
// ---------------------------------------------------------------------------------------------------------------

/// `drivers::bosh::BoshDriver` without its I/O: the crate's sans-IO [`BoshGlue`] (which the driver runs too),
/// the requests taken from it and not yet posted, and the simulator's session configuration and entropy.
struct Driver {
    glue: BoshGlue,
    /// HTTP requests taken from the session, not yet posted.
    staged: Vec<zxmpp_bosh::Transmit>,
}

impl Driver {
    fn new() -> Self {
        Self {
            glue: BoshGlue::new(XmlConfig::default()),
            staged: Vec::new(),
        }
    }

    /// `BoshDriver::restore`: same sid, unanswered requests resent unchanged, no `Connected`.
    fn restore(snapshot: zxmpp_bosh::ClientSnapshot, now: Instant) -> Self {
        let glue = BoshGlue::restore(snapshot, now, XmlConfig::default())
            .expect("the BOSH snapshot restores");
        assert!(
            glue.session().is_some(),
            "the saved BOSH session is terminated"
        );
        Self {
            glue,
            staged: Vec::new(),
        }
    }

    /// `BoshDriver::pump_events`; here the session must never end.
    fn pump_events(&mut self, client: &mut Client, now: Instant) {
        if let Err(error) = self.glue.pump(client, now) {
            panic!("the BOSH session broke: {error}");
        }
    }

    /// `BoshDriver::stage`, with the simulator's session configuration and entropy.
    fn stage(&mut self, client: &mut Client, now: Instant, rng: &mut Rng) {
        self.glue.stage(client, |to, lang| {
            // The driver's `SessionConfig::new(to).with_lang(lang).with_wait(..).with_hold(..)`, with unlimited
            // retries: over this lossy network a request may be lost many times in a row.
            let config = SessionConfig::new(to)
                .with_lang(lang)
                .with_wait(20)
                .with_hold(1)
                .with_timeout_margin(5)
                .with_max_retries(u32::MAX)
                .with_key_chain_len(4);
            Some(ClientSession::new(config, rng.entropy(), now))
        });
        while let Some(request) = self.glue.poll_transmit(now) {
            self.staged.push(request);
        }
        self.pump_events(client, now);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The application and its durable record.
// ---------------------------------------------------------------------------------------------------------------

/// What the application keeps across restarts; written atomically with the snapshot.
#[derive(Clone, Default)]
struct AppState {
    /// Bodies of the messages delivered to the user, in order.
    delivered: Vec<String>,
    /// How many of the numbered messages the user has sent.
    sent: usize,
    /// `Online` events seen.
    online: u32,
}

/// The committed record: snapshot bytes plus the application's state.
struct Record {
    bytes: Vec<u8>,
    app: AppState,
}

/// One running client process.
struct Process {
    client: Client,
    driver: Driver,
    app: AppState,
}

/// Where a planned death falls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Death {
    /// After the step's input was handled and its events shown, before the save.
    BeforeSave,
    /// After the save, before the staged requests are posted.
    BeforePost,
    /// Between two steps.
    Idle,
}

// ---------------------------------------------------------------------------------------------------------------
// The scripted XMPP upstream behind the connection manager.
// ---------------------------------------------------------------------------------------------------------------

#[derive(Default)]
struct Upstream {
    stream_management: bool,
    auths: u32,
    binds: u32,
    authenticated: bool,
    bound: bool,
    sm_enabled: bool,
    /// Stanzas received from the client since `<enable/>`.
    inbound: u32,
    /// Stanzas sent to the client since `<enabled/>`.
    outbound: u32,
    last_ack: u32,
    /// Bodies of the client's messages, in order of arrival.
    got: Vec<String>,
}

impl Upstream {
    fn handle(&mut self, now: Instant, cm: &mut CmSession, event: CmEvent) {
        match event {
            CmEvent::StreamOpened { .. } => {
                cm.announce(
                    now,
                    Announce::new(
                        Some("example.com".into()),
                        Some("up-1".into()),
                        Some("1.0".into()),
                    ),
                );
                self.send(
                    now,
                    cm,
                    "<stream:features xmlns:stream='http://etherx.jabber.org/streams'>\
                     <mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism>\
                     </mechanisms></stream:features>",
                );
            }
            CmEvent::Restart { .. } => {
                assert!(self.authenticated, "a restart before authentication");
                let sm = if self.stream_management {
                    "<sm xmlns='urn:xmpp:sm:3'/>"
                } else {
                    ""
                };
                self.send(
                    now,
                    cm,
                    &format!(
                        "<stream:features xmlns:stream='http://etherx.jabber.org/streams'>\
                         <bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>{sm}</stream:features>"
                    ),
                );
            }
            CmEvent::Payloads { payloads, .. } => {
                for p in payloads {
                    self.element(now, cm, &p);
                }
            }
            CmEvent::StreamClosed { .. } => panic!("the client closed its stream"),
            CmEvent::Terminated(why) => panic!("the connection manager ended the session: {why:?}"),
            other => panic!("unexpected CM event {other:?}"),
        }
    }

    fn send(&mut self, now: Instant, cm: &mut CmSession, xml: &str) {
        cm.send(now, None, Bytes::from(xml.to_owned()))
            .expect("the CM takes payloads");
    }

    /// A stanza to the client (counted for XEP-0198).
    fn stanza(&mut self, now: Instant, cm: &mut CmSession, xml: &str) {
        if self.sm_enabled {
            self.outbound += 1;
        }
        self.send(now, cm, xml);
    }

    fn element(&mut self, now: Instant, cm: &mut CmSession, bytes: &[u8]) {
        let el = parse_document(bytes, &XmlConfig::default()).expect("the client sends XML");
        let id = el.attr("id").map(|v| v.into_owned()).unwrap_or_default();
        let is_stanza = matches!(el.name(), "message" | "presence" | "iq");
        if is_stanza && self.sm_enabled {
            self.inbound += 1;
        }
        match (el.name(), el.ns()) {
            ("auth", "urn:ietf:params:xml:ns:xmpp-sasl") => {
                self.auths += 1;
                assert_eq!(el.attr("mechanism").as_deref(), Some("PLAIN"));
                // "\0juliet\0storm-password"
                assert_eq!(el.text(), "AGp1bGlldABzdG9ybS1wYXNzd29yZA==");
                self.authenticated = true;
                self.send(
                    now,
                    cm,
                    "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>",
                );
            }
            ("enable", NS_SM) => {
                assert!(self.stream_management && self.bound && !self.sm_enabled);
                self.sm_enabled = true;
                self.send(
                    now,
                    cm,
                    "<enabled xmlns='urn:xmpp:sm:3' id='sm-1' resume='true'/>",
                );
            }
            ("r", NS_SM) => {
                assert!(self.sm_enabled, "<r/> without stream management");
                let h = self.inbound;
                self.send(now, cm, &format!("<a xmlns='urn:xmpp:sm:3' h='{h}'/>"));
            }
            ("a", NS_SM) => {
                let h: u32 = el.attr("h").unwrap().parse().unwrap();
                assert!(
                    h >= self.last_ack && h <= self.outbound,
                    "the client acknowledged h={h} after {} with {} sent",
                    self.last_ack,
                    self.outbound
                );
                self.last_ack = h;
            }
            ("iq", "jabber:client") => {
                let child = el
                    .children()
                    .next()
                    .map(|c| (c.name().to_owned(), c.ns().to_owned()));
                match child.as_ref().map(|(n, ns)| (n.as_str(), ns.as_str())) {
                    Some(("bind", "urn:ietf:params:xml:ns:xmpp-bind")) => {
                        self.binds += 1;
                        self.bound = true;
                        self.stanza(
                            now,
                            cm,
                            &format!(
                                "<iq xmlns='jabber:client' type='result' id='{id}'><bind \
                                 xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>juliet@example.com/storm</jid>\
                                 </bind></iq>"
                            ),
                        );
                    }
                    Some(("query", "jabber:iq:roster")) => {
                        self.stanza(
                            now,
                            cm,
                            &format!(
                                "<iq xmlns='jabber:client' type='result' id='{id}' to='juliet@example.com/storm'>\
                                 <query xmlns='jabber:iq:roster'><item jid='{PEER}' subscription='both'/></query></iq>"
                            ),
                        );
                    }
                    _ => {
                        if el.attr("type").as_deref() == Some("get")
                            || el.attr("type").as_deref() == Some("set")
                        {
                            self.stanza(
                                now,
                                cm,
                                &format!(
                                    "<iq xmlns='jabber:client' type='error' id='{id}'><error type='cancel'>\
                                     <service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
                                ),
                            );
                        }
                    }
                }
            }
            ("message", "jabber:client") => {
                assert!(self.bound, "a message before bind");
                let body = el
                    .children()
                    .find(|c| c.name() == "body")
                    .map(|b| b.text().into_owned())
                    .unwrap_or_default();
                self.got.push(body);
            }
            ("presence", "jabber:client") => {}
            (name, ns) => panic!("the upstream got an unexpected <{name} xmlns='{ns}'/>"),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The simulator.
// ---------------------------------------------------------------------------------------------------------------

enum Msg {
    ToCm {
        http: HttpId,
        body: Bytes,
    },
    ToClient {
        epoch: u32,
        id: RequestId,
        outcome: HttpOutcome,
    },
}

/// What a run went through.
#[derive(Debug, Default, Clone, Copy)]
struct Stats {
    deaths_before_save: u64,
    deaths_before_post: u64,
    deaths_idle: u64,
    /// Deaths while XEP-0198 `<enabled/>` was still awaited.
    deaths_enabling_sm: u64,
    /// Restores whose BOSH session had requests to send again (the held poll at least, usually).
    restores_with_requests_in_flight: u64,
    /// Restores whose record differed in delivered messages from the dead process (events lost with it).
    restores_losing_events: u64,
    json_records: u64,
    binary_records: u64,
    requests_posted: u64,
    requests_dropped: u64,
    requests_duplicated: u64,
    responses_dropped: u64,
    responses_duplicated: u64,
    messages_up: u64,
    messages_down: u64,
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.deaths_before_save += o.deaths_before_save;
        self.deaths_before_post += o.deaths_before_post;
        self.deaths_idle += o.deaths_idle;
        self.deaths_enabling_sm += o.deaths_enabling_sm;
        self.restores_with_requests_in_flight += o.restores_with_requests_in_flight;
        self.restores_losing_events += o.restores_losing_events;
        self.json_records += o.json_records;
        self.binary_records += o.binary_records;
        self.requests_posted += o.requests_posted;
        self.requests_dropped += o.requests_dropped;
        self.requests_duplicated += o.requests_duplicated;
        self.responses_dropped += o.responses_dropped;
        self.responses_duplicated += o.responses_duplicated;
        self.messages_up += o.messages_up;
        self.messages_down += o.messages_down;
    }
}

struct Sim {
    stats: Stats,
    start: Instant,
    now: Instant,
    rng: Rng,
    faults: Faults,
    process: Option<Process>,
    record: Option<Record>,
    /// Alternates the encoding of the saved record.
    saves: u64,
    epoch: u32,
    down_until: Option<Instant>,
    death: Option<Death>,
    cm: Option<CmSession>,
    upstream: Upstream,
    net: Vec<(Instant, u64, Msg)>,
    seq: u64,
    http_map: HashMap<HttpId, (u32, RequestId)>,
    next_http: u64,
    /// When the user sends its numbered messages.
    app_sends: Vec<Instant>,
    /// When the upstream sends its numbered messages.
    up_sends: Vec<Instant>,
    up_sent: usize,
    restarts: Vec<Instant>,
    restarts_done: usize,
    /// Every rid posted, with the bytes posted under it.
    posted: BTreeMap<u64, Bytes>,
    n_app: usize,
    n_up: usize,
}

fn client_config(rng: &mut Rng, sm: bool) -> ClientConfig {
    ClientConfig::new("juliet@example.com", PASSWORD, rng.entropy())
        .with_resource("storm")
        .with_mechanisms(&[Mechanism::Plain])
        .with_stream_management(sm)
        .with_roster_fetch(true)
        .with_iq_timeout(Duration::from_secs(3600))
}

impl Sim {
    fn new(seed: u64, faults: Faults, n_app: usize, n_up: usize, restarts: usize) -> Self {
        let start = Instant::now();
        let mut rng = Rng(seed | 1);
        let horizon = 600_000;
        let times = |n: usize, rng: &mut Rng| {
            let mut t: Vec<Instant> = (0..n)
                .map(|_| start + Duration::from_millis(rng.below(horizon)))
                .collect();
            t.sort();
            t
        };
        let app_sends = times(n_app, &mut rng);
        let up_sends = times(n_up, &mut rng);
        let mut restarts = times(restarts, &mut rng);
        // In half of the cases the first few deaths come right after the login is committed, while the roster
        // get, `<enable/>` and the first stanzas are still in flight.
        if rng.chance(500) {
            let burst = (1 + rng.below(4) as usize).min(restarts.len());
            for t in restarts.iter_mut().take(burst) {
                *t = start;
            }
        }
        let mut client = Client::new(client_config(&mut rng, faults.stream_management), start)
            .expect("a valid JID");
        // `BoshDriver::new`: a `Connected` is owed to the client at once.
        client.handle_transport(
            start,
            TransportEvent::Connected {
                secure: true,
                transport: TransportKind::Bosh,
            },
        );
        let mut sim = Self {
            stats: Stats::default(),
            start,
            now: start,
            rng,
            faults,
            process: Some(Process {
                client,
                driver: Driver::new(),
                app: AppState::default(),
            }),
            record: None,
            saves: 0,
            epoch: 0,
            down_until: None,
            death: None,
            cm: None,
            upstream: Upstream {
                stream_management: faults.stream_management,
                ..Upstream::default()
            },
            net: Vec::new(),
            seq: 0,
            http_map: HashMap::new(),
            next_http: 0,
            app_sends,
            up_sends,
            up_sent: 0,
            restarts,
            restarts_done: 0,
            posted: BTreeMap::new(),
            n_app,
            n_up,
        };
        sim.client_step(|_, _| {});
        sim
    }

    fn trace(&self, what: &str) {
        if std::env::var_os("RELOAD_STORM_TRACE").is_some() {
            eprintln!("{:>10.3} {what}", (self.now - self.start).as_secs_f64());
        }
    }

    fn delay(&mut self) -> Duration {
        Duration::from_millis(1 + self.rng.below(self.faults.max_delay_ms))
    }

    fn push(&mut self, at: Instant, msg: Msg) {
        self.seq += 1;
        self.net.push((at, self.seq, msg));
    }

    /// One step of the client process, in the reference client's write-ahead order.
    fn client_step(&mut self, input: impl FnOnce(&mut Process, Instant)) {
        let now = self.now;
        let Some(p) = self.process.as_mut() else {
            return;
        };
        input(p, now);
        // The driver hands the session's events to the client, the application drains the client's events,
        // the client's transmits go into the session; until nothing moves.
        loop {
            p.driver.pump_events(&mut p.client, now);
            let mut moved = false;
            while let Some(event) = p.client.poll_event() {
                moved = true;
                match event {
                    ClientEvent::Message(m) => {
                        assert_eq!(m.from.as_deref(), Some(PEER));
                        p.app.delivered.push(m.body.unwrap_or_default());
                    }
                    ClientEvent::Online { resumed, .. } => {
                        assert!(
                            !resumed,
                            "a resumption over a BOSH session that never broke"
                        );
                        p.app.online += 1;
                    }
                    ClientEvent::Roster { .. }
                    | ClientEvent::Acked { .. }
                    | ClientEvent::Presence(_)
                    | ClientEvent::Caps(_) => {}
                    other => panic!("unexpected client event {other:?}"),
                }
            }
            let before = p.driver.staged.len();
            p.driver.stage(&mut p.client, now, &mut self.rng);
            moved |= p.driver.staged.len() != before;
            if !moved {
                break;
            }
        }
        if self.death == Some(Death::BeforeSave) {
            self.die();
            return;
        }
        self.save();
        if self.death == Some(Death::BeforePost) {
            self.die();
            return;
        }
        self.post();
    }

    /// Commits the snapshot (client + BOSH session) and the application's state in one record.
    fn save(&mut self) {
        let p = self.process.as_ref().unwrap();
        let mut snapshot = p.client.snapshot();
        snapshot.transport = p.driver.glue.snapshot().map(TransportSnapshot::Bosh);
        let encoding = if self.saves.is_multiple_of(2) {
            Encoding::Json
        } else {
            Encoding::Binary
        };
        self.saves += 1;
        if encoding == Encoding::Json {
            self.stats.json_records += 1;
        } else {
            self.stats.binary_records += 1;
        }
        let bytes = snapshot.encode(encoding).expect("the snapshot encodes");
        self.record = Some(Record {
            bytes,
            app: p.app.clone(),
        });
    }

    fn post(&mut self) {
        let staged = std::mem::take(&mut self.process.as_mut().unwrap().driver.staged);
        for request in staged {
            let rid = request.id.rid().get();
            if let Some(before) = self.posted.get(&rid) {
                assert_eq!(
                    before, &request.body,
                    "rid {rid} posted again with other bytes"
                );
            } else {
                self.posted.insert(rid, request.body.clone());
            }
            self.trace(&format!(
                "C-> {rid} {}",
                String::from_utf8_lossy(&request.body)
            ));
            self.client_request(request.id, request.body);
        }
    }

    fn die(&mut self) {
        self.trace(&format!("client dies ({:?})", self.death));
        match self.death {
            Some(Death::BeforeSave) => self.stats.deaths_before_save += 1,
            Some(Death::BeforePost) => self.stats.deaths_before_post += 1,
            _ => self.stats.deaths_idle += 1,
        }
        let p = self.process.as_ref().unwrap();
        if p.client.is_online() && p.app.online == 0 {
            self.stats.deaths_enabling_sm += 1;
        }
        if self.record.as_ref().unwrap().app.delivered.len() != p.app.delivered.len() {
            self.stats.restores_losing_events += 1;
        }
        self.death = None;
        self.process = None;
        self.epoch += 1;
        self.restarts_done += 1;
        let downtime = Duration::from_millis(self.rng.below(10_000));
        self.down_until = Some(self.now + downtime);
    }

    fn revive(&mut self) {
        let record = self.record.as_ref().expect("a saved record");
        let mut snapshot = ClientSnapshot::decode(&record.bytes).expect("the record decodes");
        let Some(TransportSnapshot::Bosh(bosh)) = snapshot.transport.take() else {
            panic!("no BOSH session in the record")
        };
        let client = Client::restore(snapshot, Some(PASSWORD.into()), self.now).expect("restores");
        let driver = Driver::restore(bosh, self.now);
        if driver.glue.session().is_some_and(|s| s.in_flight() > 0) {
            self.stats.restores_with_requests_in_flight += 1;
        }
        self.process = Some(Process {
            client,
            driver,
            app: record.app.clone(),
        });
        self.trace("client restored");
        // `BoshDriver::wait` after a restore: the requests the session wants sent go out first.
        self.client_step(|_, _| {});
    }

    fn client_request(&mut self, id: RequestId, body: Bytes) {
        self.stats.requests_posted += 1;
        let copies = if self.rng.chance(self.faults.dup_per_mille) {
            self.stats.requests_duplicated += 1;
            2
        } else {
            1
        };
        for _ in 0..copies {
            if self.rng.chance(self.faults.drop_per_mille) {
                self.stats.requests_dropped += 1;
                if self.rng.chance(self.faults.fail_per_mille) {
                    let at = self.now + self.delay();
                    let epoch = self.epoch;
                    self.push(
                        at,
                        Msg::ToClient {
                            epoch,
                            id,
                            outcome: HttpOutcome::Failed,
                        },
                    );
                }
                continue;
            }
            let http = HttpId(self.next_http);
            self.next_http += 1;
            self.http_map.insert(http, (self.epoch, id));
            let at = self.now + self.delay();
            self.push(
                at,
                Msg::ToCm {
                    http,
                    body: body.clone(),
                },
            );
        }
    }

    fn cm_response(&mut self, http: HttpId, status: u16, body: Bytes) {
        let Some((epoch, id)) = self.http_map.get(&http).copied() else {
            return;
        };
        let copies = if self.rng.chance(self.faults.dup_per_mille) {
            self.stats.responses_duplicated += 1;
            2
        } else {
            1
        };
        for _ in 0..copies {
            if self.rng.chance(self.faults.drop_per_mille) {
                self.stats.responses_dropped += 1;
                continue;
            }
            let outcome = if status == 200 {
                HttpOutcome::Ok(body.clone())
            } else {
                HttpOutcome::Status(status)
            };
            let at = self.now + self.delay();
            self.push(at, Msg::ToClient { epoch, id, outcome });
        }
    }

    /// Runs the connection manager's outputs: its events to the upstream, its responses onto the network.
    fn cm_drive(&mut self) {
        loop {
            let Some(cm) = self.cm.as_mut() else { return };
            let mut moved = false;
            let mut events = Vec::new();
            while let Some(e) = cm.poll_event() {
                events.push(e);
            }
            for e in events {
                moved = true;
                self.upstream.handle(self.now, cm, e);
            }
            let mut out = Vec::new();
            while let Some(t) = cm.poll_transmit() {
                out.push(t);
            }
            for t in out {
                moved = true;
                self.trace(&format!(
                    "CM-> {:?} {}",
                    t.http,
                    String::from_utf8_lossy(&t.body)
                ));
                self.cm_response(t.http, t.status, t.body);
            }
            if !moved {
                return;
            }
        }
    }

    fn deliver(&mut self, msg: Msg) {
        match msg {
            Msg::ToCm { http, body } => {
                if let Some(cm) = self.cm.as_mut() {
                    cm.handle_request(self.now, http, &body);
                } else {
                    let cm = CmSession::accept(
                        self.now,
                        cm_config(),
                        "storm-sid".into(),
                        [5; 32],
                        http,
                        &body,
                    )
                    .expect("the creation request is accepted");
                    self.cm = Some(cm);
                }
                self.cm_drive();
            }
            Msg::ToClient { epoch, id, outcome } => {
                // A response to a dead process's connection goes nowhere.
                if epoch != self.epoch || self.process.is_none() {
                    return;
                }
                self.client_step(|p, now| {
                    p.driver.glue.handle_response(now, id, outcome);
                });
            }
        }
    }

    /// The user's and the upstream's scheduled actions, and the deaths and rebirths.
    fn actions(&mut self) {
        // The user sends message `n` when `app_sends[n]` is due, `n` being the count in its own (restored) state:
        // a send lost with an unsaved step is made again by the next process.
        if let Some(n) = self
            .process
            .as_ref()
            .filter(|p| p.client.is_online())
            .map(|p| p.app.sent)
            && self.app_sends.get(n).is_some_and(|t| *t <= self.now)
        {
            self.client_step(|p, now| {
                let _ = p.client.send_message(now, PEER, &format!("c{n}"));
                p.app.sent += 1;
            });
        }
        if self.upstream.bound && self.up_sends.first().is_some_and(|t| *t <= self.now) {
            self.up_sends.remove(0);
            let i = self.up_sent;
            self.up_sent += 1;
            let cm = self.cm.as_mut().unwrap();
            self.upstream.stanza(
                self.now,
                cm,
                &format!(
                    "<message xmlns='jabber:client' from='{PEER}' to='juliet@example.com/storm' type='chat' \
                     id='s{i}'><body>s{i}</body></message>"
                ),
            );
            if self.upstream.sm_enabled && self.rng.chance(200) {
                self.upstream
                    .send(self.now, cm, "<r xmlns='urn:xmpp:sm:3'/>");
            }
            self.cm_drive();
        }
        if self.can_die() && self.restarts.first().is_some_and(|t| *t <= self.now) {
            self.restarts.remove(0);
            let death = match self.rng.below(3) {
                0 => Death::BeforeSave,
                1 => Death::BeforePost,
                _ => Death::Idle,
            };
            if death == Death::Idle {
                self.die();
            } else {
                self.death = Some(death);
            }
        }
        if self.down_until.is_some_and(|t| t <= self.now) {
            self.down_until = None;
            self.revive();
        }
    }

    /// Deaths start once the resource is bound (the login is done; with XEP-0198 `<enable/>` may still be on
    /// its way): before that there is no session to go on with.
    fn can_die(&self) -> bool {
        self.process
            .as_ref()
            .is_some_and(|p| p.client.jid().is_some())
            && self.death.is_none()
    }

    fn done(&self) -> bool {
        let Some(record) = &self.record else {
            return false;
        };
        self.process.is_some()
            && self.restarts.is_empty()
            && self.death.is_none()
            && record.app.sent == self.n_app
            && self.up_sends.is_empty()
            && self.upstream.got.len() >= self.n_app
            && record.app.delivered.len() >= self.n_up
    }

    fn next_time(&self) -> Option<Instant> {
        let mut times: Vec<Instant> = self.net.iter().map(|(t, _, _)| *t).collect();
        if let Some(p) = &self.process {
            if p.client.is_online() {
                times.extend(self.app_sends.get(p.app.sent).copied());
            }
            if self.can_die() {
                times.extend(self.restarts.first().copied());
            }
        }
        if self.upstream.bound {
            times.extend(self.up_sends.first().copied());
        }
        times.extend(self.down_until);
        if let Some(p) = &self.process {
            times.extend(p.client.poll_timeout());
            times.extend(p.driver.glue.poll_timeout());
        }
        if let Some(cm) = &self.cm {
            times.extend(cm.poll_timeout());
        }
        times.into_iter().min()
    }
}

/// The connection manager waits longer than the longest downtime plus retries over a lossy network.
fn cm_config() -> CmConfig {
    let mut config = CmConfig::default();
    config.inactivity = 300;
    config.max_repeats = 10_000;
    config.max_hold = 2;
    config
}

struct Outcome {
    stats: Stats,
    restarts: usize,
    simulated: Duration,
}

fn run(seed: u64, faults: Faults, n_app: usize, n_up: usize, restarts: usize) -> Outcome {
    let mut sim = Sim::new(seed, faults, n_app, n_up, restarts);
    let limit = sim.start + Duration::from_secs(24 * 3600);
    let mut steps = 0u32;
    loop {
        steps += 1;
        if steps > 1_999_990 {
            let p = sim.process.as_ref();
            eprintln!(
                "stuck at {:?}: client {:?} session {:?} cm {:?} net {} down {:?} restarts {:?} app {:?}",
                sim.now - sim.start,
                p.and_then(|p| p.client.poll_timeout())
                    .map(|t| t - sim.start),
                p.and_then(|p| p.driver.glue.poll_timeout())
                    .map(|t| t - sim.start),
                sim.cm
                    .as_ref()
                    .and_then(CmSession::poll_timeout)
                    .map(|t| t - sim.start),
                sim.net.len(),
                sim.down_until.map(|t| t - sim.start),
                sim.restarts.first().map(|t| *t - sim.start),
                p.map(|p| (p.app.sent, p.app.online)),
            );
        }
        assert!(steps < 2_000_000, "no progress");
        sim.actions();
        sim.net.sort_by_key(|(t, seq, _)| (*t, *seq));
        while sim.net.first().is_some_and(|(t, _, _)| *t <= sim.now) {
            let (_, _, msg) = sim.net.remove(0);
            sim.deliver(msg);
        }
        let now = sim.now;
        if sim.process.as_ref().is_some_and(|p| {
            p.client.poll_timeout().is_some_and(|t| t <= now)
                || p.driver.glue.poll_timeout().is_some_and(|t| t <= now)
        }) {
            sim.client_step(|p, now| {
                p.driver.glue.handle_timeout(now);
                p.client.handle_timeout(now);
            });
        }
        if let Some(cm) = sim.cm.as_mut() {
            cm.handle_timeout(now);
        }
        sim.cm_drive();
        if sim.done() {
            break;
        }
        let next = sim.next_time().expect("something is pending");
        if next > sim.now {
            sim.now = next;
        }
        assert!(
            sim.now < limit,
            "not done within 24 simulated hours: upstream got {}/{n_app}, app got {}/{n_up}",
            sim.upstream.got.len(),
            sim.record.as_ref().map_or(0, |r| r.app.delivered.len()),
        );
    }
    let record = sim.record.as_ref().unwrap();
    let expected_up: Vec<String> = (0..n_app).map(|i| format!("c{i}")).collect();
    let expected_app: Vec<String> = (0..n_up).map(|i| format!("s{i}")).collect();
    assert_eq!(
        sim.upstream.got, expected_up,
        "application to upstream: exactly once, in order"
    );
    assert_eq!(
        record.app.delivered, expected_app,
        "upstream to application: exactly once, in order"
    );
    assert_eq!(sim.upstream.auths, 1, "one login");
    assert_eq!(sim.upstream.binds, 1, "one bind");
    assert_eq!(record.app.online, 1, "one Online");
    let first = *sim.posted.keys().next().unwrap();
    let last = *sim.posted.keys().next_back().unwrap();
    assert_eq!(sim.posted.len() as u64, last - first + 1, "no rid skipped");
    sim.stats.messages_up = n_app as u64;
    sim.stats.messages_down = n_up as u64;
    Outcome {
        stats: sim.stats,
        restarts: sim.restarts_done,
        simulated: sim.now - sim.start,
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn reload_storm() {
    let total = env_u64("RELOAD_STORM_RESTARTS", 1000) as usize;
    let mut seed = env_u64("RELOAD_STORM_SEED", 0x5eed_0007);
    let mut done = 0usize;
    let mut cases = 0u32;
    let mut simulated = Duration::ZERO;
    let mut stats = Stats::default();
    let started = std::time::Instant::now();
    while done < total {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let faults = Faults {
            drop_per_mille: rng.below(250) as u32,
            dup_per_mille: rng.below(200) as u32,
            fail_per_mille: rng.below(1000) as u32,
            max_delay_ms: 1 + rng.below(3000),
            stream_management: rng.chance(500),
        };
        let restarts = (10 + rng.below(40) as usize).min(total - done);
        let n_app = rng.below(150) as usize;
        let n_up = rng.below(150) as usize;
        let case = format!(
            "RELOAD_STORM_SEED={seed} ({faults:?}, {restarts} restarts, {n_app} sent, {n_up} received)"
        );
        let outcome = std::panic::catch_unwind(|| run(seed, faults, n_app, n_up, restarts))
            .unwrap_or_else(|e| {
                eprintln!("failing case: {case}");
                std::panic::resume_unwind(e)
            });
        assert_eq!(outcome.restarts, restarts, "every planned restart happened");
        done += outcome.restarts;
        stats.add(&outcome.stats);
        simulated += outcome.simulated;
        cases += 1;
        seed = seed.wrapping_add(1);
    }
    eprintln!(
        "reload_storm: {cases} cases, {done} restarts, {:.1} simulated hours, {:.1} s",
        simulated.as_secs_f64() / 3600.0,
        started.elapsed().as_secs_f64()
    );
    eprintln!("{stats:#?}");
}
