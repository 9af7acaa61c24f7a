//! The upstream socket: TCP, then TLS after STARTTLS, with the trust settings of zxmpp-client's connector.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::ClientConfig;

use crate::dns::{self, Plan, SrvAnswer, SrvLookup};
use crate::policy::{Policy, Target, Via};

/// An upstream connection, plain or TLS.
pub(crate) enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Conn {
    pub(crate) async fn read_buf(&mut self, buf: &mut Vec<u8>) -> std::io::Result<usize> {
        match self {
            Self::Plain(s) => s.read_buf(buf).await,
            Self::Tls(s) => s.read_buf(buf).await,
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
