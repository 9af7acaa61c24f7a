//! The one error type of this crate.

/// A stream or document that is not acceptable XMPP XML, with the byte offset where the problem was found.
///
/// Offsets count from the first byte ever fed to the reader (or from the start of the document for
/// [`parse_document`](crate::parse_document)), whatever the caller has discarded since.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at byte {offset}")]
pub struct Error {
    kind: ErrorKind,
    offset: u64,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, offset: u64) -> Self {
        Self { kind, offset }
    }

    /// What is wrong.
    #[must_use]
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The byte offset in the stream (or document) at which the problem was found.
    #[must_use]
    pub fn offset(&self) -> u64 {
        self.offset
    }
}

/// The kinds of [`Error`].
///
/// Most kinds are the restrictions of RFC 6120 §11 or the well-formedness rules of XML 1.0 and
/// Namespaces in XML; the `*Limit` kinds are the reader's configured [limits](crate::Config).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Markup that is not XML at all (for example `<!X` or a malformed XML declaration).
    #[error("malformed markup")]
    Syntax,
    /// A name (of an element or attribute) that is not an XML name.
    #[error("invalid name")]
    InvalidName,
    /// An attribute without `=` or without a quoted value.
    #[error("malformed attribute")]
    MalformedAttribute,
    /// An attribute value containing a literal `<`.
    #[error("`<` in an attribute value")]
    LtInAttributeValue,
    /// The same attribute twice on one element.
    #[error("duplicate attribute `{0}`")]
    DuplicateAttribute(String),
    /// An end tag whose name is not that of the open element.
    #[error("end tag `{found}` does not match the open element `{expected}`")]
    MismatchedEndTag {
        /// The open element's qualified name.
        expected: String,
        /// The end tag's qualified name.
        found: String,
    },
    /// An end tag with no open element.
    #[error("end tag `{0}` without an open element")]
    UnexpectedEndTag(String),
    /// Bytes that are not UTF-8.
    #[error("invalid UTF-8")]
    InvalidUtf8,
    /// A character outside XML 1.0's `Char` production (control characters, U+FFFE, U+FFFF).
    #[error("character U+{0:04X} is not allowed in XML")]
    InvalidChar(u32),
    /// An entity reference other than the five predefined ones (RFC 6120 §11.1).
    #[error("entity reference `&{0};` is not allowed (only the five predefined ones are)")]
    UndefinedEntity(String),
    /// A `&` that does not start a well-formed reference, or a character reference to a non-`Char`.
    #[error("malformed character or entity reference")]
    InvalidReference,
    /// A document type declaration (RFC 6120 §11.1).
    #[error("DTDs are not allowed in XMPP")]
    Dtd,
    /// A comment (RFC 6120 §11.1).
    #[error("comments are not allowed in XMPP")]
    Comment,
    /// A processing instruction (RFC 6120 §11.1).
    #[error("processing instructions are not allowed in XMPP")]
    ProcessingInstruction,
    /// An XML declaration anywhere but at the very start of the stream.
    #[error("an XML declaration is only allowed at the start of a stream")]
    MisplacedDeclaration,
    /// A byte order mark anywhere but at the very start of the stream.
    #[error("a byte order mark is only allowed at the start of a stream")]
    MisplacedBom,
    /// A name with a prefix that no `xmlns:` declaration in scope binds.
    #[error("undeclared namespace prefix `{0}`")]
    UndeclaredPrefix(String),
    /// A namespace declaration that Namespaces in XML forbids (binding `xmlns`, rebinding `xml`,
    /// undeclaring a prefix).
    #[error("forbidden namespace declaration `{0}`")]
    ReservedNamespace(String),
    /// The first element of a stream is not `<stream:stream>` in `http://etherx.jabber.org/streams`.
    #[error("expected a stream header, found `{0}`")]
    NotAStreamHeader(String),
    /// Character data between stanzas that is not whitespace.
    #[error("text outside of a stanza")]
    TextAtStreamLevel,
    /// Anything but whitespace after the stream's close tag (or after a document's root element).
    #[error("data after the end of the stream")]
    DataAfterEnd,
    /// A complete document was required but the input ended first.
    #[error("the document ends before its root element is closed")]
    UnexpectedEof,
    /// A complete document was required but there was no root element.
    #[error("no root element")]
    NoRootElement,
    /// A stanza (or pending token between stanzas) larger than [`Config::max_stanza_size`](crate::Config).
    #[error("stanza larger than the limit of {0} bytes")]
    StanzaSizeLimit(usize),
    /// Elements nested deeper than [`Config::max_depth`](crate::Config).
    #[error("elements nested deeper than the limit of {0}")]
    DepthLimit(usize),
    /// More attributes on one element than [`Config::max_attributes`](crate::Config).
    #[error("more than {0} attributes on one element")]
    AttributeLimit(usize),
    /// More namespace declarations on one element than
    /// [`Config::max_namespace_declarations`](crate::Config).
    #[error("more than {0} namespace declarations on one element")]
    NamespaceDeclarationLimit(usize),
    /// The caller shrank or rewrote the buffer between calls without going through
    /// [`StreamReader::discard`](crate::StreamReader::discard).
    #[error("the buffer shrank between calls (only append to it, and drop bytes via discard())")]
    BufferShrunk,
    /// [`StreamReader::next`](crate::StreamReader::next) was called again after it returned an error.
    #[error("the reader already failed; an XML stream cannot continue after an error")]
    AlreadyFailed,
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
