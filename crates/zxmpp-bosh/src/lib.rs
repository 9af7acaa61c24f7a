//! BOSH — XEP-0124 (v1.11) Bidirectional-streams Over Synchronous HTTP and XEP-0206 (v1.4) XMPP over BOSH —
//! for both ends, without I/O.
//!
//! * [`Body`]: every attribute of the `<body/>` wrapper, typed (unknown ones kept), a zero-copy parser whose
//!   payloads are byte ranges of the input ([`ParsedBody`]), and a writer. Parsing is done with `zxmpp-xml` and
//!   bounded by [`Limits`].
//! * [`ClientSession`]: the client. Session creation, rid sequencing, `requests`/`hold`/`polling`, retransmission
//!   of a failed request with the same rid and the same bytes, acknowledgements and `report`, key sequencing with
//!   `newkey` rotation, pause, XEP-0206 restart, terminate, multiple streams. Its whole state is a serde
//!   [`ClientSnapshot`] with a format version: stop at any instant, restore later.
//! * [`CmSession`]: the connection manager (what PunJab or Prosody's mod_bosh do) with the XMPP server behind it
//!   left to the caller: validation of sid, rid window and keys, a cache of recent responses for retransmitted
//!   rids, `hold` and `wait`, inactivity, overactivity, acks with `report`/`time`, pause, terminate, multiple
//!   streams; also serializable ([`CmSnapshot`]).
//!
//! Both sessions are sans-IO state machines in the style of quinn-proto: inputs are `handle_*(now, …)` calls,
//! outputs are pulled with `poll_transmit`, `poll_event` and `poll_timeout`. Time is passed in as
//! [`std::time::Instant`]; randomness (initial rid, keys, stream names) is passed in as seed bytes.
//!
//! # The client run loop
//!
//! After every input — a call of [`ClientSession::new`], `handle_response`, `handle_timeout`, `send`, … —
//! 1. send every [`ClientSession::poll_transmit`] as an HTTP POST (each on its own connection or a pooled one;
//!    several can be in flight) and, when the HTTP request ends, call [`ClientSession::handle_response`] with
//!    its [`RequestId`] and an [`HttpOutcome`];
//! 2. drain [`ClientSession::poll_event`];
//! 3. sleep until [`ClientSession::poll_timeout`] (or the next input) and call
//!    [`ClientSession::handle_timeout`].
//!
//! The client resends a request by itself when it fails or when no response came within `wait` plus a margin,
//! so the HTTP layer needs no timeout shorter than that. Here the HTTP server is a [`CmSession`] in memory:
//!
//! ```
//! use std::time::{Duration, Instant};
//! use zxmpp_bosh::{
//!     Announce, ClientConfig, ClientEvent, ClientSession, CmConfig, CmEvent, CmSession, HttpId, HttpOutcome,
//! };
//!
//! let mut now = Instant::now();
//! // 32 bytes from a CSPRNG in real use (initial rid, key chains).
//! let mut client = ClientSession::new(ClientConfig::new("example.com"), [7; 32], now);
//! client.send(&b"<presence xmlns='jabber:client'/>"[..])?;
//!
//! // The connection manager side: the first request creates the session.
//! let first = client.poll_transmit(now).expect("the session creation request");
//! let mut cm = CmSession::accept(now, CmConfig::default(), "sid-1".into(), [9; 32], HttpId(0), &first.body)?;
//! let mut in_flight = vec![(HttpId(0), first.id)];
//! cm.announce(now, Announce::new(Some("example.com".into()), None, Some("1.0".into())));
//! cm.send(now, None, &b"<message xmlns='jabber:client'><body>hi</body></message>"[..])?;
//!
//! let mut received = Vec::new();
//! let mut forwarded = Vec::new();
//! for _ in 0..3 {
//!     // 1. and 2.: move requests and responses until nothing moves.
//!     loop {
//!         let mut moved = false;
//!         while let Some(transmit) = client.poll_transmit(now) {
//!             // "POST" it to the connection manager.
//!             let http = HttpId(in_flight.len() as u64);
//!             in_flight.push((http, transmit.id));
//!             cm.handle_request(now, http, &transmit.body);
//!             moved = true;
//!         }
//!         while let Some(response) = cm.poll_transmit() {
//!             let id = in_flight.iter().find(|(h, _)| *h == response.http).map(|(_, id)| *id).unwrap();
//!             client.handle_response(now, id, HttpOutcome::Ok(response.body));
//!             moved = true;
//!         }
//!         while let Some(event) = client.poll_event() {
//!             if let ClientEvent::Payload(payload) = event {
//!                 received.push(payload.bytes);
//!             }
//!         }
//!         while let Some(event) = cm.poll_event() {
//!             if let CmEvent::Payloads { payloads, .. } = event {
//!                 forwarded.extend(payloads);
//!             }
//!         }
//!         if !moved {
//!             break;
//!         }
//!     }
//!     // 3. Timers: jump to the next deadline (a real program sleeps until then).
//!     now = client.poll_timeout().into_iter().chain(cm.poll_timeout()).min().unwrap_or(now).max(now);
//!     client.handle_timeout(now);
//!     cm.handle_timeout(now);
//! }
//! assert_eq!(received, [&b"<message xmlns='jabber:client'><body>hi</body></message>"[..]]);
//! assert_eq!(forwarded, [&b"<presence xmlns='jabber:client'/>"[..]]);
//!
//! // Stop at any instant and go on later, even in another process.
//! let saved = serde_json::to_string(&client.snapshot()).unwrap();
//! let client = ClientSession::restore(serde_json::from_str(&saved).unwrap(), now)?;
//! assert!(!client.is_terminated());
//! # Ok::<(), zxmpp_bosh::Error>(())
//! ```
//!
//! # XEP-0206
//!
//! After SASL success call [`ClientSession::restart`]: the next request is the restart request
//! (`xmpp:restart='true'`), and the payloads sent afterwards follow it. Payloads are delivered as bytes; those
//! using a prefix declared on the `<body/>` (`stream:features`) come with the declarations in
//! [`Payload::namespaces`], and [`Payload::standalone`] gives them as a document of their own.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod body;
mod client;
mod cm;
mod error;
pub mod keys;
mod rare;
mod text_bytes;
mod types;

/// The HTTP Content-Type of client requests (XEP-0124 §5).
pub const CONTENT_TYPE: &str = "text/xml; charset=utf-8";

pub use body::{Body, Limits, NS_HTTPBIND, NS_STREAM, NS_XBOSH, ParsedBody};
pub use client::{
    CLIENT_SNAPSHOT_VERSION, ClientConfig, ClientEvent, ClientSession, ClientSnapshot, HttpOutcome,
    Payload, RequestId, SessionParams, Termination, Transmit,
};
pub use cm::{
    Announce, CM_SNAPSHOT_VERSION, CmConfig, CmEvent, CmSession, CmSnapshot, CmTermination,
    CmTransmit, HttpId,
};
pub use error::Error;
pub use types::{BodyType, Condition, Rid, Version};
