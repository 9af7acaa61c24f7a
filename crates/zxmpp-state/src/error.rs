//! The crate's error type.

use std::path::PathBuf;

use crate::Encoding;

/// Why a snapshot could not be decoded, encoded or stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes do not start with a snapshot header (neither `ZXST` nor `zxmpp-state `).
    #[error("not a zxmpp-state snapshot: unknown magic at byte 0")]
    BadMagic,
    /// The header is damaged.
    #[error("malformed snapshot header at byte {offset}: {what}")]
    Header {
        /// Byte offset of the damage.
        offset: u64,
        /// What is wrong.
        what: &'static str,
    },
    /// Fewer bytes than the header announces.
    #[error("snapshot truncated: {needed} bytes announced, {available} present")]
    Truncated {
        /// Bytes the header announces (header included).
        needed: u64,
        /// Bytes present.
        available: u64,
    },
    /// More bytes than the header announces.
    #[error("{extra} trailing bytes after the snapshot at byte {offset}")]
    TrailingBytes {
        /// Where the snapshot ends.
        offset: u64,
        /// How many bytes follow.
        extra: u64,
    },
    /// Written by a newer zxmpp-state whose format this build does not know.
    #[error(
        "snapshot format version {found} is newer than this build supports (up to {supported}): upgrade zxmpp-state"
    )]
    FutureVersion {
        /// The version in the header.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },
    /// An old format version for which no migration exists.
    #[error("snapshot format version {found} is too old (oldest supported: {oldest})")]
    UnsupportedVersion {
        /// The version in the header.
        found: u32,
        /// The oldest version this build migrates from.
        oldest: u32,
    },
    /// An encoding tag this build does not know.
    #[error("unknown snapshot encoding tag {0}")]
    UnknownEncoding(u8),
    /// The payload's checksum does not match the header: the snapshot was damaged.
    #[error("snapshot integrity check failed: CRC-32 is {found:08x}, header says {expected:08x}")]
    Checksum {
        /// The checksum in the header.
        expected: u32,
        /// The checksum of the payload read.
        found: u32,
    },
    /// Larger than the configured limit.
    #[error("snapshot of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The size announced or found.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The checksum matched but the payload does not decode as a snapshot of this version.
    #[error("snapshot payload ({encoding:?}) does not decode: {detail}")]
    Payload {
        /// The payload's encoding.
        encoding: Encoding,
        /// The decoder's message (with line and column for JSON).
        detail: String,
    },
    /// A file operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done (`write`, `fsync`, `rename`, `read`).
        op: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}
