//! cm-load: the same BOSH scenarios against zxmpp-cm (with Prosody's c2s behind it) and against Prosody's own
//! mod_bosh, in one run. Prints one line per scenario and server, and the ratio.
//!
//! ```sh
//! scripts/prosody start && eval "$(scripts/prosody env)"
//! cargo build --release -p zxmpp-cm -p zxmpp-benches --example cm-load
//! target/release/examples/cm-load                      # small defaults, ~1 minute
//! target/release/examples/cm-load --idle 9000 --pairs 100 --duration 20 --after 60 --logins 600 \
//!     --login-parallel 20 --latency-rate 200   # the recorded run, ~4 minutes
//! ```
//!
//! It starts `zxmpp-cm` itself (the binary next to it, `target/release/zxmpp-cm`, or `--cm-bin`) as a separate
//! process so that its memory is measured alone; `--cm-url URL [--cm-pid PID]` uses a running one instead.
//! Prosody's PID (for its memory) comes from `--prosody-pid` or `$ZXMPP_PROSODY_STATE/pid`.
//!
//! Scenarios, each run against both servers, in this order:
//! - `latency`: `--pairs` pairs per path sending `--latency-rate` messages/s in all per path (senders at staggered
//!   phases), through zxmpp-cm, through mod_bosh and over direct c2s TCP to Prosody, the three at once so that they
//!   meet the same load; the added latency of zxmpp-cm is its p50/p99 minus direct c2s's.
//! - `idle`: `--idle` sessions, each a session creation plus one held empty request (re-polled when answered),
//!   client sockets bound to `--source-addrs` addresses 127.0.0.2, 127.0.0.3, …; memory per session is the
//!   RSS growth of the serving process divided by the sessions held (Prosody first, while its heap is fresh).
//! - `teardown`: all idle sessions terminate at once (`--teardown-parallel` at a time) while `--pairs` pairs,
//!   logged in just before, send as in `messages` for `--after` s: messages/s in all and per sixth of the window
//!   (the "collapse" check).
//! - `logins`: create, SASL PLAIN, restart, bind, terminate; `--logins` in all, `--login-parallel` at a time.
//! - `messages`: `--pairs` sender/receiver pairs for `--duration` s; each sender keeps two requests in flight
//!   and at most `--window` (4) messages sent and not yet received (closed loop, as fast as the server
//!   delivers), receivers long-poll; latency from the sender's timestamp to the receipt; CPU of the processes.
//!
//! `--only latency|idle|logins|messages` runs one (`idle` includes `teardown`).
//!
//! All traffic stays on loopback (127.0.0.0/8).

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{Mutex, Semaphore};
use tokio::task::JoinHandle;

const NS: &str = "http://jabber.org/protocol/httpbind";
const DOMAIN: &str = "localhost";
const PASSWORD: &str = "secret";

// ---------------------------------------------------------------------------------------------------------------
// Options

struct Opts {
    cm_url: Option<String>,
    cm_pid: Option<u32>,
    cm_bin: Option<String>,
    prosody_url: String,
    prosody_c2s: SocketAddr,
    prosody_pid: Option<u32>,
    logins: usize,
    login_parallel: usize,
    pairs: usize,
    duration: u64,
    idle: usize,
    source_addrs: u8,
    idle_parallel: usize,
    teardown_parallel: usize,
    after: u64,
    latency_rate: f64,
    window: u64,
    only: Option<String>,
}

fn usage() -> ! {
    eprintln!(
        "usage: cm-load [--cm-url URL [--cm-pid PID] | --cm-bin PATH] [--prosody-pid PID]\n\
         \x20              [--logins N] [--login-parallel N] [--pairs N] [--duration SECS] [--idle N]\n\
         \x20              [--source-addrs N] [--idle-parallel N] [--teardown-parallel N] [--after SECS]\n\
         \x20              [--latency-rate MSGS_PER_SEC] [--window N] [--only logins|messages|idle|latency]\n\
         needs eval \"$(scripts/prosody env)\" (ZXMPP_PROSODY_BOSH, ZXMPP_PROSODY_C2S)"
    );
    std::process::exit(2)
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        eprintln!("cm-load: {name} is not set: run eval \"$(scripts/prosody env)\"");
        std::process::exit(2)
    })
}

fn parse_opts() -> Opts {
    let mut o = Opts {
        cm_url: None,
        cm_pid: None,
        cm_bin: None,
        prosody_url: env("ZXMPP_PROSODY_BOSH"),
        prosody_c2s: env("ZXMPP_PROSODY_C2S").parse().unwrap_or_else(|_| usage()),
        prosody_pid: None,
        logins: 60,
        login_parallel: 12,
        pairs: 10,
        duration: 3,
        idle: 200,
        source_addrs: 4,
        idle_parallel: 100,
        teardown_parallel: 200,
        after: 3,
        latency_rate: 200.0,
        window: 4,
        only: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        macro_rules! num {
            () => {
                value().parse().unwrap_or_else(|_| usage())
            };
        }
        match flag.as_str() {
            "--cm-url" => o.cm_url = Some(value()),
            "--cm-pid" => o.cm_pid = Some(num!()),
            "--cm-bin" => o.cm_bin = Some(value()),
            "--prosody-pid" => o.prosody_pid = Some(num!()),
            "--logins" => o.logins = num!(),
            "--login-parallel" => o.login_parallel = num!(),
            "--pairs" => o.pairs = num!(),
            "--duration" => o.duration = num!(),
            "--idle" => o.idle = num!(),
            "--source-addrs" => o.source_addrs = num!(),
            "--idle-parallel" => o.idle_parallel = num!(),
            "--teardown-parallel" => o.teardown_parallel = num!(),
            "--after" => o.after = num!(),
            "--latency-rate" => o.latency_rate = num!(),
            "--window" => o.window = num!(),
            "--only" => o.only = Some(value()),
            // `cargo bench` / `cargo test --benches` pass these to every target.
            "--bench" | "--test" => {}
            _ => usage(),
        }
    }
    if o.prosody_pid.is_none() {
        let state =
            std::env::var("ZXMPP_PROSODY_STATE").unwrap_or_else(|_| "/tmp/zxmpp-prosody".into());
        o.prosody_pid = std::fs::read_to_string(format!("{state}/pid"))
            .ok()
            .and_then(|s| s.trim().parse().ok());
    }
    o.login_parallel = o.login_parallel.max(1);
    o.source_addrs = o.source_addrs.clamp(1, 250);
    o
}

// ---------------------------------------------------------------------------------------------------------------
// A minimal HTTP/1.1 client: one request at a time on a keep-alive connection, Content-Length or chunked answers.

#[derive(Clone)]
struct Endpoint {
    addr: SocketAddr,
    host: String,
    path: String,
}

impl Endpoint {
    fn parse(url: &str) -> Self {
        let rest = url.strip_prefix("http://").unwrap_or_else(|| usage());
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let addr: SocketAddr = authority.parse().unwrap_or_else(|_| {
            eprintln!("cm-load: {url}: use an http://IP:PORT/path URL (loopback only)");
            std::process::exit(2)
        });
        if !addr.ip().is_loopback() {
            eprintln!("cm-load: {url} is not a loopback address");
            std::process::exit(2)
        }
        Self {
            addr,
            host: authority.to_owned(),
            path: if path.is_empty() {
                "/".into()
            } else {
                path.into()
            },
        }
    }
}

async fn tcp(addr: SocketAddr, source: Option<IpAddr>) -> io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    if let Some(ip) = source {
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

struct Http {
    ep: Endpoint,
    source: Option<IpAddr>,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

impl Http {
    fn new(ep: &Endpoint, source: Option<IpAddr>) -> Self {
        Self {
            ep: ep.clone(),
            source,
            stream: None,
            buf: Vec::new(),
        }
    }

    async fn post(&mut self, body: &str) -> io::Result<String> {
        if self.stream.is_none() {
            self.stream = Some(tcp(self.ep.addr, self.source).await?);
            self.buf.clear();
        }
        let result = self.exchange(body).await;
        if result.is_err() {
            self.stream = None;
        }
        result
    }

    async fn fill(&mut self) -> io::Result<()> {
        let stream = self.stream.as_mut().ok_or(io::ErrorKind::NotConnected)?;
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    async fn exchange(&mut self, body: &str) -> io::Result<String> {
        let request = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
            self.ep.path,
            self.ep.host,
            body.len()
        );
        let stream = self.stream.as_mut().ok_or(io::ErrorKind::NotConnected)?;
        stream.write_all(request.as_bytes()).await?;
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i;
            }
            self.fill().await?;
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).to_ascii_lowercase();
        self.buf.drain(..head_end + 4);
        let header = |name: &str| {
            head.lines()
                .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
        };
        let close = header("connection:").is_some_and(|v| v == "close");
        let body = if let Some(len) = header("content-length:").and_then(|v| v.parse().ok()) {
            while self.buf.len() < len {
                self.fill().await?;
            }
            self.buf.drain(..len).collect::<Vec<u8>>()
        } else if header("transfer-encoding:").is_some_and(|v| v.contains("chunked")) {
            let mut out = Vec::new();
            loop {
                let line_end = loop {
                    if let Some(i) = find(&self.buf, b"\r\n") {
                        break i;
                    }
                    self.fill().await?;
                };
                let size_text = String::from_utf8_lossy(&self.buf[..line_end]).into_owned();
                let size =
                    usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                        .map_err(|_| io::Error::from(io::ErrorKind::InvalidData))?;
                self.buf.drain(..line_end + 2);
                while self.buf.len() < size + 2 {
                    self.fill().await?;
                }
                out.extend(self.buf.drain(..size));
                self.buf.drain(..2);
                if size == 0 {
                    break out;
                }
            }
        } else {
            return Err(io::ErrorKind::InvalidData.into());
        };
        if close {
            self.stream = None;
        }
        Ok(String::from_utf8_lossy(&body).into_owned())
    }
}

// ---------------------------------------------------------------------------------------------------------------
// BOSH sessions

fn attr(text: &str, name: &str) -> Option<String> {
    for quote in ['\'', '"'] {
        let pat = format!(" {name}={quote}");
        if let Some(start) = text.find(&pat).map(|i| i + pat.len()) {
            let end = text[start..].find(quote)? + start;
            return Some(text[start..end].to_owned());
        }
    }
    None
}

fn initial_rid() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    1_000_000 + (nanos % 1_000_000_000) as u64
}

fn now_micros() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros())
}

struct Bosh {
    ep: Endpoint,
    sid: String,
    rid: u64,
}

impl Bosh {
    /// Creates a session on `http`; returns it and the creation response.
    async fn create(ep: &Endpoint, http: &mut Http, wait: u32) -> io::Result<(Self, String)> {
        let rid = initial_rid();
        let created = http
            .post(&format!(
                "<body xmlns='{NS}' xmlns:xmpp='urn:xmpp:xbosh' rid='{rid}' to='{DOMAIN}' wait='{wait}' hold='1' \
                 xmpp:version='1.0' ver='1.11' content='text/xml; charset=utf-8'/>"
            ))
            .await?;
        let sid =
            attr(&created, "sid").ok_or_else(|| io::Error::other(format!("no sid: {created}")))?;
        Ok((
            Self {
                ep: ep.clone(),
                sid,
                rid,
            },
            created,
        ))
    }

    fn body(&mut self, attrs: &str, payload: &str) -> String {
        self.rid += 1;
        format!(
            "<body xmlns='{NS}' xmlns:xmpp='urn:xmpp:xbosh' rid='{}' sid='{}' {attrs}>{payload}</body>",
            self.rid, self.sid
        )
    }

    async fn terminate(&mut self, source: Option<IpAddr>) {
        let body = self.body(
            "type='terminate'",
            "<presence xmlns='jabber:client' type='unavailable'/>",
        );
        let mut http = Http::new(&self.ep, source);
        let _ = tokio::time::timeout(Duration::from_secs(30), http.post(&body)).await;
    }
}

/// A logged-in BOSH client with one connection for polling/sending in turn.
struct Client {
    bosh: Bosh,
    http: Http,
    inbox: String,
}

impl Client {
    async fn next(&mut self, attrs: &str, payload: &str) -> io::Result<String> {
        let body = self.bosh.body(attrs, payload);
        let text = self.http.post(&body).await?;
        if text.contains("type='terminate'") || text.contains("type=\"terminate\"") {
            return Err(io::Error::other(format!("terminated: {text}")));
        }
        self.inbox.push_str(&text);
        Ok(text)
    }

    async fn until(&mut self, needle: &str) -> io::Result<()> {
        let end = Instant::now() + Duration::from_secs(30);
        while !self.inbox.contains(needle) {
            if Instant::now() > end {
                return Err(io::ErrorKind::TimedOut.into());
            }
            self.next("", "").await?;
        }
        Ok(())
    }

    async fn login(ep: &Endpoint, user: &str, resource: &str) -> io::Result<Self> {
        let mut http = Http::new(ep, None);
        let (bosh, created) = Bosh::create(ep, &mut http, 60).await?;
        let mut c = Self {
            bosh,
            http,
            inbox: created,
        };
        c.until("PLAIN</mechanism>").await?;
        let auth = base64_plain(user, PASSWORD);
        c.next(
            "",
            &format!(
                "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{auth}</auth>"
            ),
        )
        .await?;
        c.until("<success").await?;
        c.inbox.clear();
        c.next(&format!("xmpp:restart='true' to='{DOMAIN}'"), "")
            .await?;
        c.until("urn:ietf:params:xml:ns:xmpp-bind").await?;
        c.next(
            "",
            &format!(
                "<iq xmlns='jabber:client' type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
                 <resource>{resource}</resource></bind></iq>"
            ),
        )
        .await?;
        c.until("</jid>").await?;
        c.inbox.clear();
        Ok(c)
    }

    async fn terminate(mut self) {
        let body = self.bosh.body(
            "type='terminate'",
            "<presence xmlns='jabber:client' type='unavailable'/>",
        );
        let _ = tokio::time::timeout(Duration::from_secs(30), self.http.post(&body)).await;
    }
}

fn base64_plain(user: &str, password: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"))
}

// ---------------------------------------------------------------------------------------------------------------
// Direct c2s (for the latency baseline)

struct C2s {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl C2s {
    async fn until(&mut self, needle: &str) -> io::Result<()> {
        let end = Instant::now() + Duration::from_secs(30);
        let mut chunk = [0u8; 8192];
        while find(&self.buf, needle.as_bytes()).is_none() {
            let n = tokio::time::timeout_at(end.into(), self.stream.read(&mut chunk))
                .await
                .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
        Ok(())
    }

    async fn login(addr: SocketAddr, user: &str, resource: &str) -> io::Result<Self> {
        let header = format!(
            "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
             xmlns:stream='http://etherx.jabber.org/streams' to='{DOMAIN}' version='1.0'>"
        );
        let mut c = Self {
            stream: tcp(addr, None).await?,
            buf: Vec::new(),
        };
        c.stream.write_all(header.as_bytes()).await?;
        c.until("</stream:features>").await?;
        let auth = base64_plain(user, PASSWORD);
        c.stream
            .write_all(
                format!(
                    "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{auth}</auth>"
                )
                .as_bytes(),
            )
            .await?;
        c.until("<success").await?;
        c.buf.clear();
        c.stream.write_all(header.as_bytes()).await?;
        c.until("</stream:features>").await?;
        c.stream
            .write_all(
                format!(
                    "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
                     <resource>{resource}</resource></bind></iq>"
                )
                .as_bytes(),
            )
            .await?;
        c.until("</jid>").await?;
        c.buf.clear();
        Ok(c)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Measurements

fn rss_kb(pid: Option<u32>) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// User + system CPU seconds of a process so far (clock ticks of 1/100 s, as on Linux).
fn cpu_secs(pid: Option<u32>) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid?)).ok()?;
    // Fields after the command name (which may contain spaces) end with `)`.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn timestamps(text: &str, now: u128, into: &mut Vec<f64>) {
    for part in text.split("t=").skip(1) {
        let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(sent) = digits.parse::<u128>() {
            into.push(now.saturating_sub(sent) as f64 / 1000.0);
        }
    }
}

struct Stats {
    count: usize,
    secs: f64,
    p50: f64,
    p99: f64,
    /// Messages/s in each sixth of the window (when arrival times were kept).
    series: Vec<f64>,
}

impl Stats {
    fn new(mut l: Vec<f64>, secs: f64) -> Self {
        l.sort_by(f64::total_cmp);
        let pct = |q: f64| {
            l.get(((l.len() as f64 - 1.0) * q).round() as usize)
                .copied()
                .unwrap_or(f64::NAN)
        };
        Self {
            count: l.len(),
            secs,
            p50: pct(0.5),
            p99: pct(0.99),
            series: Vec::new(),
        }
    }

    fn with_arrivals(mut self, arrivals: &[f64]) -> Self {
        let width = self.secs / 6.0;
        let mut counts = [0usize; 6];
        for &t in arrivals {
            if let Some(c) = counts.get_mut((t / width) as usize) {
                *c += 1;
            }
        }
        self.series = counts.iter().map(|&c| c as f64 / width).collect();
        self
    }

    fn series_text(&self) -> String {
        let parts: Vec<String> = self.series.iter().map(|r| format!("{r:.0}")).collect();
        let width = self.secs / 6.0;
        if width >= 10.0 {
            format!("per {width:.0} s: {}", parts.join(" "))
        } else {
            format!("per {width:.1} s: {}", parts.join(" "))
        }
    }

    fn rate(&self) -> f64 {
        self.count as f64 / self.secs
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Scenarios

async fn logins(ep: &Endpoint, total: usize, parallel: usize, tag: &str) -> (f64, usize) {
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..parallel {
        let (ep, next, failed, tag) = (ep.clone(), next.clone(), failed.clone(), tag.to_owned());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let user = ["alice", "bob", "carol"][i % 3];
                match Client::login(&ep, user, &format!("{tag}-{i}")).await {
                    Ok(c) => c.terminate().await,
                    Err(e) => {
                        if failed.fetch_add(1, Ordering::Relaxed) == 0 {
                            eprintln!("cm-load: a login failed: {e}");
                        }
                    }
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let failed = failed.load(Ordering::Relaxed);
    (
        (total - failed) as f64 / started.elapsed().as_secs_f64(),
        failed,
    )
}

/// Per pair: messages received so far, and a wake-up for the sender.
#[derive(Default)]
struct Flow {
    received: std::sync::atomic::AtomicU64,
    notify: tokio::sync::Notify,
}

/// Logged-in sender/receiver pairs, ready to run.
struct Pairs {
    senders: Vec<Client>,
    receivers: Vec<Client>,
    tag: String,
}

async fn login_pairs(ep: &Endpoint, pairs: usize, tag: &str) -> Pairs {
    let gate = Arc::new(Semaphore::new(16));
    let mut tasks = Vec::new();
    for p in 0..pairs {
        let (ep, gate, tag) = (ep.clone(), gate.clone(), tag.to_owned());
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.ok()?;
            let rx = Client::login(&ep, "bob", &format!("{tag}-rx-{p}")).await;
            let tx = Client::login(&ep, "alice", &format!("{tag}-tx-{p}")).await;
            match (rx, tx) {
                (Ok(rx), Ok(tx)) => Some((tx, rx)),
                (rx, tx) => {
                    if let Err(e) = rx.as_ref().map(|_| ()).and(tx.as_ref().map(|_| ())) {
                        eprintln!("cm-load: a pair could not log in: {e}");
                    }
                    None
                }
            }
        }));
    }
    let mut out = Pairs {
        senders: Vec::new(),
        receivers: Vec::new(),
        tag: tag.to_owned(),
    };
    for t in tasks {
        if let Ok(Some((tx, rx))) = t.await {
            out.senders.push(tx);
            out.receivers.push(rx);
        }
    }
    out
}

fn message(to: &str) -> String {
    format!(
        "<message xmlns='jabber:client' to='{to}' type='chat'><body>t={}</body></message>",
        now_micros()
    )
}

/// Runs the pairs for `secs`: as fast as possible when `rate` is None, else `rate` messages/s per sender; either
/// way with at most `window` messages sent and not yet received per pair. Ends every session. Returns the stats of the messages received in the window.
async fn run_pairs(pairs: Pairs, secs: u64, rate: Option<f64>, window: u64) -> Stats {
    let stop = Arc::new(AtomicBool::new(false));
    let (stop_rx_tx, stop_rx) = tokio::sync::watch::channel(false);
    let lat = Arc::new(Mutex::new(Vec::new()));
    let arr = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let window_end = started + Duration::from_secs(secs);
    let flows: Vec<Arc<Flow>> = (0..pairs.receivers.len())
        .map(|_| Arc::new(Flow::default()))
        .collect();
    let mut rx_tasks = Vec::new();
    for (mut rx, flow) in pairs.receivers.into_iter().zip(flows.clone()) {
        let (mut stop_rx, lat, arr) = (stop_rx.clone(), lat.clone(), arr.clone());
        rx_tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let mut arrivals = Vec::new();
            let mut scratch = Vec::new();
            // The poll is held until something arrives (or `wait` passes); never abandoned before the end, since
            // a new empty request while one is held within `polling` is overactivity (XEP-0124 §11).
            while !*stop_rx.borrow() {
                let poll = tokio::select! {
                    r = rx.next("", "") => r,
                    _ = stop_rx.changed() => break,
                };
                match poll {
                    Ok(text) => {
                        scratch.clear();
                        timestamps(&text, now_micros(), &mut scratch);
                        flow.received
                            .fetch_add(scratch.len() as u64, Ordering::Relaxed);
                        flow.notify.notify_one();
                        if Instant::now() <= window_end {
                            mine.extend_from_slice(&scratch);
                            let at = started.elapsed().as_secs_f64();
                            arrivals.extend(scratch.iter().map(|_| at));
                        }
                        rx.inbox.clear();
                    }
                    Err(_) => break,
                }
            }
            lat.lock().await.extend(mine);
            arr.lock().await.extend(arrivals);
            rx.bosh.terminate(None).await;
        }));
    }
    let mut tx_tasks = Vec::new();
    let n_senders = pairs.senders.len().max(1);
    for ((p, tx), flow) in pairs.senders.into_iter().enumerate().zip(flows) {
        let stop = stop.clone();
        let to = format!("bob@{DOMAIN}/{}-rx-{p}", pairs.tag);
        tx_tasks.push(tokio::spawn(async move {
            let Client { mut bosh, http, .. } = tx;
            let second = Http::new(&bosh.ep, None);
            // Two connections in turn: each new request releases the one held before it (hold=1).
            let mut slots: VecDeque<JoinHandle<Http>> = VecDeque::new();
            slots.push_back(tokio::spawn(async move { http }));
            slots.push_back(tokio::spawn(async move { second }));
            let interval = rate.map(|r| Duration::from_secs_f64(1.0 / r.max(0.001)));
            // Senders at a fixed rate start at staggered phases, so that they do not send in bursts.
            let mut next_at =
                Instant::now() + interval.unwrap_or_default() * p as u32 / n_senders as u32;
            let mut sent = 0u64;
            while !stop.load(Ordering::Relaxed) {
                if let Some(iv) = interval {
                    tokio::time::sleep_until(next_at.into()).await;
                    next_at += iv;
                }
                // At most `window` messages on their way per pair: the sender waits for the receiver.
                while sent.saturating_sub(flow.received.load(Ordering::Relaxed)) >= window
                    && !stop.load(Ordering::Relaxed)
                {
                    let _ = tokio::time::timeout(Duration::from_millis(50), flow.notify.notified())
                        .await;
                }
                sent += 1;
                let Some(slot) = slots.pop_front() else { break };
                let Ok(mut http) = slot.await else { break };
                let body = bosh.body("", &message(&to));
                slots.push_back(tokio::spawn(async move {
                    let _ = http.post(&body).await;
                    http
                }));
            }
            // An empty request releases the last held one.
            let body = bosh.body("", "");
            if let Some(Ok(mut http)) = match slots.pop_front() {
                Some(h) => Some(h.await),
                None => None,
            } {
                let _ = tokio::time::timeout(Duration::from_secs(2), http.post(&body)).await;
            }
            for h in slots {
                let _ = tokio::time::timeout(Duration::from_secs(2), h).await;
            }
            if std::env::var_os("CM_LOAD_DEBUG").is_some() {
                eprintln!(
                    "pair {p}: sent {sent}, received {}",
                    flow.received.load(Ordering::Relaxed)
                );
            }
            bosh.terminate(None).await;
        }));
    }
    tokio::time::sleep_until(window_end.into()).await;
    stop.store(true, Ordering::Relaxed);
    for t in tx_tasks {
        let _ = t.await;
    }
    let _ = stop_rx_tx.send(true);
    for t in rx_tasks {
        let _ = t.await;
    }
    let l = lat.lock().await.clone();
    let a = arr.lock().await.clone();
    Stats::new(l, secs as f64).with_arrivals(&a)
}

/// The same as [`run_pairs`] over direct c2s connections to Prosody.
async fn login_c2s_pairs(addr: SocketAddr, n: usize, tag: &str) -> (Vec<C2s>, Vec<C2s>) {
    let mut senders = Vec::new();
    let mut receivers = Vec::new();
    for p in 0..n {
        let rx = C2s::login(addr, "bob", &format!("{tag}-rx-{p}")).await;
        let tx = C2s::login(addr, "alice", &format!("{tag}-tx-{p}")).await;
        if let (Ok(rx), Ok(tx)) = (rx, tx) {
            senders.push(tx);
            receivers.push(rx);
        } else {
            eprintln!("cm-load: a c2s pair could not log in");
        }
    }
    (senders, receivers)
}

async fn run_c2s_pairs(
    (senders, receivers): (Vec<C2s>, Vec<C2s>),
    secs: u64,
    rate: f64,
    tag: &str,
) -> Stats {
    let stop = Arc::new(AtomicBool::new(false));
    let lat = Arc::new(Mutex::new(Vec::new()));
    let window_end = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for mut rx in receivers {
        let (stop, lat) = (stop.clone(), lat.clone());
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let mut chunk = vec![0u8; 16384];
            while !stop.load(Ordering::Relaxed) {
                match tokio::time::timeout(Duration::from_millis(200), rx.stream.read(&mut chunk))
                    .await
                {
                    Ok(Ok(0) | Err(_)) => break,
                    Ok(Ok(n)) => {
                        rx.buf.extend_from_slice(&chunk[..n]);
                        // Only complete messages: up to the last `</message>`.
                        if let Some(end) = rx.buf.windows(10).rposition(|w| w == b"</message>") {
                            let text = String::from_utf8_lossy(&rx.buf[..end]).into_owned();
                            if Instant::now() <= window_end {
                                timestamps(&text, now_micros(), &mut mine);
                            }
                            rx.buf.drain(..end + 10);
                        }
                    }
                    Err(_) => {}
                }
            }
            lat.lock().await.extend(mine);
            let _ = rx.stream.write_all(b"</stream:stream>").await;
        }));
    }
    let n_senders = senders.len().max(1);
    for (p, mut tx) in senders.into_iter().enumerate() {
        let stop = stop.clone();
        let to = format!("bob@{DOMAIN}/{tag}-rx-{p}");
        tasks.push(tokio::spawn(async move {
            let iv = Duration::from_secs_f64(1.0 / rate.max(0.001));
            let mut next_at = Instant::now() + iv * p as u32 / n_senders as u32;
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep_until(next_at.into()).await;
                next_at += iv;
                if tx.stream.write_all(message(&to).as_bytes()).await.is_err() {
                    break;
                }
            }
            let _ = tx.stream.write_all(b"</stream:stream>").await;
        }));
    }
    tokio::time::sleep_until(window_end.into()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let l = lat.lock().await.clone();
    Stats::new(l, secs as f64)
}

struct Idle {
    held: usize,
    rss_before: Option<u64>,
    rss_after: Option<u64>,
    other_before: Option<u64>,
    other_after: Option<u64>,
    setup_secs: f64,
    sessions: Vec<JoinHandle<()>>,
    stop: Arc<tokio::sync::watch::Sender<bool>>,
}

/// Opens `n` idle sessions (creation + a held empty request, re-polled when answered) and measures the RSS of
/// `pid` (and of `other`, the upstream server) before and after.
async fn idle(o: &Opts, ep: &Endpoint, pid: Option<u32>, other: Option<u32>) -> Idle {
    let rss_before = rss_kb(pid);
    let other_before = rss_kb(other);
    let started = Instant::now();
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let stop = Arc::new(stop);
    let ready = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Semaphore::new(o.idle_parallel.max(1)));
    let teardown_gate = Arc::new(Semaphore::new(o.teardown_parallel.max(1)));
    let mut sessions = Vec::new();
    for i in 0..o.idle {
        let source = IpAddr::V4(Ipv4Addr::new(
            127,
            0,
            0,
            2 + (i % usize::from(o.source_addrs)) as u8,
        ));
        let (ep, ready, failed, gate, teardown_gate) = (
            ep.clone(),
            ready.clone(),
            failed.clone(),
            gate.clone(),
            teardown_gate.clone(),
        );
        let mut stop_rx = stop_rx.clone();
        sessions.push(tokio::spawn(async move {
            let Ok(permit) = gate.acquire_owned().await else {
                return;
            };
            let mut http = Http::new(&ep, Some(source));
            let (mut bosh, created) = match Bosh::create(&ep, &mut http, 120).await {
                Ok(x) => x,
                Err(e) => {
                    if failed.fetch_add(1, Ordering::Relaxed) == 0 {
                        eprintln!("cm-load: an idle session failed: {e}");
                    }
                    return;
                }
            };
            // Ready once the stream features have come (in the creation answer or a later one); from then on the
            // empty request is held.
            let mut permit = Some(permit);
            let mut seen_features =
                created.contains("stream:features") || created.contains("<features");
            loop {
                if seen_features && let Some(p) = permit.take() {
                    drop(p);
                    ready.fetch_add(1, Ordering::Relaxed);
                }
                let body = bosh.body("", "");
                tokio::select! {
                    r = http.post(&body) => match r {
                        Ok(text) if !text.contains("terminate") => {
                            seen_features |= text.contains("features");
                        }
                        _ => {
                            failed.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                    },
                    _ = stop_rx.changed() => break,
                }
            }
            let _permit = teardown_gate.acquire().await;
            bosh.terminate(Some(source)).await;
            drop(http);
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let (r, f) = (
            ready.load(Ordering::Relaxed),
            failed.load(Ordering::Relaxed),
        );
        if r + f >= o.idle || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let setup_secs = started.elapsed().as_secs_f64();
    // Let the last held requests settle in.
    tokio::time::sleep(Duration::from_secs(3)).await;
    Idle {
        held: ready.load(Ordering::Relaxed),
        rss_before,
        rss_after: rss_kb(pid),
        other_before,
        other_after: rss_kb(other),
        setup_secs,
        sessions,
        stop,
    }
}

fn per_session(before: Option<u64>, after: Option<u64>, n: usize) -> Option<(f64, f64)> {
    let (b, a) = (before?, after?);
    // No growth: the process reused memory it had freed before (a server that ran earlier loads); the number
    // would mean nothing.
    if a <= b {
        return None;
    }
    let delta_kb = a.saturating_sub(b) as f64;
    Some((delta_kb / 1024.0, delta_kb / n.max(1) as f64))
}

// ---------------------------------------------------------------------------------------------------------------
// zxmpp-cm as a child process

struct Cm {
    url: String,
    pid: Option<u32>,
    child: Option<Child>,
}

fn start_cm(o: &Opts) -> Cm {
    if let Some(url) = &o.cm_url {
        return Cm {
            url: url.clone(),
            pid: o.cm_pid,
            child: None,
        };
    }
    let bin = o.cm_bin.clone().unwrap_or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|p| Some(p.parent()?.parent()?.join("zxmpp-cm")))
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "zxmpp-cm".into())
    });
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(35291);
    let listen = format!("127.0.0.1:{port}");
    let child = Command::new(&bin)
        .args(["--listen", &listen])
        .args(["--upstream", &format!("{DOMAIN}={}", o.prosody_c2s)])
        .args([
            "--max-sessions",
            "1000000",
            "--max-sessions-per-ip",
            "1000000",
        ])
        .args(["--max-wait", "120", "--inactivity", "60"])
        .env(
            "RUST_LOG",
            std::env::var("CM_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            eprintln!(
                "cm-load: cannot start {bin}: {e} (cargo build --release -p zxmpp-cm, or --cm-bin)"
            );
            std::process::exit(1)
        });
    let addr: SocketAddr = listen.parse().unwrap_or_else(|_| usage());
    let until = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(addr).is_err() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    Cm {
        url: format!("http://{listen}/http-bind"),
        pid: Some(child.id()),
        child: Some(child),
    }
}

// ---------------------------------------------------------------------------------------------------------------

fn raise_fd_limit() -> u64 {
    rlimit::increase_nofile_limit(u64::MAX).unwrap_or(0)
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 && a.is_finite() && b.is_finite() {
        format!("{:.2}", a / b)
    } else {
        "n/a".into()
    }
}

fn main() {
    let o = parse_opts();
    let fds = raise_fd_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| {
            eprintln!("cm-load: runtime: {e}");
            std::process::exit(1)
        });
    let mut cm = start_cm(&o);
    eprintln!(
        "cm-load: zxmpp-cm {} (pid {:?}), prosody {} (pid {:?}), fd limit {fds}",
        cm.url, cm.pid, o.prosody_url, o.prosody_pid
    );
    runtime.block_on(run(&o, &cm));
    if let Some(child) = cm.child.as_mut() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

const CM: &str = "zxmpp-cm";
const PROSODY: &str = "prosody mod_bosh";

async fn run(o: &Opts, cm: &Cm) {
    let cm_ep = Endpoint::parse(&cm.url);
    let pr_ep = Endpoint::parse(&o.prosody_url);
    let servers = [(CM, &cm_ep, cm.pid), (PROSODY, &pr_ep, o.prosody_pid)];
    let only = |s: &str| o.only.as_deref().is_none_or(|x| x == s);
    let run_id = initial_rid() % 100_000;

    // First, on a quiet Prosody whose heap has not grown yet (after thousands of sessions its garbage collector
    // pauses dominate every latency).
    if only("latency") {
        // The three paths run at the same time, so that they meet the same moments of load on Prosody (its
        // pauses dominate the p99 of all three): the difference is what zxmpp-cm adds.
        let per_pair = o.latency_rate / o.pairs.max(1) as f64;
        let tag = format!("d{run_id}");
        let c2s = login_c2s_pairs(o.prosody_c2s, o.pairs, &tag).await;
        let cm_pairs = login_pairs(&cm_ep, o.pairs, &format!("a{run_id}0")).await;
        let pr_pairs = login_pairs(&pr_ep, o.pairs, &format!("a{run_id}1")).await;
        let (direct, via_cm, via_pr) = tokio::join!(
            run_c2s_pairs(c2s, o.duration, per_pair, &tag),
            run_pairs(cm_pairs, o.duration, Some(per_pair), u64::MAX),
            run_pairs(pr_pairs, o.duration, Some(per_pair), u64::MAX),
        );
        println!(
            "latency   direct c2s        {:9.1} messages/s, latency p50 {:.2} ms p99 {:.2} ms ({} pairs each, all three at once)",
            direct.rate(),
            direct.p50,
            direct.p99,
            o.pairs
        );
        for (name, s) in [(CM, via_cm), (PROSODY, via_pr)] {
            println!(
                "latency   {name:<17} {:9.1} messages/s, latency p50 {:.2} ms p99 {:.2} ms; added over direct c2s: p50 {:+.2} ms p99 {:+.2} ms",
                s.rate(),
                s.p50,
                s.p99,
                s.p50 - direct.p50,
                s.p99 - direct.p99
            );
        }
    }
    if only("idle") {
        let mut kb = Vec::new();
        let mut after_rates = Vec::new();
        // Prosody first, while its heap is fresh (Lua and malloc keep freed memory for reuse, so a second round
        // of sessions would hardly grow its RSS).
        for (i, (name, ep, pid)) in servers.into_iter().enumerate().rev() {
            // The upstream Prosody's memory, for zxmpp-cm's sessions (its c2s connections), is shown apart.
            let other = if i == 0 { o.prosody_pid } else { None };
            let idle = idle(o, ep, pid, other).await;
            // Logged in after the idle sessions (so that they do not time out while those are set up).
            let pairs = login_pairs(ep, o.pairs, &format!("t{run_id}{i}")).await;
            let n_pairs = pairs.senders.len();
            let mem = per_session(idle.rss_before, idle.rss_after, idle.held);
            let upstream = per_session(idle.other_before, idle.other_after, idle.held)
                .map(|(mb, kb)| format!("; upstream Prosody +{mb:.1} MB = {kb:.1} KB/session"))
                .unwrap_or_default();
            match mem {
                Some((mb, per)) => {
                    println!(
                        "idle      {name:<17} {:6} sessions held ({} asked, set up in {:.1} s), RSS +{mb:.1} MB = {per:.2} KB/session{upstream}",
                        idle.held, o.idle, idle.setup_secs
                    );
                    kb.push(per);
                }
                None => {
                    println!(
                        "idle      {name:<17} {:6} sessions held ({} asked), memory unknown (no pid, or its RSS did \
                         not grow: freed memory reused; use a freshly started server and more sessions)",
                        idle.held, o.idle
                    );
                    kb.push(f64::NAN);
                }
            }
            // Mass teardown, then messages/s in the window after it.
            let t0 = Instant::now();
            let _ = idle.stop.send(true);
            let run = tokio::spawn(run_pairs(pairs, o.after, None, o.window));
            for s in idle.sessions {
                let _ = s.await;
            }
            let teardown = t0.elapsed().as_secs_f64();
            let s = run.await.unwrap_or_else(|_| Stats::new(Vec::new(), 1.0));
            println!(
                "teardown  {name:<17} {:6} sessions terminated in {teardown:.1} s; meanwhile and after: {:9.1} messages/s ({}), latency p50 {:.2} ms p99 {:.2} ms ({n_pairs} pairs, {} s)",
                idle.held,
                s.rate(),
                s.series_text(),
                s.p50,
                s.p99,
                o.after
            );
            after_rates.push(s.rate());
            // Let the servers settle before the next server's turn.
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        // Filled in reverse order: prosody first.
        println!(
            "idle      ratio memory per session prosody / zxmpp-cm: {}",
            ratio(kb[0], kb[1])
        );
        println!(
            "teardown  ratio zxmpp-cm / prosody: {}",
            ratio(after_rates[1], after_rates[0])
        );
    }

    if only("logins") {
        let mut rates = Vec::new();
        for (name, ep, _) in servers {
            let (rate, failed) =
                logins(ep, o.logins, o.login_parallel, &format!("l{run_id}")).await;
            println!(
                "logins    {name:<17} {rate:9.1} logins/s ({failed} failed; {} logins, {} at a time)",
                o.logins, o.login_parallel
            );
            rates.push(rate);
        }
        println!(
            "logins    ratio zxmpp-cm / prosody: {}",
            ratio(rates[0], rates[1])
        );
    }

    if only("messages") {
        let mut rates = Vec::new();
        for (i, (name, ep, pid)) in servers.into_iter().enumerate() {
            let pairs = login_pairs(ep, o.pairs, &format!("m{run_id}{i}")).await;
            let n = pairs.senders.len();
            let me = Some(std::process::id());
            let cpu = (
                cpu_secs(pid),
                cpu_secs(o.prosody_pid),
                Instant::now(),
                cpu_secs(me),
            );
            let s = run_pairs(pairs, o.duration, None, o.window).await;
            let usage = |before: Option<f64>, now: Option<u32>| {
                let used = cpu_secs(now)? - before?;
                Some(format!(
                    "{:.0}%",
                    100.0 * used / cpu.2.elapsed().as_secs_f64()
                ))
            };
            let load = usage(cpu.3, me).unwrap_or_default();
            let cpu_text = match (i, usage(cpu.0, pid), usage(cpu.1, o.prosody_pid)) {
                (0, Some(cm), Some(p)) => {
                    format!("; CPU zxmpp-cm {cm}, Prosody c2s {p}, cm-load {load}")
                }
                (_, Some(c), _) => format!("; CPU {c}, cm-load {load}"),
                _ => String::new(),
            };
            println!(
                "messages  {name:<17} {:9.1} messages/s, latency p50 {:.2} ms p99 {:.2} ms ({n} pairs, {} s{cpu_text})",
                s.rate(),
                s.p50,
                s.p99,
                o.duration
            );
            rates.push(s.rate());
        }
        println!(
            "messages  ratio zxmpp-cm / prosody: {}",
            ratio(rates[0], rates[1])
        );
    }
}
