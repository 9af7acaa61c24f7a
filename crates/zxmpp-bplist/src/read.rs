//! Reading `bplist00` bytes into a [`Document`] that keeps their layout.

use crate::document::{Chunk, Document};
use crate::error::{Error, LayoutProblem, TrailerProblem};
use crate::limits::Limits;
use crate::object::{IntWidth, Length, Object, Real};

const HEADER: &[u8; 8] = b"bplist00";
const TRAILER_LEN: u64 = 32;

pub(crate) fn parse(data: &[u8], limits: &Limits) -> Result<Document, Error> {
    let len = data.len() as u64;
    if len > limits.max_input_size {
        return Err(Error::InputTooLarge {
            len,
            limit: limits.max_input_size,
        });
    }
    let head = data.get(..8).unwrap_or(data);
    if !HEADER.starts_with(head) || head.is_empty() {
        return Err(Error::NotBinaryPlist);
    }
    if len < 8 + TRAILER_LEN {
        return Err(Error::Truncated {
            offset: 0,
            what: "header and trailer",
            needed: 8 + TRAILER_LEN - len,
        });
    }
    let t = len - TRAILER_LEN;
    let trailer = take(data, t, TRAILER_LEN, "trailer")?;
    let mut unused = [0u8; 6];
    unused.copy_from_slice(&trailer[..6]);
    let offset_int_size = trailer[6];
    let object_ref_size = trailer[7];
    if !(1..=8).contains(&offset_int_size) {
        return Err(Error::BadTrailer {
            offset: t + 6,
            problem: TrailerProblem::OffsetIntSize(offset_int_size),
        });
    }
    if !(1..=8).contains(&object_ref_size) {
        return Err(Error::BadTrailer {
            offset: t + 7,
            problem: TrailerProblem::ObjectRefSize(object_ref_size),
        });
    }
    let count = be_uint(&trailer[8..16]);
    let top = be_uint(&trailer[16..24]);
    let table_off = be_uint(&trailer[24..32]);
    if count == 0 {
        return Err(Error::BadTrailer {
            offset: t + 8,
            problem: TrailerProblem::NoObjects,
        });
    }
    if count > limits.max_objects {
        return Err(Error::TooManyObjects {
            offset: t + 8,
            count,
            limit: limits.max_objects,
        });
    }
    if top >= count {
        return Err(Error::ReferenceOutOfRange {
            offset: t + 16,
            reference: top,
            count,
        });
    }
    if table_off < 8 || table_off > t {
        return Err(Error::BadTrailer {
            offset: t + 24,
            problem: TrailerProblem::OffsetTable(table_off),
        });
    }
    // The table must fit in front of the trailer: this bounds `count` by the input size before
    // anything is allocated from it.
    let table_len = count.saturating_mul(u64::from(offset_int_size));
    if table_len > t - table_off {
        return Err(Error::Truncated {
            offset: table_off,
            what: "offset table",
            needed: table_len - (t - table_off),
        });
    }
    let table = take(data, table_off, table_len, "offset table")?;
    let area = data.get(..table_off as usize).unwrap_or(data);
    let mut reader = ObjectReader {
        area,
        count,
        ref_size: object_ref_size,
        limits,
    };
    let mut positions = Vec::with_capacity(count as usize);
    for (index, entry) in table.chunks_exact(usize::from(offset_int_size)).enumerate() {
        let index = index as u64;
        let at = be_uint(entry);
        if at < 8 || at >= table_off {
            return Err(Error::OffsetOutOfRange {
                offset: table_off + index * u64::from(offset_int_size),
                index,
                target: at,
                end: table_off,
            });
        }
        positions.push(at);
    }
    let (objects, placement) = objects_in_file_order(data, &positions, table_off, &mut reader)?;
    let tail = data
        .get((table_off + table_len) as usize..t as usize)
        .unwrap_or_default()
        .to_vec();
    let document = Document::from_parts(
        objects,
        positions,
        top,
        offset_int_size,
        object_ref_size,
        unused,
        placement,
        tail,
    );
    document.check_graph(limits)?;
    Ok(document)
}

/// Reads the objects in the order they lie in the file, refusing one that starts inside the
/// previous one before reading it (so no byte is read as part of two objects, and reading costs
/// at most the input's size); returns them in table order, with the file order and the bytes
/// between objects.
fn objects_in_file_order(
    data: &[u8],
    positions: &[u64],
    table_off: u64,
    reader: &mut ObjectReader<'_>,
) -> Result<(Vec<Object>, Vec<Chunk>), Error> {
    let mut order: Vec<(u64, usize)> = positions.iter().copied().zip(0..).collect();
    order.sort_unstable();
    let mut objects: Vec<Option<Object>> = vec![None; positions.len()];
    let mut chunks = Vec::with_capacity(positions.len());
    let mut cursor = 8u64;
    let mut previous: Option<(u64, usize)> = None;
    for (start, index) in order {
        if start < cursor {
            let (prev_start, prev_index) = previous.unwrap_or((0, 0));
            let problem = if prev_start == start {
                LayoutProblem::SharedObject(prev_index as u64, index as u64)
            } else {
                LayoutProblem::Overlap(prev_index as u64, index as u64)
            };
            return Err(Error::UnsupportedLayout {
                offset: start,
                problem,
            });
        }
        if start > cursor {
            let gap = data
                .get(cursor as usize..start as usize)
                .unwrap_or_default();
            chunks.push(Chunk::Gap(gap.to_vec()));
        }
        let (object, end) = reader.object(start)?;
        if let Some(slot) = objects.get_mut(index) {
            *slot = Some(object);
        }
        chunks.push(Chunk::Object(index));
        cursor = end;
        previous = Some((start, index));
    }
    if cursor < table_off {
        let gap = data
            .get(cursor as usize..table_off as usize)
            .unwrap_or_default();
        chunks.push(Chunk::Gap(gap.to_vec()));
    }
    // every index appeared once in `order`, so every slot is filled
    let objects = objects
        .into_iter()
        .map(|o| o.unwrap_or(Object::Null))
        .collect();
    Ok((objects, chunks))
}

struct ObjectReader<'a> {
    /// The bytes from the start of the file to the offset table.
    area: &'a [u8],
    count: u64,
    ref_size: u8,
    limits: &'a Limits,
}

impl ObjectReader<'_> {
    /// Reads the object at `at`; returns it and the offset just past it.
    fn object(&mut self, at: u64) -> Result<(Object, u64), Error> {
        let marker = take(self.area, at, 1, "object marker")?[0];
        let (hi, lo) = (marker >> 4, marker & 0x0f);
        let unknown = Error::UnknownMarker { offset: at, marker };
        let body = at + 1;
        Ok(match hi {
            0x0 => match lo {
                0x0 => (Object::Null, body),
                0x8 => (Object::Bool(false), body),
                0x9 => (Object::Bool(true), body),
                _ => return Err(unknown),
            },
            0x1 => {
                let width = IntWidth::from_nibble(lo).ok_or(unknown)?;
                let bytes = take(self.area, body, width.bytes() as u64, "integer")?;
                (
                    Object::Int {
                        value: int_value(bytes, width),
                        width,
                    },
                    body + width.bytes() as u64,
                )
            }
            0x2 => match lo {
                2 => {
                    let b = take(self.area, body, 4, "real")?;
                    let bits = be_uint(b) as u32;
                    (Object::Real(Real::F32(f32::from_bits(bits))), body + 4)
                }
                3 => {
                    let b = take(self.area, body, 8, "real")?;
                    (
                        Object::Real(Real::F64(f64::from_bits(be_uint(b)))),
                        body + 8,
                    )
                }
                _ => return Err(unknown),
            },
            0x3 if lo == 3 => {
                let b = take(self.area, body, 8, "date")?;
                (Object::Date(f64::from_bits(be_uint(b))), body + 8)
            }
            0x4 => {
                let (n, length, pos) = self.count(at, lo)?;
                let bytes = take(self.area, pos, n, "data")?.to_vec();
                (Object::Data { bytes, length }, pos + n)
            }
            0x5 => {
                let (n, length, pos) = self.count(at, lo)?;
                let bytes = take(self.area, pos, n, "ASCII string")?;
                if !bytes.is_ascii() {
                    return Err(Error::NonAsciiString { offset: at });
                }
                let text = String::from_utf8(bytes.to_vec())
                    .map_err(|_| Error::NonAsciiString { offset: at })?;
                (Object::Ascii { text, length }, pos + n)
            }
            0x6 => {
                let (n, length, pos) = self.count(at, lo)?;
                let bytes = take(self.area, pos, n.saturating_mul(2), "UTF-16 string")?;
                let units = bytes
                    .chunks_exact(2)
                    .map(|u| u16::from_be_bytes([u[0], u[1]]))
                    .collect();
                (Object::Utf16 { units, length }, pos + 2 * n)
            }
            0x8 if lo < 8 => {
                let width = lo + 1;
                let b = take(self.area, body, u64::from(width), "UID")?;
                (
                    Object::Uid {
                        value: be_uint(b),
                        width,
                    },
                    body + u64::from(width),
                )
            }
            0xa => {
                let (n, length, pos) = self.collection(at, lo)?;
                let (refs, end) = self.refs(pos, n)?;
                (Object::Array { refs, length }, end)
            }
            0xc => {
                let (n, length, pos) = self.collection(at, lo)?;
                let (refs, end) = self.refs(pos, n)?;
                (Object::Set { refs, length }, end)
            }
            0xd => {
                let (n, length, pos) = self.collection(at, lo)?;
                let (keys, mid) = self.refs(pos, n)?;
                let (values, end) = self.refs(mid, n)?;
                (
                    Object::Dict {
                        keys,
                        values,
                        length,
                    },
                    end,
                )
            }
            _ => return Err(unknown),
        })
    }

    /// Reads the count of the object whose marker is at `at`; returns it, how it was written,
    /// and where the object's contents start.
    fn count(&self, at: u64, lo: u8) -> Result<(u64, Length, u64), Error> {
        if lo < 0x0f {
            return Ok((u64::from(lo), Length::Inline, at + 1));
        }
        let int_at = at + 1;
        let marker = take(self.area, int_at, 1, "length")?[0];
        let bad = Error::BadLength { offset: int_at };
        if marker >> 4 != 1 {
            return Err(bad);
        }
        let width = match IntWidth::from_nibble(marker & 0x0f) {
            Some(w) if w != IntWidth::W16 => w,
            _ => return Err(bad),
        };
        let bytes = take(self.area, int_at + 1, width.bytes() as u64, "length")?;
        let value = int_value(bytes, width);
        let n = u64::try_from(value).map_err(|_| bad)?;
        Ok((
            n,
            Length::Extended(width),
            int_at + 1 + width.bytes() as u64,
        ))
    }

    fn collection(&self, at: u64, lo: u8) -> Result<(u64, Length, u64), Error> {
        let (n, length, pos) = self.count(at, lo)?;
        if n > self.limits.max_collection_len {
            return Err(Error::CollectionTooLong {
                offset: at,
                len: n,
                limit: self.limits.max_collection_len,
            });
        }
        Ok((n, length, pos))
    }

    /// Reads `n` object references at `pos`.
    fn refs(&self, pos: u64, n: u64) -> Result<(Vec<u64>, u64), Error> {
        let size = u64::from(self.ref_size);
        let bytes = take(self.area, pos, n.saturating_mul(size), "object references")?;
        let mut refs = Vec::with_capacity(n as usize);
        for (i, r) in bytes.chunks_exact(usize::from(self.ref_size)).enumerate() {
            let reference = be_uint(r);
            if reference >= self.count {
                return Err(Error::ReferenceOutOfRange {
                    offset: pos + i as u64 * size,
                    reference,
                    count: self.count,
                });
            }
            refs.push(reference);
        }
        Ok((refs, pos + n * size))
    }
}

/// `len` bytes of `data` at `at`, or a truncation error.
fn take<'a>(data: &'a [u8], at: u64, len: u64, what: &'static str) -> Result<&'a [u8], Error> {
    let have = (data.len() as u64).saturating_sub(at);
    if len > have {
        return Err(Error::Truncated {
            offset: at,
            what,
            needed: len - have,
        });
    }
    data.get(at as usize..(at + len) as usize)
        .ok_or(Error::Truncated {
            offset: at,
            what,
            needed: len,
        })
}

/// Big-endian unsigned value of up to 8 bytes.
fn be_uint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
}

fn int_value(bytes: &[u8], width: IntWidth) -> i128 {
    match width {
        IntWidth::W1 | IntWidth::W2 | IntWidth::W4 => i128::from(be_uint(bytes)),
        IntWidth::W8 => i128::from(be_uint(bytes) as i64),
        IntWidth::W16 => {
            let mut b = [0u8; 16];
            b.copy_from_slice(bytes);
            i128::from_be_bytes(b)
        }
    }
}
