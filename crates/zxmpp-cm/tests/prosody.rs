//! zxmpp-cm over real HTTP, with a loopback Prosody's c2s as the upstream (`scripts/prosody start`, then
//! `eval "$(scripts/prosody env)"`). Every test runs its own manager in-process on a free port and talks to it
//! with raw `<body/>` requests, so each XEP-0124 behaviour is visible on the wire. Expected conditions come from
//! XEP-0124 (the section is named at each test).

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::{Cm, NS, Session, agent, attr, env, is_terminate, post};
use zxmpp_cm::{Config, Upstream};

/// A manager whose upstream is the test Prosody; `edit` changes the rest of its configuration.
fn start(edit: impl FnOnce(&mut Config)) -> Cm {
    let mut config = Config::default();
    config
        .upstreams
        .push(Upstream::new(env("ZXMPP_PROSODY_DOMAIN")).with_address(env("ZXMPP_PROSODY_C2S")));
    edit(&mut config);
    Cm::start(config)
}

/// A session with the Prosody domain, asking for the Content-Type XEP-0124 §7.1's `content` names.
fn create(cm: &Cm, extra: &str) -> (Session, String) {
    Session::create(
        &cm.url,
        &env("ZXMPP_PROSODY_DOMAIN"),
        &format!("content='text/xml; charset=utf-8' {extra}"),
    )
}

fn login(cm: &Cm, user: &str, resource: &str) -> Session {
    Session::login(&cm.url, &env("ZXMPP_PROSODY_DOMAIN"), user, resource)
}

const IGNORE: &str = "needs scripts/prosody start (run by scripts/test)";

/// XEP-0206 end to end: SASL, restart, bind, then a message from one client to the other, both through the
/// manager.
#[test]
#[ignore = "needs scripts/prosody start (run by scripts/test)"]
fn prosody_login_and_message_between_two_clients() {
    let _ = IGNORE;
    let cm = start(|_| {});
    let mut alice = login(&cm, "alice", "cm-msg");
    let mut bob = login(&cm, "bob", "cm-msg");
    assert!(bob.inbox.contains("bob@localhost/cm-msg"), "{}", bob.inbox);
    bob.inbox.clear();
    alice.next(
        "",
        "<message xmlns='jabber:client' to='bob@localhost/cm-msg' type='chat'><body>hello through zxmpp-cm</body></message>",
    );
    bob.until("hello through zxmpp-cm");
    assert!(
        bob.inbox.contains("from='alice@localhost/cm-msg'"),
        "{}",
        bob.inbox
    );
    // An iq round trip on the same session: XEP-0199 ping to the server.
    alice.inbox.clear();
    alice.next("", "<iq xmlns='jabber:client' type='get' id='ping1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
    alice.until("id='ping1'");
    let m = cm.metrics();
    assert!(m.contains("zxmpp_cm_sessions 2"), "{m}");
}

/// XEP-0124 §14.3: a retransmitted rid gets the same answer again.
#[test]
#[ignore = "needs scripts/prosody start (run by scripts/test)"]
fn prosody_retransmitted_rid_gets_cached_answer() {
    let cm = start(|_| {});
    let (mut s, _) = create(&cm, "");
    s.until("<mechanism>PLAIN</mechanism>");
    let rid = s.rid;
    let (status, again) = post(&s.url, &s.body(rid, "", ""));
    assert_eq!(status, 200);
    assert!(again.contains("<mechanism>PLAIN</mechanism>"), "{again}");
    // The session goes on.
    let text = s.next("", "");
    assert!(!text.contains("terminate"), "{text}");
}

/// XEP-0124 §14.3: a rid beyond the window ends the session with `item-not-found`.
#[test]
#[ignore = "needs scripts/prosody start (run by scripts/test)"]
fn prosody_out_of_window_rid_is_item_not_found() {
    let cm = start(|_| {});
    let (mut s, _) = create(&cm, "");
    s.until("<mechanism>PLAIN</mechanism>");
    let (_, text) = post(&s.url, &s.body(s.rid + 50, "", ""));
    assert!(is_terminate(&text, "item-not-found"), "{text}");
    let (_, after) = post(&s.url, &s.body(s.rid + 1, "", ""));
    assert!(after.contains("type='terminate'"), "{after}");
}

/// XEP-0124 §7.3 / §17: an unknown sid is `item-not-found`.
#[test]
#[ignore = "needs scripts/prosody start (run by scripts/test)"]
fn prosody_bad_sid_is_item_not_found() {
    let cm = start(|_| {});
    let (s, _) = create(&cm, "");
    let (status, text) = post(
        &cm.url,
        &format!(
            "<body xmlns='{NS}' rid='{}' sid='0000{}'/>",
            s.rid + 1,
            s.sid
        ),
    );
    assert_eq!(status, 200);
    assert!(is_terminate(&text, "item-not-found"), "{text}");
    assert!(
        cm.metrics()
            .contains("zxmpp_cm_errors_total{condition=\"item-not-found\"} 1")
    );
}

fn keys() -> (String, String, String) {
    let text = include_str!("data/key-sequence.txt");
    let get = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}\t")))
            .unwrap()
            .to_owned()
    };
    (get("seed"), get("K1"), get("K2"))
}

/// XEP-0124 §15: the right key is accepted, a wrong one ends the session with `item-not-found`.
#[test]
#[ignore = "needs scripts/prosody start (run by scripts/test)"]
fn prosody_key_sequencing_wrong_key_is_item_not_found() {
    let (seed, k1, k2) = keys();
    let cm = start(|_| {});
    // Right key: newkey K2 at creation, then K1 (SHA-1(K1) = K2).
    let (mut s, _) = create(&cm, &format!("newkey='{k2}'"));
    let text = s.next(&format!("key='{k1}'"), "");
    assert!(!text.contains("terminate"), "{text}");
    // Wrong key: SHA-1(seed) = K1, not K2.
    let (mut s, _) = create(&cm, &format!("newkey='{k2}'"));
    let text = s.next(&format!("key='{seed}'"), "");
    assert!(is_terminate(&text, "item-not-found"), "{text}");
}

/// XEP-0124 §11 with `strict_overactivity`: a full window of `requests` unanswered requests, the last empty and
/// arriving within `polling` seconds of the one before, is overactivity: `policy-violation`.
#[test]
#[ignore = "needs scripts/prosody start (run by scripts/test)"]
fn prosody_overactivity_is_policy_violation() {
    let cm = start(|c| c.strict_overactivity = true);
    let (mut s, created) = create(&cm, "");
    let requests: u64 = attr(&created, "requests").unwrap().parse().unwrap();
    s.until("<mechanism>PLAIN</mechanism>");
    // `requests` - 1 empty requests held, then the one that fills the window.
    let mut held = Vec::new();
    for i in 1..requests {
        let (url, body) = (s.url.clone(), s.body(s.rid + i, "", ""));
        held.push(thread::spawn(move || post(&url, &body)));
        thread::sleep(Duration::from_millis(150));
    }
    let (_, text) = post(&s.url, &s.body(s.rid + requests, "", ""));
    assert!(is_terminate(&text, "policy-violation"), "{text}");
    for h in held {
        let _ = h.join();
    }
}

/// The default: the same full window (a client restored after a page reload polls while the old page's poll is
/// still held) answers the old poll empty and keeps the session; the client goes on with it.
#[test]
#[ignore = "needs scripts/prosody start (run by scripts/test)"]
fn prosody_full_window_of_empty_polls_keeps_the_session() {
    let cm = start(|_| {});
    let mut s = login(&cm, "carol", "cm-window");
    let requests = 2;
    // The old page's poll, then 150 ms later the restored page's first poll: a full window, the last one empty.
    let (url, body) = (s.url.clone(), s.body(s.rid + 1, "", ""));
    let old = thread::spawn(move || post(&url, &body));
    thread::sleep(Duration::from_millis(150));
    let (url, body) = (s.url.clone(), s.body(s.rid + 2, "", ""));
    let restored = thread::spawn(move || post(&url, &body));
    let (_, old_text) = old.join().unwrap();
    assert!(!old_text.contains("terminate"), "{old_text}");
    s.rid += requests;
    // The session goes on: a ping reaches Prosody and its answer comes back.
    let text = s.next(
        "",
        "<iq xmlns='jabber:client' type='get' id='alive' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>",
    );
    let (_, restored_text) = restored.join().unwrap();
    s.inbox.push_str(&restored_text);
    assert!(
        !format!("{restored_text}{text}").contains("terminate"),
        "{restored_text}{text}"
    );
    s.until("id='alive'");
    let at = s.inbox.find("id='alive'").unwrap();
    let start = s.inbox[..at].rfind('<').unwrap();
    let end = at + s.inbox[at..].find('>').unwrap();
    let tag = &s.inbox[start..end];
    assert!(
        tag.starts_with("<iq") && tag.contains("type='result'"),
        "{tag}"
    );
}

/// XEP-0124 §10: pause answers at once, and the session resumes with the next request within `maxpause`.
#[test]
#[ignore = "needs scripts/prosody start (run by scripts/test)"]
fn prosody_pause_and_resume() {
    let cm = start(|_| {});
    let mut s = login(&cm, "carol", "cm-pause");
    let started = Instant::now();
    let text = s.next("pause='5'", "");
    assert!(started.elapsed() < Duration::from_secs(1), "pause was held");
    assert!(!text.contains("terminate"), "{text}");
    thread::sleep(Duration::from_secs(3));
    s.inbox.clear();
    s.next(
        "",
        "<iq xmlns='jabber:client' type='get' id='ping2' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>",
    );
    s.until("id='ping2'");
}

/// XEP-0124 §10: a client silent for longer than `inactivity` loses its session.
#[test]
#[ignore = "needs scripts/prosody start (run by scripts/test)"]
fn prosody_inactivity_timeout_ends_session() {
    let cm = start(|c| c.inactivity = 2);
    let (mut s, created) = create(&cm, "");
    assert_eq!(attr(&created, "inactivity").as_deref(), Some("2"));
    s.until("<mechanism>PLAIN</mechanism>");
    thread::sleep(Duration::from_millis(3500));
    let (_, text) = post(&s.url, &s.body(s.rid + 1, "", ""));
    assert!(text.contains("type='terminate'"), "{text}");
    assert!(cm.metrics().contains("condition=\"inactivity\"} 1"));
}

/// XEP-0124 §13: terminate is answered with `type='terminate'`; the session is gone afterwards.
#[test]
#[ignore = "needs scripts/prosody start (run by scripts/test)"]
fn prosody_terminate() {
    let cm = start(|_| {});
    let mut s = login(&cm, "alice", "cm-term");
    let text = s.next(
        "type='terminate'",
        "<presence xmlns='jabber:client' type='unavailable'/>",
    );
    assert!(text.contains("type='terminate'"), "{text}");
    let (_, after) = post(&s.url, &s.body(s.rid + 1, "", ""));
    assert!(after.contains("type='terminate'"), "{after}");
}

/// The allow-list: an unlisted domain is `host-unknown`, a route not allowed is `improper-addressing`
/// (XEP-0124 §17); limits: sessions per address (`policy-violation`), body size (HTTP 413).
#[test]
#[ignore = "needs scripts/prosody start (run by scripts/test)"]
fn prosody_allow_list_and_limits() {
    let cm = start(|c| {
        c.max_sessions_per_ip = 1;
        c.max_body_bytes = 2048;
    });
    let create_raw = |to: &str, extra: &str| {
        post(
            &cm.url,
            &format!("<body xmlns='{NS}' rid='77' to='{to}' wait='2' hold='1' {extra}/>"),
        )
        .1
    };
    assert!(is_terminate(&create_raw("example.org", ""), "host-unknown"));
    assert!(is_terminate(
        &create_raw("localhost", "route='xmpp:127.0.0.1:22'"),
        "improper-addressing"
    ));
    let (mut s, _) = create(&cm, "");
    assert!(is_terminate(
        &create_raw("localhost", ""),
        "policy-violation"
    ));
    let big = format!(
        "<body xmlns='{NS}' rid='{}' sid='{}'>{}</body>",
        s.rid + 1,
        s.sid,
        "x".repeat(4000)
    );
    let (status, _) = post(&cm.url, &big);
    assert_eq!(status, 413);
    s.until("<mechanism>PLAIN</mechanism>");
}

/// CORS for allowed origins only, and the metrics endpoint's format.
#[test]
#[ignore = "needs scripts/prosody start (run by scripts/test)"]
fn prosody_cors_and_metrics() {
    let cm = start(|c| c.cors_origins = vec!["https://chat.example".into()]);
    let preflight = |origin: &str| {
        agent()
            .options(&cm.url)
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .call()
            .unwrap()
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    assert_eq!(
        preflight("https://chat.example").as_deref(),
        Some("https://chat.example")
    );
    assert_eq!(preflight("https://evil.example"), None);
    let (mut s, _) = create(&cm, "");
    s.until("<mechanism>PLAIN</mechanism>");
    let m = cm.metrics();
    for needle in [
        "# TYPE zxmpp_cm_sessions gauge",
        "zxmpp_cm_sessions 1",
        "zxmpp_cm_sessions_created_total 1",
        "# TYPE zxmpp_cm_requests_total counter",
    ] {
        assert!(m.contains(needle), "{needle} in {m}");
    }
}

/// Graceful shutdown: a held request is answered with `system-shutdown` (XEP-0124 §17).
#[test]
#[ignore = "needs scripts/prosody start (run by scripts/test)"]
fn prosody_graceful_shutdown_terminates_sessions() {
    let mut cm = start(|_| {});
    let mut s = login(&cm, "bob", "cm-shutdown");
    let (url, body) = (s.url.clone(), s.body(s.rid + 1, "", ""));
    s.rid += 1;
    let held = thread::spawn(move || post(&url, &body));
    thread::sleep(Duration::from_millis(300));
    cm.stop();
    let (_, text) = held.join().unwrap();
    assert!(is_terminate(&text, "system-shutdown"), "{text}");
}

/// XEP-0124 §9.3: a client ack that misses a response sent over `report_after` ago gets `report` and `time`.
#[test]
#[ignore = "needs scripts/prosody start (run by scripts/test)"]
fn prosody_acks_report_a_missed_response() {
    let cm = start(|_| {});
    let (mut s, created) = create(&cm, "ack='1'");
    assert!(created.contains(" sid='"), "{created}");
    s.until("<mechanism>PLAIN</mechanism>");
    // Every request without `ack` acknowledges the rid before it (XEP-0124 §9.1), so the last answered request,
    // `s.rid`, is the only one the client has not acknowledged. (The stream attributes and the features may come
    // in one response or two, so which rid that is varies.) The client now says it has only seen `s.rid - 1`.
    let missed = s.rid;
    let seen = missed - 1;
    thread::sleep(Duration::from_millis(1200));
    let text = s.next(&format!("ack='{seen}'"), "<iq xmlns='jabber:client' type='get' id='p3' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
    let text = if text.contains("report=") {
        text
    } else {
        s.next(&format!("ack='{seen}'"), "")
    };
    assert_eq!(attr(&text, "report"), Some(missed.to_string()), "{text}");
    assert!(
        attr(&text, "time").is_some_and(|t| t.parse::<u64>().is_ok_and(|ms| ms >= 1000)),
        "{text}"
    );
}
