//! One entry of the object table, with the encoding choices that its bytes show.

/// Byte width of an integer: the `n` of a `0x1n` marker is its base-2 logarithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IntWidth {
    /// 1 byte (`0x10`), unsigned.
    W1,
    /// 2 bytes (`0x11`), unsigned.
    W2,
    /// 4 bytes (`0x12`), unsigned.
    W4,
    /// 8 bytes (`0x13`), signed.
    W8,
    /// 16 bytes (`0x14`), signed.
    W16,
}

impl IntWidth {
    /// Number of bytes.
    #[must_use]
    pub fn bytes(self) -> usize {
        match self {
            IntWidth::W1 => 1,
            IntWidth::W2 => 2,
            IntWidth::W4 => 4,
            IntWidth::W8 => 8,
            IntWidth::W16 => 16,
        }
    }

    /// The low nibble of the marker (`log2(bytes)`).
    #[must_use]
    pub fn nibble(self) -> u8 {
        match self {
            IntWidth::W1 => 0,
            IntWidth::W2 => 1,
            IntWidth::W4 => 2,
            IntWidth::W8 => 3,
            IntWidth::W16 => 4,
        }
    }

    pub(crate) fn from_nibble(n: u8) -> Option<IntWidth> {
        Some(match n {
            0 => IntWidth::W1,
            1 => IntWidth::W2,
            2 => IntWidth::W4,
            3 => IntWidth::W8,
            4 => IntWidth::W16,
            _ => return None,
        })
    }

    /// The narrowest of 1, 2, 4 and 8 bytes that holds `n` unsigned, as CoreFoundation's
    /// `_appendInt` picks it for lengths and non-negative integers.
    #[must_use]
    pub fn minimal_unsigned(n: u64) -> IntWidth {
        if n <= 0xff {
            IntWidth::W1
        } else if n <= 0xffff {
            IntWidth::W2
        } else if n <= 0xffff_ffff {
            IntWidth::W4
        } else {
            IntWidth::W8
        }
    }

    /// The width CoreFoundation writes an integer number with: negative numbers take 8 bytes,
    /// others the narrowest of 1, 2, 4 and 8 bytes, and numbers above `i64::MAX` 16 bytes.
    #[must_use]
    pub fn apple(value: i128) -> IntWidth {
        if value < 0 {
            IntWidth::W8
        } else if value > i128::from(i64::MAX) {
            IntWidth::W16
        } else {
            IntWidth::minimal_unsigned(u64::try_from(value).unwrap_or(u64::MAX))
        }
    }
}

/// How the count of a data, string, array or dictionary object is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Length {
    /// In the marker's low nibble (only for counts below 15).
    Inline,
    /// A `0x?F` marker followed by an integer object of this width.
    Extended(IntWidth),
}

impl Length {
    /// How CoreFoundation writes `count`: inline below 15, else the narrowest integer.
    #[must_use]
    pub fn apple(count: u64) -> Length {
        if count < 15 {
            Length::Inline
        } else {
            Length::Extended(IntWidth::minimal_unsigned(count))
        }
    }
}

/// A real number, in the width it was written with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Real {
    /// 4 bytes (`0x22`).
    F32(f32),
    /// 8 bytes (`0x23`).
    F64(f64),
}

/// One object of the object table, in the encoding it was read with (or will be written with).
///
/// References (`refs`, `keys`, `values`) are indices into the object table.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Object {
    /// `0x00`.
    Null,
    /// `0x08` (false) or `0x09` (true).
    Bool(bool),
    /// `0x1n`: 1, 2 and 4 byte integers are unsigned, 8 and 16 byte ones signed.
    Int {
        /// The value.
        value: i128,
        /// Its byte width.
        width: IntWidth,
    },
    /// `0x22` or `0x23`.
    Real(Real),
    /// `0x33`: seconds since 2001-01-01T00:00:00Z.
    Date(f64),
    /// `0x4n`.
    Data {
        /// The bytes.
        bytes: Vec<u8>,
        /// How the byte count is written.
        length: Length,
    },
    /// `0x5n`: a string of ASCII bytes.
    Ascii {
        /// The text (ASCII only).
        text: String,
        /// How the byte count is written.
        length: Length,
    },
    /// `0x6n`: a string of big-endian UTF-16 code units (possibly with unpaired surrogates).
    Utf16 {
        /// The code units.
        units: Vec<u16>,
        /// How the unit count is written.
        length: Length,
    },
    /// `0x8n`: a keyed-archiver UID of `n + 1` bytes.
    Uid {
        /// The value.
        value: u64,
        /// Its byte width, 1 to 8.
        width: u8,
    },
    /// `0xAn`.
    Array {
        /// Element references.
        refs: Vec<u64>,
        /// How the count is written.
        length: Length,
    },
    /// `0xCn`: a set (CoreFoundation reads them; no `plist::Value` holds one).
    Set {
        /// Member references.
        refs: Vec<u64>,
        /// How the count is written.
        length: Length,
    },
    /// `0xDn`: all key references, then all value references.
    Dict {
        /// Key references.
        keys: Vec<u64>,
        /// Value references, one per key.
        values: Vec<u64>,
        /// How the count is written.
        length: Length,
    },
}

impl Object {
    /// The references this object holds, in file order (for a dictionary: keys, then values).
    pub fn references(&self) -> impl Iterator<Item = u64> + '_ {
        let (a, b): (&[u64], &[u64]) = match self {
            Object::Array { refs, .. } | Object::Set { refs, .. } => (refs, &[]),
            Object::Dict { keys, values, .. } => (keys, values),
            _ => (&[], &[]),
        };
        a.iter().chain(b.iter()).copied()
    }

    /// Appends this object's bytes to `out`, with references `ref_size` bytes wide.
    pub(crate) fn encode(&self, ref_size: u8, out: &mut Vec<u8>) {
        match self {
            Object::Null => out.push(0x00),
            Object::Bool(b) => out.push(if *b { 0x09 } else { 0x08 }),
            Object::Int { value, width } => put_int(*value, *width, out),
            Object::Real(Real::F32(f)) => {
                out.push(0x22);
                out.extend_from_slice(&f.to_bits().to_be_bytes());
            }
            Object::Real(Real::F64(f)) => {
                out.push(0x23);
                out.extend_from_slice(&f.to_bits().to_be_bytes());
            }
            Object::Date(f) => {
                out.push(0x33);
                out.extend_from_slice(&f.to_bits().to_be_bytes());
            }
            Object::Data { bytes, length } => {
                put_head(0x40, bytes.len(), *length, out);
                out.extend_from_slice(bytes);
            }
            Object::Ascii { text, length } => {
                put_head(0x50, text.len(), *length, out);
                out.extend_from_slice(text.as_bytes());
            }
            Object::Utf16 { units, length } => {
                put_head(0x60, units.len(), *length, out);
                for u in units {
                    out.extend_from_slice(&u.to_be_bytes());
                }
            }
            Object::Uid { value, width } => {
                let w = usize::from((*width).clamp(1, 8));
                out.push(0x80 | (w as u8 - 1));
                out.extend_from_slice(&value.to_be_bytes()[8 - w..]);
            }
            Object::Array { refs, length } => {
                put_head(0xa0, refs.len(), *length, out);
                for r in refs {
                    put_uint(*r, ref_size, out);
                }
            }
            Object::Set { refs, length } => {
                put_head(0xc0, refs.len(), *length, out);
                for r in refs {
                    put_uint(*r, ref_size, out);
                }
            }
            Object::Dict {
                keys,
                values,
                length,
            } => {
                put_head(0xd0, keys.len(), *length, out);
                for r in keys.iter().chain(values) {
                    put_uint(*r, ref_size, out);
                }
            }
        }
    }

    /// Number of bytes [`Object::encode`] appends.
    pub(crate) fn encoded_len(&self, ref_size: u8) -> u64 {
        let head = |_count: usize, length: &Length| -> u64 {
            match length {
                Length::Inline => 1,
                Length::Extended(w) => 2 + w.bytes() as u64,
            }
        };
        let rs = u64::from(ref_size);
        match self {
            Object::Null | Object::Bool(_) => 1,
            Object::Int { width, .. } => 1 + width.bytes() as u64,
            Object::Real(Real::F32(_)) => 5,
            Object::Real(Real::F64(_)) | Object::Date(_) => 9,
            Object::Data { bytes, length } => head(bytes.len(), length) + bytes.len() as u64,
            Object::Ascii { text, length } => head(text.len(), length) + text.len() as u64,
            Object::Utf16 { units, length } => head(units.len(), length) + 2 * units.len() as u64,
            Object::Uid { width, .. } => 1 + u64::from((*width).clamp(1, 8)),
            Object::Array { refs, length } | Object::Set { refs, length } => {
                head(refs.len(), length) + rs * refs.len() as u64
            }
            Object::Dict { keys, length, .. } => {
                head(keys.len(), length) + 2 * rs * keys.len() as u64
            }
        }
    }
}

fn put_head(kind: u8, count: usize, length: Length, out: &mut Vec<u8>) {
    match length {
        Length::Inline => out.push(kind | (count.min(14) as u8)),
        Length::Extended(w) => {
            out.push(kind | 0x0f);
            put_int(count as i128, w, out);
        }
    }
}

fn put_int(value: i128, width: IntWidth, out: &mut Vec<u8>) {
    out.push(0x10 | width.nibble());
    out.extend_from_slice(&value.to_be_bytes()[16 - width.bytes()..]);
}

/// Appends the low `size` bytes of `value`, big-endian.
pub(crate) fn put_uint(value: u64, size: u8, out: &mut Vec<u8>) {
    let size = usize::from(size.clamp(1, 8));
    out.extend_from_slice(&value.to_be_bytes()[8 - size..]);
}

/// The narrowest of 1, 2, 4 and 8 bytes that holds `n` (CF-550's `_byteCount`).
pub(crate) fn byte_count(n: u64) -> u8 {
    IntWidth::minimal_unsigned(n).bytes() as u8
}
