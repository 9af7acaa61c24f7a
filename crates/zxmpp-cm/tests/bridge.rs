//! The per-session state machine against a scripted upstream server, no sockets: STARTTLS (RFC 6120 §5.4),
//! XEP-0206 restarts, failures and their BOSH conditions (XEP-0124 §17, XEP-0206 §6).

use std::time::Instant;

use bytes::Bytes;
use zxmpp_bosh::{CmConfig, HttpId};
use zxmpp_cm::{Action, Bridge, Config, Policy, Upstream, Via};
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
        self.buf.extend_from_slice(bytes.as_bytes());
        while let Ok(Status::Complete(event)) = self.reader.next(&self.buf) {
            bridge.handle_upstream(now, &event);
        }
        let done = self.reader.discard();
        self.buf.drain(..done);
    }
}

fn policy() -> Policy {
    let mut config = Config::default();
    config.upstreams.push(Upstream::new("example.org"));
    Policy::new(&config)
}

fn actions(bridge: &mut Bridge) -> Vec<Action> {
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
        &policy(),
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
    b.handle_connected(now, false);
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
    b.handle_tls_established(now);
    let a = actions(&mut b);
    assert!(matches!(a.as_slice(), [Action::OpenStream(_)]), "{a:?}");

    let mut server = Server::new();
    server.send(&mut b, now, HEADER);
    server.send(&mut b, now, FEATURES_SASL);
    // The stream attributes (XEP-0124 §7.2) answer the held poll; the features go with the next request.
    let r = responses(&mut b).concat();
    assert!(r.contains("authid='s1'"), "{r}");
    request(&mut b, now, 20, 102, "", "");
    let r = responses(&mut b).concat();
    assert!(r.contains("<mechanism>PLAIN</mechanism>"), "{r}");
    assert!(
        r.contains("xmlns:stream='http://etherx.jabber.org/streams'"),
        "{r}"
    );

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
    let mut r = responses(&mut b).concat();
    request(&mut b, now, 40, 105, "", "");
    r.push_str(&responses(&mut b).concat());
    assert!(r.contains("urn:ietf:params:xml:ns:xmpp-bind"), "{r}");

    // Terminate: the upstream stream is closed.
    request(&mut b, now, 5, 106, "type='terminate'", "");
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
    b.handle_connected(now, false);
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
    b.handle_connected(now, true);
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
    b.handle_connected(now, true);
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
    b.handle_connected(now, true);
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
    b.handle_connect_failed(now);
    assert!(
        responses(&mut b)
            .concat()
            .contains("condition='remote-connection-failed'")
    );

    let mut b = create(now);
    let _ = (responses(&mut b), actions(&mut b));
    request(&mut b, now, 2, 101, "", "");
    b.handle_connected(now, true);
    b.handle_upstream_lost(now);
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
            &policy(),
        )
        .unwrap_err();
        assert!(
            matches!(e, zxmpp_bosh::Error::Refused(ref c) if *c == condition),
            "{e:?}"
        );
    }
    let _ = Bytes::new();
}
