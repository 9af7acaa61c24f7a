//! XEP-0124 §16 multiple streams through the running manager against the test Prosody: one BOSH session, two
//! streams, each its own c2s connection, logged in as alice and bob, who message each other; then one stream
//! is closed and the session goes on.

mod common;

use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{Cm, Session, attr, env};
use zxmpp_cm::{Config, Upstream};

/// Polls (naming `stream` when given) until a response holds `needle`; returns that response.
fn until(s: &mut Session, stream: Option<&str>, needle: &str) -> String {
    let attrs = stream.map(|n| format!("stream='{n}'")).unwrap_or_default();
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(found) = s
            .inbox
            .split("</body>")
            .find(|r| r.contains(needle))
            .map(|r| format!("{r}</body>"))
        {
            s.inbox.clear();
            return found;
        }
        assert!(Instant::now() < end, "no {needle:?} in {}", s.inbox);
        let text = s.next(&attrs, "");
        assert!(!text.contains("type='terminate'"), "terminated: {text}");
    }
}

fn sasl_plain(user: &str) -> String {
    let auth = base64::engine::general_purpose::STANDARD
        .encode(format!("\0{user}\0{}", env("ZXMPP_PROSODY_PASSWORD")));
    format!("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{auth}</auth>")
}

/// SASL, restart and bind on one stream (`stream`: its name, `None` while it is the only one).
fn login(s: &mut Session, stream: Option<&str>, user: &str, resource: &str) {
    let domain = env("ZXMPP_PROSODY_DOMAIN");
    let named = stream.map(|n| format!("stream='{n}'")).unwrap_or_default();
    until(s, stream, "<mechanism>PLAIN</mechanism>");
    s.next(&named, &sasl_plain(user));
    until(s, stream, "<success");
    s.next(&format!("{named} xmpp:restart='true' to='{domain}'"), "");
    until(s, stream, "urn:ietf:params:xml:ns:xmpp-bind");
    s.next(
        &named,
        &format!(
            "<iq xmlns='jabber:client' type='set' id='bind-{user}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
             <resource>{resource}</resource></bind></iq>"
        ),
    );
    let bound = until(s, stream, "</jid>");
    assert!(
        bound.contains(&format!("{user}@{domain}/{resource}")),
        "{bound}"
    );
    if let Some(name) = stream {
        assert_eq!(attr(&bound, "stream").as_deref(), Some(name), "{bound}");
    }
}

#[test]
#[ignore = "needs scripts/prosody start (run by scripts/test)"]
fn prosody_two_streams_in_one_session_alice_and_bob() {
    let domain = env("ZXMPP_PROSODY_DOMAIN");
    let mut config = Config::default();
    config
        .upstreams
        .push(Upstream::new(&domain).with_address(env("ZXMPP_PROSODY_C2S")));
    let cm = Cm::start(config);
    let (mut s, created) = Session::create(&cm.url, &domain, "");
    let first = attr(&created, "stream").expect("the creation response names the first stream");
    login(&mut s, None, "alice", "cm-streams");

    // XEP-0124 §16.2: add a stream (its own c2s connection) and log in as bob on it.
    let added = s.next(&format!("to='{domain}'"), "");
    let second = attr(&added, "stream").expect("the answer names the new stream");
    assert_ne!(first, second);
    login(&mut s, Some(&second), "bob", "cm-streams");
    assert!(cm.metrics().contains("zxmpp_cm_sessions 1"));

    // alice → bob: sent on the first stream, received tagged with the second.
    s.next(
        &format!("stream='{first}'"),
        &format!("<message xmlns='jabber:client' to='bob@{domain}/cm-streams' type='chat'><body>hi bob, from stream one</body></message>"),
    );
    let got = until(&mut s, None, "hi bob, from stream one");
    assert_eq!(
        attr(&got, "stream").as_deref(),
        Some(second.as_str()),
        "{got}"
    );
    assert!(
        got.contains(&format!("from='alice@{domain}/cm-streams'")),
        "{got}"
    );
    // bob → alice.
    s.next(
        &format!("stream='{second}'"),
        &format!("<message xmlns='jabber:client' to='alice@{domain}/cm-streams' type='chat'><body>hi alice, from stream two</body></message>"),
    );
    let got = until(&mut s, None, "hi alice, from stream two");
    assert_eq!(
        attr(&got, "stream").as_deref(),
        Some(first.as_str()),
        "{got}"
    );

    // XEP-0124 §16.5: close bob's stream; alice's goes on.
    let closed = s.next(&format!("stream='{second}' type='terminate'"), "");
    assert!(!closed.contains("condition="), "{closed}");
    s.inbox.clear();
    s.next(
        &format!("stream='{first}'"),
        &format!("<iq xmlns='jabber:client' type='get' id='ping-after' to='{domain}'><ping xmlns='urn:xmpp:ping'/></iq>"),
    );
    let pong = until(&mut s, Some(&first), "id='ping-after'");
    assert!(pong.contains("type='result'"), "{pong}");
}
