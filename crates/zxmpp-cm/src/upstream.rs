//! The upstream sockets: TCP, then TLS after STARTTLS, with the trust settings of zxmpp-client's connector; one
//! [`Link`] per upstream stream of a session, all waited on together by [`Links::next`].

use std::future::Future;
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::ClientConfig;

use crate::bridge::{Bridge, StreamId};
use crate::dns::{self, Plan, SrvAnswer, SrvLookup};
use crate::policy::{Policy, Target, Via};
use zxmpp_xml::{Config as XmlConfig, Status, StreamReader};

/// An upstream connection, plain or TLS.
pub(crate) enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Conn {
    fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }

    pub(crate) async fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Self::Plain(s) => {
                s.write_all(bytes).await?;
                s.flush().await
            }
            Self::Tls(s) => {
                s.write_all(bytes).await?;
                s.flush().await
            }
        }
    }

    pub(crate) async fn shutdown(&mut self) {
        let _ = match self {
            Self::Plain(s) => s.shutdown().await,
            Self::Tls(s) => s.shutdown().await,
        };
    }

    /// Upgrades a plain connection to TLS checking the certificate against `server_name`.
    pub(crate) async fn start_tls(
        self,
        tls: Arc<ClientConfig>,
        server_name: &str,
        timeout: Duration,
    ) -> Option<Self> {
        let Self::Plain(tcp) = self else {
            return None;
        };
        let name = ServerName::try_from(server_name.to_owned()).ok()?;
        let connector = TlsConnector::from(tls);
        match tokio::time::timeout(timeout, connector.connect(name, tcp)).await {
            Ok(Ok(stream)) => Some(Self::Tls(Box::new(stream))),
            Ok(Err(e)) => {
                tracing::warn!(server_name, error = %e, "upstream TLS handshake failed");
                None
            }
            Err(_) => {
                tracing::warn!(server_name, "upstream TLS handshake timed out");
                None
            }
        }
    }
}

/// How long the whole search (DNS and every connection attempt) may take, in connect timeouts.
const SEARCH_TIMEOUTS: u32 = 3;

/// Connects to the target (RFC 6120 §3.2): its fixed address, or the ordered SRV targets of its domain, or the
/// domain on the fallback port; every address of a host in turn, each attempt given `timeout`, each address
/// found by DNS checked with [`Policy::address_allowed`]. Returns the stream and whether the peer is a loopback
/// address, or `None` when nothing could be reached (or the domain has no client service).
pub(crate) async fn connect(
    target: &Target,
    policy: &Policy,
    resolver: &dyn SrvLookup,
    timeout: Duration,
) -> Option<(TcpStream, bool)> {
    let attempt = async {
        let candidates = match &target.via {
            Via::Fixed { host, port } => vec![(host.clone(), *port)],
            Via::Dns => {
                let answer = tokio::time::timeout(timeout, resolver.lookup_srv(&target.domain))
                    .await
                    .unwrap_or(SrvAnswer::Failed);
                match dns::plan(
                    &target.domain,
                    &answer,
                    policy.fallback_port(),
                    &mut dns::os_random,
                ) {
                    Plan::Targets(targets) => targets,
                    Plan::NoService => {
                        tracing::warn!(
                            domain = target.domain,
                            "upstream domain offers no client service (SRV target '.')"
                        );
                        return None;
                    }
                }
            }
        };
        for (host, port) in &candidates {
            let ips = tokio::time::timeout(timeout, resolver.lookup_ip(host))
                .await
                .unwrap_or_default();
            if ips.is_empty() {
                tracing::debug!(host, port, "upstream name did not resolve");
            }
            for ip in ips {
                let addr = SocketAddr::new(ip, *port);
                if !policy.address_allowed(target, ip) {
                    tracing::warn!(%addr, domain = target.domain, "upstream address refused: not global");
                    continue;
                }
                match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
                    Ok(Ok(stream)) => {
                        let _ = stream.set_nodelay(true);
                        return Some((stream, ip.is_loopback()));
                    }
                    Ok(Err(e)) => tracing::debug!(%addr, error = %e, "upstream connect failed"),
                    Err(_) => tracing::debug!(%addr, "upstream connect timed out"),
                }
            }
        }
        None
    };
    tokio::time::timeout(timeout * SEARCH_TIMEOUTS, attempt)
        .await
        .ok()
        .flatten()
}

/// A connection attempt in progress.
pub(crate) type Connecting = Pin<Box<dyn Future<Output = Option<(TcpStream, bool)>> + Send>>;

/// Bytes read per upstream read.
const READ_CHUNK: usize = 16 * 1024;

/// One upstream stream's connection: the attempt in progress, or the socket with its XML reader.
pub(crate) struct Link {
    pub(crate) connecting: Option<Connecting>,
    pub(crate) conn: Option<Conn>,
    pub(crate) reader: StreamReader,
    pub(crate) inbuf: Vec<u8>,
}

impl Link {
    fn new() -> Self {
        Self {
            connecting: None,
            conn: None,
            reader: StreamReader::new(XmlConfig::default()),
            inbuf: Vec::new(),
        }
    }

    /// A new XML stream begins (after a restart or TLS): forget what the old one left.
    pub(crate) fn reset_reader(&mut self) {
        self.reader = StreamReader::new(XmlConfig::default());
        self.inbuf = Vec::new();
    }

    /// Feeds every complete XML event read so far to `bridge`; false on an XML error.
    pub(crate) fn parse(&mut self, id: StreamId, bridge: &mut Bridge) -> bool {
        let mut ok = true;
        loop {
            match self.reader.next(&self.inbuf) {
                Ok(Status::Partial) => break,
                Ok(Status::Complete(event)) => bridge.handle_upstream(Instant::now(), id, &event),
                Err(e) => {
                    tracing::warn!(error = %e, "upstream XML error");
                    ok = false;
                    break;
                }
            }
        }
        let done = self.reader.discard();
        self.inbuf.drain(..done.min(self.inbuf.len()));
        if self.inbuf.is_empty() {
            // An idle stream keeps no buffer.
            self.inbuf = Vec::new();
        }
        ok
    }
}

/// What happened on one of a session's upstream links.
pub(crate) enum LinkEvent {
    /// A connection attempt ended.
    Connected(StreamId, Option<(TcpStream, bool)>),
    /// Bytes were appended to the link's buffer (`Ok(0)`: end of file).
    Read(StreamId, std::io::Result<usize>),
}

/// The upstream links of one session, by stream.
#[derive(Default)]
pub(crate) struct Links {
    links: Vec<(StreamId, Link)>,
    /// Where the next poll starts, so that a busy stream cannot starve the others.
    turn: usize,
}

impl Links {
    /// The link of `id`, created when missing.
    pub(crate) fn link(&mut self, id: StreamId) -> &mut Link {
        let i = match self.links.iter().position(|(l, _)| *l == id) {
            Some(i) => i,
            None => {
                // Most sessions have one stream: grow one link at a time, not by Vec's minimum of four.
                self.links.reserve_exact(1);
                self.links.push((id, Link::new()));
                self.links.len() - 1
            }
        };
        &mut self.links[i].1
    }

    /// Gives back the memory of drained lists (the links', their XML readers'): the session is going quiet.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.links.shrink_to_fit();
        for (_, link) in &mut self.links {
            link.reader.shrink_to_fit();
        }
    }

    /// The open connection of `id`.
    pub(crate) fn conn(&mut self, id: StreamId) -> Option<&mut Conn> {
        self.links
            .iter_mut()
            .find(|(l, _)| *l == id)
            .and_then(|(_, link)| link.conn.as_mut())
    }

    /// Forgets the link of `id` and returns it.
    pub(crate) fn remove(&mut self, id: StreamId) -> Option<Link> {
        let i = self.links.iter().position(|(l, _)| *l == id)?;
        Some(self.links.swap_remove(i).1)
    }

    /// Every link, removed.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = (StreamId, Link)> + '_ {
        self.links.drain(..)
    }

    /// The next connection result or read on any link; pending forever when there is nothing to wait for.
    pub(crate) async fn next(&mut self) -> LinkEvent {
        self.turn = self.turn.wrapping_add(1);
        let n = self.links.len();
        let start = if n == 0 { 0 } else { self.turn % n };
        std::future::poll_fn(|cx| {
            let (front, back) = self.links.split_at_mut(start);
            for (id, link) in back.iter_mut().chain(front.iter_mut()) {
                if let Some(fut) = link.connecting.as_mut()
                    && let Poll::Ready(result) = fut.as_mut().poll(cx)
                {
                    link.connecting = None;
                    return Poll::Ready(LinkEvent::Connected(*id, result));
                }
                if let Some(conn) = link.conn.as_mut() {
                    let mut chunk = [MaybeUninit::<u8>::uninit(); READ_CHUNK];
                    let mut buf = ReadBuf::uninit(&mut chunk);
                    if let Poll::Ready(result) = conn.poll_read(cx, &mut buf) {
                        let read = result.map(|()| {
                            link.inbuf.extend_from_slice(buf.filled());
                            buf.filled().len()
                        });
                        return Poll::Ready(LinkEvent::Read(*id, read));
                    }
                }
            }
            Poll::Pending
        })
        .await
    }
}
