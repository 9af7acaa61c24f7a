//! The per-session state machine against a scripted upstream server, no sockets: STARTTLS (RFC 6120 §5.4),
//! XEP-0206 restarts, failures and their BOSH conditions (XEP-0124 §17, XEP-0206 §6).

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use zxmpp_bosh::{CmConfig, HttpId};
use zxmpp_cm::{Action, Bridge, Config, Policy, StreamId, Upstream, Via};
use zxmpp_xml::{Config as XmlConfig, Status, StreamReader};

const NS: &str = "http://jabber.org/protocol/httpbind";
const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' from='example.org' id='s1' version='1.0'>";
const FEATURES_TLS: &str = "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>";
const FEATURES_SASL: &str = "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>";
const FEATURES_BIND: &str =
    "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>";

/// The upstream server's side of the wire, read by a StreamReader as the driver does.
struct Server {
    reader: StreamReader,
    buf: Vec<u8>,
}

impl Server {
    fn new() -> Self {
        Self {
            reader: StreamReader::new(XmlConfig::default()),
            buf: Vec::new(),
        }
    }

    fn send(&mut self, bridge: &mut Bridge, now: Instant, bytes: &str) {
        self.send_on(bridge, now, StreamId::FIRST, bytes);
    }

    fn send_on(&mut self, bridge: &mut Bridge, now: Instant, id: StreamId, bytes: &str) {
        self.buf.extend_from_slice(bytes.as_bytes());
        while let Ok(Status::Complete(event)) = self.reader.next(&self.buf) {
            bridge.handle_upstream(now, id, &event);
        }
        let done = self.reader.discard();
        self.buf.drain(..done);
    }
}

fn policy() -> Arc<Policy> {
    let mut config = Config::default();
    config.upstreams.push(Upstream::new("example.org"));
    config.upstreams.push(Upstream::new("other.org"));
    Arc::new(Policy::new(&config))
}

/// The actions of the first stream (the others must have none).
fn actions(bridge: &mut Bridge) -> Vec<Action> {
    let all = tagged(bridge);
    assert!(all.iter().all(|(id, _)| *id == StreamId::FIRST), "{all:?}");
    all.into_iter().map(|(_, a)| a).collect()
}

fn tagged(bridge: &mut Bridge) -> Vec<(StreamId, Action)> {
    std::iter::from_fn(|| bridge.poll_action()).collect()
}

fn responses(bridge: &mut Bridge) -> Vec<String> {
    std::iter::from_fn(|| bridge.poll_transmit())
        .map(|t| String::from_utf8(t.body.to_vec()).unwrap())
        .collect()
}

fn create(now: Instant) -> Bridge {
    let request = format!(
        "<body xmlns='{NS}' xmlns:xmpp='urn:xmpp:xbosh' rid='100' to='example.org' wait='30' hold='1' xmpp:version='1.0' ver='1.11'/>"
    );
    Bridge::accept(
        now,
        CmConfig::default(),
        "sid1".into(),
        [1; 32],
        HttpId(1),
        request.as_bytes(),
        policy(),
        4,
    )
    .unwrap()
}

fn request(bridge: &mut Bridge, now: Instant, http: u64, rid: u64, attrs: &str, payload: &str) {
    let body = format!(
        "<body xmlns='{NS}' xmlns:xmpp='urn:xmpp:xbosh' rid='{rid}' sid='sid1' {attrs}>{payload}</body>"
    );
    bridge.handle_request(now, HttpId(http), body.as_bytes());
}

fn written(actions: &[Action]) -> String {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Write(b) | Action::OpenStream(b) => {
                Some(String::from_utf8(b.to_vec()).unwrap())
            }
            _ => None,
        })
        .collect()
}

/// The whole path: connect, STARTTLS, SASL features to the client, auth upstream, restart, new features.
#[test]
fn starttls_then_sasl_then_restart() {
    let now = Instant::now();
    let mut b = create(now);
    // The creation response is ready at once; the first action is a connection to example.org:5222
    // (RFC 6120 §3.2.2 fallback: no SRV record).
    assert_eq!(responses(&mut b).len(), 1);
    let a = actions(&mut b);
    let [Action::Connect(target)] = a.as_slice() else {
        panic!("{a:?}")
    };
    assert_eq!(target.domain, "example.org");
    assert_eq!(target.via, Via::Dns);

    // The client polls while the upstream negotiates: the request is held.
    request(&mut b, now, 2, 101, "", "");
    b.handle_connected(now, StreamId::FIRST, false);
    let a = actions(&mut b);
    assert!(matches!(a.as_slice(), [Action::OpenStream(_)]), "{a:?}");
    assert!(written(&a).contains("to='example.org'"), "{a:?}");

    let mut server = Server::new();
    server.send(&mut b, now, HEADER);
    server.send(&mut b, now, FEATURES_TLS);
    let a = actions(&mut b);
    assert_eq!(
        written(&a),
        "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
    );
    // Nothing of the pre-TLS stream reaches the client.
    assert!(responses(&mut b).iter().all(|r| !r.contains("starttls")));

    server.send(
        &mut b,
        now,
        "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
    );
    let a = actions(&mut b);
    assert_eq!(
        a,
        vec![Action::StartTls {
            server_name: "example.org".into()
        }]
    );
    b.handle_tls_established(now, StreamId::FIRST);
    let a = actions(&mut b);
    assert!(matches!(a.as_slice(), [Action::OpenStream(_)]), "{a:?}");

    let mut server = Server::new();
    server.send(&mut b, now, HEADER);
    server.send(&mut b, now, FEATURES_SASL);
    // XEP-0206 §4: the stream attributes (XEP-0124 §7.2) and the stream's features answer the held poll
    // together, in one response.
    let r = responses(&mut b);
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(r[0].contains("authid='s1'"), "{r:?}");
    assert!(r[0].contains("<mechanism>PLAIN</mechanism>"), "{r:?}");
    assert!(
        r[0].contains("xmlns:stream='http://etherx.jabber.org/streams'"),
        "{r:?}"
    );
    request(&mut b, now, 20, 102, "", "");

    request(
        &mut b,
        now,
        3,
        103,
        "",
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGEAYg==</auth>",
    );
    let a = actions(&mut b);
    assert_eq!(
        written(&a),
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGEAYg==</auth>"
    );
    server.send(
        &mut b,
        now,
        "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>",
    );
    assert!(responses(&mut b).concat().contains("<success"));

    // XEP-0206 §5: the client's restart becomes a new stream header upstream.
    request(
        &mut b,
        now,
        4,
        104,
        "xmpp:restart='true' to='example.org'",
        "",
    );
    let a = actions(&mut b);
    assert!(matches!(a.as_slice(), [Action::OpenStream(_)]), "{a:?}");
    let mut server = Server::new();
    server.send(&mut b, now, HEADER);
    server.send(&mut b, now, FEATURES_BIND);
    // XEP-0206 §5 (its example, and Prosody's mod_bosh): the restart request itself is answered with the new
    // stream's features, in one response. Strophe.js does not poll again before it has them.
    let transmits: Vec<_> = std::iter::from_fn(|| b.poll_transmit()).collect();
    assert_eq!(transmits.len(), 1, "{transmits:?}");
    assert_eq!(transmits[0].http, HttpId(4));
    let r = String::from_utf8(transmits[0].body.to_vec()).unwrap();
    assert!(r.contains("urn:ietf:params:xml:ns:xmpp-bind"), "{r}");
    assert!(!r.contains("authid="), "{r}");

    // Terminate: the upstream stream is closed.
    request(&mut b, now, 5, 105, "type='terminate'", "");
    let a = actions(&mut b);
    assert_eq!(written(&a), "</stream:stream>");
    assert_eq!(a.last(), Some(&Action::Close));
    assert!(responses(&mut b).concat().contains("type='terminate'"));
}

#[test]
fn no_starttls_and_plain_not_allowed_is_remote_connection_failed() {
    let now = Instant::now();
    let mut b = create(now);
    let _ = (responses(&mut b), actions(&mut b));
    request(&mut b, now, 2, 101, "", "");
    b.handle_connected(now, StreamId::FIRST, false);
    let mut server = Server::new();
    server.send(&mut b, now, HEADER);
    server.send(&mut b, now, FEATURES_SASL);
    let r = responses(&mut b).concat();
    assert!(r.contains("condition='remote-connection-failed'"), "{r}");
    assert!(!r.contains("mechanism"), "{r}");
}

#[test]
fn plain_allowed_forwards_features() {
    let now = Instant::now();
    let mut b = create(now);
    let _ = (responses(&mut b), actions(&mut b));
    request(&mut b, now, 2, 101, "", "");
    b.handle_connected(now, StreamId::FIRST, true);
    let mut server = Server::new();
    server.send(&mut b, now, HEADER);
    server.send(&mut b, now, FEATURES_SASL);
    let mut r = responses(&mut b).concat();
    request(&mut b, now, 3, 102, "", "");
    r.push_str(&responses(&mut b).concat());
    assert!(r.contains("<mechanism>PLAIN</mechanism>"), "{r}");
}

#[test]
fn client_payloads_wait_for_the_upstream_stream() {
    let now = Instant::now();
    let mut b = create(now);
    let _ = (responses(&mut b), actions(&mut b));
    request(&mut b, now, 2, 101, "", "<presence xmlns='jabber:client'/>");
    assert!(actions(&mut b).is_empty());
    b.handle_connected(now, StreamId::FIRST, true);
    let _ = actions(&mut b);
    let mut server = Server::new();
    server.send(&mut b, now, HEADER);
    server.send(&mut b, now, FEATURES_SASL);
    assert_eq!(
        written(&actions(&mut b)),
        "<presence xmlns='jabber:client'/>"
    );
}

/// XEP-0206 §6: a stream error ends the session with `remote-stream-error` and carries the error.
#[test]
fn stream_error_is_remote_stream_error_with_payload() {
    let now = Instant::now();
    let mut b = create(now);
    let _ = (responses(&mut b), actions(&mut b));
    request(&mut b, now, 2, 101, "", "");
    b.handle_connected(now, StreamId::FIRST, true);
    let mut server = Server::new();
    server.send(&mut b, now, HEADER);
    server.send(
        &mut b,
        now,
        "<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>",
    );
    let r = responses(&mut b).concat();
    assert!(r.contains("condition='remote-stream-error'"), "{r}");
    assert!(r.contains("<host-unknown"), "{r}");
    assert!(actions(&mut b).contains(&Action::Close));
}

#[test]
fn connect_failure_and_lost_upstream() {
    let now = Instant::now();
    let mut b = create(now);
    let _ = (responses(&mut b), actions(&mut b));
    request(&mut b, now, 2, 101, "", "");
    b.handle_connect_failed(now, StreamId::FIRST);
    assert!(
        responses(&mut b)
            .concat()
            .contains("condition='remote-connection-failed'")
    );

    let mut b = create(now);
    let _ = (responses(&mut b), actions(&mut b));
    request(&mut b, now, 2, 101, "", "");
    b.handle_connected(now, StreamId::FIRST, true);
    b.handle_upstream_lost(now, StreamId::FIRST);
    assert!(
        responses(&mut b)
            .concat()
            .contains("condition='remote-connection-failed'")
    );
}

#[test]
fn shutdown_is_system_shutdown() {
    let now = Instant::now();
    let mut b = create(now);
    let _ = (responses(&mut b), actions(&mut b));
    request(&mut b, now, 2, 101, "", "");
    b.shutdown(now);
    assert!(
        responses(&mut b)
            .concat()
            .contains("condition='system-shutdown'")
    );
}

#[test]
fn refused_destination_creates_no_session() {
    let now = Instant::now();
    for (attrs, condition) in [
        ("to='elsewhere.org'", zxmpp_bosh::Condition::HostUnknown),
        (
            "to='example.org' route='xmpp:10.0.0.1:5222'",
            zxmpp_bosh::Condition::ImproperAddressing,
        ),
    ] {
        let request = format!("<body xmlns='{NS}' rid='100' {attrs} wait='30' hold='1'/>");
        let e = Bridge::accept(
            now,
            CmConfig::default(),
            "s".into(),
            [0; 32],
            HttpId(1),
            request.as_bytes(),
            policy(),
            4,
        )
        .unwrap_err();
        assert!(
            matches!(e, zxmpp_bosh::Error::Refused(ref c) if *c == condition),
            "{e:?}"
        );
    }
    let _ = Bytes::new();
}

// XEP-0124 §16 multiple streams: each stream its own upstream connection.

fn stream_of(response: &str) -> Option<String> {
    zxmpp_bosh::Body::parse(response.as_bytes(), &zxmpp_bosh::Limits::default())
        .unwrap()
        .body
        .stream
}

fn writes_on(actions: &[(StreamId, Action)], id: StreamId) -> String {
    let mine: Vec<Action> = actions
        .iter()
        .filter(|(i, _)| *i == id)
        .map(|(_, a)| a.clone())
        .collect();
    written(&mine)
}

/// A session whose first stream is open (plain, SASL features forwarded), plus a second stream to other.org,
/// also open. Returns the bridge, the two stream names and the next rid.
fn two_streams(now: Instant, max_streams: usize) -> (Bridge, String, String, u64) {
    let creation = format!(
        "<body xmlns='{NS}' xmlns:xmpp='urn:xmpp:xbosh' rid='100' to='example.org' wait='30' hold='1' xmpp:version='1.0' ver='1.11'/>"
    );
    let mut b = Bridge::accept(
        now,
        CmConfig::default(),
        "sid1".into(),
        [1; 32],
        HttpId(1),
        creation.as_bytes(),
        policy(),
        max_streams,
    )
    .unwrap();
    let first =
        stream_of(&responses(&mut b)[0]).expect("the creation response names the first stream");
    let _ = actions(&mut b);
    b.handle_connected(now, StreamId::FIRST, true);
    let mut server = Server::new();
    server.send(&mut b, now, HEADER);
    server.send(&mut b, now, FEATURES_SASL);
    let _ = actions(&mut b);
    request(&mut b, now, 2, 101, "", "");
    let _ = responses(&mut b);
    // XEP-0124 §16.2: a request with `to` adds a stream; the answer names it.
    request(&mut b, now, 3, 102, "to='other.org' xml:lang='de'", "");
    let r = responses(&mut b);
    let second = stream_of(r.last().unwrap()).unwrap();
    assert_ne!(first, second);
    let a = tagged(&mut b);
    let [(id, Action::Connect(target))] = a.as_slice() else {
        panic!("{a:?}")
    };
    assert_eq!(*id, StreamId(1));
    assert_eq!(target.domain, "other.org");
    b.handle_connected(now, StreamId(1), true);
    let a = tagged(&mut b);
    let header = writes_on(&a, StreamId(1));
    assert!(
        header.contains("to='other.org'") && header.contains("xml:lang='de'"),
        "{header}"
    );
    assert_eq!(writes_on(&a, StreamId::FIRST), "");
    let mut server2 = Server::new();
    server2.send_on(
        &mut b,
        now,
        StreamId(1),
        &HEADER.replace("id='s1'", "id='s2'"),
    );
    server2.send_on(&mut b, now, StreamId(1), FEATURES_SASL);
    // The second stream's attributes and features reach the client tagged with its name.
    let mut got = Vec::new();
    for rid in 103..106 {
        request(&mut b, now, 10 + rid, rid, "", "");
        got.extend(responses(&mut b));
        if got.iter().any(|r| r.contains("<mechanism>")) {
            return (b, first, second, rid + 1);
        }
        let _ = tagged(&mut b);
        let authid = got.iter().find(|r| r.contains("authid='s2'"));
        if let Some(r) = authid {
            assert_eq!(stream_of(r).as_deref(), Some(second.as_str()), "{r}");
        }
    }
    panic!("no features for the second stream: {got:?}");
}

#[test]
fn xep0124_16_each_stream_has_its_own_upstream() {
    let now = Instant::now();
    let (mut b, first, second, rid) = two_streams(now, 4);
    let _ = tagged(&mut b);
    // A payload for the second stream goes to its upstream only.
    request(
        &mut b,
        now,
        50,
        rid,
        &format!("stream='{second}'"),
        "<presence xmlns='jabber:client'/>",
    );
    let a = tagged(&mut b);
    assert_eq!(
        writes_on(&a, StreamId(1)),
        "<presence xmlns='jabber:client'/>"
    );
    assert_eq!(writes_on(&a, StreamId::FIRST), "");
    // No stream named while two are open: to both (XEP-0124 §16.4).
    request(
        &mut b,
        now,
        51,
        rid + 1,
        "",
        "<presence xmlns='jabber:client' type='away'/>",
    );
    let a = tagged(&mut b);
    assert!(writes_on(&a, StreamId(1)).contains("away"), "{a:?}");
    assert!(writes_on(&a, StreamId::FIRST).contains("away"), "{a:?}");
    let _ = responses(&mut b);
    // Upstream output is tagged with its stream.
    let mut s1 = Server::new();
    s1.send_on(&mut b, now, StreamId::FIRST, HEADER);
    let mut server2 = Server::new();
    server2.send_on(
        &mut b,
        now,
        StreamId(1),
        &HEADER.replace("id='s1'", "id='s2'"),
    );
    server2.send_on(
        &mut b,
        now,
        StreamId(1),
        "<message xmlns='jabber:client' id='m2'/>",
    );
    request(&mut b, now, 52, rid + 2, "", "");
    let r = responses(&mut b).concat();
    let tagged_m2 = r
        .split("</body>")
        .find(|part| part.contains("id='m2'"))
        .unwrap();
    assert_eq!(
        stream_of(&format!("{tagged_m2}</body>")),
        Some(second.clone())
    );
    // XEP-0206 §5 restart of the second stream only.
    request(
        &mut b,
        now,
        53,
        rid + 3,
        &format!("stream='{second}' xmpp:restart='true'"),
        "",
    );
    let a = tagged(&mut b);
    assert!(
        matches!(a.as_slice(), [(StreamId(1), Action::OpenStream(_))]),
        "{a:?}"
    );
    // XEP-0124 §16.5: the client closes the second stream; the first goes on.
    let _ = responses(&mut b);
    request(
        &mut b,
        now,
        54,
        rid + 4,
        &format!("stream='{second}' type='terminate'"),
        "",
    );
    let a = tagged(&mut b);
    assert_eq!(writes_on(&a, StreamId(1)), "</stream:stream>");
    assert_eq!(a.last(), Some(&(StreamId(1), Action::Close)));
    assert!(b.termination().is_none());
    assert_eq!(b.streams().collect::<Vec<_>>(), [StreamId::FIRST]);
    request(
        &mut b,
        now,
        55,
        rid + 5,
        &format!("stream='{first}'"),
        "<iq xmlns='jabber:client' id='x'/>",
    );
    assert_eq!(
        writes_on(&tagged(&mut b), StreamId::FIRST),
        "<iq xmlns='jabber:client' id='x'/>"
    );
}

/// XEP-0124 §16.6: one upstream failing among several ends only its stream, with a terminate body naming it.
#[test]
fn xep0124_16_6_one_upstream_lost_closes_only_its_stream() {
    let now = Instant::now();
    let (mut b, _first, second, rid) = two_streams(now, 4);
    let _ = (tagged(&mut b), responses(&mut b));
    request(&mut b, now, 60, rid, "", "");
    b.handle_upstream_lost(now, StreamId(1));
    let r = responses(&mut b).concat();
    assert!(r.contains("condition='remote-connection-failed'"), "{r}");
    assert_eq!(stream_of(&r), Some(second));
    assert!(b.termination().is_none());
    let a = tagged(&mut b);
    assert!(a.iter().all(|(id, _)| *id == StreamId(1)), "{a:?}");
    assert_eq!(b.streams().collect::<Vec<_>>(), [StreamId::FIRST]);
    // The session goes on over the first stream.
    request(
        &mut b,
        now,
        61,
        rid + 1,
        "",
        "<iq xmlns='jabber:client' id='y'/>",
    );
    assert_eq!(
        writes_on(&tagged(&mut b), StreamId::FIRST),
        "<iq xmlns='jabber:client' id='y'/>"
    );
}

/// Added streams go through the same policy, and their number is bounded.
#[test]
fn added_streams_are_checked_and_bounded() {
    let now = Instant::now();
    let (mut b, _first, _second, rid) = two_streams(now, 2);
    let _ = (tagged(&mut b), responses(&mut b));
    // Past max_streams: that stream is refused with policy-violation; no connection.
    request(&mut b, now, 70, rid, "to='other.org'", "");
    let r = responses(&mut b).concat();
    request(&mut b, now, 71, rid + 1, "", "");
    let r = r + &responses(&mut b).concat();
    assert!(r.contains("condition='policy-violation'"), "{r}");
    assert!(
        tagged(&mut b)
            .iter()
            .all(|(_, a)| !matches!(a, Action::Connect(_)))
    );
    assert!(b.termination().is_none());
    // Closing one makes room; a domain not allowed is host-unknown for that stream only.
    let (mut b, _first, _second, rid) = two_streams(now, 4);
    let _ = (tagged(&mut b), responses(&mut b));
    request(&mut b, now, 72, rid, "to='elsewhere.org'", "");
    let r = responses(&mut b).concat();
    request(&mut b, now, 73, rid + 1, "", "");
    let r = r + &responses(&mut b).concat();
    assert!(r.contains("condition='host-unknown'"), "{r}");
    assert!(b.termination().is_none());
}
