//! A sans-IO XMPP client core: stream negotiation (STARTTLS, SASL SCRAM-SHA-256 / SCRAM-SHA-1 / PLAIN, resource
//! binding), XEP-0198 stream management (enable, resume, `<r/>`/`<a/>`, the queue of unacknowledged stanzas),
//! roster with versioning, presence with XEP-0115 caps from `zxmpp-caps`, disco#info answers, messages, iqs
//! with timeouts, typed events, and snapshot/restore of the whole client through `zxmpp-state`.
//!
//! The core never touches a socket or a clock, and does not know whether it runs over TCP or BOSH. A driver
//! feeds it [`TransportEvent`]s and carries out its [`Transmit`]s:
//!
//! 1. after every input (`handle_transport`, `handle_timeout`, a command such as `send_message`), drain
//!    [`Client::poll_transmit`] into the transport, and [`Client::poll_event`] into the application;
//! 2. sleep until [`Client::poll_timeout`] or the next input, and call [`Client::handle_timeout`] when due.
//!
//! Time is passed in as [`std::time::Instant`]; randomness (SCRAM nonces, stanza ids) is derived from the
//! 32 bytes of entropy in the configuration, so tests are reproducible.
//!
//! The [`ichat`] module adds iChat AV signalling on top, just as sans-IO: the iChat 5 caps bundles, telling
//! iChat peers apart, reading incoming call signalling (`apple:iq:vc:*` queries, ICE-era invitations via
//! `zxmpp-vc`) and the calls in progress, serializable next to the snapshot.
//!
//! ```
//! use std::time::Instant;
//! use zxmpp_client::{Client, ClientConfig, ClientEvent, Transmit, TransportEvent, TransportKind, sasl::Mechanism};
//! use zxmpp_xml::{Config, Event, Status, StreamReader, parse_document};
//!
//! let now = Instant::now();
//! let config = ClientConfig::new("juliet@example.com", "r0m30myr0m30", [7; 32])
//!     .with_resource("balcony")
//!     .with_mechanisms(&[Mechanism::Plain])
//!     .with_roster_fetch(false);
//! let mut client = Client::new(config, now)?;
//!
//! // What a server says, one element at a time (a driver reads these off TCP or out of BOSH bodies).
//! let header = b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' \
//!     from='example.com' id='s1' version='1.0'>";
//! let script: [&[u8]; 3] = [
//!     b"<stream:features xmlns:stream='http://etherx.jabber.org/streams'>\
//!       <mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms>\
//!       </stream:features>",
//!     b"<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>",
//!     b"<stream:features xmlns:stream='http://etherx.jabber.org/streams'>\
//!       <bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>",
//! ];
//! let mut reader = StreamReader::new(Config::default());
//! let Ok(Status::Complete(Event::StreamOpen(header))) = reader.next(header) else { unreachable!() };
//!
//! // TLS was done by the driver (direct TLS), so the connection is secure.
//! client.handle_transport(now, TransportEvent::Connected { secure: true, transport: TransportKind::Tcp });
//! assert!(matches!(client.poll_transmit(), Some(Transmit::OpenStream { restart: false, .. })));
//! client.handle_transport(now, TransportEvent::StreamOpened(&header));
//! let mut sent = Vec::new();
//! for (i, bytes) in script.iter().enumerate() {
//!     client.handle_transport(now, TransportEvent::Stanza(&parse_document(bytes, &Config::default())?));
//!     while let Some(transmit) = client.poll_transmit() {
//!         if let Transmit::OpenStream { restart: true, .. } = transmit {
//!             client.handle_transport(now, TransportEvent::StreamOpened(&header));
//!         }
//!         sent.push(transmit);
//!     }
//!     if i == 0 {
//!         // PLAIN: NUL juliet NUL r0m30myr0m30, Base64-encoded.
//!         assert_eq!(sent[0], Transmit::Stanza("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' \
//!             mechanism='PLAIN'>AGp1bGlldAByMG0zMG15cjBtMzA=</auth>".into()));
//!     }
//! }
//! // The bind request went out; answer it.
//! let Some(Transmit::Stanza(bind)) = sent.last() else { unreachable!() };
//! let id = parse_document(bind.as_bytes(), &Config::default())?.attr("id").unwrap().into_owned();
//! let answer = format!("<iq xmlns='jabber:client' type='result' id='{id}'><bind \
//!     xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>juliet@example.com/balcony</jid></bind></iq>");
//! client.handle_transport(now, TransportEvent::Stanza(&parse_document(answer.as_bytes(), &Config::default())?));
//! assert_eq!(client.poll_event(), Some(ClientEvent::Online { jid: "juliet@example.com/balcony".into(), resumed: false }));
//!
//! let id = client.send_message(now, "romeo@example.net", "Art thou not Romeo?");
//! assert!(matches!(client.poll_transmit(), Some(Transmit::Stanza(s)) if s.contains(&id)));
//!
//! // Persist after every event if you like: it is cheap (see docs/benchmarks.md).
//! let saved = client.snapshot().encode(zxmpp_state::Encoding::Binary)?;
//! let restored = Client::restore(zxmpp_state::ClientSnapshot::decode(&saved)?, Some("r0m30myr0m30".into()), now)?;
//! assert_eq!(restored.jid(), Some("juliet@example.com/balcony"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod bosh;
mod core;
#[cfg(feature = "tokio")]
pub mod drivers;
pub mod ichat;
pub mod sasl;

pub use crate::core::{
    Client, ClientConfig, ClientEvent, Error, IqRequest, Message, Presence, RosterItem, Transmit,
    TransportEvent, TransportKind,
};
pub use zxmpp_state as state;
