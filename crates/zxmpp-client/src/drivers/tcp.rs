//! XMPP over TCP (RFC 6120 client-to-server), STARTTLS with rustls.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls_pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls;
use zxmpp_xml::{
    Config as XmlConfig, Event, STREAM_CLOSE, STREAMS_NS, Status, StreamOpen, StreamReader,
};

use super::{Backoff, DriverError, TlsRoots};
use crate::{Client, Transmit, TransportEvent, TransportKind};

const NS_TLS: &str = "urn:ietf:params:xml:ns:xmpp-tls";
const READ_CHUNK: usize = 16 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// When a connection without TLS may be used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlainPolicy {
    /// Never: a server that offers no STARTTLS is refused (the default).
    #[default]
    Never,
    /// Only when the server's address is a loopback address (127.0.0.0/8, ::1): a local test server.
    Loopback,
    /// Always (only for networks you trust completely).
    Always,
}

/// Where and how the [`TcpDriver`] connects.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TcpConfig {
    /// `host:port` to connect to.
    pub address: String,
    /// The name the server's TLS certificate must carry (normally the JID's domain).
    pub server_name: String,
    /// When plain TCP is acceptable.
    pub plain: PlainPolicy,
    /// The certificate authorities trusted for STARTTLS.
    pub roots: TlsRoots,
    /// Limits for parsing the server's stream.
    pub xml: XmlConfig,
}

impl TcpConfig {
    /// Connects to `address` (`host:port`) and checks TLS certificates against `server_name`; plain TCP refused,
    /// the Mozilla roots trusted.
    #[must_use]
    pub fn new(address: impl Into<String>, server_name: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            server_name: server_name.into(),
            plain: PlainPolicy::Never,
            roots: TlsRoots::WebPki,
            xml: XmlConfig::default(),
        }
    }

    /// Sets when plain TCP is acceptable.
    #[must_use]
    pub fn with_plain(mut self, plain: PlainPolicy) -> Self {
        self.plain = plain;
        self
    }

    /// Sets the trusted certificate authorities.
    #[must_use]
    pub fn with_roots(mut self, roots: TlsRoots) -> Self {
        self.roots = roots;
        self
    }
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

struct Conn {
    stream: Stream,
    loopback: bool,
    /// The first `<stream:features/>` of a plain connection has been checked for STARTTLS.
    features_checked: bool,
}

impl Conn {
    fn secure(&self) -> bool {
        matches!(self.stream, Stream::Tls(_))
    }
}

/// Runs a [`Client`] over TCP: connects, reconnects after a loss (1 s, 2 s, 4 s, 8 s apart), does STARTTLS when
/// the client asks for it. See the [module docs](super) for the loop.
pub struct TcpDriver {
    config: TcpConfig,
    tls: Option<Arc<rustls::ClientConfig>>,
    conn: Option<Conn>,
    reader: StreamReader,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    starttls: bool,
    reconnect_at: Option<Instant>,
    backoff: Backoff,
    closing: bool,
    closed: bool,
}

impl std::fmt::Debug for TcpDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpDriver")
            .field("address", &self.config.address)
            .field("connected", &self.conn.is_some())
            .field("secure", &self.conn.as_ref().is_some_and(Conn::secure))
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

enum Parsed {
    Fine,
    Broken(String),
    PlainRefused,
}

impl TcpDriver {
    /// A driver that connects on the first [`TcpDriver::wait`].
    #[must_use]
    pub fn new(config: TcpConfig) -> Self {
        let reader = StreamReader::new(config.xml);
        Self {
            config,
            tls: None,
            conn: None,
            reader,
            inbuf: Vec::new(),
            out: Vec::new(),
            starttls: false,
            reconnect_at: None,
            backoff: Backoff::default(),
            closing: false,
            closed: false,
        }
    }

    /// Whether a TCP connection is up.
    #[must_use]
    pub fn is_connected(&self) -> bool {
        self.conn.is_some()
    }

    /// Whether the connection is protected by TLS.
    #[must_use]
    pub fn is_secure(&self) -> bool {
        self.conn.as_ref().is_some_and(Conn::secure)
    }

    /// Waits for one input — bytes from the server, the client's timer, the moment to (re)connect — and hands it
    /// to `client`. Cancel-safe.
    ///
    /// # Errors
    /// [`DriverError::Closed`] once the client's stream is closed and the connection gone;
    /// [`DriverError::PlainNotAllowed`] when the server offers no STARTTLS and [`PlainPolicy`] forbids plain TCP.
    pub async fn wait(&mut self, client: &mut Client) -> Result<(), DriverError> {
        if self.closed {
            return Err(DriverError::Closed);
        }
        let timer = client.poll_timeout();
        if self.conn.is_none() && client.is_closed() {
            self.closed = true;
            return Err(DriverError::Closed);
        }
        let Some(conn) = self.conn.as_mut() else {
            let at = self.reconnect_at.unwrap_or_else(Instant::now);
            if let Some(t) = timer
                && t < at
            {
                tokio::time::sleep_until(t.into()).await;
                client.handle_timeout(Instant::now());
                return Ok(());
            }
            tokio::time::sleep_until(at.into()).await;
            self.connect(client).await;
            return Ok(());
        };
        if self.inbuf.capacity() - self.inbuf.len() < READ_CHUNK {
            self.inbuf.reserve(READ_CHUNK);
        }
        let read = async {
            match &mut conn.stream {
                Stream::Plain(s) => s.read_buf(&mut self.inbuf).await,
                Stream::Tls(s) => s.read_buf(&mut self.inbuf).await,
            }
        };
        let sleep = async {
            match timer {
                Some(t) => tokio::time::sleep_until(t.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = read => match r {
                Ok(0) => self.lost(client, "connection closed by the server".to_owned()),
                Ok(_) => match self.parse(client) {
                    Parsed::Fine => {}
                    Parsed::Broken(reason) => self.lost(client, reason),
                    Parsed::PlainRefused => {
                        self.closed = true;
                        self.lost(client, "no STARTTLS offered".to_owned());
                        return Err(DriverError::PlainNotAllowed(self.config.address.clone()));
                    }
                },
                Err(e) => self.lost(client, format!("read: {e}")),
            },
            () = sleep => client.handle_timeout(Instant::now()),
        }
        Ok(())
    }

    fn parse(&mut self, client: &mut Client) -> Parsed {
        let Some(conn) = self.conn.as_mut() else {
            return Parsed::Fine;
        };
        let plain_ok = match self.config.plain {
            PlainPolicy::Never => false,
            PlainPolicy::Loopback => conn.loopback,
            PlainPolicy::Always => true,
        };
        let secure = conn.secure();
        let mut outcome = Parsed::Fine;
        loop {
            let now = Instant::now();
            match self.reader.next(&self.inbuf) {
                Ok(Status::Partial) => break,
                Ok(Status::Complete(Event::StreamOpen(header) | Event::StreamRestart(header))) => {
                    self.backoff.reset();
                    client.handle_transport(now, TransportEvent::StreamOpened(&header));
                }
                Ok(Status::Complete(Event::Stanza(stanza))) => {
                    if !secure && !conn.features_checked && stanza.is("features", STREAMS_NS) {
                        conn.features_checked = true;
                        if stanza.child("starttls", NS_TLS).is_none() && !plain_ok {
                            outcome = Parsed::PlainRefused;
                            break;
                        }
                    }
                    client.handle_transport(now, TransportEvent::Stanza(&stanza));
                }
                Ok(Status::Complete(Event::StreamClose)) => {
                    client.handle_transport(now, TransportEvent::StreamClosed);
                }
                Ok(Status::Complete(_)) => {}
                Err(e) => {
                    outcome = Parsed::Broken(format!("XML error: {e}"));
                    break;
                }
            }
        }
        let done = self.reader.discard();
        self.inbuf.drain(..done.min(self.inbuf.len()));
        outcome
    }

    async fn connect(&mut self, client: &mut Client) {
        let attempt =
            tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&self.config.address)).await;
        match attempt {
            Ok(Ok(stream)) => {
                // Stanzas are small and interactive.
                let _ = stream.set_nodelay(true);
                let loopback = stream.peer_addr().is_ok_and(|a| a.ip().is_loopback());
                self.conn = Some(Conn {
                    stream: Stream::Plain(stream),
                    loopback,
                    features_checked: false,
                });
                self.reset_stream();
                self.out.clear();
                self.starttls = false;
                self.reconnect_at = None;
                if client.is_online() {
                    // Restored from a snapshot taken online: that stream's connection is gone. The client keeps
                    // what XEP-0198 needs and resumes on the new connection.
                    client.handle_transport(
                        Instant::now(),
                        TransportEvent::Disconnected {
                            reason: "the previous connection is gone (restored from a snapshot)"
                                .to_owned(),
                        },
                    );
                }
                client.handle_transport(
                    Instant::now(),
                    TransportEvent::Connected {
                        secure: false,
                        transport: TransportKind::Tcp,
                    },
                );
            }
            Ok(Err(_)) | Err(_) => {
                self.reconnect_at = Some(Instant::now() + self.backoff.next_delay());
            }
        }
    }

    fn reset_stream(&mut self) {
        self.reader = StreamReader::new(self.config.xml);
        self.inbuf.clear();
    }

    fn lost(&mut self, client: &mut Client, reason: String) {
        if self.conn.take().is_none() {
            return;
        }
        self.out.clear();
        self.starttls = false;
        self.reset_stream();
        client.handle_transport(Instant::now(), TransportEvent::Disconnected { reason });
        if client.is_closed() {
            self.closed = true;
        } else {
            self.reconnect_at = Some(Instant::now() + self.backoff.next_delay());
        }
    }

    /// Moves what the client wants to send into the driver's buffer, without sending it. Save the client's
    /// snapshot after this and before [`TcpDriver::flush`].
    pub fn stage(&mut self, client: &mut Client) {
        while !self.starttls {
            let Some(transmit) = client.poll_transmit() else {
                break;
            };
            if self.conn.is_none() {
                // Nothing to send it on: the client was told of the loss and keeps its own queue.
                continue;
            }
            match transmit {
                Transmit::OpenStream {
                    to,
                    lang,
                    restart: _,
                } => {
                    let mut header = StreamOpen::new("jabber:client").to(to).version("1.0");
                    if let Some(lang) = lang {
                        header = header.lang(lang);
                    }
                    self.out.extend_from_slice(header.to_string().as_bytes());
                    // A new stream: the server answers with a new header.
                    self.reset_stream();
                }
                Transmit::StartTls => self.starttls = true,
                Transmit::Stanza(xml) => self.out.extend_from_slice(xml.as_bytes()),
                Transmit::CloseStream => {
                    self.out.extend_from_slice(STREAM_CLOSE.as_bytes());
                    self.closing = true;
                }
                #[allow(unreachable_patterns)]
                _ => {}
            }
        }
    }

    /// Writes what [`TcpDriver::stage`] buffered; does the TLS handshake when the client asked for STARTTLS (then
    /// tells the client and sends what it answers). A write failure is reported to the client as a disconnection.
    ///
    /// # Errors
    /// [`DriverError::TlsConfig`] when the CA file cannot be read.
    pub async fn flush(&mut self, client: &mut Client) -> Result<(), DriverError> {
        loop {
            let Some(conn) = self.conn.as_mut() else {
                self.out.clear();
                self.starttls = false;
                if client.is_closed() {
                    self.closed = true;
                }
                return Ok(());
            };
            if !self.out.is_empty() {
                let written = match &mut conn.stream {
                    Stream::Plain(s) => write_all(s, &self.out).await,
                    Stream::Tls(s) => write_all(s.as_mut(), &self.out).await,
                };
                self.out.clear();
                if let Err(e) = written {
                    self.lost(client, format!("write: {e}"));
                    continue;
                }
            }
            if self.closing && !client.is_closed() {
                // The server closed the stream and the client answered; the client already counts the stream as
                // lost: drop the connection and reconnect.
                self.closing = false;
                self.conn = None;
                self.reset_stream();
                self.reconnect_at = Some(Instant::now() + self.backoff.next_delay());
                return Ok(());
            }
            if !self.starttls {
                return Ok(());
            }
            self.starttls = false;
            self.handshake(client).await?;
        }
    }

    async fn handshake(&mut self, client: &mut Client) -> Result<(), DriverError> {
        let tls = match &self.tls {
            Some(tls) => Arc::clone(tls),
            None => {
                let tls = self.config.roots.client_config()?;
                self.tls = Some(Arc::clone(&tls));
                tls
            }
        };
        let Some(conn) = self.conn.take() else {
            return Ok(());
        };
        let Stream::Plain(tcp) = conn.stream else {
            // Already secure: a second STARTTLS is a client bug; go on without it.
            self.conn = Some(conn);
            return Ok(());
        };
        let name = ServerName::try_from(self.config.server_name.clone()).map_err(|e| {
            DriverError::TlsConfig(format!("server name {:?}: {e}", self.config.server_name))
        })?;
        let connector = TlsConnector::from(tls);
        match tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name, tcp)).await {
            Ok(Ok(tls)) => {
                self.conn = Some(Conn {
                    stream: Stream::Tls(Box::new(tls)),
                    loopback: conn.loopback,
                    features_checked: true,
                });
                self.reset_stream();
                client.handle_transport(Instant::now(), TransportEvent::TlsEstablished);
                self.stage(client);
            }
            Ok(Err(e)) => {
                self.fail_without_conn(client, format!("TLS handshake: {e}"));
                // A certificate that does not verify will not verify on the next attempt either (and may be an
                // attack): stop instead of reconnecting.
                let bad_certificate = e
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                    .is_some_and(|inner| matches!(inner, rustls::Error::InvalidCertificate(_)));
                if bad_certificate {
                    self.closed = true;
                    return Err(DriverError::Certificate(e));
                }
            }
            Err(_) => self.fail_without_conn(client, "TLS handshake timed out".to_owned()),
        }
        Ok(())
    }

    fn fail_without_conn(&mut self, client: &mut Client, reason: String) {
        self.out.clear();
        self.reset_stream();
        client.handle_transport(Instant::now(), TransportEvent::Disconnected { reason });
        self.reconnect_at = Some(Instant::now() + self.backoff.next_delay());
    }
}

async fn write_all<W: tokio::io::AsyncWrite + Unpin>(
    w: &mut W,
    bytes: &[u8],
) -> std::io::Result<()> {
    w.write_all(bytes).await?;
    w.flush().await
}
