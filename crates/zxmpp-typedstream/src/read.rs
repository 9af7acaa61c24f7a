//! The reader: bytes to [`Archive`], bounded by [`Limits`].

use crate::error::{Error, RefKind};
use crate::limits::Limits;
use crate::model::{Archive, ByteOrder, Class, ClassInfo, Content, Group, Object, ObjectId, Value};
use crate::types::{self, IntTy, Ty, TyError};
use crate::wire::{
    REF_BIAS, SIG_BIG, SIG_LITTLE, STREAMER_VERSION, TAG_END, TAG_FLOAT, TAG_I16, TAG_I32, TAG_I64,
    TAG_NEW, TAG_NIL, is_tag,
};

/// An entry of the object table.
enum Entry {
    Object(ObjectId),
    Class(Vec<ClassInfo>),
    CString(std::ops::Range<usize>),
}

impl Entry {
    fn kind(&self) -> RefKind {
        match self {
            Entry::Object(_) => RefKind::Object,
            Entry::Class(_) => RefKind::Class,
            Entry::CString(_) => RefKind::CString,
        }
    }
}

pub(crate) fn decode(data: &[u8], limits: &Limits) -> Result<Archive, Error> {
    if data.len() > limits.max_input {
        return Err(Error::InputTooLarge {
            len: data.len(),
            limit: limits.max_input,
        });
    }
    let mut r = Reader {
        data,
        pos: 0,
        big: false,
        limits,
        shared: Vec::new(),
        table: Vec::new(),
        next_object: 0,
        values: 0,
    };
    let byte_order = r.header()?;
    let system_version = r.int()?;
    let mut groups = Vec::new();
    while r.pos < r.data.len() {
        let head = r.byte()?;
        groups.push(r.group(head, 0)?);
    }
    Ok(Archive {
        byte_order,
        system_version,
        groups,
    })
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    big: bool,
    limits: &'a Limits,
    shared: Vec<std::ops::Range<usize>>,
    table: Vec<Entry>,
    next_object: u32,
    values: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    fn byte(&mut self) -> Result<u8, Error> {
        let b = *self
            .data
            .get(self.pos)
            .ok_or(Error::UnexpectedEof { offset: self.pos })?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or(Error::UnexpectedEof {
                offset: self.data.len(),
            })?;
        let s = self.data.get(self.pos..end).ok_or(Error::UnexpectedEof {
            offset: self.data.len(),
        })?;
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        if !self.big {
            return Ok(a);
        }
        a.reverse();
        Ok(a)
    }

    fn header(&mut self) -> Result<ByteOrder, Error> {
        let version = self.byte()?;
        if version != STREAMER_VERSION {
            return Err(Error::UnsupportedVersion { offset: 0, version });
        }
        let sig_at = self.pos;
        let len = self.byte()?;
        if usize::from(len) != SIG_LITTLE.len() {
            return Err(Error::BadSignature { offset: sig_at });
        }
        let sig = self.take(SIG_LITTLE.len())?;
        if sig == SIG_LITTLE {
            Ok(ByteOrder::Little)
        } else if sig == SIG_BIG {
            self.big = true;
            Ok(ByteOrder::Big)
        } else {
            Err(Error::BadSignature { offset: sig_at })
        }
    }

    /// An integer whose head byte has been read already (at `self.pos - 1`).
    fn int_after(&mut self, head: u8) -> Result<i64, Error> {
        if !is_tag(head) {
            return Ok(i64::from(head as i8));
        }
        match head {
            TAG_I16 => Ok(i64::from(i16::from_le_bytes(self.array()?))),
            TAG_I32 => Ok(i64::from(i32::from_le_bytes(self.array()?))),
            TAG_I64 => Ok(i64::from_le_bytes(self.array()?)),
            _ => Err(Error::UnexpectedTag {
                offset: self.pos - 1,
                byte: head,
            }),
        }
    }

    fn int(&mut self) -> Result<i64, Error> {
        let h = self.byte()?;
        self.int_after(h)
    }

    /// A length: non-negative, at most the remaining input and the limit.
    fn length_after(&mut self, head: u8) -> Result<usize, Error> {
        let offset = self.pos - 1;
        let len = self.int_after(head)?;
        let len_u = usize::try_from(len).map_err(|_| Error::NegativeLength { offset, len })?;
        if len_u > self.remaining() || len_u > self.limits.max_length {
            return Err(Error::LengthTooLarge {
                offset,
                len: len.unsigned_abs(),
            });
        }
        Ok(len_u)
    }

    /// A table index from a reference whose head byte has been read.
    fn reference_after(&mut self, head: u8, kind: RefKind, len: usize) -> Result<usize, Error> {
        let offset = self.pos - 1;
        let index = self.int_after(head)?.saturating_add(REF_BIAS);
        usize::try_from(index)
            .ok()
            .filter(|&i| i < len)
            .ok_or(Error::BadReference {
                offset,
                kind,
                index,
            })
    }

    /// Unshared string (`+`): nil or int length + bytes.
    fn unshared_after(&mut self, head: u8) -> Result<Option<std::ops::Range<usize>>, Error> {
        if head == TAG_NIL {
            return Ok(None);
        }
        let len = self.length_after(head)?;
        let start = self.pos;
        self.take(len)?;
        Ok(Some(start..self.pos))
    }

    /// Shared string: nil, NEW + unshared string (added to the table), or a reference.
    fn shared_after(&mut self, head: u8) -> Result<Option<std::ops::Range<usize>>, Error> {
        match head {
            TAG_NIL => Ok(None),
            TAG_NEW => {
                let at = self.pos;
                let h = self.byte()?;
                let range = self
                    .unshared_after(h)?
                    .ok_or(Error::UnexpectedNil { offset: at })?;
                if self.shared.len() >= self.limits.max_objects {
                    return Err(Error::TooManyObjects {
                        offset: at,
                        limit: self.limits.max_objects,
                    });
                }
                self.shared.push(range.clone());
                Ok(Some(range))
            }
            _ => {
                let i = self.reference_after(head, RefKind::SharedString, self.shared.len())?;
                Ok(self.shared.get(i).cloned())
            }
        }
    }

    fn bytes(&self, r: &std::ops::Range<usize>) -> &'a [u8] {
        self.data.get(r.clone()).unwrap_or_default()
    }

    fn utf8(&self, r: &std::ops::Range<usize>) -> Result<String, Error> {
        std::str::from_utf8(self.bytes(r))
            .map(str::to_owned)
            .map_err(|_| Error::NotUtf8 { offset: r.start })
    }

    fn push_entry(&mut self, e: Entry, offset: usize) -> Result<(), Error> {
        if self.table.len() >= self.limits.max_objects {
            return Err(Error::TooManyObjects {
                offset,
                limit: self.limits.max_objects,
            });
        }
        self.table.push(e);
        Ok(())
    }

    /// Looks up an object-table reference of the expected kind.
    fn entry_after(&mut self, head: u8, expected: RefKind) -> Result<&Entry, Error> {
        let offset = self.pos - 1;
        let i = self.reference_after(head, expected, self.table.len())?;
        let entry = self.table.get(i).ok_or(Error::BadReference {
            offset,
            kind: expected,
            index: i64::try_from(i).unwrap_or(i64::MAX),
        })?;
        if entry.kind() != expected {
            return Err(Error::WrongReferenceKind {
                offset,
                index: i,
                expected,
                found: entry.kind(),
            });
        }
        Ok(entry)
    }

    /// A class chain: (NEW name version)* then nil or a class reference. `None` for nil.
    fn class_after(&mut self, mut head: u8) -> Result<Option<Vec<ClassInfo>>, Error> {
        let mut chain = Vec::new();
        while head == TAG_NEW {
            let at = self.pos;
            if chain.len() >= self.limits.max_depth {
                return Err(Error::TooDeep {
                    offset: at,
                    limit: self.limits.max_depth,
                });
            }
            let h = self.byte()?;
            let name = self
                .shared_after(h)?
                .ok_or(Error::UnexpectedNil { offset: at })?;
            let name = self.utf8(&name)?;
            let version = self.int()?;
            chain.push(ClassInfo { name, version });
            head = self.byte()?;
        }
        let new = chain.len();
        let end_at = self.pos - 1;
        if head != TAG_NIL {
            let max_depth = self.limits.max_depth;
            let Entry::Class(sup) = self.entry_after(head, RefKind::Class)? else {
                return Err(Error::UnexpectedTag {
                    offset: end_at,
                    byte: head,
                });
            };
            if chain.len() + sup.len() > max_depth {
                return Err(Error::TooDeep {
                    offset: end_at,
                    limit: max_depth,
                });
            }
            chain.extend(sup.iter().cloned());
        } else if new == 0 {
            return Ok(None);
        }
        for i in 0..new {
            let suffix = chain.get(i..).unwrap_or_default().to_vec();
            self.push_entry(Entry::Class(suffix), end_at)?;
        }
        Ok(Some(chain))
    }

    fn cstring_after(&mut self, head: u8) -> Result<Value, Error> {
        match head {
            TAG_NIL => Ok(Value::Nil),
            TAG_NEW => {
                let at = self.pos;
                let h = self.byte()?;
                let r = self
                    .shared_after(h)?
                    .ok_or(Error::UnexpectedNil { offset: at })?;
                if self.bytes(&r).contains(&0) {
                    return Err(Error::NulInCString { offset: r.start });
                }
                self.push_entry(Entry::CString(r.clone()), at)?;
                Ok(Value::CString(self.bytes(&r).to_vec()))
            }
            _ => {
                let Entry::CString(r) = self.entry_after(head, RefKind::CString)? else {
                    return Ok(Value::Nil);
                };
                let r = r.clone();
                Ok(Value::CString(self.bytes(&r).to_vec()))
            }
        }
    }

    fn object_after(&mut self, head: u8, depth: usize) -> Result<Value, Error> {
        match head {
            TAG_NIL => Ok(Value::Nil),
            TAG_NEW => {
                let at = self.pos - 1;
                if depth > self.limits.max_depth {
                    return Err(Error::TooDeep {
                        offset: at,
                        limit: self.limits.max_depth,
                    });
                }
                let id = ObjectId(self.next_object);
                self.next_object += 1;
                self.push_entry(Entry::Object(id), at)?;
                let class_at = self.pos;
                let h = self.byte()?;
                let chain = self
                    .class_after(h)?
                    .ok_or(Error::UnexpectedNil { offset: class_at })?;
                let mut groups = Vec::new();
                loop {
                    let h = self.byte()?;
                    if h == TAG_END {
                        break;
                    }
                    groups.push(self.group(h, depth)?);
                }
                let class = Class { chain };
                let content = recognize(&class, groups);
                Ok(Value::object(Object { class, content }))
            }
            _ => {
                let Entry::Object(id) = self.entry_after(head, RefKind::Object)? else {
                    return Ok(Value::Nil);
                };
                Ok(Value::Ref(*id))
            }
        }
    }

    fn group(&mut self, head: u8, depth: usize) -> Result<Group, Error> {
        let at = self.pos - 1;
        let enc = self
            .shared_after(head)?
            .ok_or(Error::UnexpectedNil { offset: at })?;
        let encoding = self.utf8(&enc)?;
        let tys = types::parse(
            encoding.as_bytes(),
            self.limits.max_depth,
            self.limits.max_length,
        )
        .map_err(|e| match e {
            TyError::TooDeep => Error::TooDeep {
                offset: enc.start,
                limit: self.limits.max_depth,
            },
            TyError::Invalid | TyError::TooLong => Error::BadTypeEncoding {
                offset: enc.start,
                encoding: encoding.clone(),
            },
        })?;
        let mut values = Vec::with_capacity(tys.len());
        for ty in &tys {
            values.push(self.value(ty, depth)?);
        }
        Ok(Group { encoding, values })
    }

    fn count_value(&mut self) -> Result<(), Error> {
        self.values += 1;
        if self.values > self.limits.max_values {
            return Err(Error::TooManyValues {
                offset: self.pos,
                limit: self.limits.max_values,
            });
        }
        Ok(())
    }

    fn value(&mut self, ty: &Ty, depth: usize) -> Result<Value, Error> {
        self.count_value()?;
        let at = self.pos;
        Ok(match ty {
            Ty::Char => Value::Int(i64::from(self.byte()? as i8)),
            Ty::UChar => Value::UInt(u64::from(self.byte()?)),
            Ty::Bool => match self.byte()? {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                byte => return Err(Error::BadBool { offset: at, byte }),
            },
            Ty::Int(it) => {
                let v = self.int()?;
                // Stored into a C variable of the type's width, as NSUnarchiver does.
                match it {
                    IntTy::I16 => Value::Int(i64::from(v as i16)),
                    IntTy::U16 => Value::UInt(u64::from(v as u16)),
                    IntTy::I32 => Value::Int(i64::from(v as i32)),
                    IntTy::U32 => Value::UInt(u64::from(v as u32)),
                    IntTy::I64 => Value::Int(v),
                    IntTy::U64 => Value::UInt(v as u64),
                }
            }
            Ty::Float => {
                let h = self.byte()?;
                if h == TAG_FLOAT {
                    Value::Float(f32::from_le_bytes(self.array()?))
                } else {
                    #[allow(clippy::cast_precision_loss)]
                    Value::Float(self.int_after(h)? as f32)
                }
            }
            Ty::Double => {
                let h = self.byte()?;
                if h == TAG_FLOAT {
                    Value::Double(f64::from_le_bytes(self.array()?))
                } else {
                    #[allow(clippy::cast_precision_loss)]
                    Value::Double(self.int_after(h)? as f64)
                }
            }
            Ty::CString => {
                let h = self.byte()?;
                self.cstring_after(h)?
            }
            Ty::Atom | Ty::Selector => {
                let h = self.byte()?;
                match self.shared_after(h)? {
                    None => Value::Nil,
                    Some(r) if matches!(ty, Ty::Atom) => Value::Atom(self.bytes(&r).to_vec()),
                    Some(r) => Value::Selector(self.bytes(&r).to_vec()),
                }
            }
            Ty::Unshared => {
                let h = self.byte()?;
                match self.unshared_after(h)? {
                    None => Value::Nil,
                    Some(r) => Value::Unshared(self.bytes(&r).to_vec()),
                }
            }
            Ty::Class => {
                let h = self.byte()?;
                match self.class_after(h)? {
                    None => Value::Nil,
                    Some(chain) => Value::Class(Class { chain }),
                }
            }
            Ty::Object => {
                let h = self.byte()?;
                self.object_after(h, depth + 1)?
            }
            Ty::Ignored => Value::Nil,
            Ty::Array(n, elem) => {
                if matches!(**elem, Ty::Char | Ty::UChar) {
                    Value::ByteArray(self.take(*n)?.to_vec())
                } else {
                    self.nest(depth, at)?;
                    if elem.min_size().saturating_mul(*n as u64) > self.remaining() as u64 {
                        return Err(Error::LengthTooLarge {
                            offset: at,
                            len: *n as u64,
                        });
                    }
                    let mut items = Vec::new();
                    for _ in 0..*n {
                        items.push(self.value(elem, depth + 1)?);
                    }
                    Value::Array(items)
                }
            }
            Ty::Struct(fields) => {
                self.nest(depth, at)?;
                let mut items = Vec::with_capacity(fields.len());
                for f in fields {
                    items.push(self.value(f, depth + 1)?);
                }
                Value::Struct(items)
            }
        })
    }

    fn nest(&self, depth: usize, offset: usize) -> Result<(), Error> {
        if depth >= self.limits.max_depth {
            return Err(Error::TooDeep {
                offset,
                limit: self.limits.max_depth,
            });
        }
        Ok(())
    }
}

/// The Foundation layouts the reader recognises.
#[derive(Clone, Copy)]
enum Layout {
    String,
    Number,
    NsValue,
    Data,
    Dictionary,
    Array,
    Date,
}

/// Recognises the Foundation layouts (checked by reference, then moved out without copying);
/// anything else keeps its groups.
fn recognize(class: &Class, groups: Vec<Group>) -> Content {
    let layout = match class.name() {
        "NSString" | "NSMutableString" if is_string(&groups) => Layout::String,
        "NSNumber" if is_typed(&groups) => Layout::Number,
        "NSValue" if is_typed(&groups) => Layout::NsValue,
        "NSData" | "NSMutableData" if is_data(&groups) => Layout::Data,
        "NSDictionary" | "NSMutableDictionary" if is_collection(&groups, 2) => Layout::Dictionary,
        "NSArray" | "NSMutableArray" if is_collection(&groups, 1) => Layout::Array,
        "NSDate" if is_date(&groups) => Layout::Date,
        _ => return Content::Groups(groups),
    };
    // Each group of a recognised layout holds exactly one value.
    let mut values = groups.into_iter().map(|g| {
        let encoding = g.encoding;
        (encoding, g.values.into_iter().next().unwrap_or(Value::Nil))
    });
    match layout {
        Layout::String => match take(&mut values) {
            Value::Unshared(b) => String::from_utf8(b).map_or_else(
                |e| Content::Groups(vec![Group::new("+", vec![Value::Unshared(e.into_bytes())])]),
                Content::String,
            ),
            other => Content::Groups(vec![Group::new("+", vec![other])]),
        },
        Layout::Number | Layout::NsValue => {
            let _objc_type = take(&mut values);
            let (objc_type, value) = values.next().unwrap_or((String::new(), Value::Nil));
            if matches!(layout, Layout::Number) {
                Content::Number { objc_type, value }
            } else {
                Content::Value { objc_type, value }
            }
        }
        Layout::Data => {
            let _len = take(&mut values);
            match take(&mut values) {
                Value::ByteArray(b) => Content::Data(b),
                _ => Content::Data(Vec::new()),
            }
        }
        Layout::Dictionary => {
            let _count = take(&mut values);
            let mut entries = Vec::new();
            while let (Some((_, k)), Some((_, v))) = (values.next(), values.next()) {
                entries.push((k, v));
            }
            Content::Dictionary(entries)
        }
        Layout::Array => {
            let _count = take(&mut values);
            Content::Array(values.map(|(_, v)| v).collect())
        }
        Layout::Date => match take(&mut values) {
            Value::Double(d) => Content::Date(d),
            _ => Content::Date(0.0),
        },
    }
}

fn take(values: &mut impl Iterator<Item = (String, Value)>) -> Value {
    values.next().map_or(Value::Nil, |(_, v)| v)
}

fn is_string(groups: &[Group]) -> bool {
    matches!(groups, [g] if g.encoding == "+"
        && matches!(g.values.as_slice(), [Value::Unshared(b)] if std::str::from_utf8(b).is_ok()))
}

fn is_typed(groups: &[Group]) -> bool {
    match groups {
        [t, v] if t.encoding == "*" => matches!(
            (t.values.as_slice(), v.values.as_slice()),
            ([Value::CString(ty)], [_]) if ty.as_slice() == v.encoding.as_bytes()
        ),
        _ => false,
    }
}

fn is_data(groups: &[Group]) -> bool {
    match groups {
        [n, d] if n.encoding == "i" => matches!(
            (n.values.as_slice(), d.values.as_slice()),
            ([Value::Int(len)], [Value::ByteArray(bytes)])
                if usize::try_from(*len).ok() == Some(bytes.len())
                    && d.encoding == format!("[{len}c]")
        ),
        _ => false,
    }
}

fn is_date(groups: &[Group]) -> bool {
    matches!(groups, [g] if g.encoding == "d" && matches!(g.values.as_slice(), [Value::Double(_)]))
}

/// `i` count, then `count * per` `@` groups of one value each.
fn is_collection(groups: &[Group], per: usize) -> bool {
    let Some((first, rest)) = groups.split_first() else {
        return false;
    };
    let [Value::Int(n)] = first.values.as_slice() else {
        return false;
    };
    first.encoding == "i"
        && usize::try_from(*n).ok().and_then(|n| n.checked_mul(per)) == Some(rest.len())
        && rest
            .iter()
            .all(|g| g.encoding == "@" && g.values.len() == 1)
}
