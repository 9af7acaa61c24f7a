//! zxmpp-cm: a BOSH connection manager (XEP-0124, XEP-0206) — PunJab's role, done again.
//!
//! An HTTP server that accepts BOSH sessions and bridges each to an XMPP server over an ordinary c2s
//! connection: the session's `to` domain (its `_xmpp-client._tcp` SRV records found by [`DnsResolver`] or any
//! [`SrvLookup`], falling back to the domain on port 5222), or a `route` the operator allows. The manager does STARTTLS upstream with rustls (the Mozilla roots,
//! plus a CA file for test servers) and carries XEP-0206 stream restarts across.
//!
//! * [`Bridge`]: the sans-IO glue between zxmpp-bosh's [`zxmpp_bosh::CmSession`] and one upstream XML stream;
//!   every protocol decision lives there and is tested without sockets.
//! * [`dns`]: SRV ordering (RFC 2782) as a pure function, and the resolvers.
//! * [`Policy`]: the allow-list of domains and routes and the refusal of non-global addresses found by DNS.
//! * [`Server`]: tokio and an HTTP/1.1 layer of its own at the edges (an idle long-polling connection keeps no
//!   buffer): the session table, limits, CORS, `/metrics`, graceful shutdown.
//! * [`Config`]: the TOML configuration, with defaults that are safe on a loopback machine.
//!
//! Safe by default: it listens on 127.0.0.1, reaches no domain until one is listed in `upstreams`, refuses
//! private addresses found by DNS, ignores `route` unless allowed, uses 128-bit random sids, and bounds body size,
//! sessions per client address, total sessions and the upstream connect time.
//!
//! ```
//! use zxmpp_cm::{Config, Server, Upstream};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let mut config = Config::from_toml(r#"
//!     listen = "127.0.0.1:0"
//!     [[upstreams]]
//!     domain = "localhost"
//!     address = "127.0.0.1:5222"
//! "#)?;
//! config.cors_origins.push("https://chat.example".into());
//! let server = Server::bind(config).await?;
//! println!("BOSH at http://{}/http-bind", server.local_addr().unwrap());
//! // Serve until the future completes (here: at once), then end every session with system-shutdown.
//! server.run(async {}).await;
//! # Ok::<(), zxmpp_cm::Error>(())
//! # }).unwrap();
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod bridge;
mod config;
pub mod dns;
mod error;
pub(crate) mod http;
pub mod metrics;
pub mod policy;
mod recent;
mod server;
mod session;
mod upstream;

pub use bridge::{Action, Bridge, StreamId};
pub use config::{Config, PlainUpstream, StickyCookie, Upstream};
pub use dns::{DnsResolver, SrvLookup, StaticSrv};
pub use error::Error;
pub use metrics::Metrics;
pub use policy::{Policy, Target, Via};
pub use server::Server;
