//! Laying out a [`plist::Value`] as CoreFoundation's binary writer does.

use std::collections::HashMap;

use plist::Value;

use crate::document::{Chunk, Document};
use crate::error::Error;
use crate::object::{IntWidth, Length, Object, Real, byte_count};
use crate::value::date_to_seconds;

/// Builds the CoreFoundation layout of `value` (see [`crate::to_vec_apple`]).
pub(crate) fn layout(value: &Value) -> Result<Document, Error> {
    let mut f = Flattener::default();
    f.add(value)?;
    let objects = f.objects;
    let n = objects.len() as u64;
    let ref_size = byte_count(n);
    let mut positions = Vec::with_capacity(objects.len());
    let mut at = 8u64;
    for object in &objects {
        positions.push(at);
        at += object.encoded_len(ref_size);
    }
    let offset_size = byte_count(at);
    let placement = (0..objects.len()).map(Chunk::Object).collect();
    Ok(Document::from_parts(
        objects,
        positions,
        0,
        offset_size,
        ref_size,
        [0; 6],
        placement,
        Vec::new(),
    ))
}

/// CoreFoundation's `_flattenPlist`: depth-first pre-order, a dictionary's keys then its
/// values; strings, numbers (integers and reals apart), dates and data uniqued by value;
/// booleans appended every time but referenced as their first occurrence.
#[derive(Default)]
struct Flattener {
    objects: Vec<Object>,
    strings: HashMap<String, u64>,
    ints: HashMap<i128, u64>,
    reals: HashMap<u64, u64>,
    dates: HashMap<u64, u64>,
    data: HashMap<Vec<u8>, u64>,
    bools: [Option<u64>; 2],
}

impl Flattener {
    fn push(&mut self, object: Object) -> u64 {
        self.objects.push(object);
        self.objects.len() as u64 - 1
    }

    fn add(&mut self, value: &Value) -> Result<u64, Error> {
        Ok(match value {
            Value::String(s) => self.string(s),
            Value::Integer(i) => {
                let v = i
                    .as_signed()
                    .map(i128::from)
                    .or_else(|| i.as_unsigned().map(i128::from))
                    .unwrap_or_default();
                if let Some(r) = self.ints.get(&v) {
                    *r
                } else {
                    let r = self.push(Object::Int {
                        value: v,
                        width: IntWidth::apple(v),
                    });
                    self.ints.insert(v, r);
                    r
                }
            }
            Value::Real(x) => {
                if let Some(r) = self.reals.get(&x.to_bits()) {
                    *r
                } else {
                    let r = self.push(Object::Real(Real::F64(*x)));
                    self.reals.insert(x.to_bits(), r);
                    r
                }
            }
            Value::Date(d) => {
                let secs = date_to_seconds(*d);
                if let Some(r) = self.dates.get(&secs.to_bits()) {
                    *r
                } else {
                    let r = self.push(Object::Date(secs));
                    self.dates.insert(secs.to_bits(), r);
                    r
                }
            }
            Value::Data(bytes) => {
                if let Some(r) = self.data.get(bytes) {
                    *r
                } else {
                    let r = self.push(Object::Data {
                        bytes: bytes.clone(),
                        length: Length::apple(bytes.len() as u64),
                    });
                    self.data.insert(bytes.clone(), r);
                    r
                }
            }
            Value::Boolean(b) => {
                let r = self.push(Object::Bool(*b));
                *self.bools[usize::from(*b)].get_or_insert(r)
            }
            Value::Uid(uid) => {
                let value = uid.get();
                self.push(Object::Uid {
                    value,
                    width: IntWidth::minimal_unsigned(value).bytes() as u8,
                })
            }
            Value::Array(items) => {
                let r = self.push(Object::Array {
                    refs: Vec::new(),
                    length: Length::apple(items.len() as u64),
                });
                let mut refs = Vec::with_capacity(items.len());
                for item in items {
                    refs.push(self.add(item)?);
                }
                if let Some(Object::Array { refs: slot, .. }) = self.objects.get_mut(r as usize) {
                    *slot = refs;
                }
                r
            }
            Value::Dictionary(dict) => {
                let r = self.push(Object::Dict {
                    keys: Vec::new(),
                    values: Vec::new(),
                    length: Length::apple(dict.len() as u64),
                });
                let keys: Vec<u64> = dict.keys().map(|k| self.string(k)).collect();
                let mut values = Vec::with_capacity(dict.len());
                for v in dict.values() {
                    values.push(self.add(v)?);
                }
                if let Some(Object::Dict {
                    keys: key_slot,
                    values: value_slot,
                    ..
                }) = self.objects.get_mut(r as usize)
                {
                    *key_slot = keys;
                    *value_slot = values;
                }
                r
            }
            _ => return Err(Error::UnsupportedValue),
        })
    }

    fn string(&mut self, s: &str) -> u64 {
        if let Some(r) = self.strings.get(s) {
            return *r;
        }
        let object = if s.is_ascii() {
            Object::Ascii {
                text: s.to_owned(),
                length: Length::apple(s.len() as u64),
            }
        } else {
            let units: Vec<u16> = s.encode_utf16().collect();
            Object::Utf16 {
                length: Length::apple(units.len() as u64),
                units,
            }
        };
        let r = self.push(object);
        self.strings.insert(s.to_owned(), r);
        r
    }
}
