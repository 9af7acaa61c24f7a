//! The HTTP side: a hyper server, the session table, limits, CORS, metrics, graceful shutdown, and one task per
//! session that drives a [`Bridge`] and its upstream socket.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio_rustls::rustls::ClientConfig;
use zxmpp_bosh::{Body, CmConfig, CmTermination, Condition, HttpId, Limits};
use zxmpp_client::drivers::TlsRoots;
use zxmpp_xml::{Config as XmlConfig, Status, StreamReader};

use crate::bridge::{Action, Bridge};
use crate::metrics::Metrics;
use crate::policy::{Policy, SrvLookup, StaticSrv};
use crate::upstream::{self, Conn};
use crate::{Config, Error, PlainUpstream};

const CONTENT_TYPE: &str = "text/xml; charset=utf-8";

type Connecting =
    std::pin::Pin<Box<dyn Future<Output = Option<(tokio::net::TcpStream, bool)>> + Send>>;

type Reply = oneshot::Sender<(u16, String, Bytes)>;

/// A message to a session's task. The request is boxed: tokio's channel allocates a block of 32 slots per
/// session up front, so a small message keeps every idle session's channel small (≈ 0.3 KiB instead of 1.8 KiB).
enum Msg {
    Request(Box<(HttpId, Bytes, Reply)>),
    Shutdown,
}

struct Entry {
    tx: mpsc::UnboundedSender<Msg>,
}

#[derive(Default)]
struct Table {
    sessions: HashMap<String, Entry>,
    per_ip: HashMap<IpAddr, usize>,
}

struct Shared {
    config: Config,
    policy: Policy,
    srv: Arc<dyn SrvLookup>,
    tls: Arc<ClientConfig>,
    metrics: Metrics,
    table: Mutex<Table>,
    next_http: AtomicU64,
    shutting_down: AtomicBool,
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
    /// Binds the listening socket of `config` (port 0 picks a free port; see [`Server::local_addr`]), with no
    /// SRV records known (every domain resolves to itself on port 5222 unless `upstreams` pins an address).
    ///
    /// # Errors
    /// [`Error::Listen`], [`Error::Tls`], or a configuration error.
    pub async fn bind(config: Config) -> Result<Self, Error> {
        Self::bind_with_srv(config, Arc::new(StaticSrv::new())).await
    }

    /// As [`Server::bind`], with SRV answers from `srv`.
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
        let shared = Arc::new(Shared {
            policy: Policy::new(&config),
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
                    let shared = Arc::clone(&shared);
                    tokio::spawn(async move {
                        let service = service_fn(move |req| {
                            let shared = Arc::clone(&shared);
                            async move { Ok::<_, Infallible>(handle(shared, peer, req).await) }
                        });
                        // half_close: while a request is held (BOSH long-polling), hyper does not read the
                        // connection to detect the client going away, which would make it keep an 8 KiB read
                        // buffer per held request; a client that left is noticed when the answer is written.
                        let _ = hyper::server::conn::http1::Builder::new()
                            .keep_alive(true)
                            .half_close(true)
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            }
        }
        tracing::info!("shutting down: ending sessions");
        shared.shutting_down.store(true, Ordering::SeqCst);
        if let Ok(table) = shared.table.lock() {
            for entry in table.sessions.values() {
                let _ = entry.tx.send(Msg::Shutdown);
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

fn text(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    if let Ok(value) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

fn terminate(condition: Condition) -> Response<Full<Bytes>> {
    let body = Body::terminate(Some(condition)).to_bytes([]);
    text(StatusCode::OK, CONTENT_TYPE, body)
}

fn cors(shared: &Shared, origin: Option<&HeaderValue>, response: &mut Response<Full<Bytes>>) {
    let Some(origin) = origin else { return };
    let origins = &shared.config.cors_origins;
    let allowed = origins.iter().any(|o| o == "*")
        || origin
            .to_str()
            .is_ok_and(|o| origins.iter().any(|allowed| allowed == o));
    if !allowed {
        return;
    }
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Content-Type"),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
}

async fn handle(
    shared: Arc<Shared>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let origin = req.headers().get(header::ORIGIN).cloned();
    let path = req.uri().path().to_owned();
    let mut response = if path == shared.config.path {
        match *req.method() {
            Method::POST => post(&shared, peer.ip(), req).await,
            Method::OPTIONS => text(StatusCode::OK, "text/plain", ""),
            Method::GET => text(
                StatusCode::OK,
                "text/plain; charset=utf-8",
                "zxmpp-cm: a BOSH (XEP-0124/XEP-0206) connection manager. POST here.\n",
            ),
            _ => text(StatusCode::METHOD_NOT_ALLOWED, "text/plain", ""),
        }
    } else if !shared.config.metrics_path.is_empty()
        && path == shared.config.metrics_path
        && req.method() == Method::GET
    {
        text(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            shared.metrics.render(),
        )
    } else {
        text(StatusCode::NOT_FOUND, "text/plain", "not found\n")
    };
    cors(&shared, origin.as_ref(), &mut response);
    response
}

async fn post(shared: &Arc<Shared>, ip: IpAddr, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let limit = shared.config.max_body_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        shared.metrics.error("request-too-large");
        return text(StatusCode::PAYLOAD_TOO_LARGE, "text/plain", "");
    }
    // Boxed: the collecting future is large and finished before the (long) wait for the session's answer, so it
    // should not take room in every held request's future.
    let bytes = match Box::pin(Limited::new(req.into_body(), limit).collect()).await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            shared.metrics.error("request-too-large");
            return text(StatusCode::PAYLOAD_TOO_LARGE, "text/plain", "");
        }
    };
    shared.metrics.request(bytes.len());
    let response = route(shared, ip, bytes).await;
    shared.metrics.response(response.body().size_hint_len());
    response
}

trait SizeHintLen {
    fn size_hint_len(&self) -> usize;
}

impl SizeHintLen for Full<Bytes> {
    fn size_hint_len(&self) -> usize {
        usize::try_from(hyper::body::Body::size_hint(self).exact().unwrap_or(0)).unwrap_or(0)
    }
}

async fn route(shared: &Arc<Shared>, ip: IpAddr, bytes: Bytes) -> Response<Full<Bytes>> {
    let limits = Limits::default();
    let sid = match Body::parse(&bytes, &limits) {
        Ok(parsed) => parsed.body.sid.clone(),
        Err(_) => {
            shared.metrics.error("bad-request");
            return terminate(Condition::BadRequest);
        }
    };
    let http = HttpId(shared.next_http.fetch_add(1, Ordering::Relaxed));
    let (reply_tx, reply_rx) = oneshot::channel();
    match sid {
        Some(sid) => {
            let sent = shared.table.lock().ok().and_then(|table| {
                table.sessions.get(&sid).map(|entry| {
                    entry
                        .tx
                        .send(Msg::Request(Box::new((http, bytes, reply_tx))))
                        .is_ok()
                })
            });
            if sent != Some(true) {
                shared.metrics.error("item-not-found");
                return terminate(Condition::ItemNotFound);
            }
        }
        None => {
            if let Err(condition) = create(shared, ip, http, &bytes, reply_tx) {
                shared.metrics.error(&condition.to_string());
                return terminate(condition);
            }
        }
    }
    match reply_rx.await {
        Ok((status, content_type, body)) => text(
            StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
            &content_type,
            body,
        ),
        // The session ended without answering (it was dropped): as for an unknown sid.
        Err(_) => terminate(Condition::ItemNotFound),
    }
}

fn random_sid() -> Result<(String, [u8; 32]), Condition> {
    let mut sid = [0u8; 16];
    let mut secret = [0u8; 32];
    getrandom::fill(&mut sid).map_err(|_| Condition::InternalServerError)?;
    getrandom::fill(&mut secret).map_err(|_| Condition::InternalServerError)?;
    let sid = sid.iter().map(|b| format!("{b:02x}")).collect();
    Ok((sid, secret))
}

fn cm_config(config: &Config) -> CmConfig {
    let mut cm = CmConfig::default();
    cm.max_wait = config.max_wait;
    cm.inactivity = config.inactivity;
    cm.polling = config.polling;
    cm.maxpause = (config.maxpause > 0).then_some(config.maxpause);
    cm.check_keys = config.check_keys;
    cm.multiple_streams = false;
    cm
}

fn create(
    shared: &Arc<Shared>,
    ip: IpAddr,
    http: HttpId,
    bytes: &[u8],
    reply: Reply,
) -> Result<(), Condition> {
    if shared.shutting_down.load(Ordering::SeqCst) {
        return Err(Condition::SystemShutdown);
    }
    let (sid, secret) = random_sid()?;
    let mut table = shared
        .table
        .lock()
        .map_err(|_| Condition::InternalServerError)?;
    if table.sessions.len() >= shared.config.max_sessions {
        tracing::warn!(%ip, "session refused: max_sessions reached");
        return Err(Condition::PolicyViolation);
    }
    let from_ip = table.per_ip.get(&ip).copied().unwrap_or(0);
    if from_ip >= shared.config.max_sessions_per_ip {
        tracing::warn!(%ip, "session refused: max_sessions_per_ip reached");
        return Err(Condition::PolicyViolation);
    }
    let now = Instant::now();
    let bridge = Bridge::accept(
        now,
        cm_config(&shared.config),
        sid.clone(),
        secret,
        http,
        bytes,
        &shared.policy,
        shared.srv.as_ref(),
    )
    .map_err(|e| match e {
        zxmpp_bosh::Error::Refused(condition) => condition,
        _ => Condition::BadRequest,
    })?;
    let (tx, rx) = mpsc::unbounded_channel();
    table.sessions.insert(sid.clone(), Entry { tx });
    *table.per_ip.entry(ip).or_default() += 1;
    drop(table);
    shared.metrics.session_started();
    tracing::info!(sid, %ip, "session created");
    let mut replies = HashMap::new();
    replies.insert(http, reply);
    tokio::spawn(run_session(Arc::clone(shared), bridge, rx, replies, ip));
    Ok(())
}

fn termination_label(t: Option<&CmTermination>) -> String {
    match t {
        Some(CmTermination::ByClient) => "client-terminate".to_owned(),
        Some(CmTermination::Inactivity) => "inactivity".to_owned(),
        Some(CmTermination::Violation(c) | CmTermination::Upstream(c)) => c.to_string(),
        Some(_) | None => "unknown".to_owned(),
    }
}

struct Upstream {
    conn: Option<Conn>,
    reader: StreamReader,
    inbuf: Vec<u8>,
}

async fn run_session(
    shared: Arc<Shared>,
    mut bridge: Bridge,
    mut rx: mpsc::UnboundedReceiver<Msg>,
    mut replies: HashMap<HttpId, Reply>,
    ip: IpAddr,
) {
    let sid = bridge.sid().to_owned();
    let content_type = bridge.content_type().to_owned();
    let mut up = Upstream {
        conn: None,
        reader: StreamReader::new(XmlConfig::default()),
        inbuf: Vec::new(),
    };
    let mut connecting: Option<Connecting> = None;
    let mut shutdown_requested = false;
    let mut ended = false;
    loop {
        while let Some(t) = bridge.poll_transmit() {
            if let Some(reply) = replies.remove(&t.http) {
                let _ = reply.send((t.status, content_type.clone(), t.body));
            }
        }
        while let Some(action) = bridge.poll_action() {
            match action {
                Action::Connect(target) => {
                    let shared = Arc::clone(&shared);
                    connecting = Some(Box::pin(async move {
                        upstream::connect(&target, &shared.policy, shared.config.connect_timeout())
                            .await
                    }));
                }
                Action::Write(bytes) => {
                    if let Some(conn) = up.conn.as_mut()
                        && conn.write_all(&bytes).await.is_err()
                    {
                        up.conn = None;
                        bridge.handle_upstream_lost(Instant::now());
                    }
                }
                Action::OpenStream(bytes) => {
                    up.reader = StreamReader::new(XmlConfig::default());
                    up.inbuf.clear();
                    if let Some(conn) = up.conn.as_mut()
                        && conn.write_all(&bytes).await.is_err()
                    {
                        up.conn = None;
                        bridge.handle_upstream_lost(Instant::now());
                    }
                }
                Action::StartTls { server_name } => {
                    let upgraded = match up.conn.take() {
                        // Boxed: the handshake future is large (rustls' connection state) and runs once, so it
                        // should not take room in every session's task for the whole session.
                        Some(conn) => {
                            Box::pin(conn.start_tls(
                                Arc::clone(&shared.tls),
                                &server_name,
                                shared.config.connect_timeout(),
                            ))
                            .await
                        }
                        None => None,
                    };
                    up.reader = StreamReader::new(XmlConfig::default());
                    up.inbuf.clear();
                    match upgraded {
                        Some(conn) => {
                            up.conn = Some(conn);
                            bridge.handle_tls_established(Instant::now());
                        }
                        None => {
                            shared.metrics.error("upstream-tls");
                            bridge.handle_upstream_lost(Instant::now());
                        }
                    }
                }
                Action::Close => {
                    if let Some(mut conn) = up.conn.take() {
                        conn.shutdown().await;
                    }
                }
            }
        }
        while let Some(t) = bridge.poll_transmit() {
            if let Some(reply) = replies.remove(&t.http) {
                let _ = reply.send((t.status, content_type.clone(), t.body));
            }
        }
        if !ended && bridge.termination().is_some() {
            ended = true;
            end_of_session(&shared, &bridge, &sid, ip);
        }
        // At shutdown, end as soon as no request is held: a client that is not polling gets its terminate
        // from the next request, which finds no session (`item-not-found`).
        if shutdown_requested && replies.is_empty() {
            break;
        }
        // Actions may have produced responses (a failure answered at once): loop again before waiting.
        if bridge.poll_timeout().is_none() && bridge.is_finished(Instant::now()) {
            break;
        }
        if bridge.is_finished(Instant::now()) {
            break;
        }
        let timer = bridge.poll_timeout();
        let sleep = async {
            match timer {
                Some(t) => tokio::time::sleep_until(t.into()).await,
                None => std::future::pending().await,
            }
        };
        let read = async {
            match up.conn.as_mut() {
                Some(conn) => conn.read_into(&mut up.inbuf).await,
                None => std::future::pending().await,
            }
        };
        let connect = async {
            match connecting.as_mut() {
                Some(fut) => fut.await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            msg = rx.recv() => match msg {
                Some(Msg::Request(request)) => {
                    let (http, bytes, reply) = *request;
                    replies.insert(http, reply);
                    bridge.handle_request(Instant::now(), http, &bytes);
                }
                Some(Msg::Shutdown) | None => {
                    if !shutdown_requested {
                        shutdown_requested = true;
                        bridge.shutdown(Instant::now());
                    }
                }
            },
            () = sleep => bridge.handle_timeout(Instant::now()),
            read = read => match read {
                Ok(0) | Err(_) => {
                    up.conn = None;
                    bridge.handle_upstream_lost(Instant::now());
                }
                Ok(_) => {
                    if !parse(&mut up, &mut bridge) {
                        shared.metrics.error("upstream-xml");
                        up.conn = None;
                        bridge.handle_upstream_lost(Instant::now());
                    }
                }
            },
            result = connect => {
                connecting = None;
                match result {
                    Some((stream, loopback)) => {
                        let plain_ok = match shared.config.plain_upstream {
                            PlainUpstream::Always => true,
                            PlainUpstream::Loopback => loopback,
                            PlainUpstream::Never => false,
                        };
                        up.conn = Some(Conn::Plain(stream));
                        bridge.handle_connected(Instant::now(), plain_ok);
                    }
                    None => {
                        tracing::warn!(sid, "upstream connection failed");
                        bridge.handle_connect_failed(Instant::now());
                    }
                }
            }
        }
        if !ended && bridge.termination().is_some() {
            ended = true;
            end_of_session(&shared, &bridge, &sid, ip);
        }
    }
    if let Some(mut conn) = up.conn.take() {
        let _ = conn.write_all(zxmpp_xml::STREAM_CLOSE.as_bytes()).await;
        conn.shutdown().await;
    }
    if !ended {
        end_of_session(&shared, &bridge, &sid, ip);
    }
    if let Ok(mut table) = shared.table.lock() {
        table.sessions.remove(&sid);
    }
}

/// The session has ended (it may still answer retransmissions while it lingers): count it, free its slot.
fn end_of_session(shared: &Shared, bridge: &Bridge, sid: &str, ip: IpAddr) {
    let label = termination_label(bridge.termination());
    if !matches!(bridge.termination(), Some(CmTermination::ByClient) | None) {
        shared.metrics.error(&label);
    }
    tracing::info!(sid, reason = label, "session ended");
    if let Ok(mut table) = shared.table.lock()
        && let Some(n) = table.per_ip.get_mut(&ip)
    {
        *n = n.saturating_sub(1);
        if *n == 0 {
            table.per_ip.remove(&ip);
        }
    }
    shared.metrics.session_ended();
}

/// Feeds every complete upstream event to the bridge; false on an XML error.
fn parse(up: &mut Upstream, bridge: &mut Bridge) -> bool {
    let mut ok = true;
    loop {
        match up.reader.next(&up.inbuf) {
            Ok(Status::Partial) => break,
            Ok(Status::Complete(event)) => bridge.handle_upstream(Instant::now(), &event),
            Err(e) => {
                tracing::warn!(error = %e, "upstream XML error");
                ok = false;
                break;
            }
        }
    }
    let done = up.reader.discard();
    up.inbuf.drain(..done.min(up.inbuf.len()));
    // An idle session keeps no buffer: free it once every byte has become an event.
    if up.inbuf.is_empty() {
        up.inbuf = Vec::new();
    }
    ok
}
