//! The client core driven against an in-memory scripted server, with the example exchanges of RFC 6120 and
//! RFC 6121 and the XEP-0198 examples.

use std::time::{Duration, Instant};

use zxmpp_client::{Client, ClientConfig, ClientEvent, Transmit, TransportEvent, TransportKind};
use zxmpp_xml::{Config, Event, Status, StreamReader, parse_document};

const HEADER: &[u8] =
    b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' \
    from='im.example.com' id='t7AMCin9zjMNwQKDnplntZPIDEI=' version='1.0' xml:lang='en'>";
const SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";

/// The server's side of the conversation: feeds elements in, collects what the client sends.
struct Server {
    client: Client,
    now: Instant,
    /// Everything the client transmitted, in order.
    sent: Vec<Transmit>,
    /// How many `sent` entries the test has already looked at.
    seen: usize,
}

impl Server {
    fn new(config: ClientConfig) -> Self {
        let now = Instant::now();
        Self {
            client: Client::new(config, now).unwrap(),
            now,
            sent: Vec::new(),
            seen: 0,
        }
    }

    fn from_client(client: Client, now: Instant) -> Self {
        Self {
            client,
            now,
            sent: Vec::new(),
            seen: 0,
        }
    }

    fn header(&mut self) {
        let mut reader = StreamReader::new(Config::default());
        let Ok(Status::Complete(Event::StreamOpen(h))) = reader.next(HEADER) else {
            panic!("header")
        };
        self.client
            .handle_transport(self.now, TransportEvent::StreamOpened(&h));
        self.pump();
    }

    /// Moves the client's transmits into `sent`; answers stream opens with a header.
    fn pump(&mut self) {
        while let Some(t) = self.client.poll_transmit() {
            let open = matches!(t, Transmit::OpenStream { .. });
            self.sent.push(t);
            if open {
                self.header();
            }
        }
    }

    fn connect(&mut self, secure: bool) {
        self.client.handle_transport(
            self.now,
            TransportEvent::Connected {
                secure,
                transport: TransportKind::Tcp,
            },
        );
        self.pump();
    }

    fn feed(&mut self, xml: &str) {
        let el = parse_document(xml.as_bytes(), &Config::default()).unwrap();
        self.client
            .handle_transport(self.now, TransportEvent::Stanza(&el));
        self.pump();
    }

    fn disconnect(&mut self) {
        self.client.handle_transport(
            self.now,
            TransportEvent::Disconnected {
                reason: "test".into(),
            },
        );
        self.pump();
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
        self.client.handle_timeout(self.now);
        self.pump();
    }

    /// The stanzas sent since the last call.
    fn take(&mut self) -> Vec<String> {
        let new = self.sent[self.seen..]
            .iter()
            .filter_map(|t| match t {
                Transmit::Stanza(s) => Some(s.clone()),
                _ => None,
            })
            .collect();
        self.seen = self.sent.len();
        new
    }

    /// The transmits (of any kind) sent since the last call.
    fn take_all(&mut self) -> Vec<Transmit> {
        let new = self.sent[self.seen..].to_vec();
        self.seen = self.sent.len();
        new
    }

    fn events(&mut self) -> Vec<ClientEvent> {
        std::iter::from_fn(|| self.client.poll_event()).collect()
    }

    /// The `id` of the last stanza sent.
    fn last_id(&self) -> String {
        let Some(Transmit::Stanza(s)) = self
            .sent
            .iter()
            .rev()
            .find(|t| matches!(t, Transmit::Stanza(s) if s.contains(" id=")))
        else {
            panic!("no stanza with an id")
        };
        let el = parse_document(s.as_bytes(), &Config::default()).unwrap();
        el.attr("id").unwrap().into_owned()
    }
}

fn attr(xml: &str, name: &str) -> Option<String> {
    parse_document(xml.as_bytes(), &Config::default())
        .unwrap()
        .attr(name)
        .map(|v| v.into_owned())
}

fn config() -> ClientConfig {
    ClientConfig::new("juliet@im.example.com", "r0m30myr0m30", [42; 32])
        .with_resource("balcony")
        .with_roster_fetch(false)
}

fn features_sasl(mechs: &[&str]) -> String {
    let m: String = mechs
        .iter()
        .map(|m| format!("<mechanism>{m}</mechanism>"))
        .collect();
    format!(
        "<stream:features xmlns:stream='http://etherx.jabber.org/streams'><mechanisms xmlns='{SASL}'>{m}</mechanisms></stream:features>"
    )
}

const FEATURES_BIND: &str = "<stream:features xmlns:stream='http://etherx.jabber.org/streams'>\
    <bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>";
const FEATURES_BIND_SM: &str = "<stream:features xmlns:stream='http://etherx.jabber.org/streams'>\
    <bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><sm xmlns='urn:xmpp:sm:3'/>\
    <ver xmlns='urn:xmpp:features:rosterver'/></stream:features>";

/// Logs in with PLAIN over a secure connection up to the post-auth features.
fn login_plain(s: &mut Server, post_auth_features: &str) {
    s.connect(true);
    s.feed(&features_sasl(&["PLAIN"]));
    s.feed(&format!("<success xmlns='{SASL}'/>"));
    s.feed(post_auth_features);
}

/// Answers the bind iq with RFC 6120 §7.6.1's JID.
fn answer_bind(s: &mut Server) {
    let id = s.last_id();
    s.feed(&format!(
        "<iq xmlns='jabber:client' id='{id}' type='result'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
         <jid>juliet@im.example.com/balcony</jid></bind></iq>"
    ));
}

fn online(s: &mut Server) {
    login_plain(s, FEATURES_BIND);
    answer_bind(s);
    assert_eq!(
        s.events(),
        [ClientEvent::Online {
            jid: "juliet@im.example.com/balcony".into(),
            resumed: false
        }]
    );
    s.take();
}

#[test]
fn rfc6120_9_1_starttls_then_sasl() {
    let mut s = Server::new(config());
    s.connect(false);
    assert!(matches!(
        s.take_all()[..],
        [Transmit::OpenStream { restart: false, .. }]
    ));
    s.feed(
        "<stream:features xmlns:stream='http://etherx.jabber.org/streams'>\
         <starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>",
    );
    assert_eq!(
        s.take(),
        ["<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"]
    );
    s.feed("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    assert_eq!(s.take_all(), [Transmit::StartTls]);
    s.client
        .handle_transport(s.now, TransportEvent::TlsEstablished);
    s.pump();
    assert!(matches!(
        s.take_all()[..],
        [Transmit::OpenStream { restart: true, .. }]
    ));
    s.feed(&features_sasl(&["SCRAM-SHA-1", "PLAIN"]));
    let auth = s.take();
    assert_eq!(attr(&auth[0], "mechanism").as_deref(), Some("SCRAM-SHA-1"));
}

#[test]
fn rfc6120_9_2_scram_sha1_exchange() {
    // RFC 6120 §9.2.1 steps 4–8 (after TLS), byte for byte.
    let mut s = Server::new(config());
    s.client
        .set_next_sasl_nonce("oMsTAAwAAAAMAAAANP0TAAAAAABPU0AA");
    s.connect(true);
    s.feed(&features_sasl(&["SCRAM-SHA-1", "PLAIN"]));
    assert_eq!(
        s.take(),
        [
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>\
          biwsbj1qdWxpZXQscj1vTXNUQUF3QUFBQU1BQUFBTlAwVEFBQUFBQUJQVTBBQQ==</auth>"
        ]
    );
    s.feed(
        "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
        cj1vTXNUQUF3QUFBQU1BQUFBTlAwVEFBQUFBQUJQVTBBQWUxMjQ2OTViLTY5YTktNGRlNi05YzMwLWI1MWIzODA4YzU5ZSxzPU5qaGtZVE0wTURndE5HWTBaaTAwTmpkbUxUa3hNbVV0TkRsbU5UTm1ORE5rTURNeixpPTQwOTY=\
        </challenge>",
    );
    assert_eq!(
        s.take(),
        ["<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
          Yz1iaXdzLHI9b01zVEFBd0FBQUFNQUFBQU5QMFRBQUFBQUFCUFUwQUFlMTI0Njk1Yi02OWE5LTRkZTYtOWMzMC1iNTFiMzgwOGM1OWUscD1VQTU3dE0vU3ZwQVRCa0gyRlhzMFdEWHZKWXc9</response>"]
    );
    s.feed("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>dj1wTk5ERlZFUXh1WHhDb1NFaVc4R0VaKzFSU289</success>");
    assert!(matches!(
        s.take_all()[..],
        [Transmit::OpenStream { restart: true, .. }]
    ));
    s.feed(FEATURES_BIND);
    // RFC 6120 §7.6.1: bind with the requested resource.
    let bind = s.take();
    assert_eq!(attr(&bind[0], "type").as_deref(), Some("set"));
    assert!(bind[0].contains(
        "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>balcony</resource></bind>"
    ));
    answer_bind(&mut s);
    assert_eq!(
        s.events(),
        [ClientEvent::Online {
            jid: "juliet@im.example.com/balcony".into(),
            resumed: false
        }]
    );
    assert!(s.client.is_online());
}

#[test]
fn rfc7677_scram_sha256_is_preferred() {
    let mut s = Server::new(config());
    s.client.set_next_sasl_nonce("rOprNGfwEbeRWgbNEkqO");
    s.connect(true);
    s.feed(&features_sasl(&["PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256"]));
    let auth = s.take();
    assert_eq!(
        attr(&auth[0], "mechanism").as_deref(),
        Some("SCRAM-SHA-256")
    );
}

#[test]
fn rfc4616_plain_auth_element() {
    let mut s = Server::new(ClientConfig::new(
        "tim@example.com",
        "tanstaaftanstaaf",
        [1; 32],
    ));
    s.connect(true);
    s.feed(&features_sasl(&["PLAIN"]));
    assert_eq!(
        s.take(),
        [
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AHRpbQB0YW5zdGFhZnRhbnN0YWFm</auth>"
        ]
    );
}

#[test]
fn rfc6120_6_5_sasl_failure_stops_the_client() {
    let mut s = Server::new(config());
    s.connect(true);
    s.feed(&features_sasl(&["PLAIN"]));
    s.take();
    s.feed(&format!("<failure xmlns='{SASL}'><not-authorized/><text xml:lang='en'>Wrong password</text></failure>"));
    assert_eq!(
        s.events(),
        [ClientEvent::AuthFailed {
            condition: "not-authorized".into(),
            text: Some("Wrong password".into())
        }]
    );
    assert_eq!(s.take_all(), [Transmit::CloseStream]);
    assert!(s.client.is_closed());
}

#[test]
fn scram_with_a_wrong_server_signature_fails() {
    let mut s = Server::new(config());
    s.client
        .set_next_sasl_nonce("oMsTAAwAAAAMAAAANP0TAAAAAABPU0AA");
    s.connect(true);
    s.feed(&features_sasl(&["SCRAM-SHA-1"]));
    s.feed(
        "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
        cj1vTXNUQUF3QUFBQU1BQUFBTlAwVEFBQUFBQUJQVTBBQWUxMjQ2OTViLTY5YTktNGRlNi05YzMwLWI1MWIzODA4YzU5ZSxzPU5qaGtZVE0wTURndE5HWTBaaTAwTmpkbUxUa3hNbVV0TkRsbU5UTm1ORE5rTURNeixpPTQwOTY=\
        </challenge>",
    );
    // v= of a different signature.
    s.feed("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>dj1ybUY5cHFWOFM3c3VBb1pXamE0ZEpSa0ZzS1E9</success>");
    assert!(
        matches!(&s.events()[..], [ClientEvent::AuthFailed { condition, .. }] if condition == "server-signature")
    );
    assert!(s.client.is_closed());
}

#[test]
fn no_auth_over_an_insecure_connection_by_default() {
    let mut s = Server::new(config());
    s.connect(false);
    s.feed(&features_sasl(&["PLAIN"]));
    assert!(
        matches!(&s.events()[..], [ClientEvent::AuthFailed { condition, .. }] if condition == "encryption-required")
    );
    assert!(!s.take().iter().any(|x| x.contains("<auth")));
}

#[test]
fn rfc6121_2_1_3_roster_get_and_2_1_6_push() {
    let mut s = Server::new(config());
    online(&mut s);
    s.client.request_roster(s.now);
    s.pump();
    let get = s.take();
    assert!(
        get[0].contains("<query xmlns='jabber:iq:roster'/>"),
        "{get:?}"
    );
    let id = attr(&get[0], "id").unwrap();
    // RFC 6121 §2.1.4 example.
    s.feed(&format!(
        "<iq xmlns='jabber:client' id='{id}' to='juliet@im.example.com/balcony' type='result'>\
         <query xmlns='jabber:iq:roster' ver='ver11'>\
         <item jid='romeo@example.net' name='Romeo' subscription='both'><group>Friends</group></item>\
         <item jid='mercutio@example.com' name='Mercutio' subscription='from'/>\
         <item jid='benvolio@example.net' name='Benvolio' subscription='both'/>\
         </query></iq>"
    ));
    let ev = s.events();
    let [ClientEvent::Roster { version, items }] = &ev[..] else {
        panic!("{ev:?}")
    };
    assert_eq!(version.as_deref(), Some("ver11"));
    assert_eq!(items.len(), 3);
    assert_eq!(items[0].jid, "romeo@example.net");
    assert_eq!(items[0].groups, ["Friends"]);
    assert_eq!(items[1].subscription, "from");

    // §2.1.6 push from the server (no from), then the client's result.
    s.feed(
        "<iq xmlns='jabber:client' id='a78b4q6ha463' to='juliet@im.example.com/balcony' type='set'>\
         <query xmlns='jabber:iq:roster' ver='ver13'><item jid='nurse@example.com' name='Nurse' subscription='none'>\
         <group>Servants</group></item></query></iq>",
    );
    assert_eq!(s.take(), ["<iq type='result' id='a78b4q6ha463'/>"]);
    assert!(
        matches!(&s.events()[..], [ClientEvent::RosterPush { item, version }] if item.jid == "nurse@example.com" && version.as_deref() == Some("ver13"))
    );
    // Removal.
    s.feed(
        "<iq xmlns='jabber:client' id='r2' type='set'><query xmlns='jabber:iq:roster' ver='ver14'>\
         <item jid='mercutio@example.com' subscription='remove'/></query></iq>",
    );
    s.events();
    assert_eq!(s.take(), ["<iq type='result' id='r2'/>"]);
    let jids: Vec<_> = s
        .client
        .roster()
        .items
        .iter()
        .map(|i| i.jid.as_str())
        .collect();
    assert_eq!(
        jids,
        [
            "romeo@example.net",
            "benvolio@example.net",
            "nurse@example.com"
        ]
    );
    assert_eq!(s.client.roster().version.as_deref(), Some("ver14"));
    // §2.1.6: a push from someone else is refused and ignored.
    s.feed(
        "<iq xmlns='jabber:client' id='evil' from='eve@evil.example' type='set'><query xmlns='jabber:iq:roster'>\
         <item jid='eve@evil.example' subscription='both'/></query></iq>",
    );
    let answer = s.take();
    assert_eq!(attr(&answer[0], "type").as_deref(), Some("error"));
    assert!(answer[0].contains("service-unavailable"));
    assert_eq!(s.client.roster().items.len(), 3);
}

#[test]
fn rfc6121_2_6_roster_versioning() {
    let mut s = Server::new(config());
    login_plain(&mut s, FEATURES_BIND_SM);
    answer_bind(&mut s);
    s.feed("<enabled xmlns='urn:xmpp:sm:3'/>");
    s.take();
    s.events();
    // The server supports versioning and we have none yet: ver=''.
    s.client.request_roster(s.now);
    s.pump();
    let get = s.take();
    assert!(
        get[0].contains("<query xmlns='jabber:iq:roster' ver=''/>"),
        "{get:?}"
    );
    let id = attr(&get[0], "id").unwrap();
    s.feed(&format!(
        "<iq xmlns='jabber:client' id='{id}' type='result'><query xmlns='jabber:iq:roster' ver='ver14'>\
         <item jid='romeo@example.net' subscription='both'/></query></iq>"
    ));
    s.events();
    // §2.6.3: asking again with the stored version; the server answers with an empty result.
    s.client.request_roster(s.now);
    s.pump();
    let get = s.take();
    assert!(
        get[0].contains("<query xmlns='jabber:iq:roster' ver='ver14'/>"),
        "{get:?}"
    );
    let id = attr(&get[0], "id").unwrap();
    s.feed(&format!(
        "<iq xmlns='jabber:client' id='{id}' type='result'/>"
    ));
    let ev = s.events();
    let [ClientEvent::Roster { version, items }] = &ev[..] else {
        panic!("{ev:?}")
    };
    assert_eq!(version.as_deref(), Some("ver14"));
    assert_eq!(items[0].jid, "romeo@example.net");
}

#[test]
fn rfc6121_5_messages_in_and_out() {
    let mut s = Server::new(config());
    online(&mut s);
    let id = s.client.send_message(
        s.now,
        "romeo@example.net",
        "Art thou not Romeo, & a Montague?",
    );
    s.pump();
    let out = s.take();
    let el = parse_document(out[0].as_bytes(), &Config::default()).unwrap();
    assert_eq!(el.name(), "message");
    assert_eq!(el.attr("to").as_deref(), Some("romeo@example.net"));
    assert_eq!(el.attr("type").as_deref(), Some("chat"));
    assert_eq!(el.attr("id").as_deref(), Some(id.as_str()));
    assert_eq!(
        el.child("body", "").unwrap().text(),
        "Art thou not Romeo, & a Montague?"
    );
    // RFC 6121 §5.2.4 example reply.
    s.feed(
        "<message xmlns='jabber:client' from='romeo@example.net/orchard' id='ktx72v49' \
         to='juliet@im.example.com/balcony' type='chat' xml:lang='en'><body>Neither, fair saint, if either thee dislike.</body></message>",
    );
    let ev = s.events();
    let [ClientEvent::Message(m)] = &ev[..] else {
        panic!("{ev:?}")
    };
    assert_eq!(m.from.as_deref(), Some("romeo@example.net/orchard"));
    assert_eq!(
        m.body.as_deref(),
        Some("Neither, fair saint, if either thee dislike.")
    );
    assert_eq!(m.kind.as_deref(), Some("chat"));
}

#[test]
fn stanzas_sent_offline_go_out_once_online() {
    let mut s = Server::new(config());
    let id = s.client.send_message(s.now, "romeo@example.net", "early");
    s.client.send_presence(s.now, None, None);
    assert_eq!(s.client.queued(), 1);
    online(&mut s);
    let _ = id;
    // online() took the transmits; look at the whole log.
    let all: Vec<_> = s
        .sent
        .iter()
        .filter_map(|t| match t {
            Transmit::Stanza(x) => Some(x.clone()),
            _ => None,
        })
        .collect();
    let presences = all.iter().filter(|x| x.starts_with("<presence")).count();
    let messages = all.iter().filter(|x| x.contains(">early<")).count();
    assert_eq!((presences, messages), (1, 1));
}

#[test]
fn xep0115_presence_carries_caps_and_disco_is_answered() {
    let mut s = Server::new(config());
    online(&mut s);
    s.client
        .send_presence(s.now, Some("away"), Some("at the ball"));
    s.pump();
    let p = s.take();
    let el = parse_document(p[0].as_bytes(), &Config::default()).unwrap();
    let c = el.child("c", "http://jabber.org/protocol/caps").unwrap();
    assert_eq!(c.attr("hash").as_deref(), Some("sha-1"));
    let node = c.attr("node").unwrap().into_owned();
    let ver = c.attr("ver").unwrap().into_owned();
    assert_eq!(el.child("show", "").unwrap().text(), "away");
    // Someone asks for node#ver (XEP-0115 §6.2): the answer echoes the node and hashes to ver.
    s.feed(&format!(
        "<iq xmlns='jabber:client' from='romeo@example.net/orchard' id='disco1' type='get'>\
         <query xmlns='http://jabber.org/protocol/disco#info' node='{node}#{ver}'/></iq>"
    ));
    let answer = s.take();
    let iq = parse_document(answer[0].as_bytes(), &Config::default()).unwrap();
    assert_eq!(iq.attr("type").as_deref(), Some("result"));
    assert_eq!(iq.attr("to").as_deref(), Some("romeo@example.net/orchard"));
    let query = iq
        .child("query", "http://jabber.org/protocol/disco#info")
        .unwrap();
    assert_eq!(query.attr("node").unwrap(), format!("{node}#{ver}"));
    let info = zxmpp_caps::DiscoInfo::from_element(&query, &zxmpp_caps::Limits::default()).unwrap();
    // Recompute the hash from what was answered, as a peer would.
    assert_eq!(
        zxmpp_caps::xep0115::ver(&info, &zxmpp_caps::Algorithm::Sha1)
            .unwrap()
            .to_base64(),
        ver
    );
    // An unknown node: item-not-found.
    s.feed(
        "<iq xmlns='jabber:client' from='romeo@example.net/orchard' id='disco2' type='get'>\
         <query xmlns='http://jabber.org/protocol/disco#info' node='nope'/></iq>",
    );
    assert!(s.take()[0].contains("item-not-found"));
}

#[test]
fn xep0115_5_2_incoming_caps_are_queried_and_verified() {
    let mut s = Server::new(config());
    online(&mut s);
    // XEP-0115 §5.2's simple example: Exodus, ver QgayPKawpkPSDYmwT/WM94uAlu0=.
    s.feed(
        "<presence xmlns='jabber:client' from='romeo@montague.lit/orchard'>\
         <c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='http://code.google.com/p/exodus' \
         ver='QgayPKawpkPSDYmwT/WM94uAlu0='/></presence>",
    );
    let ev = s.events();
    assert!(
        matches!(&ev[..], [ClientEvent::Presence(p)] if p.caps.is_some()),
        "{ev:?}"
    );
    let q = s.take();
    let el = parse_document(q[0].as_bytes(), &Config::default()).unwrap();
    assert_eq!(el.attr("to").as_deref(), Some("romeo@montague.lit/orchard"));
    let query = el
        .child("query", "http://jabber.org/protocol/disco#info")
        .unwrap();
    assert_eq!(
        query.attr("node").as_deref(),
        Some("http://code.google.com/p/exodus#QgayPKawpkPSDYmwT/WM94uAlu0=")
    );
    let id = el.attr("id").unwrap();
    s.feed(&format!(
        "<iq xmlns='jabber:client' from='romeo@montague.lit/orchard' id='{id}' type='result'>\
         <query xmlns='http://jabber.org/protocol/disco#info' node='http://code.google.com/p/exodus#QgayPKawpkPSDYmwT/WM94uAlu0='>\
         <identity category='client' name='Exodus 0.9.1' type='pc'/>\
         <feature var='http://jabber.org/protocol/caps'/><feature var='http://jabber.org/protocol/disco#info'/>\
         <feature var='http://jabber.org/protocol/disco#items'/><feature var='http://jabber.org/protocol/muc'/>\
         </query></iq>"
    ));
    let ev = s.events();
    assert!(
        matches!(
            &ev[..],
            [ClientEvent::Caps(zxmpp_caps::CapsEvent::Verified { .. })]
        ),
        "{ev:?}"
    );
    assert!(
        s.client
            .caps_cache()
            .lookup("romeo@montague.lit/orchard")
            .unwrap()
            .has_feature("http://jabber.org/protocol/muc")
    );
}

#[test]
fn iq_result_error_and_timeout() {
    let mut s = Server::new(config().with_iq_timeout(Duration::from_secs(30)));
    online(&mut s);
    let a = s.client.send_iq(
        s.now,
        Some("example.net"),
        false,
        "<query xmlns='jabber:iq:version'/>",
    );
    let b = s.client.send_iq(
        s.now,
        Some("example.net"),
        false,
        "<query xmlns='jabber:iq:version'/>",
    );
    let c = s
        .client
        .send_iq(s.now, None, false, "<ping xmlns='urn:xmpp:ping'/>");
    s.pump();
    s.take();
    // An answer from someone else than the addressee is not the answer (RFC 6120 §8.1.2.1).
    s.feed(&format!(
        "<iq xmlns='jabber:client' from='evil.example' id='{a}' type='result'/>"
    ));
    assert_eq!(s.events(), []);
    s.feed(&format!(
        "<iq xmlns='jabber:client' from='example.net' id='{a}' type='result'><query xmlns='jabber:iq:version'><name>x</name></query></iq>"
    ));
    s.feed(&format!(
        "<iq xmlns='jabber:client' from='example.net' id='{b}' type='error'><error type='cancel'>\
         <service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
    ));
    let ev = s.events();
    assert!(
        matches!(&ev[0], ClientEvent::IqResult { id, payload: Some(p) } if *id == a && p.contains("<name>x</name>"))
    );
    assert!(
        matches!(&ev[1], ClientEvent::IqError { id, condition, .. } if *id == b && condition == "service-unavailable")
    );
    assert_eq!(
        s.client.poll_timeout(),
        Some(s.now + Duration::from_secs(30))
    );
    s.advance(Duration::from_secs(29));
    assert_eq!(s.events(), []);
    s.advance(Duration::from_secs(1));
    assert_eq!(s.events(), [ClientEvent::IqTimeout { id: c.clone() }]);
    // A late answer is dropped.
    s.feed(&format!(
        "<iq xmlns='jabber:client' id='{c}' type='result'/>"
    ));
    assert_eq!(s.events(), []);
}

#[test]
fn unknown_iq_requests_reach_the_application() {
    let mut s = Server::new(config());
    online(&mut s);
    s.feed(
        "<iq xmlns='jabber:client' from='romeo@example.net/orchard' id='v1' type='get'><query xmlns='jabber:iq:version'/></iq>",
    );
    let ev = s.events();
    let [ClientEvent::IqRequest(req)] = &ev[..] else {
        panic!("{ev:?}")
    };
    assert_eq!(req.payload, "<query xmlns='jabber:iq:version'/>");
    s.client.respond_iq(s.now, req, Err("service-unavailable"));
    s.pump();
    let out = s.take();
    assert_eq!(attr(&out[0], "type").as_deref(), Some("error"));
    assert_eq!(attr(&out[0], "id").as_deref(), Some("v1"));
    // XEP-0199 pings are answered by the core.
    s.feed("<iq xmlns='jabber:client' from='im.example.com' id='p1' type='get'><ping xmlns='urn:xmpp:ping'/></iq>");
    assert_eq!(
        s.take(),
        ["<iq type='result' id='p1' to='im.example.com'/>"]
    );
}

/// Logs in with SM: bind, enable, enabled with resumption.
fn online_sm(s: &mut Server) {
    login_plain(s, FEATURES_BIND_SM);
    answer_bind(s);
    assert_eq!(
        s.take().last().map(String::as_str),
        Some("<enable xmlns='urn:xmpp:sm:3' resume='true'/>")
    );
    // XEP-0198 §3 example.
    s.feed("<enabled xmlns='urn:xmpp:sm:3' id='some-long-sm-id' resume='true'/>");
    assert_eq!(
        s.events(),
        [ClientEvent::Online {
            jid: "juliet@im.example.com/balcony".into(),
            resumed: false
        }]
    );
    assert_eq!(s.client.resumption_id(), Some("some-long-sm-id"));
}

#[test]
fn xep0198_r_a_and_inbound_h() {
    let mut s = Server::new(config());
    online_sm(&mut s);
    for i in 0..3 {
        s.feed(&format!("<message xmlns='jabber:client' from='romeo@example.net' id='m{i}'><body>{i}</body></message>"));
    }
    s.feed("<r xmlns='urn:xmpp:sm:3'/>");
    assert_eq!(s.take(), ["<a xmlns='urn:xmpp:sm:3' h='3'/>"]);
    // Nonzas are not counted.
    s.feed("<r xmlns='urn:xmpp:sm:3'/>");
    assert_eq!(s.take(), ["<a xmlns='urn:xmpp:sm:3' h='3'/>"]);
    s.events();
    // Outbound: an <r/> after ack_every (5) stanzas.
    let ids: Vec<String> = (0..5)
        .map(|i| {
            s.client
                .send_message(s.now, "romeo@example.net", &format!("o{i}"))
        })
        .collect();
    s.pump();
    let out = s.take();
    assert_eq!(out.len(), 6);
    assert_eq!(out[5], "<r xmlns='urn:xmpp:sm:3'/>");
    assert_eq!(s.client.unacked(), 5);
    s.feed("<a xmlns='urn:xmpp:sm:3' h='2'/>");
    assert_eq!(
        s.events(),
        [
            ClientEvent::Acked { id: ids[0].clone() },
            ClientEvent::Acked { id: ids[1].clone() }
        ]
    );
    assert_eq!(s.client.unacked(), 3);
    // One more stanza: no <r/> at once, but one after the ack delay.
    s.client.send_message(s.now, "romeo@example.net", "late");
    s.pump();
    assert_eq!(s.take().len(), 1);
    s.advance(Duration::from_secs(2));
    assert_eq!(s.take(), ["<r xmlns='urn:xmpp:sm:3'/>"]);
    s.feed("<a xmlns='urn:xmpp:sm:3' h='6'/>");
    assert_eq!(s.client.unacked(), 0);
}

fn count(log: &[String], needle: &str) -> usize {
    log.iter().filter(|x| x.contains(needle)).count()
}

#[test]
fn xep0198_resume_resends_the_unacked_queue_exactly_once() {
    let mut s = Server::new(config());
    online_sm(&mut s);
    s.feed("<message xmlns='jabber:client' from='romeo@example.net'><body>in</body></message>");
    let ids: Vec<String> = ["one", "two", "three"]
        .iter()
        .map(|body| s.client.send_message(s.now, "romeo@example.net", body))
        .collect();
    s.pump();
    s.feed("<a xmlns='urn:xmpp:sm:3' h='1'/>");
    s.take();
    s.events();
    s.disconnect();
    assert_eq!(
        s.events(),
        [ClientEvent::Disconnected {
            resumable: true,
            reason: "test".into()
        }]
    );
    // Sent while disconnected: queued, goes out after the resumption.
    s.client.send_message(s.now, "romeo@example.net", "four");
    // New connection, authenticate again, then <resume/> with our inbound h.
    s.seen = s.sent.len();
    login_plain(&mut s, FEATURES_BIND_SM);
    let log = s.take();
    assert_eq!(
        log.last().map(String::as_str),
        Some("<resume xmlns='urn:xmpp:sm:3' previd='some-long-sm-id' h='1'/>")
    );
    assert_eq!(count(&log, "<bind"), 0);
    // XEP-0198 §5: the server handled "two" as well.
    s.feed("<resumed xmlns='urn:xmpp:sm:3' h='2' previd='some-long-sm-id'/>");
    assert_eq!(
        s.events(),
        [
            ClientEvent::Acked { id: ids[1].clone() },
            ClientEvent::Online {
                jid: "juliet@im.example.com/balcony".into(),
                resumed: true
            }
        ]
    );
    let log = s.take();
    assert_eq!(
        (
            count(&log, ">one<"),
            count(&log, ">two<"),
            count(&log, ">three<"),
            count(&log, ">four<")
        ),
        (0, 0, 1, 1)
    );
    assert!(
        log.iter().position(|x| x.contains(">three<"))
            < log.iter().position(|x| x.contains(">four<"))
    );
    // Acknowledging everything empties the queue; nothing is sent again.
    s.feed("<a xmlns='urn:xmpp:sm:3' h='4'/>");
    assert_eq!(s.client.unacked(), 0);
    s.disconnect();
    s.seen = s.sent.len();
    login_plain(&mut s, FEATURES_BIND_SM);
    s.feed("<resumed xmlns='urn:xmpp:sm:3' h='4' previd='some-long-sm-id'/>");
    let log = s.take();
    assert_eq!(count(&log, "<message"), 0);
}

#[test]
fn xep0198_failed_resume_binds_again_and_resends_once() {
    let mut s = Server::new(config());
    online_sm(&mut s);
    s.client.send_message(s.now, "romeo@example.net", "one");
    s.client.send_message(s.now, "romeo@example.net", "two");
    s.pump();
    s.disconnect();
    s.events();
    s.seen = s.sent.len();
    login_plain(&mut s, FEATURES_BIND_SM);
    s.take();
    // XEP-0198 §5 example, with the h the server had (it handled "one").
    s.feed("<failed xmlns='urn:xmpp:sm:3' h='1'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>");
    assert!(
        matches!(&s.events()[..], [ClientEvent::Acked { .. }, ClientEvent::ResumeFailed { condition }] if condition == "item-not-found")
    );
    let log = s.take();
    assert_eq!(count(&log, "<bind"), 1);
    answer_bind(&mut s);
    s.feed("<enabled xmlns='urn:xmpp:sm:3' id='new-id' resume='1'/>");
    let log = s.take();
    assert_eq!((count(&log, ">one<"), count(&log, ">two<")), (0, 1));
    assert_eq!(s.client.resumption_id(), Some("new-id"));
}

#[test]
fn without_resumption_unacked_stanzas_go_to_the_next_session() {
    let mut s = Server::new(config());
    login_plain(&mut s, FEATURES_BIND_SM);
    answer_bind(&mut s);
    s.feed("<enabled xmlns='urn:xmpp:sm:3'/>");
    s.events();
    s.client.send_message(s.now, "romeo@example.net", "one");
    s.pump();
    s.disconnect();
    assert_eq!(
        s.events(),
        [ClientEvent::Disconnected {
            resumable: false,
            reason: "test".into()
        }]
    );
    assert_eq!(s.client.queued(), 1);
    s.seen = s.sent.len();
    login_plain(&mut s, FEATURES_BIND_SM);
    answer_bind(&mut s);
    let log = s.take();
    assert_eq!(count(&log, ">one<"), 1);
}

#[test]
fn snapshot_restore_then_resume_resends_exactly_once() {
    let mut s = Server::new(config());
    online_sm(&mut s);
    s.client.send_message(s.now, "romeo@example.net", "one");
    s.client.send_message(s.now, "romeo@example.net", "two");
    let pending = s.client.send_iq(
        s.now,
        Some("example.net"),
        false,
        "<query xmlns='jabber:iq:version'/>",
    );
    s.pump();
    s.feed("<a xmlns='urn:xmpp:sm:3' h='1'/>");
    s.events();
    // The process dies; the snapshot (both encodings) survives.
    for encoding in [zxmpp_state::Encoding::Json, zxmpp_state::Encoding::Binary] {
        let bytes = s.client.snapshot().encode(encoding).unwrap();
        let snapshot = zxmpp_state::ClientSnapshot::decode(&bytes).unwrap();
        let later = s.now + Duration::from_secs(10);
        let client = Client::restore(snapshot, Some("r0m30myr0m30".into()), later).unwrap();
        let mut r = Server::from_client(client, later);
        assert_eq!(r.client.jid(), Some("juliet@im.example.com/balcony"));
        assert_eq!(r.client.unacked(), 2);
        // The iq keeps the 60 s it had left (the snapshot was taken at s.now).
        assert_eq!(
            r.client.poll_timeout(),
            Some(later + Duration::from_secs(60))
        );
        login_plain(&mut r, FEATURES_BIND_SM);
        r.feed("<resumed xmlns='urn:xmpp:sm:3' h='1' previd='some-long-sm-id'/>");
        let log = r.take();
        assert_eq!(
            (
                count(&log, ">one<"),
                count(&log, ">two<"),
                count(&log, &pending)
            ),
            (0, 1, 1)
        );
        assert!(matches!(
            &r.events()[..],
            [ClientEvent::Online { resumed: true, .. }]
        ));
        r.feed(&format!(
            "<iq xmlns='jabber:client' from='example.net' id='{pending}' type='result'/>"
        ));
        assert!(matches!(&r.events()[..], [ClientEvent::IqResult { id, .. }] if *id == pending));
    }
}

#[test]
fn stream_error_ends_the_session() {
    let mut s = Server::new(config());
    online_sm(&mut s);
    s.client.send_message(s.now, "romeo@example.net", "one");
    s.pump();
    s.take();
    s.feed(
        "<stream:error xmlns:stream='http://etherx.jabber.org/streams'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>",
    );
    let ev = s.events();
    assert!(
        matches!(&ev[0], ClientEvent::StreamError { condition, .. } if condition == "conflict")
    );
    assert!(matches!(
        &ev[1],
        ClientEvent::Disconnected {
            resumable: false,
            ..
        }
    ));
    assert_eq!(s.client.queued(), 1);
}

#[test]
fn close_sends_unavailable_and_ends_the_stream() {
    let mut s = Server::new(config());
    online(&mut s);
    s.client.close(s.now);
    s.pump();
    assert_eq!(
        s.take_all(),
        [
            Transmit::Stanza("<presence type='unavailable'/>".into()),
            Transmit::CloseStream
        ]
    );
    assert_eq!(s.events(), [ClientEvent::Closed]);
    assert!(s.client.is_closed());
}

#[test]
fn bosh_features_without_a_header_are_accepted() {
    let mut s = Server::new(config());
    s.client.handle_transport(
        s.now,
        TransportEvent::Connected {
            secure: true,
            transport: TransportKind::Bosh,
        },
    );
    // No StreamOpened from this driver: features come straight away.
    while s.client.poll_transmit().is_some() {}
    s.feed(&features_sasl(&["PLAIN"]));
    assert!(s.take().iter().any(|x| x.contains("mechanism='PLAIN'")));
}

#[test]
fn a_snapshot_while_enabling_sm_keeps_the_stanzas_sent_meanwhile() {
    let mut s = Server::new(config());
    login_plain(&mut s, FEATURES_BIND_SM);
    answer_bind(&mut s);
    s.events();
    // Online for sending, but <enabled/> has not come yet.
    s.client
        .send_message(s.now, "romeo@example.net", "meanwhile");
    s.pump();
    let snapshot = s.client.snapshot();
    assert_eq!(snapshot.phase, zxmpp_state::Phase::EnablingSm);
    let sm = snapshot.stream_management.as_ref().unwrap();
    assert_eq!(sm.id, None);
    assert_eq!(
        sm.unacked
            .iter()
            .chain(&snapshot.outbound)
            .filter(|q| q.xml.contains(">meanwhile<"))
            .count(),
        1
    );
    // Over a new connection (TCP, or a BOSH session that is gone) the stanza goes out again, once.
    let client = Client::restore(snapshot, Some("r0m30myr0m30".into()), s.now).unwrap();
    let mut r = Server::from_client(client, s.now);
    login_plain(&mut r, FEATURES_BIND_SM);
    answer_bind(&mut r);
    assert_eq!(count(&r.take(), ">meanwhile<"), 1);
}

#[test]
fn xep0198_an_h_too_high_or_backwards_acknowledges_nothing() {
    let mut s = Server::new(config());
    online_sm(&mut s);
    s.client.send_message(s.now, "romeo@example.net", "one");
    s.client.send_message(s.now, "romeo@example.net", "two");
    s.pump();
    s.feed("<a xmlns='urn:xmpp:sm:3' h='3'/>");
    assert_eq!(s.client.unacked(), 2);
    s.feed("<a xmlns='urn:xmpp:sm:3' h='1'/>");
    assert_eq!(s.client.unacked(), 1);
    s.feed("<a xmlns='urn:xmpp:sm:3' h='0'/>");
    assert_eq!(s.client.unacked(), 1);
    // h counts modulo 2^32 (XEP-0198 §4): wrapping is fine.
    s.feed("<a xmlns='urn:xmpp:sm:3' h='2'/>");
    assert_eq!(s.client.unacked(), 0);
}

#[test]
fn xep0198_h_wraps_at_2_pow_32() {
    let mut s = Server::new(config());
    online_sm(&mut s);
    for body in ["one", "two", "three"] {
        s.client.send_message(s.now, "romeo@example.net", body);
    }
    s.pump();
    let mut snapshot = s.client.snapshot();
    let sm = snapshot.stream_management.as_mut().unwrap();
    sm.acked = u32::MAX - 1;
    sm.inbound = u32::MAX;
    let client = Client::restore(snapshot, Some("r0m30myr0m30".into()), s.now).unwrap();
    let mut r = Server::from_client(client, s.now);
    // (2^32 − 2) + 3 = 1 (mod 2^32).
    r.feed("<a xmlns='urn:xmpp:sm:3' h='1'/>");
    assert_eq!(r.client.unacked(), 0);
    r.feed("<message xmlns='jabber:client' from='romeo@example.net'><body>x</body></message>");
    r.feed("<r xmlns='urn:xmpp:sm:3'/>");
    assert_eq!(r.take(), ["<a xmlns='urn:xmpp:sm:3' h='0'/>"]);
}

mod exactly_once {
    //! A property: whatever the interleaving of sends, acknowledgements and connection losses (each losing an
    //! arbitrary tail of what was in flight), the server ends up with every message exactly once, in order.

    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Send(u8),
        /// The network delivers this many of the in-flight stanzas.
        Deliver(u8),
        /// The server acknowledges what it has.
        Ack,
        /// The server asks for an acknowledgement.
        Request,
        /// The connection breaks after delivering this many in-flight stanzas; the rest is lost.
        Break(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (1u8..4).prop_map(Op::Send),
            3 => (0u8..6).prop_map(Op::Deliver),
            1 => Just(Op::Ack),
            1 => Just(Op::Request),
            1 => (0u8..4).prop_map(Op::Break),
        ]
    }

    struct Net {
        s: Server,
        /// Sent by the client, not yet received by the server.
        pipe: std::collections::VecDeque<String>,
        /// Message bodies the server received, in order.
        received: Vec<String>,
        /// The server's count of handled stanzas.
        h: u32,
    }

    impl Net {
        fn collect(&mut self) {
            self.s.pump();
            for x in self.s.take() {
                self.pipe.push_back(x);
            }
        }

        fn deliver(&mut self, n: usize) {
            for _ in 0..n {
                let Some(x) = self.pipe.pop_front() else {
                    return;
                };
                if x.starts_with("<message") {
                    let el = parse_document(x.as_bytes(), &Config::default()).unwrap();
                    self.received
                        .push(el.child("body", "").unwrap().text().into_owned());
                    self.h = self.h.wrapping_add(1);
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn every_message_arrives_exactly_once(ops in prop::collection::vec(op(), 1..40)) {
            let mut s = Server::new(config());
            online_sm(&mut s);
            let mut net = Net { s, pipe: Default::default(), received: Vec::new(), h: 0 };
            let mut sent = Vec::new();
            for op in ops {
                match op {
                    Op::Send(n) => {
                        for _ in 0..n {
                            let body = format!("m{}", sent.len());
                            net.s.client.send_message(net.s.now, "romeo@example.net", &body);
                            sent.push(body);
                        }
                    }
                    Op::Deliver(n) => net.deliver(n as usize),
                    Op::Ack => {
                        let h = net.h;
                        net.s.feed(&format!("<a xmlns='urn:xmpp:sm:3' h='{h}'/>"));
                    }
                    Op::Request => net.s.feed("<r xmlns='urn:xmpp:sm:3'/>"),
                    Op::Break(n) => {
                        net.collect();
                        net.deliver(n as usize);
                        net.pipe.clear();
                        net.s.disconnect();
                        login_plain(&mut net.s, FEATURES_BIND_SM);
                        let resume = net.s.take();
                        prop_assert!(resume.last().is_some_and(|x| x.starts_with("<resume")), "{resume:?}");
                        let h = net.h;
                        net.s.feed(&format!("<resumed xmlns='urn:xmpp:sm:3' h='{h}' previd='some-long-sm-id'/>"));
                    }
                }
                net.collect();
                net.s.events();
            }
            let rest = net.pipe.len();
            net.deliver(rest);
            prop_assert_eq!(net.received, sent);
        }
    }
}

#[test]
fn invalid_configurations_and_snapshots_are_errors() {
    let now = Instant::now();
    for jid in ["nodomain", "@example.com", "juliet@", "a@b@c"] {
        assert!(
            matches!(
                Client::new(ClientConfig::new(jid, "pw", [0; 32]), now),
                Err(zxmpp_client::Error::InvalidJid(_))
            ),
            "{jid}"
        );
    }
    let mut snapshot = zxmpp_state::ClientSnapshot::new(config().settings);
    snapshot.phase = zxmpp_state::Phase::Online;
    assert!(matches!(
        Client::restore(snapshot.clone(), None, now),
        Err(zxmpp_client::Error::Restore(_))
    ));
    snapshot.caps_cache.version = 99;
    snapshot.phase = zxmpp_state::Phase::Offline;
    assert!(matches!(
        Client::restore(snapshot, None, now),
        Err(zxmpp_client::Error::Caps(_))
    ));
}

#[test]
fn without_a_password_a_restored_client_does_not_log_in() {
    let now = Instant::now();
    let snapshot = zxmpp_state::ClientSnapshot::new(config().settings);
    let client = Client::restore(snapshot, None, now).unwrap();
    let mut s = Server::from_client(client, now);
    s.connect(true);
    s.feed(&features_sasl(&["PLAIN"]));
    assert!(
        matches!(&s.events()[..], [ClientEvent::AuthFailed { condition, .. }] if condition == "no-password")
    );
}

#[test]
fn ichat_legacy_caps_profile() {
    // The presence and disco answers a gateway gave iChat (docs: apple-formats research, the gateway's
    // `<c node='apple:ichat:caps' ver='448' ext='avavail avcap audio'/>` and its `#avavail`, `#audio`, `#avcap`
    // nodes).
    let mut s = Server::new(config().with_ichat_caps("448"));
    online(&mut s);
    s.client.set_ichat_ext(&["avavail", "avcap", "audio"]);
    s.client.send_presence(s.now, None, None);
    s.pump();
    assert_eq!(
        s.take(),
        [
            "<presence><c xmlns='http://jabber.org/protocol/caps' node='apple:ichat:caps' ver='448' ext='avavail avcap audio'/></presence>"
        ]
    );
    for (node, feature) in [
        ("apple:ichat:caps#avavail", "apple:iq:vc:available"),
        ("apple:ichat:caps#audio", "apple:iq:vc:audio"),
        ("apple:ichat:caps#avcap", "apple:iq:vc:capable"),
    ] {
        s.feed(&format!(
            "<iq xmlns='jabber:client' from='romeo@example.net/iChat' id='d' type='get'>\
             <query xmlns='http://jabber.org/protocol/disco#info' node='{node}'/></iq>"
        ));
        let answer = s.take();
        let iq = parse_document(answer[0].as_bytes(), &Config::default()).unwrap();
        let query = iq
            .child("query", "http://jabber.org/protocol/disco#info")
            .unwrap();
        assert_eq!(query.attr("node").as_deref(), Some(node));
        assert!(
            query
                .children()
                .any(|f| f.attr("var").as_deref() == Some(feature)),
            "{node}: {}",
            answer[0]
        );
    }
    // During a call iChat drops avavail.
    s.client.set_ichat_ext(&["avcap", "audio"]);
    s.client.send_presence(s.now, None, None);
    s.pump();
    assert!(s.take()[0].contains("ext='avcap audio'"));
    // The setting survives a snapshot.
    let snapshot = s.client.snapshot();
    assert_eq!(snapshot.settings.ichat_caps.as_deref(), Some("448"));
}

/// Found by `reload_storm`: a snapshot taken between `<enable/>` and `<enabled/>` restored as a new login, so
/// a client restored over a BOSH session that goes on (no `Connected`) waited forever. It now goes on with the
/// same stream: `<enabled/>` brings it online, and the stanzas sent before the snapshot (counted from the
/// `<enable/>`, XEP-0198 §4) wait for their acknowledgement.
#[test]
fn a_snapshot_while_enabling_sm_goes_on_with_the_same_stream() {
    let mut s = Server::new(config());
    login_plain(&mut s, FEATURES_BIND_SM);
    answer_bind(&mut s);
    s.events();
    s.take();
    s.client
        .send_message(s.now, "romeo@example.net", "meanwhile");
    s.pump();
    s.take();
    let snapshot = s.client.snapshot();
    let client = Client::restore(snapshot, Some("r0m30myr0m30".into()), s.now).unwrap();
    let mut r = Server::from_client(client, s.now);
    assert!(r.client.is_online());
    r.feed("<enabled xmlns='urn:xmpp:sm:3' id='sm-9' resume='true'/>");
    assert_eq!(
        r.events(),
        [ClientEvent::Online {
            jid: "juliet@im.example.com/balcony".into(),
            resumed: false
        }]
    );
    assert_eq!(r.client.resumption_id(), Some("sm-9"));
    // Nothing is sent again on the same stream.
    assert_eq!(count(&r.take(), ">meanwhile<"), 0);
    // Inbound stanzas count from the <enabled/> (XEP-0198 §4).
    r.feed(
        "<message xmlns='jabber:client' from='romeo@example.net' id='m1'><body>in</body></message>",
    );
    r.events();
    r.feed("<r xmlns='urn:xmpp:sm:3'/>");
    assert_eq!(r.take(), ["<a xmlns='urn:xmpp:sm:3' h='1'/>"]);
    // The message sent before the snapshot is still waiting for its acknowledgement.
    assert_eq!(r.client.unacked(), 1);
    r.feed("<a xmlns='urn:xmpp:sm:3' h='1'/>");
    assert_eq!(r.client.unacked(), 0);
}
