//! Thin tokio drivers that run the sans-IO [`Client`](crate::Client) over a real transport (feature `tokio`).
//!
//! * [`TcpDriver`]: XMPP over TCP (RFC 6120 c2s), with STARTTLS through rustls when the server offers it, and
//!   plain TCP only when [`PlainPolicy`] allows it (by default: never; [`PlainPolicy::Loopback`] for a test
//!   server on 127.0.0.1 / ::1).
//! * [`BoshDriver`]: XMPP over BOSH (XEP-0124/0206): a [`zxmpp_bosh::ClientSession`] driven by a keep-alive
//!   HTTP/1.1 client (hyper), with up to `requests` requests in flight.
//!
//! Both have the same three-step loop, in an order that makes a crash at any instant harmless when the
//! application saves its snapshot at the marked point (write-ahead: nothing leaves the process before the state
//! that produced it is saved):
//!
//! 1. [`TcpDriver::wait`] / [`BoshDriver::wait`]: wait for one input (bytes, an HTTP response, a timer, a
//!    reconnection) and feed it to the client. Cancel-safe: it can be one branch of a `tokio::select!`.
//! 2. The application drains [`Client::poll_event`](crate::Client::poll_event), then calls `stage`, which drains
//!    [`Client::poll_transmit`](crate::Client::poll_transmit) into the driver without sending anything.
//! 3. **The application saves** [`Client::snapshot`](crate::Client::snapshot) with the driver's
//!    [`BoshDriver::snapshot`] (TCP has no transport state of its own: XEP-0198 lives in the core), then calls
//!    `flush`, which writes the staged bytes or posts the staged HTTP requests.
//!
//! ```no_run
//! # async fn run(mut client: zxmpp_client::Client) -> Result<(), zxmpp_client::drivers::DriverError> {
//! use zxmpp_client::drivers::{PlainPolicy, TcpConfig, TcpDriver};
//! let mut driver = TcpDriver::new(TcpConfig::new("127.0.0.1:5222", "localhost").with_plain(PlainPolicy::Loopback));
//! loop {
//!     driver.wait(&mut client).await?;
//!     while let Some(event) = client.poll_event() {
//!         println!("{event:?}");
//!     }
//!     driver.stage(&mut client);
//!     // save client.snapshot() here
//!     driver.flush(&mut client).await?;
//! }
//! # }
//! ```

mod bosh;
mod tcp;
mod tls;

pub use bosh::{BoshConfig, BoshDriver};
pub use tcp::{PlainPolicy, TcpConfig, TcpDriver};
pub use tls::TlsRoots;

use std::time::Duration;

/// Why a driver gave up. Transport failures that the client can recover from (a connection reset, a BOSH
/// session that ended) are not errors: they reach the client as `TransportEvent::Disconnected` and the driver
/// reconnects.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DriverError {
    /// The TLS settings could not be loaded (an unreadable or empty CA file).
    #[error("TLS configuration: {0}")]
    TlsConfig(String),
    /// The server offers no STARTTLS and the [`PlainPolicy`] forbids a plain connection to it.
    #[error("the server at {0} offers no STARTTLS and plain connections to it are not allowed")]
    PlainNotAllowed(String),
    /// The server's TLS certificate did not verify (unknown issuer, wrong name, expired, …); the driver stops.
    #[error("the server's certificate was refused: {0}")]
    Certificate(#[source] std::io::Error),
    /// The BOSH URL is not a valid `http://` or `https://` URL.
    #[error("invalid BOSH URL {0:?}")]
    InvalidUrl(String),
    /// A saved BOSH session could not be restored.
    #[error("invalid BOSH session snapshot: {0}")]
    InvalidSnapshot(#[source] zxmpp_bosh::Error),
    /// The client closed its stream and the transport is finished.
    #[error("the session is closed")]
    Closed,
}

/// Reconnection delays: 1 s, 2 s, 4 s, then 8 s.
#[derive(Debug, Clone, Copy, Default)]
struct Backoff {
    failures: u32,
}

impl Backoff {
    fn next_delay(&mut self) -> Duration {
        let secs = 1u64 << self.failures.min(3);
        self.failures = self.failures.saturating_add(1);
        Duration::from_secs(secs)
    }

    fn reset(&mut self) {
        self.failures = 0;
    }
}

/// 32 bytes from the operating system's CSPRNG (BOSH rids and keys); falls back to time-derived bytes only if the
/// OS refuses, which never happens on supported platforms.
fn entropy() -> [u8; 32] {
    let mut seed = [0u8; 32];
    if getrandom::fill(&mut seed).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        for (i, b) in nanos.to_le_bytes().iter().cycle().take(32).enumerate() {
            if let Some(slot) = seed.get_mut(i) {
                *slot = *b ^ (i as u8);
            }
        }
    }
    seed
}
