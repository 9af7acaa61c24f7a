//! Reader and writer for NSArchiver "typedstream" archives (`streamtyped` little-endian and
//! `typedstream` big-endian, streamer version 4), the format of `NSArchiver` and of iChat's
//! `VCICEData`.
//!
//! [`decode`] turns bytes into an [`Archive`]: its typed groups, with objects of the common
//! Foundation classes recognised as [`Content`] (NSString, NSNumber, NSData, NSDictionary,
//! NSArray, NSDate, NSValue, mutable or not) and every other object kept as its typed groups.
//! Each object keeps its class chain with versions, and objects stored more than once appear
//! as [`Value::Ref`], so [`encode`] writes the archive back with the choices Apple's writer
//! makes: decoding then encoding an archive Apple wrote gives the same bytes.
//!
//! Reading is bounded by [`Limits`] and never panics; errors carry the byte offset.
//!
//! # Example
//!
//! ```
//! use zxmpp_typedstream::{decode, encode, Archive, Object, Value};
//!
//! // Build what iChat stores in VCICEData: a dictionary holding an NSData blob.
//! let dict = Object::ns_mutable_dictionary(vec![
//!     (Value::object(Object::ns_string("version")), Value::object(Object::ns_number_i32(2))),
//!     (Value::object(Object::ns_string("SIP-ICE")), Value::object(Object::ns_data(vec![0, 1, 2]))),
//! ]);
//! let bytes = encode(&Archive::with_root(Value::object(dict)))?;
//! assert!(bytes.starts_with(b"\x04\x0bstreamtyped\x81\xe8\x03"));
//!
//! // Read it back.
//! let archive = decode(&bytes)?;
//! let root = archive.root_object().expect("root object");
//! assert_eq!(root.class.name(), "NSMutableDictionary");
//! let blob = root.get("SIP-ICE").and_then(|v| archive.resolve(v)).and_then(|o| o.as_data());
//! assert_eq!(blob, Some(&[0u8, 1, 2][..]));
//! assert_eq!(encode(&archive)?, bytes);
//!
//! // Invalid input fails with the byte offset: cut inside the first class name, whose
//! // length byte (at offset 22) now claims more bytes than are left.
//! let err = decode(&bytes[..30]).unwrap_err();
//! assert_eq!(err.offset(), Some(22));
//! # Ok::<(), zxmpp_typedstream::Error>(())
//! ```
//!
//! # What is normalised
//!
//! The writer makes one choice where the format allows several (integer widths, integral
//! floats written as integers, strings and classes written once then referenced). An archive
//! that made other choices decodes to the same [`Archive`] but re-encodes in Apple's layout;
//! `decode(encode(decode(x))) == decode(x)` holds for every input that decodes. Integers are
//! read into their type's width, as NSUnarchiver stores them (an `s` stored as int32 keeps its
//! low 16 bits).
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod display;
mod error;
mod limits;
mod model;
mod read;
mod types;
mod wire;
mod write;

pub use error::{Error, RefKind};
pub use limits::Limits;
pub use model::{
    APPLE_SYSTEM_VERSION, Archive, ByteOrder, Class, ClassInfo, Content, Group, Object, ObjectId,
    Value,
};

/// Decodes a typedstream with the default [`Limits`].
///
/// # Errors
/// [`Error`] with the byte offset when the input is not a valid typedstream or exceeds a limit.
pub fn decode(bytes: &[u8]) -> Result<Archive, Error> {
    read::decode(bytes, &Limits::default())
}

/// Decodes a typedstream with the given limits.
///
/// # Errors
/// [`Error`] with the byte offset when the input is not a valid typedstream or exceeds a limit.
pub fn decode_with(bytes: &[u8], limits: &Limits) -> Result<Archive, Error> {
    read::decode(bytes, limits)
}

/// Encodes an archive with Apple's canonical choices.
///
/// # Errors
/// Only for hand-built archives: a value that does not match its type encoding
/// ([`Error::TypeMismatch`], [`Error::GroupLength`]), a [`Value::Ref`] to an object not yet
/// written ([`Error::DanglingReference`]), or an empty class chain.
pub fn encode(archive: &Archive) -> Result<Vec<u8>, Error> {
    write::encode(archive)
}

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

impl Archive {
    /// Encodes this archive; same as [`encode`].
    ///
    /// # Errors
    /// See [`encode`].
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        write::encode(self)
    }
}
