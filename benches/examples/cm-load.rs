//! cm-load: the same BOSH scenarios against zxmpp-cm (with Prosody's c2s behind it) and against Prosody's own
//! mod_bosh, in one run. Prints one line per scenario and server, and the ratio.
//!
//! ```sh
//! scripts/prosody start && eval "$(scripts/prosody env)"
//! cargo run --release -p zxmpp-cm -- --upstream localhost=$ZXMPP_PROSODY_C2S --listen 127.0.0.1:5280 &
//! cargo run --release -p zxmpp-benches --example cm-load -- http://127.0.0.1:5280/http-bind
//! ```
//!
//! Scenarios: `logins` (create, SASL PLAIN, restart, bind; 8 clients at a time, 80 logins) and `messages`
//! (10 sender/receiver pairs for 5 s; receivers long-poll; latency from the send to the receipt).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const NS: &str = "http://jabber.org/protocol/httpbind";

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name}: run eval \"$(scripts/prosody env)\""))
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .build()
        .into()
}

struct Session {
    agent: ureq::Agent,
    url: String,
    sid: String,
    rid: u64,
    inbox: String,
}

fn attr(text: &str, name: &str) -> Option<String> {
    let start = text.find(&format!(" {name}='"))? + name.len() + 3;
    let end = text[start..].find('\'')? + start;
    Some(text[start..end].to_owned())
}

impl Session {
    fn post(&self, body: &str) -> String {
        self.agent
            .post(&self.url)
            .header("Content-Type", "text/xml; charset=utf-8")
            .send(body)
            .map(|mut r| r.body_mut().read_to_string().unwrap_or_default())
            .unwrap_or_default()
    }

    fn next(&mut self, attrs: &str, payload: &str) -> String {
        self.rid += 1;
        let body = format!(
            "<body xmlns='{NS}' xmlns:xmpp='urn:xmpp:xbosh' rid='{}' sid='{}' {attrs}>{payload}</body>",
            self.rid, self.sid
        );
        let text = self.post(&body);
        self.inbox.push_str(&text);
        text
    }

    fn until(&mut self, needle: &str) -> bool {
        let end = Instant::now() + Duration::from_secs(20);
        while !self.inbox.contains(needle) {
            if Instant::now() > end || self.next("", "").contains("type='terminate'") {
                return false;
            }
        }
        true
    }

    fn login(url: &str, user: &str, resource: &str, hold: u32) -> Option<Self> {
        let domain = env("ZXMPP_PROSODY_DOMAIN");
        let mut s = Self {
            agent: agent(),
            url: url.to_owned(),
            sid: String::new(),
            rid: 1000
                + u64::from(
                    SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .ok()?
                        .subsec_nanos()
                        % 1_000_000,
                ),
            inbox: String::new(),
        };
        let created = s.post(&format!(
            "<body xmlns='{NS}' xmlns:xmpp='urn:xmpp:xbosh' rid='{}' to='{domain}' wait='10' hold='{hold}' \
             xmpp:version='1.0' ver='1.11'/>",
            s.rid
        ));
        s.sid = attr(&created, "sid")?;
        s.inbox = created;
        if !s.until("<mechanism>PLAIN</mechanism>") {
            return None;
        }
        let auth = base64_plain(user, &env("ZXMPP_PROSODY_PASSWORD"));
        s.next(
            "",
            &format!(
                "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{auth}</auth>"
            ),
        );
        if !s.until("<success") {
            return None;
        }
        s.inbox.clear();
        s.next(&format!("xmpp:restart='true' to='{domain}'"), "");
        if !s.until("urn:ietf:params:xml:ns:xmpp-bind") {
            return None;
        }
        s.next(
            "",
            &format!("<iq xmlns='jabber:client' type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>{resource}</resource></bind></iq>"),
        );
        if !s.until("</jid>") {
            return None;
        }
        s.inbox.clear();
        Some(s)
    }

    fn terminate(mut self) {
        self.next(
            "type='terminate'",
            "<presence xmlns='jabber:client' type='unavailable'/>",
        );
    }
}

fn base64_plain(user: &str, password: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"))
}

/// Logins per second: `total` logins, `parallel` at a time.
fn logins(url: &str, total: usize, parallel: usize) -> (f64, usize) {
    let started = Instant::now();
    let failures = Arc::new(Mutex::new(0usize));
    let handles: Vec<_> = (0..parallel)
        .map(|t| {
            let (url, failures) = (url.to_owned(), Arc::clone(&failures));
            thread::spawn(move || {
                for i in 0..total / parallel {
                    let user = ["alice", "bob", "carol"][(t + i) % 3];
                    match Session::login(&url, user, &format!("load-{t}-{i}"), 1) {
                        Some(s) => s.terminate(),
                        None => *failures.lock().unwrap() += 1,
                    }
                }
            })
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
    let failed = *failures.lock().unwrap();
    (
        (total - failed) as f64 / started.elapsed().as_secs_f64(),
        failed,
    )
}

fn now_micros() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros())
}

/// Messages per second and latency percentiles for `pairs` sender/receiver pairs during `secs`.
fn messages(url: &str, pairs: usize, secs: u64) -> (f64, f64, f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let mut receivers = Vec::new();
    let mut senders = Vec::new();
    for p in 0..pairs {
        let Some(rx) = Session::login(url, "bob", &format!("rx-{p}"), 1) else {
            continue;
        };
        let Some(tx) = Session::login(url, "alice", &format!("tx-{p}"), 1) else {
            continue;
        };
        receivers.push(rx);
        senders.push(tx);
    }
    let started = Instant::now();
    let mut handles = Vec::new();
    for (p, mut rx) in receivers.into_iter().enumerate() {
        let (stop, latencies) = (Arc::clone(&stop), Arc::clone(&latencies));
        handles.push(thread::spawn(move || {
            let mut mine = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let text = rx.next("", "");
                let now = now_micros();
                for part in text.split("<body>t=").skip(1) {
                    if let Some(sent) = part.split('<').next().and_then(|v| v.parse::<u128>().ok())
                    {
                        mine.push(now.saturating_sub(sent) as f64 / 1000.0);
                    }
                }
            }
            latencies.lock().unwrap().extend(mine);
            let _ = p;
            rx.terminate();
        }));
    }
    for (p, mut tx) in senders.into_iter().enumerate() {
        let stop = Arc::clone(&stop);
        handles.push(thread::spawn(move || {
            let to = format!("bob@{}/rx-{p}", env("ZXMPP_PROSODY_DOMAIN"));
            // hold=1, requests=2: each new request releases the one held before it, so a sender keeps two in
            // flight and waits only for the older one.
            let mut in_flight = std::collections::VecDeque::new();
            while !stop.load(Ordering::Relaxed) {
                tx.rid += 1;
                let body = format!(
                    "<body xmlns='{NS}' rid='{}' sid='{}'><message xmlns='jabber:client' to='{to}' type='chat'><body>t={}</body></message></body>",
                    tx.rid, tx.sid, now_micros()
                );
                let (agent, url) = (tx.agent.clone(), tx.url.clone());
                in_flight.push_back(thread::spawn(move || {
                    let _ = agent.post(&url).header("Content-Type", "text/xml; charset=utf-8").send(body);
                }));
                if in_flight.len() >= 2 {
                    let _ = in_flight.pop_front().map(thread::JoinHandle::join);
                }
                thread::sleep(Duration::from_millis(5));
            }
            for h in in_flight {
                let _ = h.join();
            }
            tx.terminate();
        }));
    }
    thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    for h in handles {
        let _ = h.join();
    }
    let mut l = latencies.lock().unwrap().clone();
    l.sort_by(|a, b| a.total_cmp(b));
    let pct = |q: f64| {
        l.get(((l.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    (l.len() as f64 / elapsed, pct(0.5), pct(0.99))
}

fn main() {
    let cm = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:5280/http-bind".to_owned());
    let prosody = env("ZXMPP_PROSODY_BOSH");
    let servers = [
        ("zxmpp-cm", cm.as_str()),
        ("prosody mod_bosh", prosody.as_str()),
    ];
    let mut rates = Vec::new();
    for (name, url) in servers {
        let (rate, failed) = logins(url, 80, 8);
        println!("logins    {name:<17} {rate:8.1} logins/s ({failed} failed)");
        rates.push(rate);
    }
    println!(
        "logins    ratio zxmpp-cm / prosody: {:.2}",
        rates[0] / rates[1]
    );
    let mut rates = Vec::new();
    for (name, url) in servers {
        let (rate, p50, p99) = messages(url, 10, 5);
        println!(
            "messages  {name:<17} {rate:8.1} messages/s, latency p50 {p50:.2} ms p99 {p99:.2} ms (10 pairs)"
        );
        rates.push(rate);
    }
    println!(
        "messages  ratio zxmpp-cm / prosody: {:.2}",
        rates[0] / rates[1]
    );
}
