//! [`Document`]: a binary plist's object table and layout, and writing it back.

use crate::error::Error;
use crate::limits::Limits;
use crate::object::{IntWidth, Length, Object, byte_count, put_uint};

/// A piece of the object area, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Chunk {
    /// The object with this index in the table.
    Object(usize),
    /// Bytes no table entry points into (kept as they were).
    Gap(Vec<u8>),
}

/// A binary plist as laid out in its bytes: the object table in table order with every object's
/// encoding (orphans included), where each object lies in the file, and the trailer.
///
/// [`Document::to_vec`] writes exactly the bytes the document was read from. A document is made
/// either by reading ([`Document::parse`]) or by laying out a value as CoreFoundation does
/// ([`Document::from_value`]); both check every invariant, so writing cannot fail.
///
/// What is kept: each object's marker form (integer width, `float` or `double`, ASCII or UTF-16
/// string, a count inline or as a `0x?F` integer of a given width, UID width), object order in
/// the file (which may differ from table order) and any bytes between objects, the offset and
/// reference sizes, the top object, the six unused trailer bytes (the last of which Apple calls
/// the sort version), and any bytes between the offset table and the trailer. What is refused
/// with [`Error::UnsupportedLayout`]: two table entries pointing at the same bytes, and objects
/// that overlap. Objects this crate does not read (fill `0x0F`, the `0x7n`, `0x9n`,
/// `0xBn`, `0xEn`, `0xFn` markers, UIDs wider than 8 bytes) are refused with
/// [`Error::UnknownMarker`].
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    objects: Vec<Object>,
    /// Byte offset of each object, by table index.
    positions: Vec<u64>,
    top: u64,
    offset_int_size: u8,
    object_ref_size: u8,
    unused: [u8; 6],
    placement: Vec<Chunk>,
    tail: Vec<u8>,
}

/// The trailer fields of a [`Document`] (the last 32 bytes of the file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Trailer {
    /// The five unused bytes and the "sort version" byte that follow them (all zero from Apple).
    pub unused: [u8; 6],
    /// Byte width of the offset-table entries.
    pub offset_int_size: u8,
    /// Byte width of object references.
    pub object_ref_size: u8,
    /// Number of objects.
    pub num_objects: u64,
    /// Index of the top (root) object.
    pub top_object: u64,
    /// Offset of the offset table.
    pub offset_table_offset: u64,
}

impl Document {
    /// Reads a `bplist00` file with the default [`Limits`].
    ///
    /// # Errors
    /// Any malformed input, with the byte offset of the problem; see [`Error`].
    pub fn parse(bytes: &[u8]) -> Result<Document, Error> {
        Document::parse_with(bytes, &Limits::DEFAULT)
    }

    /// Reads a `bplist00` file with the given limits.
    ///
    /// # Errors
    /// Any malformed input, with the byte offset of the problem; see [`Error`].
    pub fn parse_with(bytes: &[u8], limits: &Limits) -> Result<Document, Error> {
        crate::read::parse(bytes, limits)
    }

    /// Lays out `value` exactly as CoreFoundation's binary plist writer (CF-550 and later) does;
    /// see [`to_vec_apple`](crate::to_vec_apple) for the rules.
    ///
    /// # Errors
    /// [`Error::UnsupportedValue`] for a `plist::Value` variant newer than this crate.
    pub fn from_value(value: &plist::Value) -> Result<Document, Error> {
        crate::author::layout(value)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn from_parts(
        objects: Vec<Object>,
        positions: Vec<u64>,
        top: u64,
        offset_int_size: u8,
        object_ref_size: u8,
        unused: [u8; 6],
        placement: Vec<Chunk>,
        tail: Vec<u8>,
    ) -> Document {
        Document {
            objects,
            positions,
            top,
            offset_int_size,
            object_ref_size,
            unused,
            placement,
            tail,
        }
    }

    /// The object table, in table order: index `i` is the object that references call `i`.
    #[must_use]
    pub fn objects(&self) -> &[Object] {
        &self.objects
    }

    /// Index of the top (root) object.
    #[must_use]
    pub fn top_object(&self) -> u64 {
        self.top
    }

    /// Byte offset of object `index` in the file, if there is such an object.
    #[must_use]
    pub fn object_offset(&self, index: u64) -> Option<u64> {
        self.positions.get(usize::try_from(index).ok()?).copied()
    }

    /// The trailer fields.
    #[must_use]
    pub fn trailer(&self) -> Trailer {
        Trailer {
            unused: self.unused,
            offset_int_size: self.offset_int_size,
            object_ref_size: self.object_ref_size,
            num_objects: self.objects.len() as u64,
            top_object: self.top,
            offset_table_offset: self.offset_table_offset(),
        }
    }

    /// Indices of the objects that no container references and that are not the top object,
    /// in table order (for an Apple file: the duplicate booleans CoreFoundation writes).
    #[must_use]
    pub fn orphans(&self) -> Vec<u64> {
        let mut used = vec![false; self.objects.len()];
        if let Some(u) = used.get_mut(self.top as usize) {
            *u = true;
        }
        for r in self.objects.iter().flat_map(Object::references) {
            if let Some(u) = used.get_mut(r as usize) {
                *u = true;
            }
        }
        (0..self.objects.len() as u64)
            .filter(|i| !used[*i as usize])
            .collect()
    }

    fn offset_table_offset(&self) -> u64 {
        let mut at = 8u64;
        for chunk in &self.placement {
            at += match chunk {
                Chunk::Object(i) => self.objects[*i].encoded_len(self.object_ref_size),
                Chunk::Gap(bytes) => bytes.len() as u64,
            };
        }
        at
    }

    /// Writes the document: for a parsed document, exactly the bytes it was read from.
    #[must_use]
    pub fn to_vec(&self) -> Vec<u8> {
        let table_off = self.offset_table_offset();
        let n = self.objects.len();
        let capacity = table_off as usize + n * usize::from(self.offset_int_size) + 32;
        let mut out = Vec::with_capacity(capacity);
        out.extend_from_slice(b"bplist00");
        let mut positions = vec![0u64; n];
        for chunk in &self.placement {
            match chunk {
                Chunk::Object(i) => {
                    positions[*i] = out.len() as u64;
                    self.objects[*i].encode(self.object_ref_size, &mut out);
                }
                Chunk::Gap(bytes) => out.extend_from_slice(bytes),
            }
        }
        for p in positions {
            put_uint(p, self.offset_int_size, &mut out);
        }
        out.extend_from_slice(&self.tail);
        out.extend_from_slice(&self.unused);
        out.push(self.offset_int_size);
        out.push(self.object_ref_size);
        out.extend_from_slice(&(n as u64).to_be_bytes());
        out.extend_from_slice(&self.top.to_be_bytes());
        out.extend_from_slice(&table_off.to_be_bytes());
        out
    }

    /// Whether this document is laid out as CoreFoundation lays out what it writes: objects
    /// packed in table order from byte 8, the offset table right after them, nothing before the
    /// trailer, zero unused trailer bytes, top object 0, reference and offset sizes as
    /// CF-550's `_byteCount` picks them, each object in CoreFoundation's encoding (narrowest
    /// integer and count forms, ASCII strings whenever the text is ASCII, narrowest UIDs), and
    /// the table in the order CoreFoundation's `_flattenPlist` produces: depth-first pre-order,
    /// a dictionary's keys then its values, every container and UID new where it is referenced,
    /// a repeated boolean appended again (an orphan) while referencing its first occurrence.
    ///
    /// Strings, numbers, dates and data may be new or refer back: CoreFoundation uniques them
    /// by pointer, so an Apple file may hold equal duplicates that no value-based rule
    /// predicts. A file from `plistlib` that repeats a boolean is not in this layout (plistlib
    /// uniques booleans), nor is one from the `plist` crate (its objects are not in pre-order).
    #[must_use]
    pub fn is_cf_layout(&self) -> bool {
        let n = self.objects.len() as u64;
        let packed = self.placement.len() == self.objects.len()
            && self
                .placement
                .iter()
                .enumerate()
                .all(|(i, c)| *c == Chunk::Object(i));
        packed
            && self.tail.is_empty()
            && self.unused == [0; 6]
            && self.top == 0
            && self.object_ref_size == byte_count(n)
            && self.offset_int_size == byte_count(self.offset_table_offset())
            && self.objects.iter().all(object_is_cf)
            && self.is_cf_order()
    }

    /// Replays CoreFoundation's `_flattenPlist` over the references from the top object and
    /// checks that the table holds exactly the objects it would append, in its order.
    fn is_cf_order(&self) -> bool {
        let n = self.objects.len();
        let mut next = 0usize;
        let mut first_bool: [Option<usize>; 2] = [None, None];
        // (container, position of its next reference)
        let mut stack: Vec<(usize, usize)> = Vec::new();
        let mut pending = Some(self.top as usize);
        loop {
            if let Some(r) = pending.take() {
                let Some(object) = self.objects.get(r) else {
                    return false;
                };
                match object {
                    Object::Bool(b) => {
                        let slot = &mut first_bool[usize::from(*b)];
                        match *slot {
                            None if r == next => *slot = Some(r),
                            Some(first)
                                if r == first
                                    && self.objects.get(next) == Some(&Object::Bool(*b)) => {}
                            _ => return false,
                        }
                        next += 1;
                    }
                    Object::Null
                    | Object::Int { .. }
                    | Object::Real(_)
                    | Object::Date(_)
                    | Object::Data { .. }
                    | Object::Ascii { .. }
                    | Object::Utf16 { .. } => {
                        if r == next {
                            next += 1;
                        } else if r > next {
                            return false;
                        }
                    }
                    Object::Uid { .. } => {
                        if r != next {
                            return false;
                        }
                        next += 1;
                    }
                    Object::Array { .. } | Object::Set { .. } | Object::Dict { .. } => {
                        if r != next {
                            return false;
                        }
                        next += 1;
                        stack.push((r, 0));
                    }
                }
            }
            let Some((node, k)) = stack.last_mut() else {
                break;
            };
            match self.child(*node, *k) {
                Some(c) => {
                    *k += 1;
                    pending = Some(c);
                }
                None => {
                    stack.pop();
                }
            }
        }
        next == n
    }

    /// Checks that no container holds itself and that nesting stays within `limits`.
    pub(crate) fn check_graph(&self, limits: &Limits) -> Result<(), Error> {
        const NEW: u8 = 0;
        const OPEN: u8 = 1;
        const DONE: u8 = 2;
        let n = self.objects.len();
        let mut state = vec![NEW; n];
        let mut height = vec![0u64; n];
        let mut stack: Vec<(usize, usize)> = Vec::new();
        for root in 0..n {
            if state[root] != NEW {
                continue;
            }
            state[root] = OPEN;
            stack.push((root, 0));
            while let Some((node, next)) = stack.last_mut() {
                let node = *node;
                if let Some(child) = self.child(node, *next) {
                    *next += 1;
                    match state[child] {
                        NEW => {
                            state[child] = OPEN;
                            stack.push((child, 0));
                        }
                        OPEN => {
                            return Err(Error::Cycle {
                                offset: self.positions[node],
                                index: node as u64,
                            });
                        }
                        _ => {}
                    }
                    continue;
                }
                stack.pop();
                state[node] = DONE;
                let object = &self.objects[node];
                if matches!(
                    object,
                    Object::Array { .. } | Object::Set { .. } | Object::Dict { .. }
                ) {
                    let deepest = object
                        .references()
                        .map(|c| height[c as usize])
                        .max()
                        .unwrap_or(0);
                    height[node] = deepest + 1;
                    if height[node] > limits.max_depth {
                        return Err(Error::TooDeep {
                            offset: self.positions[node],
                            index: node as u64,
                            limit: limits.max_depth,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// The `k`th reference of object `node`, as an index.
    fn child(&self, node: usize, k: usize) -> Option<usize> {
        let r = match &self.objects[node] {
            Object::Array { refs, .. } | Object::Set { refs, .. } => refs.get(k)?,
            Object::Dict { keys, values, .. } => {
                keys.get(k).or_else(|| values.get(k - keys.len()))?
            }
            _ => return None,
        };
        Some(*r as usize)
    }

    /// Converts the top object to a [`plist::Value`] with the default [`Limits`].
    ///
    /// # Errors
    /// [`Error::Unrepresentable`] for objects a `plist::Value` cannot hold (null, integers
    /// beyond `i64`/`u64`, dates out of range, bad UTF-16, non-string or duplicate keys);
    /// [`Error::TooManyValueNodes`] or [`Error::ValueTooLarge`] when shared objects expand too
    /// far.
    pub fn to_value(&self) -> Result<plist::Value, Error> {
        self.to_value_with(&Limits::DEFAULT)
    }

    /// Converts the top object to a [`plist::Value`] with the given limits.
    ///
    /// # Errors
    /// As [`Document::to_value`].
    pub fn to_value_with(&self, limits: &Limits) -> Result<plist::Value, Error> {
        let mut budget = crate::value::Budget::new(limits);
        crate::value::convert(self, self.top, &mut budget)
    }
}

fn object_is_cf(object: &Object) -> bool {
    let length_ok = |count: usize, length: &Length| *length == Length::apple(count as u64);
    match object {
        Object::Null | Object::Bool(_) | Object::Real(_) | Object::Date(_) => true,
        Object::Int { value, width } => *width == IntWidth::apple(*value),
        Object::Data { bytes, length } => length_ok(bytes.len(), length),
        Object::Ascii { text, length } => length_ok(text.len(), length),
        Object::Utf16 { units, length } => {
            length_ok(units.len(), length) && units.iter().any(|u| *u >= 0x80)
        }
        Object::Uid { value, width } => {
            usize::from(*width) == IntWidth::minimal_unsigned(*value).bytes()
        }
        Object::Array { refs, length } => length_ok(refs.len(), length),
        // CoreFoundation's writer does not write sets
        Object::Set { .. } => false,
        Object::Dict { keys, length, .. } => length_ok(keys.len(), length),
    }
}
