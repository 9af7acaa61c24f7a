//! The crate's error type.

/// Everything that can go wrong while reading or writing the iChat AV formats.
///
/// Offsets are byte offsets into the input of the layer that failed (the hex text, the SIP-ICE
/// blob, the address-record list, the stanza); [`Error::offset`] returns the offset where one is
/// known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A character that is neither a hex digit nor whitespace.
    #[error("invalid hex character {byte:#04x} at offset {offset}")]
    InvalidHex {
        /// Offset of the character in the hex text.
        offset: usize,
        /// The character.
        byte: u8,
    },
    /// The hex text holds an odd number of digits.
    #[error("odd number of hex digits: the digit at offset {offset} has no partner")]
    OddHexDigits {
        /// Offset of the last, unpaired digit.
        offset: usize,
    },
    /// An input is larger than the configured limit.
    #[error("{what} is {len} bytes, more than the limit of {limit}")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The limit it exceeded.
        limit: usize,
    },
    /// More items than the configured limit.
    #[error("more than {limit} {what} (at offset {offset})")]
    TooMany {
        /// What there were too many of.
        what: &'static str,
        /// The limit.
        limit: usize,
        /// Offset of the first item over the limit.
        offset: usize,
    },
    /// The input ends inside a structure, or its length does not fit the layout.
    #[error("{what} truncated at offset {offset}: {needed} more bytes needed")]
    Truncated {
        /// The structure being read.
        what: &'static str,
        /// Offset where the structure starts.
        offset: usize,
        /// How many bytes are missing.
        needed: usize,
    },
    /// An interface name does not fit the 16-byte field (15 bytes and a NUL at most) or holds a NUL.
    #[error("interface name {name:?} does not fit a 16-byte NUL-terminated field")]
    InterfaceName {
        /// The rejected name.
        name: String,
    },
    /// An invitation key holds a value of the wrong plist type.
    #[error("{key} holds a {found}, expected {expected}")]
    WrongType {
        /// The key (or `key[index].field` path).
        key: String,
        /// The expected plist type.
        expected: &'static str,
        /// The plist type found.
        found: &'static str,
    },
    /// A required key is missing.
    #[error("missing {key}")]
    MissingKey {
        /// The key.
        key: &'static str,
    },
    /// The invitation's root object is not a dictionary.
    #[error("the invitation is a {found}, not a dictionary")]
    NotADictionary {
        /// The plist type found.
        found: &'static str,
    },
    /// The binary plist layer failed.
    #[error("binary plist: {0}")]
    Plist(#[from] zxmpp_bplist::Error),
    /// The typedstream layer (VCICEData) failed.
    #[error("VCICEData typedstream: {0}")]
    Typedstream(#[from] zxmpp_typedstream::Error),
    /// VCICEData decoded, but not to the dictionary iChat writes.
    #[error("VCICEData: {reason}")]
    IceData {
        /// What was not as expected.
        reason: &'static str,
    },
    /// The XML layer failed (not well-formed, or over a limit).
    #[error("XML: {0}")]
    Xml(#[from] zxmpp_xml::Error),
    /// The element is not an `apple:iq:vc:*` query (or an `<iq/>` holding one).
    #[error("not an apple:iq:vc query: <{name} xmlns='{ns}'> at offset {offset}")]
    NotAVcQuery {
        /// Local name of the element found.
        name: String,
        /// Its namespace.
        ns: String,
        /// Its offset.
        offset: u64,
    },
    /// A required child element is missing from a query.
    #[error("<{parent}/> at offset {offset} has no <{child}/>")]
    MissingChild {
        /// The query's namespace.
        parent: &'static str,
        /// The missing child.
        child: &'static str,
        /// Offset of the query element.
        offset: u64,
    },
    /// A child element's text is not a valid value.
    #[error("<{child}> at offset {offset}: {text:?} is not {expected}")]
    InvalidChild {
        /// The child element.
        child: &'static str,
        /// Its text.
        text: String,
        /// What was expected.
        expected: &'static str,
        /// Offset of the child element.
        offset: u64,
    },
    /// The hex payload of a child element is not valid; `source` says why, with the offset in
    /// the element's text or in the decoded bytes.
    #[error("<{child}> at offset {offset}: {source}")]
    InvalidPayload {
        /// The child element (or `invitation hex`).
        child: &'static str,
        /// Offset of the element.
        offset: u64,
        /// What was wrong with the payload.
        #[source]
        source: Box<Error>,
    },
    /// No element of the stanza carries a hex-encoded binary plist.
    #[error("no element carries a hex-encoded binary plist")]
    NoInvitation,
}

impl Error {
    /// The byte offset where the error was found, if known.
    #[must_use]
    pub fn offset(&self) -> Option<u64> {
        match self {
            Error::InvalidHex { offset, .. }
            | Error::OddHexDigits { offset }
            | Error::TooMany { offset, .. }
            | Error::Truncated { offset, .. } => Some(*offset as u64),
            Error::Plist(e) => e.offset(),
            Error::Typedstream(e) => e.offset().map(|o| o as u64),
            Error::Xml(e) => Some(e.offset()),
            Error::NotAVcQuery { offset, .. }
            | Error::MissingChild { offset, .. }
            | Error::InvalidChild { offset, .. }
            | Error::InvalidPayload { offset, .. } => Some(*offset),
            _ => None,
        }
    }
}

/// Shorthand for results with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
