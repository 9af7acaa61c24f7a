//! The crate's one error type.

/// Why a binary plist could not be read, kept, or turned into a [`plist::Value`].
///
/// Every variant that comes from reading names the byte offset in the input where the problem
/// was found ([`Error::offset`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is larger than [`Limits::max_input_size`](crate::Limits::max_input_size).
    #[error("input of {len} bytes is larger than the limit of {limit} bytes")]
    InputTooLarge {
        /// Input length in bytes.
        len: u64,
        /// The configured limit.
        limit: u64,
    },
    /// The input does not start with `bplist00`.
    #[error("byte 0: not a binary plist (no `bplist00` header)")]
    NotBinaryPlist,
    /// The input ends before a structure that must be there is complete.
    #[error("byte {offset}: truncated: {what} needs {needed} more bytes than the input has")]
    Truncated {
        /// Where the incomplete structure starts.
        offset: u64,
        /// What was being read.
        what: &'static str,
        /// How many bytes were missing (at least).
        needed: u64,
    },
    /// A trailer field has a value no binary plist can have.
    #[error("byte {offset}: bad trailer: {problem}")]
    BadTrailer {
        /// Offset of the trailer field.
        offset: u64,
        /// What is wrong with it.
        problem: TrailerProblem,
    },
    /// The trailer declares more objects than [`Limits::max_objects`](crate::Limits::max_objects).
    #[error("byte {offset}: {count} objects is more than the limit of {limit}")]
    TooManyObjects {
        /// Offset of the trailer's object count.
        offset: u64,
        /// The declared count.
        count: u64,
        /// The configured limit.
        limit: u64,
    },
    /// An offset-table entry points outside the object area (before the first object or at or
    /// past the offset table).
    #[error(
        "byte {offset}: object #{index} is said to start at byte {target}, outside the object area 8..{end}"
    )]
    OffsetOutOfRange {
        /// Offset of the offset-table entry.
        offset: u64,
        /// Index of the object.
        index: u64,
        /// The offset the entry holds.
        target: u64,
        /// Where the object area ends (the offset table's position).
        end: u64,
    },
    /// A marker byte that is not a binary plist object type this crate reads.
    #[error("byte {offset}: unknown or unsupported object marker 0x{marker:02x}")]
    UnknownMarker {
        /// Offset of the marker.
        offset: u64,
        /// The marker byte.
        marker: u8,
    },
    /// A count or size is malformed (negative, 16-byte, or a non-integer after a `0x?F` marker).
    #[error("byte {offset}: malformed length")]
    BadLength {
        /// Offset of the length.
        offset: u64,
    },
    /// A collection is longer than [`Limits::max_collection_len`](crate::Limits::max_collection_len).
    #[error("byte {offset}: collection of {len} entries is longer than the limit of {limit}")]
    CollectionTooLong {
        /// Offset of the collection's marker.
        offset: u64,
        /// Its declared length.
        len: u64,
        /// The configured limit.
        limit: u64,
    },
    /// An object reference names an object that does not exist.
    #[error("byte {offset}: reference to object #{reference}, but there are only {count} objects")]
    ReferenceOutOfRange {
        /// Offset of the reference (or of the trailer's top-object field).
        offset: u64,
        /// The reference.
        reference: u64,
        /// Number of objects in the table.
        count: u64,
    },
    /// An ASCII string (`0x5?`) holds a byte above 0x7f.
    #[error("byte {offset}: ASCII string holds a non-ASCII byte")]
    NonAsciiString {
        /// Offset of the string's marker.
        offset: u64,
    },
    /// A container contains itself.
    #[error("byte {offset}: object #{index} contains itself (reference cycle)")]
    Cycle {
        /// Offset of the object where the cycle was closed.
        offset: u64,
        /// Its index.
        index: u64,
    },
    /// Containers nest deeper than [`Limits::max_depth`](crate::Limits::max_depth).
    #[error("byte {offset}: object #{index} nests deeper than the limit of {limit}")]
    TooDeep {
        /// Offset of the object.
        offset: u64,
        /// Its index.
        index: u64,
        /// The configured limit.
        limit: u64,
    },
    /// The file is valid but laid out in a way this crate cannot reproduce byte for byte.
    #[error("byte {offset}: layout cannot be kept byte for byte: {problem}")]
    UnsupportedLayout {
        /// Where the problem is.
        offset: u64,
        /// What it is.
        problem: LayoutProblem,
    },
    /// The object cannot be expressed as a [`plist::Value`].
    #[error("byte {offset}: object #{index} has no plist::Value form: {problem}")]
    Unrepresentable {
        /// Offset of the object.
        offset: u64,
        /// Its index.
        index: u64,
        /// Why.
        problem: ValueProblem,
    },
    /// A [`plist::Value`] variant this crate does not know how to write (`plist::Value` is
    /// non-exhaustive).
    #[error("plist::Value variant this crate cannot write")]
    UnsupportedValue,
    /// Expanding shared objects into a value tree would make more than
    /// [`Limits::max_value_nodes`](crate::Limits::max_value_nodes) nodes.
    #[error("value tree would have more than {limit} nodes")]
    TooManyValueNodes {
        /// The configured limit.
        limit: u64,
    },
    /// Expanding shared objects into a value tree would copy more than
    /// [`Limits::max_value_bytes`](crate::Limits::max_value_bytes) bytes of data and strings.
    #[error("value tree would hold more than {limit} bytes of data and strings")]
    ValueTooLarge {
        /// The configured limit.
        limit: u64,
    },
}

impl Error {
    /// The byte offset in the input where the problem was found, if there is one.
    #[must_use]
    pub fn offset(&self) -> Option<u64> {
        match self {
            Error::NotBinaryPlist => Some(0),
            Error::Truncated { offset, .. }
            | Error::BadTrailer { offset, .. }
            | Error::TooManyObjects { offset, .. }
            | Error::OffsetOutOfRange { offset, .. }
            | Error::UnknownMarker { offset, .. }
            | Error::BadLength { offset }
            | Error::CollectionTooLong { offset, .. }
            | Error::ReferenceOutOfRange { offset, .. }
            | Error::NonAsciiString { offset }
            | Error::Cycle { offset, .. }
            | Error::TooDeep { offset, .. }
            | Error::UnsupportedLayout { offset, .. }
            | Error::Unrepresentable { offset, .. } => Some(*offset),
            Error::InputTooLarge { .. }
            | Error::UnsupportedValue
            | Error::TooManyValueNodes { .. }
            | Error::ValueTooLarge { .. } => None,
        }
    }
}

/// What is wrong with a trailer field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrailerProblem {
    /// The offset-int size is not 1 to 8.
    #[error("offset int size {0} is not 1..=8")]
    OffsetIntSize(u8),
    /// The object-ref size is not 1 to 8.
    #[error("object ref size {0} is not 1..=8")]
    ObjectRefSize(u8),
    /// The object count is zero.
    #[error("no objects")]
    NoObjects,
    /// The offset table does not lie between the header and the trailer.
    #[error("offset table at byte {0} does not fit between the header and the trailer")]
    OffsetTable(u64),
}

/// Why a valid file's layout cannot be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LayoutProblem {
    /// Two offset-table entries point at the same object bytes.
    #[error("objects #{0} and #{1} share their bytes")]
    SharedObject(u64, u64),
    /// Two objects' bytes overlap.
    #[error("objects #{0} and #{1} overlap")]
    Overlap(u64, u64),
}

/// Why an object has no [`plist::Value`] form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueProblem {
    /// A `null` object (0x00).
    #[error("null")]
    Null,
    /// A set (`0xCn`).
    #[error("set")]
    Set,
    /// An integer outside the `i64` and `u64` ranges.
    #[error("integer outside the i64 and u64 ranges")]
    IntegerRange,
    /// A date that is NaN or outside the years 1 to 9999.
    #[error("date is NaN or outside the years 1..=9999")]
    DateRange,
    /// A UTF-16 string with an unpaired surrogate.
    #[error("UTF-16 string with an unpaired surrogate")]
    BadUtf16,
    /// A dictionary key that is not a string.
    #[error("dictionary key is not a string")]
    NonStringKey,
    /// A dictionary holds the same key twice.
    #[error("dictionary holds a key twice")]
    DuplicateKey,
}
