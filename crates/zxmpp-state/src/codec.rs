//! The container: a header with magic, format version, encoding, length and CRC-32, then the payload.
//!
//! Binary (`Encoding::Binary`): 16 header bytes — `ZXST`, format version (u16 LE), encoding tag (u8, 1 =
//! postcard), a zero byte, payload length (u32 LE), CRC-32 (IEEE) of the payload (u32 LE) — then the postcard
//! payload.
//!
//! JSON (`Encoding::Json`): one text line `zxmpp-state <version> json <length> <crc32 as 8 hex digits>\n`,
//! then the snapshot as JSON text (`tail -n +2 FILE | jq .` shows it).

use serde::{Deserialize, Serialize};

use crate::{ClientSnapshot, Error};

/// The format version this build writes.
pub const FORMAT_VERSION: u32 = 2;
/// The oldest format version this build reads (migrating it to [`FORMAT_VERSION`]).
pub const OLDEST_FORMAT_VERSION: u32 = 1;
/// Default limit on the size of a snapshot read back: 64 MiB.
pub const DEFAULT_MAX_SIZE: u64 = 64 << 20;

const MAGIC: &[u8; 4] = b"ZXST";
const TEXT_MAGIC: &[u8] = b"zxmpp-state ";
const BINARY_HEADER: usize = 16;
const TAG_POSTCARD: u8 = 1;

/// How a snapshot's payload is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Encoding {
    /// JSON text after a one-line text header: human-readable, diffable.
    Json,
    /// postcard: compact and fast.
    Binary,
}

impl ClientSnapshot {
    /// Encodes the snapshot with its header (format version, encoding, length, checksum).
    ///
    /// # Errors
    /// [`Error::Payload`] if serde fails (it does not for snapshots built by the client), [`Error::TooLarge`]
    /// beyond 4 GiB.
    pub fn encode(&self, encoding: Encoding) -> Result<Vec<u8>, Error> {
        let payload = match encoding {
            Encoding::Json => serde_json::to_vec(self).map_err(|e| Error::Payload {
                encoding,
                detail: e.to_string(),
            })?,
            Encoding::Binary => postcard::to_stdvec(self).map_err(|e| Error::Payload {
                encoding,
                detail: e.to_string(),
            })?,
        };
        let len = u32::try_from(payload.len()).map_err(|_| Error::TooLarge {
            size: payload.len() as u64,
            limit: u64::from(u32::MAX),
        })?;
        let crc = crc32fast::hash(&payload);
        let mut out = Vec::with_capacity(payload.len() + 48);
        match encoding {
            Encoding::Binary => {
                out.extend_from_slice(MAGIC);
                #[allow(clippy::cast_possible_truncation)]
                out.extend_from_slice(&(FORMAT_VERSION as u16).to_le_bytes());
                out.push(TAG_POSTCARD);
                out.push(0);
                out.extend_from_slice(&len.to_le_bytes());
                out.extend_from_slice(&crc.to_le_bytes());
            }
            Encoding::Json => {
                out.extend_from_slice(
                    format!("zxmpp-state {FORMAT_VERSION} json {len} {crc:08x}\n").as_bytes(),
                );
            }
        }
        out.extend_from_slice(&payload);
        Ok(out)
    }

    /// Decodes a snapshot in either encoding (recognised by its header), checking size, version and checksum.
    ///
    /// # Errors
    /// Every way the bytes can be wrong has its own [`Error`] variant; no input makes it panic.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        Self::decode_with_limit(bytes, DEFAULT_MAX_SIZE)
    }

    /// [`ClientSnapshot::decode`] with a size limit in bytes.
    ///
    /// # Errors
    /// As [`ClientSnapshot::decode`].
    pub fn decode_with_limit(bytes: &[u8], max_size: u64) -> Result<Self, Error> {
        if bytes.len() as u64 > max_size {
            return Err(Error::TooLarge {
                size: bytes.len() as u64,
                limit: max_size,
            });
        }
        let (version, encoding, header_len, len, crc) = if bytes.starts_with(MAGIC) {
            parse_binary_header(bytes)?
        } else if bytes.starts_with(TEXT_MAGIC) {
            parse_text_header(bytes)?
        } else {
            return Err(Error::BadMagic);
        };
        let needed = header_len as u64 + u64::from(len);
        if needed > bytes.len() as u64 {
            return Err(Error::Truncated {
                needed,
                available: bytes.len() as u64,
            });
        }
        if needed < bytes.len() as u64 {
            return Err(Error::TrailingBytes {
                offset: needed,
                extra: bytes.len() as u64 - needed,
            });
        }
        check_version(version)?;
        let payload = bytes.get(header_len..).unwrap_or_default();
        let found = crc32fast::hash(payload);
        if found != crc {
            return Err(Error::Checksum {
                expected: crc,
                found,
            });
        }
        migrate(version, encoding, payload)
    }
}

fn check_version(version: u32) -> Result<(), Error> {
    if version > FORMAT_VERSION {
        Err(Error::FutureVersion {
            found: version,
            supported: FORMAT_VERSION,
        })
    } else if version < OLDEST_FORMAT_VERSION {
        Err(Error::UnsupportedVersion {
            found: version,
            oldest: OLDEST_FORMAT_VERSION,
        })
    } else {
        Ok(())
    }
}

/// Decodes a payload of `version` into the current snapshot struct: older versions decode their own struct
/// and convert it (version 1 lacks `Settings::ichat_caps`).
fn migrate(version: u32, encoding: Encoding, payload: &[u8]) -> Result<ClientSnapshot, Error> {
    match version {
        1 => decode_payload::<crate::v1::ClientSnapshotV1>(encoding, payload).map(Into::into),
        2 => decode_payload::<ClientSnapshot>(encoding, payload),
        found => Err(Error::UnsupportedVersion {
            found,
            oldest: OLDEST_FORMAT_VERSION,
        }),
    }
}

fn decode_payload<T: for<'de> Deserialize<'de>>(
    encoding: Encoding,
    payload: &[u8],
) -> Result<T, Error> {
    match encoding {
        Encoding::Json => serde_json::from_slice(payload).map_err(|e| Error::Payload {
            encoding,
            detail: e.to_string(),
        }),
        Encoding::Binary => {
            let (value, rest) =
                postcard::take_from_bytes::<T>(payload).map_err(|e| Error::Payload {
                    encoding,
                    detail: e.to_string(),
                })?;
            if rest.is_empty() {
                Ok(value)
            } else {
                Err(Error::Payload {
                    encoding,
                    detail: format!("{} bytes left over after the snapshot", rest.len()),
                })
            }
        }
    }
}

type Header = (u32, Encoding, usize, u32, u32);

fn le_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn parse_binary_header(bytes: &[u8]) -> Result<Header, Error> {
    if bytes.len() < BINARY_HEADER {
        return Err(Error::Truncated {
            needed: BINARY_HEADER as u64,
            available: bytes.len() as u64,
        });
    }
    let version = bytes
        .get(4..6)
        .map(|b| u32::from(u16::from_le_bytes([b[0], b[1]])))
        .unwrap_or_default();
    let tag = bytes.get(6).copied().unwrap_or_default();
    if tag != TAG_POSTCARD {
        return Err(Error::UnknownEncoding(tag));
    }
    if bytes.get(7) != Some(&0) {
        return Err(Error::Header {
            offset: 7,
            what: "reserved byte is not zero",
        });
    }
    let len = le_u32(bytes, 8).unwrap_or_default();
    let crc = le_u32(bytes, 12).unwrap_or_default();
    Ok((version, Encoding::Binary, BINARY_HEADER, len, crc))
}

fn parse_text_header(bytes: &[u8]) -> Result<Header, Error> {
    let limit = bytes.len().min(80);
    let head = bytes.get(..limit).unwrap_or_default();
    let Some(nl) = head.iter().position(|&b| b == b'\n') else {
        return Err(Error::Header {
            offset: limit as u64,
            what: "no end of line within 80 bytes",
        });
    };
    let line =
        std::str::from_utf8(head.get(..nl).unwrap_or_default()).map_err(|e| Error::Header {
            offset: e.valid_up_to() as u64,
            what: "header is not UTF-8",
        })?;
    let mut parts = line.split(' ');
    let bad = |what| Error::Header { offset: 0, what };
    let (Some(_magic), Some(version), Some(kind), Some(len), Some(crc), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(bad("expected `zxmpp-state VERSION ENCODING LENGTH CRC32`"));
    };
    let version = version
        .parse::<u32>()
        .map_err(|_| bad("version is not a number"))?;
    if kind != "json" {
        return Err(bad("unknown text encoding (expected `json`)"));
    }
    let len = len
        .parse::<u32>()
        .map_err(|_| bad("length is not a number"))?;
    if crc.len() != 8 {
        return Err(bad("checksum is not 8 hex digits"));
    }
    let crc = u32::from_str_radix(crc, 16).map_err(|_| bad("checksum is not 8 hex digits"))?;
    Ok((version, Encoding::Json, nl + 1, len, crc))
}
