//! iChat AV signalling between two clients on a real, loopback Prosody (started by `scripts/prosody start`;
//! `scripts/test` runs these): the `zxmpp_client::ichat` glue driven in-process on the TCP driver, exactly as
//! the reference client (`examples/chat.rs --ichat`) wires it. A missing `ZXMPP_PROSODY_*` variable fails the
//! test, it does not skip it.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use zxmpp_client::drivers::{DriverError, PlainPolicy, TcpConfig, TcpDriver};
use zxmpp_client::ichat::{self, CallChange, Calls, OfferState, PeerAv, Signal};
use zxmpp_client::state::{ClientSnapshot, Encoding};
use zxmpp_client::{Client, ClientConfig, ClientEvent};

const IGNORE: &str = "needs scripts/prosody start (run by scripts/test)";
const STEP: Duration = Duration::from_secs(20);

/// The tests share the accounts (and each client's caps cache shares `node#ext` queries between resources of the
/// same peer): one at a time, so that a peer of another test that is going away never holds a query.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run eval \"$(scripts/prosody env)\" ({IGNORE})")
    })
}

fn domain() -> String {
    env("ZXMPP_PROSODY_DOMAIN")
}

fn entropy() -> [u8; 32] {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(7);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let seed = nanos ^ COUNTER.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = (seed.rotate_left(i as u32 * 7) >> (i % 8)) as u8 ^ i as u8;
    }
    out
}

fn tcp() -> TcpDriver {
    TcpDriver::new(
        TcpConfig::new(env("ZXMPP_PROSODY_C2S"), domain()).with_plain(PlainPolicy::Loopback),
    )
}

/// One iChat-speaking client: the core, its driver, its calls, and the iChat lines it showed.
struct Peer {
    client: Client,
    driver: TcpDriver,
    calls: Calls,
    events: Vec<ClientEvent>,
    shown: Vec<String>,
    changes: Vec<CallChange>,
}

impl Peer {
    fn new(user: &str, resource: &str) -> Self {
        let config = ClientConfig::new(
            format!("{user}@{}", domain()),
            env("ZXMPP_PROSODY_PASSWORD"),
            entropy(),
        )
        .with_resource(resource)
        .allow_insecure_auth(true)
        .with_ichat_caps("448");
        let mut client = Client::new(config, Instant::now()).expect("client");
        client.set_ichat_ext(&ichat::ext_bundles(false));
        Self::with(client, Calls::new())
    }

    fn with(client: Client, calls: Calls) -> Self {
        Peer {
            client,
            driver: tcp(),
            calls,
            events: Vec::new(),
            shown: Vec::new(),
            changes: Vec::new(),
        }
    }

    /// What a killed process leaves on disk: the client's snapshot and the calls (as the reference client saves them).
    fn saved(&self) -> (Vec<u8>, String) {
        let snapshot = self
            .client
            .snapshot()
            .encode(Encoding::Binary)
            .expect("encode");
        (snapshot, serde_json::to_string(&self.calls).expect("calls"))
    }

    fn restore(saved: &(Vec<u8>, String)) -> Self {
        let snapshot = ClientSnapshot::decode(&saved.0).expect("decode");
        let client = Client::restore(
            snapshot,
            Some(env("ZXMPP_PROSODY_PASSWORD")),
            Instant::now(),
        )
        .expect("restore");
        let calls = serde_json::from_str::<Calls>(&saved.1)
            .expect("calls")
            .validated()
            .expect("version");
        Self::with(client, calls)
    }

    /// The reference client's event handling for iChat (see `examples/chat.rs`).
    fn handle_events(&mut self) {
        let now = Instant::now();
        while let Some(event) = self.client.poll_event() {
            match &event {
                ClientEvent::Online { resumed: false, .. } => {
                    self.client.send_presence(now, None, None)
                }
                ClientEvent::Presence(p) if p.kind.as_deref() == Some("subscribe") => {
                    let from = p.from.clone().unwrap_or_default();
                    self.client
                        .send_raw(now, format!("<presence to='{from}' type='subscribed'/>"));
                }
                ClientEvent::Message(m) => {
                    if let Some(signal) = ichat::classify(&m.stanza) {
                        self.signal(now, m.from.clone().unwrap_or_default(), &signal);
                    }
                }
                ClientEvent::IqRequest(request) => match ichat::classify(&request.payload) {
                    Some(signal) => {
                        self.signal(now, request.from.clone().unwrap_or_default(), &signal);
                        self.client
                            .respond_iq(now, request, signal.iq_answer().map(|()| None));
                    }
                    None => self
                        .client
                        .respond_iq(now, request, Err("service-unavailable")),
                },
                _ => {}
            }
            self.events.push(event);
        }
    }

    fn signal(&mut self, now: Instant, from: String, signal: &Signal) {
        self.shown.extend(signal.describe());
        let was = self.calls.in_call();
        if let Some(change) = self.calls.handle_signal(&from, signal) {
            self.changes.push(change);
        }
        if was != self.calls.in_call() {
            self.client
                .set_ichat_ext(&ichat::ext_bundles(self.calls.in_call()));
            self.client.send_presence(now, None, None);
        }
    }

    async fn step(&mut self) -> Result<(), DriverError> {
        self.driver.wait(&mut self.client).await?;
        self.flush().await
    }

    async fn flush(&mut self) -> Result<(), DriverError> {
        self.handle_events();
        self.driver.stage(&mut self.client);
        self.driver.flush(&mut self.client).await
    }

    /// Runs the loop until `done` holds, failing after [`STEP`].
    async fn until(&mut self, what: &str, done: impl Fn(&Self) -> bool) {
        let deadline = tokio::time::Instant::now() + STEP;
        while !done(self) {
            match tokio::time::timeout_at(deadline, self.step()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => panic!(
                    "waiting for {what}: driver error {e}; shown {:#?}",
                    self.shown
                ),
                Err(_) => panic!(
                    "waiting for {what}: timed out; shown {:#?}; events {:#?}",
                    self.shown, self.events
                ),
            }
        }
    }

    async fn run_for(&mut self, time: Duration) {
        let _ = tokio::time::timeout(time, async { while self.step().await.is_ok() {} }).await;
    }

    async fn online(&mut self) -> String {
        self.until("online", |p| {
            p.events
                .iter()
                .any(|e| matches!(e, ClientEvent::Online { .. }))
        })
        .await;
        self.client.jid().expect("jid").to_owned()
    }

    fn peer_av(&self, jid: &str) -> Option<PeerAv> {
        let caps = self.events.iter().rev().find_map(|e| match e {
            ClientEvent::Presence(p) if p.from.as_deref() == Some(jid) => Some(p.caps.clone()),
            _ => None,
        })?;
        Some(PeerAv::of(self.client.caps_cache(), jid, caps.as_ref()))
    }

    async fn close(mut self) {
        self.client.close(Instant::now());
        let _ = self.flush().await;
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while self.step().await.is_ok() {}
        })
        .await;
    }
}

fn our_candidates() -> Vec<(String, SocketAddr)> {
    vec![
        ("en1".to_owned(), "192.0.2.10:16402".parse().unwrap()),
        (
            "external".to_owned(),
            "198.51.100.20:50123".parse().unwrap(),
        ),
    ]
}

/// Alice and Bob online, Alice subscribed to Bob's presence, Bob's iChat caps discovered by Alice.
async fn alice_discovers_bob(tag: &str) -> (Peer, Peer, String) {
    let mut bob = Peer::new("bob", &format!("ichat-b-{tag}"));
    let mut alice = Peer::new("alice", &format!("ichat-a-{tag}"));
    let bob_jid = bob.online().await;
    alice.online().await;
    alice.client.send_raw(
        Instant::now(),
        format!("<presence to='bob@{}' type='subscribe'/>", domain()),
    );
    alice.flush().await.expect("flush");
    // (An earlier run may have left the subscription in place: then there is no request to approve.)
    bob.flush().await.expect("flush");
    // Alice sees Bob's presence: an iChat peer that can take a call (from the legacy `ext` names).
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        let av = alice.peer_av(&bob_jid);
        if av.is_some_and(|a| a.ichat && a.can_call) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no iChat presence from bob: {av:?}; {:#?}",
            alice.events
        );
        let _ = tokio::time::timeout(Duration::from_millis(200), alice.step()).await;
        bob.run_for(Duration::from_millis(100)).await;
    }
    // Bob answers disco#info on `node#ver` and on `node#ext` for each bundle, as apple-formats §6 lists them.
    // (Asked directly: the caps cache shares a node's query between resources, and another resource of Bob
    // left hibernating by an earlier test would hold it until it times out.)
    for (node, feature) in [
        ("448", "apple:profile:bundle-transfer"),
        ("ice", "apple:iq:vc:ice"),
        ("recauth", "apple:iq:vc:recauth"),
        ("rdserver", "apple:iq:rd:server"),
        ("maudio", "apple:iq:vc:multiaudio"),
        ("audio", "apple:iq:vc:audio"),
        ("rdclient", "apple:iq:rd:client"),
        ("mvideo", "apple:iq:vc:multivideo"),
        ("auxvideo", "apple:iq:vc:auxvideo"),
        ("rdmuxing", "apple:iq:rd:muxing"),
        ("avcap", "apple:iq:vc:capable"),
        ("avavail", "apple:iq:vc:available"),
        ("video", "apple:iq:vc:video"),
    ] {
        let id = alice.client.send_iq(
            Instant::now(),
            Some(&bob_jid),
            false,
            &format!("<query xmlns='http://jabber.org/protocol/disco#info' node='apple:ichat:caps#{node}'/>"),
        );
        alice.flush().await.expect("flush");
        let deadline = tokio::time::Instant::now() + STEP;
        let payload = loop {
            let found = alice.events.iter().find_map(|e| match e {
                ClientEvent::IqResult { id: got, payload } if *got == id => {
                    Some(payload.clone().unwrap_or_default())
                }
                ClientEvent::IqError {
                    id: got, stanza, ..
                } if *got == id => panic!("disco#info {node}: {stanza}"),
                _ => None,
            });
            if let Some(p) = found {
                break p;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no disco#info answer for {node}"
            );
            let _ = tokio::time::timeout(Duration::from_millis(100), alice.step()).await;
            bob.run_for(Duration::from_millis(50)).await;
        };
        let info = zxmpp_caps::DiscoInfo::parse(payload.as_bytes()).expect("disco#info");
        assert!(info.has_feature(feature), "{node}: {payload}");
    }
    (alice, bob, bob_jid)
}

fn offered_candidates(bob: &Peer) -> Option<Vec<String>> {
    bob.changes.iter().find_map(|c| match c {
        CallChange::Offered(call) => {
            Some(call.candidates.iter().map(ToString::to_string).collect())
        }
        _ => None,
    })
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs scripts/prosody start (run by scripts/test)"]
async fn prosody_ichat_call_offer_and_cancel() {
    let _serial = SERIAL.lock().await;
    let (mut alice, mut bob, bob_jid) = alice_discovers_bob("call").await;
    let alice_jid = alice.client.jid().unwrap().to_owned();

    let offer = alice
        .calls
        .offer(&bob_jid, &alice_jid, &our_candidates(), 777)
        .expect("offer");
    alice.client.send_raw(Instant::now(), offer);
    alice.client.set_ichat_ext(&ichat::ext_bundles(true));
    alice.client.send_presence(Instant::now(), None, None);
    alice.flush().await.expect("flush");

    bob.until("the invitation", |p| offered_candidates(p).is_some())
        .await;
    assert_eq!(
        offered_candidates(&bob).unwrap(),
        ["en1 192.0.2.10:16402", "external 198.51.100.20:50123"]
    );
    assert!(
        bob.shown
            .contains(&"candidate external 198.51.100.20:50123".to_owned()),
        "{:?}",
        bob.shown
    );
    assert!(bob.calls.in_call());

    // Bob is in a call now: avavail leaves his caps, so Alice sees him busy.
    bob.flush().await.expect("flush");
    let deadline = tokio::time::Instant::now() + STEP;
    while alice.peer_av(&bob_jid).is_none_or(|a| a.can_call) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "bob never dropped avavail"
        );
        let _ = tokio::time::timeout(Duration::from_millis(200), alice.step()).await;
        bob.run_for(Duration::from_millis(50)).await;
    }

    let cancel = alice.calls.cancel(None).expect("cancel");
    alice.client.send_raw(Instant::now(), cancel);
    alice.flush().await.expect("flush");
    bob.until("the cancel", |p| {
        p.changes
            .iter()
            .any(|c| matches!(c, CallChange::Cancelled(_)))
    })
    .await;
    assert!(
        bob.shown
            .iter()
            .any(|l| l == "invitation cancelled session 777 from alice@localhost"),
        "{:?}",
        bob.shown
    );
    assert!(!bob.calls.in_call() && !alice.calls.in_call());
    alice.close().await;
    bob.close().await;
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs scripts/prosody start (run by scripts/test)"]
async fn prosody_ichat_call_survives_a_restart_of_the_callee() {
    let _serial = SERIAL.lock().await;
    let (mut alice, mut bob, bob_jid) = alice_discovers_bob("restart").await;
    let alice_jid = alice.client.jid().unwrap().to_owned();
    let offer = alice
        .calls
        .offer(&bob_jid, &alice_jid, &our_candidates(), 4242)
        .expect("offer");
    alice.client.send_raw(Instant::now(), offer);
    alice.flush().await.expect("flush");
    bob.until("the invitation", |p| offered_candidates(p).is_some())
        .await;
    bob.flush().await.expect("flush");

    // Bob's process dies (no close): only what it saved survives.
    let saved = bob.saved();
    drop(bob);
    let cancel = alice.calls.cancel(None).expect("cancel");
    alice.client.send_raw(Instant::now(), cancel);
    alice.flush().await.expect("flush");
    alice.run_for(Duration::from_millis(300)).await;

    let mut bob = Peer::restore(&saved);
    assert_eq!(
        bob.calls.calls().len(),
        1,
        "the call in progress was restored"
    );
    assert_eq!(bob.calls.calls()[0].session_id, Some(4242));
    bob.until("the cancel after the restart", |p| {
        p.changes
            .iter()
            .any(|c| matches!(c, CallChange::Cancelled(call) if call.session_id == Some(4242)))
    })
    .await;
    assert!(
        bob.events
            .iter()
            .any(|e| matches!(e, ClientEvent::Online { resumed: true, .. })),
        "{:#?}",
        bob.events
    );
    assert!(!bob.calls.in_call());
    alice.close().await;
    bob.close().await;
}

/// Reads from a raw stream until `needle` shows up in what was read since the last call.
async fn read_until(stream: &mut tokio::net::TcpStream, needle: &str) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + STEP;
    while !String::from_utf8_lossy(&got).contains(needle) {
        let n = tokio::time::timeout_at(deadline, stream.read(&mut buf))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "raw sender: no {needle:?} in {:?}",
                    String::from_utf8_lossy(&got)
                )
            })
            .expect("read");
        assert!(n > 0, "raw sender: closed while waiting for {needle:?}");
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs scripts/prosody start (run by scripts/test)"]
async fn prosody_ichat_seed_invitation_from_a_raw_tcp_sender() {
    let _serial = SERIAL.lock().await;
    use base64::Engine as _;
    let mut bob = Peer::new("bob", "ichat-seed");
    let bob_jid = bob.online().await;
    bob.flush().await.expect("flush");

    // Carol is a plain XMPP client written by hand: no zxmpp code on the sending side.
    let domain = domain();
    let open = format!(
        "<?xml version='1.0'?><stream:stream to='{domain}' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
    );
    let mut raw = tokio::net::TcpStream::connect(env("ZXMPP_PROSODY_C2S"))
        .await
        .expect("connect");
    raw.write_all(open.as_bytes()).await.unwrap();
    read_until(&mut raw, "</stream:features>").await;
    let auth = base64::engine::general_purpose::STANDARD
        .encode(format!("\0carol\0{}", env("ZXMPP_PROSODY_PASSWORD")));
    raw.write_all(
        format!("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{auth}</auth>")
            .as_bytes(),
    )
    .await
    .unwrap();
    read_until(&mut raw, "<success").await;
    raw.write_all(open.as_bytes()).await.unwrap();
    read_until(&mut raw, "</stream:features>").await;
    raw.write_all(
        b"<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>raw</resource></bind></iq>",
    )
    .await
    .unwrap();
    read_until(&mut raw, "</iq>").await;
    let hex = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/ichat/invite-seed.hex"
    ))
    .expect("seed");
    // As the blog showed it: an element with text 0, then the hex after a line feed (element names unknown).
    let message = format!(
        "<message to='{bob_jid}' type='chat' id='seed1'><x xmlns='urn:example:ichat'><a>0</a><b>\n{}</b></x></message>",
        hex.trim()
    );
    raw.write_all(message.as_bytes()).await.unwrap();
    // A malformed one too (cut plist): shown as such, no crash.
    raw.write_all(
        format!("<message to='{bob_jid}' type='chat' id='seed2'><x xmlns='urn:example:ichat'><b>62706c6973743030d50102</b></x></message>")
            .as_bytes(),
    )
    .await
    .unwrap();

    bob.until("the seed invitation", |p| offered_candidates(p).is_some())
        .await;
    assert_eq!(
        offered_candidates(&bob).unwrap(),
        ["en1 192.168.1.132:16402", "external 93.139.37.211:49958"]
    );
    bob.until("the malformed payload", |p| {
        p.shown
            .iter()
            .any(|l| l.starts_with("malformed iChat payload"))
    })
    .await;
    let inv = bob
        .calls
        .calls()
        .first()
        .map(|c| c.session_id)
        .expect("recorded");
    assert_eq!(inv, Some(473_648_504));
    assert!(matches!(
        ichat::classify(&format!("<m><b>{}</b></m>", hex.trim())),
        Some(Signal::Invitation(i)) if i.state == OfferState::Offer
    ));
    raw.write_all(b"</stream:stream>").await.unwrap();
    bob.close().await;
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs scripts/prosody start (run by scripts/test)"]
async fn prosody_ichat_gw_queries_from_a_raw_tcp_sender_are_shown_and_answered() {
    let _serial = SERIAL.lock().await;
    use base64::Engine as _;
    let mut bob = Peer::new("bob", "ichat-gw");
    let bob_jid = bob.online().await;
    bob.flush().await.expect("flush");

    let domain = domain();
    let open = format!(
        "<?xml version='1.0'?><stream:stream to='{domain}' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
    );
    let mut raw = tokio::net::TcpStream::connect(env("ZXMPP_PROSODY_C2S"))
        .await
        .expect("connect");
    raw.write_all(open.as_bytes()).await.unwrap();
    read_until(&mut raw, "</stream:features>").await;
    let auth = base64::engine::general_purpose::STANDARD
        .encode(format!("\0carol\0{}", env("ZXMPP_PROSODY_PASSWORD")));
    raw.write_all(
        format!("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{auth}</auth>")
            .as_bytes(),
    )
    .await
    .unwrap();
    read_until(&mut raw, "<success").await;
    raw.write_all(open.as_bytes()).await.unwrap();
    read_until(&mut raw, "</stream:features>").await;
    raw.write_all(
        b"<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>gw</resource></bind></iq>",
    )
    .await
    .unwrap();
    read_until(&mut raw, "</iq>").await;

    // The reSIProcate ichat-gw examples, their <query/> sent as written, each in its own iq.
    let files = [
        "ichat-gw-request.xml",
        "ichat-gw-response-accept.xml",
        "ichat-gw-response-decline.xml",
        "ichat-gw-counterproposal.xml",
        "ichat-gw-cancel.xml",
    ];
    for (i, file) in files.iter().enumerate() {
        let xml = std::fs::read_to_string(format!(
            "{}/tests/data/ichat/{file}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("example");
        let start = xml.find("<query").expect("query");
        let end = xml.rfind("</query>").expect("query end") + "</query>".len();
        let iq = format!(
            "<iq type='set' id='gw{i}' to='{bob_jid}'>{}</iq>",
            &xml[start..end]
        );
        raw.write_all(iq.as_bytes()).await.unwrap();
    }
    // And two iChat would not send: an unknown operation and a malformed response.
    raw.write_all(
        format!(
            "<iq type='set' id='gwx' to='{bob_jid}'><query xmlns='apple:iq:vc:frobnicate'/></iq>\
             <iq type='set' id='gwy' to='{bob_jid}'><query xmlns='apple:iq:vc:response'><response>zero</response></query></iq>"
        )
        .as_bytes(),
    )
    .await
    .unwrap();

    bob.until("the five queries and the two bad ones", |p| {
        p.shown.len() >= 9 && p.shown.iter().any(|l| l.starts_with("malformed"))
    })
    .await;
    for _ in 0..5 {
        bob.run_for(Duration::from_millis(50)).await;
    }
    let shown = bob.shown.clone();
    for line in [
        "vc request (audio only) external 127.0.0.1:0",
        "address en0 10.0.1.5:16402",
        "vc response Accept",
        "vc response Decline",
        "vc counterProposal",
        "vc cancel",
        "unknown iChat query apple:iq:vc:frobnicate",
    ] {
        assert!(
            shown.iter().any(|l| l == line),
            "{line:?} not in {shown:#?}"
        );
    }
    // Carol gets a result for each example and an error (which iChat would ignore) for the others.
    let got = read_until(&mut raw, "id='gwy'").await;
    let got = if got.contains("id='gwx'") {
        got
    } else {
        got + &read_until(&mut raw, "id='gwx'").await
    };
    for i in 0..files.len() {
        assert!(
            got.contains(&format!("id='gw{i}'")),
            "no answer to gw{i}: {got}"
        );
    }
    let answer = |id: &str| {
        let at = got.find(&format!("id='{id}'")).unwrap();
        let start = got[..at].rfind("<iq").unwrap();
        got[start..]
            .split("</iq>")
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    for i in 0..files.len() {
        assert!(answer(&format!("gw{i}")).contains("type='result'"), "{got}");
    }
    assert!(
        answer("gwx").contains("type='error'") && answer("gwx").contains("service-unavailable"),
        "{got}"
    );
    assert!(
        answer("gwy").contains("type='error'") && answer("gwy").contains("bad-request"),
        "{got}"
    );
    raw.write_all(b"</stream:stream>").await.unwrap();
    bob.close().await;
}
