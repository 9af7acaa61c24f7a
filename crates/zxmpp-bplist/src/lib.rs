//! Binary property lists (`bplist00`) laid out byte for byte as Apple's CoreFoundation writes
//! them.
//!
//! Two paths, one type:
//!
//! - **Keeping a layout.** [`Document::parse`] reads a binary plist from any writer (Apple,
//!   Python's `plistlib`, the `plist` crate) into its object table, every object in the encoding
//!   it was written with, orphan objects included; [`Document::to_vec`] writes the same bytes
//!   back. Files whose layout cannot be reproduced are refused with an error, never rewritten
//!   silently (see [`Document`]).
//! - **Authoring.** [`to_vec_apple`] (or [`Document::from_value`]) lays out a [`plist::Value`]
//!   as CoreFoundation (CF-550 and later) does, down to the unreferenced duplicate booleans
//!   Apple writes.
//!
//! [`plist::Value`] is the value currency (the `plist` crate is re-exported as [`plist`]): a
//! [`Document`] converts to one with [`Document::to_value`]. Dictionaries keep their key order.
//!
//! Reading never panics and never allocates from a length it has not checked against the
//! input; [`Limits`] bounds input size, object count, nesting depth, collection length and the
//! size of the value tree that shared objects can expand to.
//!
//! # Example
//!
//! ```
//! use zxmpp_bplist::{Document, plist::Value, to_vec_apple};
//!
//! # fn main() -> Result<(), zxmpp_bplist::Error> {
//! let mut dict = zxmpp_bplist::plist::Dictionary::new();
//! dict.insert("VCSecurityEnabled".into(), Value::Boolean(false));
//! dict.insert("VCOrderIsFinal".into(), Value::Boolean(false));
//! let bytes = to_vec_apple(&Value::Dictionary(dict))?;
//!
//! // CoreFoundation does not unique booleans: the second `false` is written but unreferenced.
//! let doc = Document::parse(&bytes)?;
//! assert_eq!(doc.objects().len(), 5);
//! assert_eq!(doc.orphans(), vec![4]);
//! assert!(doc.is_cf_layout());
//! assert_eq!(doc.to_vec(), bytes);
//!
//! let value = doc.to_value()?;
//! let dict = value.as_dictionary().expect("a dictionary");
//! assert_eq!(dict.keys().collect::<Vec<_>>(), ["VCSecurityEnabled", "VCOrderIsFinal"]);
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod author;
mod document;
mod error;
mod limits;
mod object;
mod read;
mod value;

pub use document::{Document, Trailer};
pub use error::{Error, LayoutProblem, TrailerProblem, ValueProblem};
pub use limits::Limits;
pub use object::{IntWidth, Length, Object, Real};
pub use plist;

/// Writes `value` as CoreFoundation's binary plist writer (CF-550 and later) does.
///
/// The rules, from `CFBinaryPList.c`:
/// - objects are numbered depth-first in pre-order from the root; a dictionary is followed by
///   all its keys, then all its values, in the dictionary's key order;
/// - strings, numbers (an integer never equals a real; reals compare by bit pattern here),
///   dates and data are uniqued by value: a repeat references the first;
/// - booleans, arrays, dictionaries and UIDs are not uniqued; a repeated boolean is written
///   again but every reference points at its first occurrence (an orphan object);
/// - integers take the narrowest of 1, 2, 4 or 8 bytes, negative ones 8 bytes, those above
///   `i64::MAX` 16 bytes; reals are always 8-byte doubles (a `plist::Value` does not say
///   `float`); strings are ASCII when they are, else UTF-16; counts of 15 or more follow a
///   `0x?F` marker as the narrowest integer;
/// - the reference size is the narrowest of 1, 2, 4, 8 bytes that holds the object *count*, the
///   offset size the narrowest that holds the offset table's position; the trailer's unused
///   bytes are zero and the top object is 0.
///
/// Dates go through `plist::Date`, which has nanosecond precision.
///
/// # Errors
/// [`Error::UnsupportedValue`] for a `plist::Value` variant newer than this crate.
pub fn to_vec_apple(value: &plist::Value) -> Result<Vec<u8>, Error> {
    Ok(Document::from_value(value)?.to_vec())
}

/// Reads a binary plist into a [`plist::Value`] with the default [`Limits`].
///
/// # Errors
/// As [`Document::parse`] and [`Document::to_value`].
pub fn from_slice(bytes: &[u8]) -> Result<plist::Value, Error> {
    Document::parse(bytes)?.to_value()
}
