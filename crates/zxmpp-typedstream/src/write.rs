//! The writer: [`Archive`] to bytes, with the choices Apple's NSArchiver makes.
//!
//! - integers: one byte for −110..=127, else `0x81`+int16, `0x82`+int32, `0x87`+int64,
//!   whichever is the first to fit (unsigned types are first cast to their signed twin, as the
//!   C code does);
//! - `f`/`d`: integral values in the int32 range (except −0.0) as integers, others as `0x83` + IEEE;
//! - shared strings (type encodings, class names, atoms, selectors) and C strings are written
//!   literally the first time and as references after that; C strings are uniqued by content;
//! - a class chain is written literally down to the first superclass whose chain (names and
//!   versions up to the root) was written before, which is then referenced;
//! - objects are written where [`Value::Object`] stands and referenced where [`Value::Ref`] does.

use std::collections::HashMap;

use crate::error::Error;
use crate::model::{Archive, ByteOrder, ClassInfo, Content, Group, Object, Value};
use crate::types::{self, IntTy, Ty};
use crate::wire::{
    REF_BIAS, SIG_BIG, SIG_LITTLE, STREAMER_VERSION, TAG_END, TAG_FLOAT, TAG_I16, TAG_I32, TAG_I64,
    TAG_NEW, TAG_NIL,
};

/// Deepest nesting the writer follows in a hand-built model (decoded ones are far shallower).
const MAX_WRITE_DEPTH: usize = 256;

pub(crate) fn encode(archive: &Archive) -> Result<Vec<u8>, Error> {
    let mut w = Writer {
        out: Vec::new(),
        big: archive.byte_order == ByteOrder::Big,
        shared: HashMap::new(),
        table_len: 0,
        classes: HashMap::new(),
        cstrings: HashMap::new(),
        objects: Vec::new(),
    };
    w.out.push(STREAMER_VERSION);
    w.out.push(11);
    w.out
        .extend_from_slice(if w.big { SIG_BIG } else { SIG_LITTLE });
    w.int(archive.system_version);
    for g in &archive.groups {
        w.group(g, 0)?;
    }
    Ok(w.out)
}

struct Writer {
    out: Vec<u8>,
    big: bool,
    shared: HashMap<Vec<u8>, u32>,
    table_len: u32,
    classes: HashMap<Vec<ClassInfo>, u32>,
    cstrings: HashMap<Vec<u8>, u32>,
    /// Object-table number of each object id.
    objects: Vec<u32>,
}

fn mismatch(encoding: &str, v: &Value) -> Error {
    Error::TypeMismatch {
        encoding: encoding.to_owned(),
        value: v.kind(),
    }
}

impl Writer {
    fn bytes<const N: usize>(&mut self, mut le: [u8; N]) {
        if self.big {
            le.reverse();
        }
        self.out.extend_from_slice(&le);
    }

    fn int(&mut self, v: i64) {
        if (-REF_BIAS..=127).contains(&v) {
            self.out.push(v as i8 as u8);
        } else if let Ok(v) = i16::try_from(v) {
            self.out.push(TAG_I16);
            self.bytes(v.to_le_bytes());
        } else if let Ok(v) = i32::try_from(v) {
            self.out.push(TAG_I32);
            self.bytes(v.to_le_bytes());
        } else {
            self.out.push(TAG_I64);
            self.bytes(v.to_le_bytes());
        }
    }

    fn reference(&mut self, index: u32) {
        self.int(i64::from(index) - REF_BIAS);
    }

    fn next_entry(&mut self) -> u32 {
        let n = self.table_len;
        self.table_len += 1;
        n
    }

    fn unshared(&mut self, s: &[u8]) {
        self.int(s.len() as i64);
        self.out.extend_from_slice(s);
    }

    fn shared(&mut self, s: &[u8]) {
        if let Some(&i) = self.shared.get(s) {
            self.reference(i);
        } else {
            let i = u32::try_from(self.shared.len()).unwrap_or(u32::MAX);
            self.shared.insert(s.to_vec(), i);
            self.out.push(TAG_NEW);
            self.unshared(s);
        }
    }

    fn cstring(&mut self, s: &[u8], encoding: &str) -> Result<(), Error> {
        if s.contains(&0) {
            return Err(Error::TypeMismatch {
                encoding: encoding.to_owned(),
                value: "C string with a NUL byte",
            });
        }
        if let Some(&i) = self.cstrings.get(s) {
            self.reference(i);
        } else {
            self.out.push(TAG_NEW);
            self.shared(s);
            let n = self.next_entry();
            self.cstrings.insert(s.to_vec(), n);
        }
        Ok(())
    }

    fn class(&mut self, chain: &[ClassInfo]) -> Result<(), Error> {
        if chain.is_empty() {
            return Err(Error::EmptyClass);
        }
        let mut new = chain.len();
        for (i, c) in chain.iter().enumerate() {
            if let Some(&n) = chain.get(i..).and_then(|s| self.classes.get(s)) {
                self.reference(n);
                new = i;
                break;
            }
            self.out.push(TAG_NEW);
            self.shared(c.name.as_bytes());
            self.int(c.version);
        }
        if new == chain.len() {
            self.out.push(TAG_NIL);
        }
        for i in 0..new {
            let n = self.next_entry();
            if let Some(suffix) = chain.get(i..) {
                self.classes.insert(suffix.to_vec(), n);
            }
        }
        Ok(())
    }

    fn group(&mut self, g: &Group, depth: usize) -> Result<(), Error> {
        let tys =
            types::parse(g.encoding.as_bytes(), MAX_WRITE_DEPTH, usize::MAX).map_err(|_| {
                Error::TypeMismatch {
                    encoding: g.encoding.clone(),
                    value: "invalid type encoding",
                }
            })?;
        if tys.len() != g.values.len() {
            return Err(Error::GroupLength {
                encoding: g.encoding.clone(),
                expected: tys.len(),
                found: g.values.len(),
            });
        }
        self.shared(g.encoding.as_bytes());
        for (ty, v) in tys.iter().zip(&g.values) {
            self.value(ty, v, &g.encoding, depth)?;
        }
        Ok(())
    }

    /// A one-value group with a known encoding.
    fn single(&mut self, encoding: &str, v: &Value, depth: usize) -> Result<(), Error> {
        let tys = types::parse(encoding.as_bytes(), MAX_WRITE_DEPTH, usize::MAX).map_err(|_| {
            Error::TypeMismatch {
                encoding: encoding.to_owned(),
                value: "invalid type encoding",
            }
        })?;
        let [ty] = tys.as_slice() else {
            return Err(Error::GroupLength {
                encoding: encoding.to_owned(),
                expected: tys.len(),
                found: 1,
            });
        };
        self.shared(encoding.as_bytes());
        self.value(ty, v, encoding, depth)
    }

    fn float(&mut self, f: f64, bits: impl FnOnce(&mut Self)) {
        let integral = f.fract() == 0.0
            && !(f == 0.0 && f.is_sign_negative())
            && (-2_147_483_648.0..2_147_483_648.0).contains(&f);
        if integral {
            self.int(f as i64);
        } else {
            self.out.push(TAG_FLOAT);
            bits(self);
        }
    }

    fn value(&mut self, ty: &Ty, v: &Value, enc: &str, depth: usize) -> Result<(), Error> {
        if depth > MAX_WRITE_DEPTH {
            return Err(Error::TooDeep {
                offset: self.out.len(),
                limit: MAX_WRITE_DEPTH,
            });
        }
        match (ty, v) {
            (Ty::Char, Value::Int(i)) => {
                let b = i8::try_from(*i).map_err(|_| mismatch(enc, v))?;
                self.out.push(b as u8);
            }
            (Ty::UChar, Value::UInt(u)) => {
                let b = u8::try_from(*u).map_err(|_| mismatch(enc, v))?;
                self.out.push(b);
            }
            (Ty::Bool, Value::Bool(b)) => self.out.push(u8::from(*b)),
            (Ty::Int(it), Value::Int(i)) if it.signed() => {
                let fits = match it {
                    IntTy::I16 => i16::try_from(*i).is_ok(),
                    IntTy::I32 => i32::try_from(*i).is_ok(),
                    _ => true,
                };
                if !fits {
                    return Err(mismatch(enc, v));
                }
                self.int(*i);
            }
            (Ty::Int(it), Value::UInt(u)) if !it.signed() => {
                let s = match it {
                    IntTy::U16 => {
                        i64::from(u16::try_from(*u).map_err(|_| mismatch(enc, v))? as i16)
                    }
                    IntTy::U32 => {
                        i64::from(u32::try_from(*u).map_err(|_| mismatch(enc, v))? as i32)
                    }
                    _ => *u as i64,
                };
                self.int(s);
            }
            (Ty::Float, Value::Float(f)) => {
                let f = *f;
                self.float(f64::from(f), |w| w.bytes(f.to_le_bytes()));
            }
            (Ty::Double, Value::Double(d)) => {
                let d = *d;
                self.float(d, |w| w.bytes(d.to_le_bytes()));
            }
            (Ty::CString, Value::CString(s)) => self.cstring(s, enc)?,
            (Ty::Atom, Value::Atom(s)) | (Ty::Selector, Value::Selector(s)) => self.shared(s),
            (Ty::Unshared, Value::Unshared(s)) => self.unshared(s),
            (Ty::Class, Value::Class(c)) => self.class(&c.chain)?,
            (Ty::Object, Value::Object(o)) => self.object(o, depth + 1)?,
            (Ty::Object, Value::Ref(id)) => {
                let n = usize::try_from(id.0)
                    .ok()
                    .and_then(|i| self.objects.get(i).copied())
                    .ok_or(Error::DanglingReference { id: id.0 })?;
                self.reference(n);
            }
            (Ty::Ignored, Value::Nil) => {}
            (
                Ty::CString | Ty::Atom | Ty::Selector | Ty::Unshared | Ty::Class | Ty::Object,
                Value::Nil,
            ) => self.out.push(TAG_NIL),
            (Ty::Array(n, elem), Value::ByteArray(b))
                if matches!(**elem, Ty::Char | Ty::UChar) && b.len() == *n =>
            {
                self.out.extend_from_slice(b);
            }
            (Ty::Array(n, elem), Value::Array(items))
                if !matches!(**elem, Ty::Char | Ty::UChar) && items.len() == *n =>
            {
                for item in items {
                    self.value(elem, item, enc, depth + 1)?;
                }
            }
            (Ty::Struct(fields), Value::Struct(items)) if fields.len() == items.len() => {
                for (f, item) in fields.iter().zip(items) {
                    self.value(f, item, enc, depth + 1)?;
                }
            }
            _ => return Err(mismatch(enc, v)),
        }
        Ok(())
    }

    fn object_value(&mut self, v: &Value, depth: usize) -> Result<(), Error> {
        self.single("@", v, depth)
    }

    fn object(&mut self, o: &Object, depth: usize) -> Result<(), Error> {
        self.out.push(TAG_NEW);
        let n = self.next_entry();
        self.objects.push(n);
        self.class(&o.class.chain)?;
        match &o.content {
            Content::String(s) => {
                self.shared(b"+");
                self.unshared(s.as_bytes());
            }
            Content::Number { objc_type, value } | Content::Value { objc_type, value } => {
                self.shared(b"*");
                self.cstring(objc_type.as_bytes(), "*")?;
                self.single(objc_type, value, depth)?;
            }
            Content::Data(d) => {
                self.count(d.len())?;
                self.shared(format!("[{}c]", d.len()).as_bytes());
                self.out.extend_from_slice(d);
            }
            Content::Dictionary(entries) => {
                self.count(entries.len())?;
                for (k, v) in entries {
                    self.object_value(k, depth)?;
                    self.object_value(v, depth)?;
                }
            }
            Content::Array(items) => {
                self.count(items.len())?;
                for item in items {
                    self.object_value(item, depth)?;
                }
            }
            Content::Date(d) => {
                let d = *d;
                self.shared(b"d");
                self.float(d, |w| w.bytes(d.to_le_bytes()));
            }
            Content::Groups(groups) => {
                for g in groups {
                    self.group(g, depth)?;
                }
            }
        }
        self.out.push(TAG_END);
        Ok(())
    }

    /// An `i` group holding a count.
    fn count(&mut self, n: usize) -> Result<(), Error> {
        let n = i32::try_from(n).map_err(|_| Error::TypeMismatch {
            encoding: "i".into(),
            value: "count above i32::MAX",
        })?;
        self.shared(b"i");
        self.int(n.into());
        Ok(())
    }
}
