//! The crate's one error type.

/// What a table reference was expected to point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefKind {
    /// An entry of the shared-string table (type encodings, class names, atoms, selectors).
    SharedString,
    /// An object (`@`) in the object table.
    Object,
    /// A class (`#`, or the superclass at the end of a class chain) in the object table.
    Class,
    /// A C string (`*`) in the object table.
    CString,
}

impl std::fmt::Display for RefKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RefKind::SharedString => "shared string",
            RefKind::Object => "object",
            RefKind::Class => "class",
            RefKind::CString => "C string",
        })
    }
}

/// Why an archive could not be decoded or encoded.
///
/// Decoding errors carry the byte offset in the input where the problem was found; encoding
/// errors (only possible for archives built by hand) name the offending type encoding or object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is larger than [`Limits::max_input`](crate::Limits::max_input).
    #[error("input is {len} bytes, more than the limit of {limit}")]
    InputTooLarge {
        /// Length of the input.
        len: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The input ends in the middle of a value.
    #[error("unexpected end of input at byte {offset}")]
    UnexpectedEof {
        /// Where more bytes were needed.
        offset: usize,
    },
    /// The streamer version is not 4 (the only one Apple's NSArchiver writes).
    #[error("unsupported streamer version {version} at byte {offset}")]
    UnsupportedVersion {
        /// Offset of the version byte.
        offset: usize,
        /// The version found.
        version: u8,
    },
    /// The signature is neither `streamtyped` nor `typedstream`.
    #[error("bad signature at byte {offset}: expected \"streamtyped\" or \"typedstream\"")]
    BadSignature {
        /// Offset of the signature length byte.
        offset: usize,
    },
    /// A head byte that is not valid at this place (for example a NEW tag where an integer belongs).
    #[error("unexpected byte 0x{byte:02x} at byte {offset}")]
    UnexpectedTag {
        /// Offset of the byte.
        offset: usize,
        /// The byte.
        byte: u8,
    },
    /// A reference to a table entry that does not exist (yet).
    #[error("reference to unknown {kind} #{index} at byte {offset}")]
    BadReference {
        /// Offset of the reference.
        offset: usize,
        /// Which table.
        kind: RefKind,
        /// The decoded index (may be negative for corrupt input).
        index: i64,
    },
    /// A reference to an object-table entry of another kind (a class where an object belongs, …).
    #[error("reference #{index} at byte {offset} points to a {found}, expected a {expected}")]
    WrongReferenceKind {
        /// Offset of the reference.
        offset: usize,
        /// The object-table index.
        index: usize,
        /// What the context needs.
        expected: RefKind,
        /// What the entry is.
        found: RefKind,
    },
    /// A type-encoding string that cannot be parsed.
    #[error("invalid type encoding {encoding:?} at byte {offset}")]
    BadTypeEncoding {
        /// Offset of the encoding string (or of the value whose encoding it is).
        offset: usize,
        /// The encoding, lossily decoded.
        encoding: String,
    },
    /// A string that must be UTF-8 (class name, type encoding) is not.
    #[error("string at byte {offset} is not UTF-8")]
    NotUtf8 {
        /// Offset of the string.
        offset: usize,
    },
    /// A nil where a value is required (a nil type encoding or class name).
    #[error("nil not allowed at byte {offset}")]
    UnexpectedNil {
        /// Offset of the nil tag.
        offset: usize,
    },
    /// A length or count that is negative.
    #[error("negative length {len} at byte {offset}")]
    NegativeLength {
        /// Offset of the length.
        offset: usize,
        /// The length read.
        len: i64,
    },
    /// A length or count larger than the remaining input or [`Limits::max_length`](crate::Limits::max_length).
    #[error("length {len} at byte {offset} exceeds the remaining input or the limit")]
    LengthTooLarge {
        /// Offset of the length.
        offset: usize,
        /// The length read.
        len: u64,
    },
    /// A `B` (bool) byte other than 0 or 1.
    #[error("bool byte 0x{byte:02x} at byte {offset} is neither 0 nor 1")]
    BadBool {
        /// Offset of the byte.
        offset: usize,
        /// The byte.
        byte: u8,
    },
    /// A C string holding a NUL byte.
    #[error("C string at byte {offset} contains a NUL byte")]
    NulInCString {
        /// Offset of the C string.
        offset: usize,
    },
    /// Objects, arrays or structs nested deeper than [`Limits::max_depth`](crate::Limits::max_depth),
    /// or a class chain longer than that.
    #[error("nesting deeper than {limit} at byte {offset}")]
    TooDeep {
        /// Where the limit was reached.
        offset: usize,
        /// The configured limit.
        limit: usize,
    },
    /// More object-table or shared-string entries than [`Limits::max_objects`](crate::Limits::max_objects).
    #[error("more than {limit} table entries at byte {offset}")]
    TooManyObjects {
        /// Where the limit was reached.
        offset: usize,
        /// The configured limit.
        limit: usize,
    },
    /// More decoded values than [`Limits::max_values`](crate::Limits::max_values).
    #[error("more than {limit} values at byte {offset}")]
    TooManyValues {
        /// Where the limit was reached.
        offset: usize,
        /// The configured limit.
        limit: usize,
    },
    /// Encoding: a value does not fit the type its group's encoding gives it.
    #[error("value {value} does not match type {encoding:?}")]
    TypeMismatch {
        /// The type encoding of the value.
        encoding: String,
        /// A short description of the value found.
        value: &'static str,
    },
    /// Encoding: a group's value count differs from the number of types in its encoding.
    #[error("group {encoding:?} has {found} values, its encoding needs {expected}")]
    GroupLength {
        /// The group's encoding.
        encoding: String,
        /// Number of types in the encoding.
        expected: usize,
        /// Number of values in the group.
        found: usize,
    },
    /// Encoding: a [`Value::Ref`](crate::Value::Ref) to an object not written before it.
    #[error("reference to object {id} before the object was written")]
    DanglingReference {
        /// The object id.
        id: u32,
    },
    /// Encoding: a class with an empty chain.
    #[error("class chain is empty")]
    EmptyClass,
}

impl Error {
    /// The byte offset in the input where a decoding error was found.
    #[must_use]
    pub fn offset(&self) -> Option<usize> {
        match *self {
            Error::UnexpectedEof { offset }
            | Error::UnsupportedVersion { offset, .. }
            | Error::BadSignature { offset }
            | Error::UnexpectedTag { offset, .. }
            | Error::BadReference { offset, .. }
            | Error::WrongReferenceKind { offset, .. }
            | Error::BadTypeEncoding { offset, .. }
            | Error::NotUtf8 { offset }
            | Error::UnexpectedNil { offset }
            | Error::NegativeLength { offset, .. }
            | Error::LengthTooLarge { offset, .. }
            | Error::BadBool { offset, .. }
            | Error::NulInCString { offset }
            | Error::TooDeep { offset, .. }
            | Error::TooManyObjects { offset, .. }
            | Error::TooManyValues { offset, .. } => Some(offset),
            Error::InputTooLarge { .. }
            | Error::TypeMismatch { .. }
            | Error::GroupLength { .. }
            | Error::DanglingReference { .. }
            | Error::EmptyClass => None,
        }
    }
}
