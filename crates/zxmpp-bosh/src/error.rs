//! The crate's error type.

use crate::Condition;

/// Everything that can go wrong in this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is not well-formed (restricted) XML; `offset` is the byte offset of the problem.
    #[error("invalid XML at byte {offset}: {reason}")]
    Xml {
        /// Byte offset in the input.
        offset: u64,
        /// What the XML reader reported.
        reason: String,
    },
    /// The root element is not `<body xmlns='http://jabber.org/protocol/httpbind'/>`.
    #[error("the root element is not a BOSH <body/>")]
    NotBody,
    /// The body is larger than the configured limit.
    #[error("body of {size} bytes exceeds the limit of {limit} bytes")]
    BodyTooLarge {
        /// Size of the input.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The body carries more payloads than the configured limit.
    #[error("body has more than {limit} payloads")]
    TooManyPayloads {
        /// The configured limit.
        limit: usize,
    },
    /// The `<body/>` wrapper contains character data (forbidden by XEP-0124 §6).
    #[error("character data directly inside <body/> at byte {offset}")]
    TextInBody {
        /// Byte offset of the `<body/>` element.
        offset: u64,
    },
    /// A known attribute has a value of the wrong type (e.g. a non-numeric `rid`).
    #[error("attribute `{name}` has an invalid value `{value}`")]
    InvalidAttribute {
        /// The attribute's qualified name.
        name: String,
        /// The value found.
        value: String,
    },
    /// A required attribute is missing.
    #[error("attribute `{0}` is missing")]
    MissingAttribute(&'static str),
    /// A snapshot was written by a format version this build does not know.
    #[error(
        "snapshot format version {found} is not supported (this build reads version {supported})"
    )]
    UnsupportedSnapshotVersion {
        /// Version in the snapshot.
        found: u32,
        /// Version this build reads and writes.
        supported: u32,
    },
    /// A snapshot's contents are inconsistent.
    #[error("snapshot is inconsistent: {0}")]
    InvalidSnapshot(&'static str),
    /// The connection manager refused a session creation request with this condition.
    #[error("session creation refused: {0}")]
    Refused(Condition),
    /// The connection manager's queue of payloads for the client is full.
    #[error("the outbound queue is full ({limit} bytes)")]
    QueueFull {
        /// The configured limit in bytes.
        limit: usize,
    },
    /// The operation is not possible in the session's current state.
    #[error("not possible in the current session state: {0}")]
    InvalidState(&'static str),
}
