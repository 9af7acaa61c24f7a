//! A zero-copy, incremental XML stream reader for XMPP (RFC 6120 §4 streams, restricted XML of
//! §11): a validating fast path of its own for the tokens streams are made of, and
//! [quick-xml](https://docs.rs/quick-xml) for the stream header, everything unusual and every
//! error.
//!
//! * [`StreamReader`] frames a stream into its header, complete top-level stanzas, restarts and
//!   the close, from chunks of any size. Running out of bytes is [`Status::Partial`], never an
//!   error, and only the stanza in progress is ever buffered.
//! * Every stanza is validated in full before it is handed out: well-formed XML, namespaces,
//!   no DTDs, comments, processing instructions or entity references other than the five
//!   predefined ones and character references, only XML `Char`s, and the configured
//!   [limits](Config). Errors are typed ([`ErrorKind`]) and carry the stream offset.
//! * A stanza is an [`Element`]: a view of its bytes in *your* buffer, with its qualified
//!   name, resolved namespace, attributes, children and text, unescaped on demand
//!   ([`Cow`](std::borrow::Cow)). [`Element::to_minidom`] (feature `minidom`, on by default)
//!   makes an owned copy.
//! * [`parse_document`] reads one complete document (a BOSH `<body/>`, a disco#info reply) the
//!   same way.
//! * [`escape_text`], [`escape_attr`], [`StreamOpen`] and [`STREAM_CLOSE`] write.
//!
//! # The run loop
//!
//! The reader keeps no bytes itself. Append what arrives to a buffer, call
//! [`StreamReader::next`] until it says [`Status::Partial`], then [`StreamReader::discard`]
//! tells how many bytes at the front are no longer needed; drop exactly those.
//!
//! ```
//! use zxmpp_xml::{Config, Event, Status, StreamReader};
//!
//! // What a socket might deliver, in arbitrary pieces.
//! let chunks: [&[u8]; 4] = [
//!     b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://ethe",
//!     b"rx.jabber.org/streams' from='example.com' id='s1' version='1.0'><message to='ro",
//!     b"meo@example.net'><body>Art thou &lt;there&gt;?</body></message> ",
//!     b"<presence/></stream:stream>",
//! ];
//!
//! let mut reader = StreamReader::new(Config::default());
//! let mut buf: Vec<u8> = Vec::new();
//! let mut seen = Vec::new();
//! for chunk in chunks {
//!     buf.extend_from_slice(chunk);
//!     loop {
//!         match reader.next(&buf)? {
//!             Status::Partial => break, // read more from the socket
//!             Status::Complete(Event::StreamOpen(header)) => {
//!                 assert_eq!(header.from().as_deref(), Some("example.com"));
//!                 assert_eq!(header.content_namespace(), "jabber:client");
//!             }
//!             Status::Complete(Event::Stanza(stanza)) => {
//!                 assert_eq!(stanza.ns(), "jabber:client");
//!                 if let Some(body) = stanza.child("body", "jabber:client") {
//!                     assert_eq!(body.text(), "Art thou <there>?");
//!                 }
//!                 seen.push(stanza.name().to_owned());
//!             }
//!             Status::Complete(Event::StreamClose) => seen.push("close".to_owned()),
//!             Status::Complete(_) => {}
//!         }
//!     }
//!     // Forget what has been handled; keep only the stanza in progress.
//!     let done = reader.discard();
//!     buf.drain(..done);
//! }
//! assert_eq!(seen, ["message", "presence", "close"]);
//! assert!(buf.is_empty());
//! # Ok::<(), zxmpp_xml::Error>(())
//! ```
//!
//! # Errors and offsets
//!
//! ```
//! use zxmpp_xml::{parse_document, Config, ErrorKind};
//! let err = parse_document(b"<iq><!-- no --></iq>", &Config::default()).unwrap_err();
//! assert_eq!(err.kind(), &ErrorKind::Comment);
//! assert_eq!(err.offset(), 4);
//! ```
//!
//! # What is checked
//!
//! Element and attribute names are checked against XML's name grammar for ASCII; characters
//! beyond ASCII are accepted as name characters (XML 1.0 fifth edition allows nearly all of
//! them). Two attributes with the same qualified name are an error; two with different prefixes
//! bound to the same namespace are not detected.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod attrs;
mod chars;
mod config;
mod document;
mod element;
mod error;
mod fast;
mod reader;
mod scratch;
#[cfg(feature = "minidom")]
mod to_minidom;
mod tokens;
mod writer;

pub use config::Config;
pub use document::parse_document;
pub use element::{Attribute, Children, Element, Node, Nodes, XML_NS};
pub use error::{Error, ErrorKind, Result};
pub use reader::{Event, STREAMS_NS, Status, StreamHeader, StreamReader};
pub use writer::{STREAM_CLOSE, StreamOpen, escape_attr, escape_text};
