//! The server: the listener and the [`http`] layer, routing of requests to sessions, the session
//! table, limits, CORS, metrics and graceful shutdown. Each session runs in a task of its own ([`session`]).

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::ClientConfig;
use zxmpp_bosh::{Body, CmConfig, Condition, HttpId, Limits};
use zxmpp_client::drivers::TlsRoots;

use crate::bridge::Bridge;
use crate::dns::{DnsResolver, SrvLookup, StaticSrv};
use crate::http::{self, HeaderValue, Method, Request, Response};
use crate::metrics::Metrics;
use crate::policy::Policy;
use crate::recent::{Answer, Recent};
use crate::session::{self, Inbox, Msg, Session};
use crate::{Config, Error};

const CONTENT_TYPE: HeaderValue = HeaderValue::from_static("text/xml; charset=utf-8");
const TEXT: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");

#[derive(Default)]
pub(crate) struct Table {
    /// Every session's inbox, lingering sessions (ended, still answering retransmissions) included.
    pub(crate) sessions: HashMap<SidKey, Arc<Inbox>>,
    /// Sessions not ended yet: what `max_sessions` limits.
    pub(crate) live: usize,
    pub(crate) per_ip: HashMap<IpAddr, usize>,
    /// Creation requests answered lately, for their retransmissions.
    pub(crate) recent: Recent,
}

pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) policy: Arc<Policy>,
    pub(crate) srv: Arc<dyn SrvLookup>,
    pub(crate) tls: Arc<ClientConfig>,
    pub(crate) metrics: Metrics,
    pub(crate) table: Mutex<Table>,
    /// The HTTP layer's limits (body size from the configuration).
    http: http::Limits,
    next_http: AtomicU64,
    shutting_down: AtomicBool,
    /// The `Set-Cookie` value of the sticky routing cookie, when configured.
    cookie: Option<HeaderValue>,
    /// The BOSH policy every session shares (one copy, not one per session).
    cm_config: Arc<CmConfig>,
}

/// A bound, not yet running connection manager.
pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("listen", &self.listener.local_addr().ok())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Binds the listening socket of `config` (port 0 picks a free port; see [`Server::local_addr`]), with a
    /// DNS resolver for SRV and address records: the configured `dns_servers`, else the system's configuration
    /// (when that cannot be read, a warning is logged and hosts resolve through the operating system without
    /// SRV records).
    ///
    /// # Errors
    /// [`Error::Listen`], [`Error::Tls`], [`Error::Dns`], or a configuration error.
    pub async fn bind(config: Config) -> Result<Self, Error> {
        let servers = config.dns_server_addrs()?;
        let resolver: Arc<dyn SrvLookup> = if servers.is_empty() {
            match DnsResolver::system() {
                Ok(resolver) => Arc::new(resolver),
                Err(e) => {
                    tracing::warn!(error = %e, "no DNS resolver: SRV records are not looked up");
                    Arc::new(StaticSrv::new())
                }
            }
        } else {
            Arc::new(DnsResolver::with_servers(
                &servers,
                config.connect_timeout(),
            )?)
        };
        Self::bind_with_srv(config, resolver).await
    }

    /// As [`Server::bind`], with DNS answers from `srv` (e.g. a [`StaticSrv`] table).
    ///
    /// # Errors
    /// As [`Server::bind`].
    pub async fn bind_with_srv(config: Config, srv: Arc<dyn SrvLookup>) -> Result<Self, Error> {
        config.validate()?;
        let roots = match &config.upstream_ca_file {
            Some(path) => TlsRoots::WebPkiAndCaFile(path.clone()),
            None => TlsRoots::WebPki,
        };
        let tls = roots
            .client_config()
            .map_err(|e| Error::Tls(e.to_string()))?;
        let listener = listen(config.listen).map_err(|source| Error::Listen {
            address: config.listen.to_string(),
            source,
        })?;
        let cookie = match config
            .sticky_cookie
            .as_ref()
            .map(|c| c.header(&config.path))
        {
            Some(value) => Some(HeaderValue::new(value.clone()).map_err(|_| {
                Error::Config(format!("sticky_cookie: {value:?} is not a valid header"))
            })?),
            None => None,
        };
        let http = http::Limits {
            max_body_bytes: config.max_body_bytes,
            ..http::Limits::default()
        };
        let shared = Arc::new(Shared {
            http,
            cookie,
            policy: Arc::new(Policy::new(&config)),
            cm_config: Arc::new(cm_config(&config)),
            config,
            srv,
            tls,
            metrics: Metrics::default(),
            table: Mutex::new(Table::default()),
            next_http: AtomicU64::new(1),
            shutting_down: AtomicBool::new(false),
        });
        Ok(Self { listener, shared })
    }

    /// The address it listens on.
    ///
    /// # Errors
    /// The socket's error.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then ends every session with `system-shutdown` (answering held
    /// requests and closing upstream streams), waits up to `shutdown_grace_secs` for them, and returns.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let shared = self.shared;
        tracing::info!(listen = ?self.listener.local_addr().ok(), "zxmpp-cm listening");
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                accepted = self.listener.accept() => {
                    let Ok((stream, peer)) = accepted else { continue };
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(serve(Arc::clone(&shared), stream, None, peer.ip()));
                }
            }
        }
        tracing::info!("shutting down: ending sessions");
        shared.shutting_down.store(true, Ordering::SeqCst);
        if let Ok(table) = shared.table.lock() {
            for inbox in table.sessions.values() {
                inbox.send(Msg::Shutdown);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(shared.config.shutdown_grace_secs);
        while Instant::now() < deadline {
            let left = shared.table.lock().map_or(0, |t| t.sessions.len());
            if left == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Let the last responses reach the wire.
        tokio::time::sleep(Duration::from_millis(50)).await;
        tracing::info!("stopped");
    }
}

/// Connections waiting to be accepted. std's (and so `TcpListener::bind`'s) 128 overflows when a few hundred
/// clients connect at once (a mass reconnect, a mass terminate): the kernel drops their SYNs and they retry only
/// after a second.
const LISTEN_BACKLOG: u32 = 4096;

fn listen(address: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if address.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As std's bind does on Unix: a restarted server can bind while old connections are in TIME_WAIT.
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(LISTEN_BACKLOG)
}

fn text(status: u16, content_type: HeaderValue, body: impl Into<Bytes>) -> Response {
    Response::new(status, content_type, body)
}

fn terminate(condition: Condition) -> Response {
    let body = Body::terminate(Some(condition)).to_bytes([]);
    text(200, CONTENT_TYPE, body)
}

fn cors(shared: &Shared, origin: Option<&str>, response: &mut Response) {
    let Some(origin) = origin else { return };
    let origins = &shared.config.cors_origins;
    let allowed = origins.iter().any(|o| o == "*" || o == origin);
    // The layer checked the request's header value; checked again as a response header (no control bytes).
    let (true, Ok(origin)) = (allowed, HeaderValue::new(origin.to_owned())) else {
        return;
    };
    response
        .header("Access-Control-Allow-Origin", origin)
        .header("Vary", HeaderValue::from_static("Origin"))
        .header(
            "Access-Control-Allow-Methods",
            HeaderValue::from_static("GET, POST, OPTIONS"),
        )
        .header(
            "Access-Control-Allow-Headers",
            HeaderValue::from_static("Content-Type"),
        )
        .header("Access-Control-Max-Age", HeaderValue::from_static("86400"));
    // A browser stores the routing cookie of a cross-origin response, and sends it back, only for credentialed
    // requests (`withCredentials`), which need this and an explicit origin (echoed above, never `*`).
    if shared.cookie.is_some() {
        response.header(
            "Access-Control-Allow-Credentials",
            HeaderValue::from_static("true"),
        );
    }
}

/// Serves one connection (from its start, or after a parked request was answered: `leftover` holds what the
/// client sent after it).
async fn serve(shared: Arc<Shared>, stream: TcpStream, leftover: Option<Vec<u8>>, ip: IpAddr) {
    let shared = &shared;
    let refused = http::serve_parking(stream, leftover, &shared.http, move |req| {
        handle(shared, ip, req)
    })
    .await;
    if let Some(status) = refused {
        shared.metrics.error(match status {
            413 => "request-too-large",
            408 => "request-timeout",
            _ => "bad-http-request",
        });
    }
}

/// Where the answer to a BOSH request goes: its parked connection (no task waits for a held request), and what
/// the response needs besides the session's answer. Dropped unanswered (its session ended), it answers
/// `item-not-found`, as for an unknown sid.
pub(crate) struct Reply {
    parked: Option<http::Parked>,
    shared: Arc<Shared>,
    ip: IpAddr,
    origin: Option<String>,
    /// A session creation request: its answer carries the routing cookie.
    creation: bool,
}

impl Reply {
    /// Answers with the session's response.
    pub(crate) fn send(self, status: u16, content_type: &str, body: Bytes) {
        let content_type = HeaderValue::new(content_type.to_owned()).unwrap_or(CONTENT_TYPE);
        let mut response = text(status, content_type, body);
        // The node's routing cookie, for a load balancer in front (docs/scaling.md).
        if self.creation
            && let Some(cookie) = &self.shared.cookie
        {
            response.header("Set-Cookie", cookie.clone());
        }
        self.respond(response);
    }

    fn respond(mut self, response: Response) {
        self.deliver(response);
    }

    /// Writes `response` in a task of its own, which then serves the connection's next requests.
    fn deliver(&mut self, mut response: Response) {
        let Some(parked) = self.parked.take() else {
            return;
        };
        cors(&self.shared, self.origin.as_deref(), &mut response);
        self.shared.metrics.response(response.body().len());
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (shared, ip) = (Arc::clone(&self.shared), self.ip);
        runtime.spawn(async move {
            if let Some((stream, leftover)) = parked.answer(&shared.http, response).await {
                serve(shared, stream, leftover, ip).await;
            }
        });
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        if self.parked.is_some() {
            self.deliver(terminate(Condition::ItemNotFound));
        }
    }
}

/// What a request gets: its response now, or later from its session.
enum Routed {
    Now(Response),
    /// For a session (`None`: a session creation request), answered through a [`Reply`].
    Later {
        http: HttpId,
        bytes: Bytes,
        to: Option<Arc<Inbox>>,
    },
}

/// Serves one HTTP request: at once, or by parking the connection with the request's session.
fn handle(
    shared: &Arc<Shared>,
    ip: IpAddr,
    req: Request,
) -> http::Handled<std::future::Ready<Response>> {
    let origin = req.origin.clone();
    match dispatch(shared, req) {
        Routed::Now(mut response) => {
            cors(shared, origin.as_deref(), &mut response);
            shared.metrics.response(response.body().len());
            http::Handled::Wait(std::future::ready(response))
        }
        Routed::Later { http, bytes, to } => {
            let shared = Arc::clone(shared);
            http::Handled::Park(Box::new(move |parked| {
                let reply = Reply {
                    parked: Some(parked),
                    shared: Arc::clone(&shared),
                    ip,
                    origin,
                    creation: to.is_none(),
                };
                match to {
                    Some(inbox) => inbox.send(Msg::Request(http, bytes, reply)),
                    None => {
                        let mut reply = Some(reply);
                        if let Err(condition) = create(&shared, ip, http, bytes, &mut reply) {
                            shared.metrics.error(&condition.to_string());
                            if let Some(reply) = reply {
                                reply.respond(terminate(condition));
                            }
                        }
                    }
                }
            }))
        }
    }
}

fn dispatch(shared: &Arc<Shared>, req: Request) -> Routed {
    let Request {
        method, path, body, ..
    } = req;
    if path == shared.config.path {
        match method {
            Method::Post => {
                shared.metrics.request(body.len());
                route(shared, body)
            }
            Method::Options => Routed::Now(Response::empty(200)),
            Method::Get | Method::Head => Routed::Now(text(
                200,
                TEXT,
                "zxmpp-cm: a BOSH (XEP-0124/XEP-0206) connection manager. POST here.\n",
            )),
            Method::Other(_) => {
                let mut response = Response::empty(405);
                response.header(
                    "Allow",
                    HeaderValue::from_static("GET, HEAD, POST, OPTIONS"),
                );
                Routed::Now(response)
            }
        }
    } else if !shared.config.metrics_path.is_empty()
        && path == shared.config.metrics_path
        && matches!(method, Method::Get | Method::Head)
    {
        Routed::Now(text(
            200,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            shared.metrics.render(),
        ))
    } else {
        Routed::Now(text(404, TEXT, "not found\n"))
    }
}

/// Finds a BOSH request's session (or decides to create one).
fn route(shared: &Arc<Shared>, bytes: Bytes) -> Routed {
    let sid = match Body::parse(&bytes, &Limits::default()) {
        Ok(parsed) => parsed.body.sid.clone(),
        Err(_) => {
            shared.metrics.error("bad-request");
            return Routed::Now(terminate(Condition::BadRequest));
        }
    };
    let http = HttpId(shared.next_http.fetch_add(1, Ordering::Relaxed));
    let to = match sid {
        Some(sid) => {
            let inbox = shared
                .table
                .lock()
                .ok()
                .and_then(|table| table.sessions.get(&SidKey::parse(&sid)?).cloned());
            let Some(inbox) = inbox else {
                shared.metrics.error("item-not-found");
                return Routed::Now(terminate(Condition::ItemNotFound));
            };
            Some(inbox)
        }
        None => None,
    };
    Routed::Later { http, bytes, to }
}

/// A session's id as the session table keeps it: its 16 random bytes (the sid is their 32 lowercase hex
/// digits), 16 bytes in the table instead of a `String` and its allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct SidKey([u8; 16]);

impl SidKey {
    /// The key of a sid this manager could have handed out (`None` for any other string).
    pub(crate) fn parse(sid: &str) -> Option<Self> {
        let mut key = [0u8; 16];
        let lowercase = sid
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        (lowercase && hex::decode_to_slice(sid, &mut key).is_ok()).then_some(Self(key))
    }
}

impl std::fmt::Display for SidKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

fn random_sid() -> Result<(SidKey, [u8; 32]), Condition> {
    let mut sid = [0u8; 16];
    let mut secret = [0u8; 32];
    getrandom::fill(&mut sid).map_err(|_| Condition::InternalServerError)?;
    getrandom::fill(&mut secret).map_err(|_| Condition::InternalServerError)?;
    Ok((SidKey(sid), secret))
}

fn cm_config(config: &Config) -> CmConfig {
    let mut cm = CmConfig::default();
    cm.max_wait = config.max_wait;
    cm.inactivity = config.inactivity;
    cm.polling = config.polling;
    cm.maxpause = (config.maxpause > 0).then_some(config.maxpause);
    cm.check_keys = config.check_keys;
    cm.strict_overactivity = config.strict_overactivity;
    cm.multiple_streams = config.multiple_streams;
    cm
}

fn create(
    shared: &Arc<Shared>,
    ip: IpAddr,
    http: HttpId,
    bytes: Bytes,
    reply: &mut Option<Reply>,
) -> Result<(), Condition> {
    if shared.shutting_down.load(Ordering::SeqCst) {
        return Err(Condition::SystemShutdown);
    }
    let now = Instant::now();
    let mut guard = shared
        .table
        .lock()
        .map_err(|_| Condition::InternalServerError)?;
    // XEP-0124 §14.3: a retransmitted creation request (the client lost the answer) gets the same answer.
    let table = &mut *guard;
    if let Some(answer) = table.recent.get(now, ip, &bytes)
        && SidKey::parse(&answer.sid).is_some_and(|key| table.sessions.contains_key(&key))
    {
        tracing::debug!(sid = answer.sid, %ip, "retransmitted session creation request: answered again");
        if let Some(reply) = reply.take() {
            reply.send(answer.status, &answer.content_type, answer.body.clone());
        }
        return Ok(());
    }
    if table.live >= shared.config.max_sessions
        || table.sessions.len() >= shared.config.max_sessions.saturating_mul(2)
    {
        tracing::warn!(%ip, "session refused: max_sessions reached");
        return Err(Condition::PolicyViolation);
    }
    let from_ip = table.per_ip.get(&ip).copied().unwrap_or(0);
    if from_ip >= shared.config.max_sessions_per_ip {
        tracing::warn!(%ip, "session refused: max_sessions_per_ip reached");
        return Err(Condition::PolicyViolation);
    }
    let (key, secret) = random_sid()?;
    let sid = key.to_string();
    let mut bridge = Bridge::accept(
        now,
        Arc::clone(&shared.cm_config),
        sid.clone(),
        secret,
        http,
        &bytes,
        Arc::clone(&shared.policy),
        shared.config.max_streams,
    )
    .map_err(|e| match e {
        zxmpp_bosh::Error::Refused(condition) => condition,
        _ => Condition::BadRequest,
    })?;
    let inbox = Arc::new(Inbox::default());
    table.sessions.insert(key, Arc::clone(&inbox));
    table.live += 1;
    *table.per_ip.entry(ip).or_default() += 1;
    // The creation response is ready at once: send it, and remember it for a retransmission.
    while let Some(t) = bridge.poll_transmit() {
        if t.http == http
            && let Some(reply) = reply.take()
        {
            let answer = Answer {
                sid: sid.clone(),
                status: t.status,
                content_type: bridge.content_type().to_owned(),
                body: t.body,
            };
            reply.send(answer.status, &answer.content_type, answer.body.clone());
            table.recent.insert(now, ip, bytes.clone(), answer);
        }
    }
    drop(guard);
    shared.metrics.session_started();
    tracing::info!(sid, %ip, "session created");
    let session = Session::new(
        Arc::clone(shared),
        bridge,
        inbox,
        reply.take().map(|reply| (http, reply)),
        ip,
    );
    tokio::spawn(session::run(session));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::SidKey;

    #[test]
    fn sid_keys_round_trip_and_refuse_other_strings() {
        let key = SidKey([
            0x00, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76,
            0x54, 0x32,
        ]);
        let sid = key.to_string();
        assert_eq!(sid, "000123456789abcdeffedcba98765432");
        assert_eq!(SidKey::parse(&sid), Some(key));
        // Sids are compared as strings: another spelling of the same bytes is another sid.
        assert_eq!(SidKey::parse(&sid.to_uppercase()), None);
        for other in [
            "",
            "0001",
            &format!("{sid}00"),
            &sid[1..],
            "g00123456789abcdeffedcba98765432",
            "é",
        ] {
            assert_eq!(SidKey::parse(other), None, "{other:?}");
        }
    }
}
