//! Helpers shared by the newer integration tests: a manager in a thread of its own, raw `<body/>` requests over
//! real HTTP, and a BOSH session driven by hand.
#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine as _;
use zxmpp_cm::{Config, Server, SrvLookup, Upstream};

pub const NS: &str = "http://jabber.org/protocol/httpbind";

pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run `scripts/prosody start` and `eval \"$(scripts/prosody env)\"`"
        )
    })
}

/// A fresh first rid: distinct per session, as a real client's random one (two identical session creation
/// requests from one address within seconds are a retransmission).
pub fn fresh_rid() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let base = 1_000_000 + u64::from(std::process::id() % 1000) * 1_000_000;
    base + NEXT.fetch_add(1, Ordering::Relaxed) * 10_000
}

/// A manager running in a thread of its own; stopped (gracefully) on drop.
pub struct Cm {
    pub url: String,
    pub base: String,
    pub addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Cm {
    /// Starts a manager on a free loopback port with `config` (its `listen` is overridden).
    pub fn start(config: Config) -> Self {
        Self::start_with(config, None)
    }

    /// As [`Cm::start`], with this resolver instead of the one `config` names.
    pub fn start_with(mut config: Config, resolver: Option<Arc<dyn SrvLookup>>) -> Self {
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.shutdown_grace_secs = 3;
        let (addr_tx, addr_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let server = match resolver {
                    Some(r) => Server::bind_with_srv(config, r).await.unwrap(),
                    None => Server::bind(config).await.unwrap(),
                };
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
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    pub fn metrics(&self) -> String {
        let mut response = agent()
            .get(&format!("{}/metrics", self.base))
            .call()
            .unwrap();
        response.body_mut().read_to_string().unwrap()
    }
}

impl Drop for Cm {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(20)))
        .http_status_as_error(false)
        .build()
        .into()
}

pub fn post(url: &str, body: &str) -> (u16, String) {
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

pub fn attr(text: &str, name: &str) -> Option<String> {
    let start = text.find(&format!(" {name}='"))? + name.len() + 3;
    let end = text[start..].find('\'')? + start;
    Some(text[start..end].to_owned())
}

pub fn is_terminate(text: &str, condition: &str) -> bool {
    text.contains("type='terminate'") && text.contains(&format!("condition='{condition}'"))
}

/// One BOSH session driven by hand: one request at a time unless a test posts in parallel itself.
pub struct Session {
    pub url: String,
    pub sid: String,
    pub rid: u64,
    pub inbox: String,
}

impl Session {
    /// Creates a session for `to`; `extra` are more attributes for the creation `<body/>`.
    pub fn create(url: &str, to: &str, extra: &str) -> (Self, String) {
        let rid = fresh_rid();
        let (status, text) = post(
            url,
            &format!(
                "<body xmlns='{NS}' xmlns:xmpp='urn:xmpp:xbosh' rid='{rid}' to='{to}' wait='2' hold='1' \
                 ver='1.11' xmpp:version='1.0' {extra}/>"
            ),
        );
        assert_eq!(status, 200);
        let sid = attr(&text, "sid").unwrap_or_else(|| panic!("no sid in {text}"));
        (
            Self {
                url: url.to_owned(),
                sid,
                rid,
                inbox: text.clone(),
            },
            text,
        )
    }

    pub fn body(&self, rid: u64, attrs: &str, payload: &str) -> String {
        format!(
            "<body xmlns='{NS}' xmlns:xmpp='urn:xmpp:xbosh' rid='{rid}' sid='{}' {attrs}>{payload}</body>",
            self.sid
        )
    }

    /// Sends the next rid and returns the answer.
    pub fn next(&mut self, attrs: &str, payload: &str) -> String {
        self.rid += 1;
        let (status, text) = post(&self.url, &self.body(self.rid, attrs, payload));
        assert_eq!(status, 200, "{text}");
        self.inbox.push_str(&text);
        text
    }

    /// Polls until the inbox holds `needle`; panics on a terminate.
    pub fn until(&mut self, needle: &str) {
        let end = Instant::now() + Duration::from_secs(20);
        while !self.inbox.contains(needle) {
            assert!(Instant::now() < end, "no {needle:?} in {}", self.inbox);
            let text = self.next("", "");
            assert!(!text.contains("type='terminate'"), "terminated: {text}");
        }
    }

    /// Polls until the session is terminated; returns the terminating body.
    pub fn until_terminated(&mut self) -> String {
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(at) = self.inbox.find("type='terminate'") {
                let start = self.inbox[..at].rfind("<body").unwrap_or(0);
                return self.inbox[start..].to_owned();
            }
            assert!(Instant::now() < end, "not terminated: {}", self.inbox);
            self.next("", "");
        }
    }

    /// Logs in as `user` on `domain` (SASL PLAIN), restarts (XEP-0206 §5) and binds `resource`.
    pub fn login(url: &str, domain: &str, user: &str, resource: &str) -> Self {
        let (mut s, _) = Self::create(url, domain, "");
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
        s.next(&format!("xmpp:restart='true' to='{domain}'"), "");
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

/// A scripted upstream that accepts connections and reads them until the peer hangs up, never answering, so
/// that sessions stay open; returns its port on 127.0.0.1.
pub fn silent_upstream() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            thread::spawn(move || {
                use std::io::Read as _;
                let mut buf = [0u8; 1024];
                while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
            });
        }
    });
    port
}

/// A configuration whose only upstream, `example.test`, is a [`silent_upstream`]; `edit` changes the rest.
pub fn silent_config(edit: impl FnOnce(&mut Config)) -> Config {
    let mut config = Config::default();
    config.upstreams.push(
        Upstream::new("example.test").with_address(format!("127.0.0.1:{}", silent_upstream())),
    );
    edit(&mut config);
    config
}
