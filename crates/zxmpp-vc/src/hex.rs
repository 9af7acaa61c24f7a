//! Hex framing: how iChat carries binary payloads inside XML text.
//!
//! iChat writes binary payloads (the binary plist of an invitation, the address records of the
//! pre-ICE protocol) as lowercase hex digits in an element's text. Readers have met a leading line
//! feed (gloox passes one on) and line breaks, so decoding skips ASCII whitespace anywhere and
//! accepts both cases; encoding writes lowercase digits without whitespace.

use crate::error::{Error, Result};

/// The default limit on the length of hex text: 4 MiB of text, 2 MiB of bytes.
pub const DEFAULT_MAX_HEX_LEN: usize = 4 << 20;

/// Decodes hex text to bytes, skipping ASCII whitespace; text longer than [`DEFAULT_MAX_HEX_LEN`]
/// is refused.
///
/// ```
/// assert_eq!(zxmpp_vc::hex::decode(b"\n6270 6c69\n").unwrap(), b"bpli");
/// assert!(zxmpp_vc::hex::decode(b"6g").is_err());
/// ```
pub fn decode(text: &[u8]) -> Result<Vec<u8>> {
    decode_with_limit(text, DEFAULT_MAX_HEX_LEN)
}

/// Decodes hex text to bytes like [`decode`], refusing text longer than `max_len` bytes.
pub fn decode_with_limit(text: &[u8], max_len: usize) -> Result<Vec<u8>> {
    if text.len() > max_len {
        return Err(Error::TooLarge {
            what: "hex text",
            len: text.len(),
            limit: max_len,
        });
    }
    let mut out = Vec::with_capacity(text.len() / 2);
    let mut high: Option<(usize, u8)> = None;
    for (offset, &byte) in text.iter().enumerate() {
        if byte.is_ascii_whitespace() {
            continue;
        }
        let nibble = match byte {
            b'0'..=b'9' => byte - b'0',
            b'a'..=b'f' => byte - b'a' + 10,
            b'A'..=b'F' => byte - b'A' + 10,
            _ => return Err(Error::InvalidHex { offset, byte }),
        };
        match high.take() {
            None => high = Some((offset, nibble)),
            Some((_, h)) => out.push(h << 4 | nibble),
        }
    }
    if let Some((offset, _)) = high {
        return Err(Error::OddHexDigits { offset });
    }
    Ok(out)
}

/// Encodes bytes as lowercase hex digits, without whitespace.
///
/// ```
/// assert_eq!(zxmpp_vc::hex::encode(b"bpli"), "62706c69");
/// ```
#[must_use]
pub fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Whether `text` looks like hex text (hex digits and whitespace only, at least two digits).
#[must_use]
pub fn is_hex_text(text: &[u8]) -> bool {
    let mut digits = 0usize;
    for &b in text {
        if b.is_ascii_hexdigit() {
            digits += 1;
        } else if !b.is_ascii_whitespace() {
            return false;
        }
    }
    digits >= 2 && digits.is_multiple_of(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_newline_and_upper_case() {
        assert_eq!(decode(b"\nDEADbeef").unwrap(), [0xde, 0xad, 0xbe, 0xef]);
    }

    #[test]
    fn odd_digit_count_names_the_last_digit() {
        assert_eq!(
            decode(b"abc").unwrap_err(),
            Error::OddHexDigits { offset: 2 }
        );
    }

    #[test]
    fn invalid_character_offset() {
        assert_eq!(
            decode(b"ab\ncx").unwrap_err(),
            Error::InvalidHex {
                offset: 4,
                byte: b'x'
            }
        );
    }

    #[test]
    fn limit() {
        assert!(matches!(
            decode_with_limit(b"abcd", 3),
            Err(Error::TooLarge { .. })
        ));
    }

    #[test]
    fn empty_is_empty() {
        assert_eq!(decode(b" \n").unwrap(), Vec::<u8>::new());
        assert!(!is_hex_text(b" \n"));
    }
}
