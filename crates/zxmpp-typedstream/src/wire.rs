//! Wire constants shared by the reader and the writer.

/// The only streamer version Apple's NSArchiver writes.
pub(crate) const STREAMER_VERSION: u8 = 4;
/// Signature of little-endian streams.
pub(crate) const SIG_LITTLE: &[u8; 11] = b"streamtyped";
/// Signature of big-endian streams.
pub(crate) const SIG_BIG: &[u8; 11] = b"typedstream";

/// An int16 follows.
pub(crate) const TAG_I16: u8 = 0x81;
/// An int32 follows.
pub(crate) const TAG_I32: u8 = 0x82;
/// A float or double follows.
pub(crate) const TAG_FLOAT: u8 = 0x83;
/// A new (literal) string, object, class or C string follows.
pub(crate) const TAG_NEW: u8 = 0x84;
/// nil.
pub(crate) const TAG_NIL: u8 = 0x85;
/// End of an object's contents.
pub(crate) const TAG_END: u8 = 0x86;
/// An int64 follows (modern Apple, `q`/`Q`).
pub(crate) const TAG_I64: u8 = 0x87;

/// Head bytes 0x80..=0x91 (−128..=−111) are tags; others are literal one-byte integers.
pub(crate) fn is_tag(b: u8) -> bool {
    (0x80..=0x91).contains(&b)
}

/// Reference numbers are stored as `index - 110`, so index 0 is the byte 0x92.
pub(crate) const REF_BIAS: i64 = 110;
