//! zxmpp-cm over real HTTP, with a loopback Prosody's c2s as the upstream (`scripts/prosody start`, then
//! `eval "$(scripts/prosody env)"`). Every test runs its own manager in-process on a free port and talks to it
//! with raw `<body/>` requests, so each XEP-0124 behaviour is visible on the wire. Expected conditions come from
//! XEP-0124 (the section is named at each test).

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine as _;
use zxmpp_cm::{Config, Server, Upstream};

const NS: &str = "http://jabber.org/protocol/httpbind";

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run `scripts/prosody start` and `eval \"$(scripts/prosody env)\"`"
        )
    })
}

/// A manager running in a thread of its own; stopped (gracefully) on drop.
struct Cm {
    url: String,
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Cm {
    fn start(edit: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::default();
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.upstreams.push(
            Upstream::new(env("ZXMPP_PROSODY_DOMAIN")).with_address(env("ZXMPP_PROSODY_C2S")),
        );
        config.shutdown_grace_secs = 3;
        edit(&mut config);
        let (addr_tx, addr_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let server = Server::bind(config).await.unwrap();
                addr_tx.send(server.local_addr().unwrap()).unwrap();
                server
                    .run(async {
                        let _ = stop_rx.await;
                    })
                    .await;
            });
        });
        let addr = addr_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        Self {
            url: format!("http://{addr}/http-bind"),
            base: format!("http://{addr}"),
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Cm {
    fn drop(&mut self) {
        self.stop();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(20)))
        .http_status_as_error(false)
        .build()
        .into()
}

fn post(url: &str, body: &str) -> (u16, String) {
    let mut response = agent()
        .post(url)
        .header("Content-Type", "text/xml; charset=utf-8")
        .send(body)
        .unwrap();
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    eprintln!("-> {body}\n<- {status} {text}");
    (status, text)
}

/// One BOSH session driven by hand: one request at a time unless a test posts in parallel itself.
struct Session {
    url: String,
    sid: String,
    rid: u64,
    inbox: String,
}

impl Session {
    /// Creates a session; `extra` are more attributes for the creation `<body/>`.
    fn create(cm: &Cm, extra: &str) -> (Self, String) {
        // A fresh rid for every session, as a real client's random one: identical creation requests from one
        // address within seconds are a retransmission and get the same session.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let rid = 1_000_000 + u64::from(std::process::id() % 1000) * 1_000_000 + n * 10_000;
        let (status, text) = post(
            &cm.url,
            &format!(
                "<body xmlns='{NS}' xmlns:xmpp='urn:xmpp:xbosh' rid='{rid}' to='{}' wait='2' hold='1' \
                 ver='1.11' xmpp:version='1.0' content='text/xml; charset=utf-8' {extra}/>",
                env("ZXMPP_PROSODY_DOMAIN")
            ),
        );
        assert_eq!(status, 200);
        let sid = attr(&text, "sid").unwrap_or_else(|| panic!("no sid in {text}"));
        (
            Self {
                url: cm.url.clone(),
                sid,
                rid,
                inbox: text.clone(),
            },
            text,
        )
    }

    fn body(&self, rid: u64, attrs: &str, payload: &str) -> String {
        format!(
            "<body xmlns='{NS}' xmlns:xmpp='urn:xmpp:xbosh' rid='{rid}' sid='{}' {attrs}>{payload}</body>",
            self.sid
        )
    }

    /// Sends the next rid and returns the answer.
    fn next(&mut self, attrs: &str, payload: &str) -> String {
        self.rid += 1;
        let (status, text) = post(&self.url, &self.body(self.rid, attrs, payload));
        assert_eq!(status, 200, "{text}");
        self.inbox.push_str(&text);
        text
    }

    /// Polls until the inbox holds `needle`.
    fn until(&mut self, needle: &str) {
        let end = Instant::now() + Duration::from_secs(20);
        while !self.inbox.contains(needle) {
            assert!(Instant::now() < end, "no {needle:?} in {}", self.inbox);
            let text = self.next("", "");
            assert!(!text.contains("type='terminate'"), "terminated: {text}");
        }
    }

    /// Logs in (SASL PLAIN over the manager's TLS-or-loopback upstream), restarts (XEP-0206 §5), binds.
    fn login(cm: &Cm, user: &str, resource: &str, extra: &str) -> Self {
        let (mut s, _) = Self::create(cm, extra);
        s.until("<mechanism>PLAIN</mechanism>");
        let auth = base64::engine::general_purpose::STANDARD
            .encode(format!("\0{user}\0{}", env("ZXMPP_PROSODY_PASSWORD")));
        s.next(
            "",
            &format!(
                "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{auth}</auth>"
            ),
        );
        s.until("<success");
        s.inbox.clear();
        s.next(
            &format!("xmpp:restart='true' to='{}'", env("ZXMPP_PROSODY_DOMAIN")),
            "",
        );
        s.until("urn:ietf:params:xml:ns:xmpp-bind");
        s.next(
            "",
            &format!(
                "<iq xmlns='jabber:client' type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
                 <resource>{resource}</resource></bind></iq>"
            ),
        );
        s.until("</jid>");
        s
    }
}

fn attr(text: &str, name: &str) -> Option<String> {
    let start = text.find(&format!(" {name}='"))? + name.len() + 3;
    let end = text[start..].find('\'')? + start;
    Some(text[start..end].to_owned())
}

fn is_terminate(text: &str, condition: &str) -> bool {
    text.contains("type='terminate'") && text.contains(&format!("condition='{condition}'"))
}

fn metrics(cm: &Cm) -> String {
    let mut response = agent().get(&format!("{}/metrics", cm.base)).call().unwrap();
    response.body_mut().read_to_string().unwrap()
}

const IGNORE: &str = "needs scripts/prosody start (run by scripts/test)";

/// XEP-0206 end to end: SASL, restart, bind, then a message from one client to the other, both through the
/// manager.
#[test]
#[ignore = "needs scripts/prosody start (run by scripts/test)"]
fn prosody_login_and_message_between_two_clients() {
    let _ = IGNORE;
    let cm = Cm::start(|_| {});
    let mut alice = Session::login(&cm, "alice", "cm-msg", "");
    let mut bob = Session::login(&cm, "bob", "cm-msg", "");
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
    let m = metrics(&cm);
    assert!(m.contains("zxmpp_cm_sessions 2"), "{m}");
}

/// XEP-0124 §14.3: a retransmitted rid gets the same answer again.
#[test]
#[ignore = "needs scripts/prosody start (run by scripts/test)"]
fn prosody_retransmitted_rid_gets_cached_answer() {
    let cm = Cm::start(|_| {});
    let (mut s, _) = Session::create(&cm, "");
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
    let cm = Cm::start(|_| {});
    let (mut s, _) = Session::create(&cm, "");
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
    let cm = Cm::start(|_| {});
    let (s, _) = Session::create(&cm, "");
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
    assert!(metrics(&cm).contains("zxmpp_cm_errors_total{condition=\"item-not-found\"} 1"));
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
    let cm = Cm::start(|_| {});
    // Right key: newkey K2 at creation, then K1 (SHA-1(K1) = K2).
    let (mut s, _) = Session::create(&cm, &format!("newkey='{k2}'"));
    let text = s.next(&format!("key='{k1}'"), "");
    assert!(!text.contains("terminate"), "{text}");
    // Wrong key: SHA-1(seed) = K1, not K2.
    let (mut s, _) = Session::create(&cm, &format!("newkey='{k2}'"));
    let text = s.next(&format!("key='{seed}'"), "");
    assert!(is_terminate(&text, "item-not-found"), "{text}");
}

/// XEP-0124 §11 with `strict_overactivity`: a full window of `requests` unanswered requests, the last empty and
/// arriving within `polling` seconds of the one before, is overactivity: `policy-violation`.
#[test]
#[ignore = "needs scripts/prosody start (run by scripts/test)"]
fn prosody_overactivity_is_policy_violation() {
    let cm = Cm::start(|c| c.strict_overactivity = true);
    let (mut s, created) = Session::create(&cm, "");
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
    let cm = Cm::start(|_| {});
    let mut s = Session::login(&cm, "carol", "cm-window", "");
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
    let cm = Cm::start(|_| {});
    let mut s = Session::login(&cm, "carol", "cm-pause", "");
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
    let cm = Cm::start(|c| c.inactivity = 2);
    let (mut s, created) = Session::create(&cm, "");
    assert_eq!(attr(&created, "inactivity").as_deref(), Some("2"));
    s.until("<mechanism>PLAIN</mechanism>");
    thread::sleep(Duration::from_millis(3500));
    let (_, text) = post(&s.url, &s.body(s.rid + 1, "", ""));
    assert!(text.contains("type='terminate'"), "{text}");
    assert!(metrics(&cm).contains("condition=\"inactivity\"} 1"));
}

/// XEP-0124 §13: terminate is answered with `type='terminate'`; the session is gone afterwards.
#[test]
#[ignore = "needs scripts/prosody start (run by scripts/test)"]
fn prosody_terminate() {
    let cm = Cm::start(|_| {});
    let mut s = Session::login(&cm, "alice", "cm-term", "");
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
    let cm = Cm::start(|c| {
        c.max_sessions_per_ip = 1;
        c.max_body_bytes = 2048;
    });
    let create = |to: &str, extra: &str| {
        post(
            &cm.url,
            &format!("<body xmlns='{NS}' rid='77' to='{to}' wait='2' hold='1' {extra}/>"),
        )
        .1
    };
    assert!(is_terminate(&create("example.org", ""), "host-unknown"));
    assert!(is_terminate(
        &create("localhost", "route='xmpp:127.0.0.1:22'"),
        "improper-addressing"
    ));
    let (mut s, _) = Session::create(&cm, "");
    assert!(is_terminate(&create("localhost", ""), "policy-violation"));
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
    let cm = Cm::start(|c| c.cors_origins = vec!["https://chat.example".into()]);
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
    let (mut s, _) = Session::create(&cm, "");
    s.until("<mechanism>PLAIN</mechanism>");
    let m = metrics(&cm);
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
    let mut cm = Cm::start(|_| {});
    let mut s = Session::login(&cm, "bob", "cm-shutdown", "");
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
    let cm = Cm::start(|_| {});
    let (mut s, created) = Session::create(&cm, "ack='1'");
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
