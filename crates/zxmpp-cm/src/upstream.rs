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

use crate::policy::{Policy, Target};

/// Bytes read from a plain upstream connection at once (one buffer per runtime thread, not per session).
const SCRATCH_SIZE: usize = 64 * 1024;
/// Room reserved for a TLS read (rustls keeps its own buffers as well).
const TLS_READ_CHUNK: usize = 4 * 1024;

thread_local! {
    static SCRATCH: std::cell::RefCell<Box<[u8]>> =
        std::cell::RefCell::new(vec![0; SCRATCH_SIZE].into_boxed_slice());
}

/// An upstream connection, plain or TLS.
pub(crate) enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Conn {
    /// Appends what the connection has to `buf`; `Ok(0)` at end of file.
    ///
    /// A plain connection waits for readiness without a buffer and then reads into a per-thread scratch buffer,
    /// so that an idle session holds no read buffer at all (only the bytes of an incomplete stanza, in `buf`).
    /// A TLS connection reads through rustls (which buffers anyway) into `buf`, reserving a small chunk.
    pub(crate) async fn read_into(&mut self, buf: &mut Vec<u8>) -> std::io::Result<usize> {
        match self {
            Self::Plain(s) => loop {
                s.readable().await?;
                let read: std::io::Result<usize> = SCRATCH.with(|scratch| {
                    let mut scratch = scratch.borrow_mut();
                    let n = s.try_read(&mut scratch[..])?;
                    buf.extend_from_slice(scratch.get(..n).unwrap_or_default());
                    Ok(n)
                });
                match read {
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    other => return other,
                }
            },
            Self::Tls(s) => {
                if buf.capacity() - buf.len() < TLS_READ_CHUNK {
                    buf.reserve(TLS_READ_CHUNK);
                }
                s.read_buf(buf).await
            }
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

/// Connects to the first reachable candidate whose address the policy allows; returns the stream and whether
/// the peer is a loopback address.
pub(crate) async fn connect(
    target: &Target,
    policy: &Policy,
    timeout: Duration,
) -> Option<(TcpStream, bool)> {
    let attempt = async {
        for (host, port) in &target.candidates {
            let addrs: Vec<SocketAddr> = match tokio::net::lookup_host((host.as_str(), *port)).await
            {
                Ok(addrs) => addrs.collect(),
                Err(e) => {
                    tracing::debug!(host, port, error = %e, "upstream name did not resolve");
                    continue;
                }
            };
            for addr in addrs {
                if !policy.address_allowed(target, addr.ip()) {
                    tracing::warn!(%addr, domain = target.domain, "upstream address refused: not global");
                    continue;
                }
                if let Ok(stream) = TcpStream::connect(addr).await {
                    let _ = stream.set_nodelay(true);
                    return Some((stream, addr.ip().is_loopback()));
                }
            }
        }
        None
    };
    tokio::time::timeout(timeout, attempt).await.ok().flatten()
}
