//! Converting between table objects and [`plist::Value`]s.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use plist::Value;

use crate::document::Document;
use crate::error::{Error, ValueProblem};
use crate::limits::Limits;
use crate::object::{Object, Real};

/// Seconds from the Unix epoch to the plist epoch, 2001-01-01T00:00:00Z.
const PLIST_EPOCH: u64 = 978_307_200;
/// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z in seconds since the plist epoch: the range a
/// `plist::Date` can print.
const DATE_MIN: f64 = -63_113_904_000.0;
const DATE_MAX: f64 = 252_423_993_599.0;

/// What a value tree may still cost.
pub(crate) struct Budget {
    nodes: u64,
    bytes: u64,
    limits: Limits,
}

impl Budget {
    pub(crate) fn new(limits: &Limits) -> Budget {
        Budget {
            nodes: limits.max_value_nodes,
            bytes: limits.max_value_bytes,
            limits: *limits,
        }
    }

    fn node(&mut self) -> Result<(), Error> {
        self.nodes = self.nodes.checked_sub(1).ok_or(Error::TooManyValueNodes {
            limit: self.limits.max_value_nodes,
        })?;
        Ok(())
    }

    fn bytes(&mut self, n: usize) -> Result<(), Error> {
        self.bytes = self
            .bytes
            .checked_sub(n as u64)
            .ok_or(Error::ValueTooLarge {
                limit: self.limits.max_value_bytes,
            })?;
        Ok(())
    }
}

/// Converts object `index` (and what it references) into a value, within `budget`.
pub(crate) fn convert(doc: &Document, index: u64, budget: &mut Budget) -> Result<Value, Error> {
    budget.node()?;
    let offset = doc.object_offset(index).unwrap_or(0);
    let bad = |problem| Error::Unrepresentable {
        offset,
        index,
        problem,
    };
    let Some(object) = doc.objects().get(index as usize) else {
        return Err(Error::ReferenceOutOfRange {
            offset,
            reference: index,
            count: doc.objects().len() as u64,
        });
    };
    Ok(match object {
        Object::Null => return Err(bad(ValueProblem::Null)),
        Object::Set { .. } => return Err(bad(ValueProblem::Set)),
        Object::Bool(b) => Value::Boolean(*b),
        Object::Int { value, .. } => {
            if let Ok(v) = i64::try_from(*value) {
                Value::Integer(v.into())
            } else if let Ok(v) = u64::try_from(*value) {
                Value::Integer(v.into())
            } else {
                return Err(bad(ValueProblem::IntegerRange));
            }
        }
        Object::Real(Real::F32(f)) => Value::Real(f64::from(*f)),
        Object::Real(Real::F64(f)) => Value::Real(*f),
        Object::Date(secs) => {
            Value::Date(date_from_seconds(*secs).ok_or(bad(ValueProblem::DateRange))?)
        }
        Object::Data { bytes, .. } => {
            budget.bytes(bytes.len())?;
            Value::Data(bytes.clone())
        }
        Object::Ascii { text, .. } => {
            budget.bytes(text.len())?;
            Value::String(text.clone())
        }
        Object::Utf16 { units, .. } => {
            budget.bytes(units.len() * 2)?;
            Value::String(String::from_utf16(units).map_err(|_| bad(ValueProblem::BadUtf16))?)
        }
        Object::Uid { value, .. } => Value::Uid(plist::Uid::new(*value)),
        Object::Array { refs, .. } => {
            let mut items = Vec::with_capacity(refs.len());
            for r in refs {
                items.push(convert(doc, *r, budget)?);
            }
            Value::Array(items)
        }
        Object::Dict { keys, values, .. } => {
            let mut dict = plist::Dictionary::new();
            for (k, v) in keys.iter().zip(values) {
                let key = match convert(doc, *k, budget)? {
                    Value::String(s) => s,
                    _ => return Err(bad(ValueProblem::NonStringKey)),
                };
                if dict.contains_key(&key) {
                    return Err(bad(ValueProblem::DuplicateKey));
                }
                let value = convert(doc, *v, budget)?;
                dict.insert(key, value);
            }
            Value::Dictionary(dict)
        }
    })
}

/// A `plist::Date` for `secs` seconds since 2001-01-01, if it is in the years 1 to 9999.
pub(crate) fn date_from_seconds(secs: f64) -> Option<plist::Date> {
    if !(DATE_MIN..=DATE_MAX).contains(&secs) {
        return None;
    }
    let epoch = UNIX_EPOCH.checked_add(Duration::from_secs(PLIST_EPOCH))?;
    let span = Duration::try_from_secs_f64(secs.abs()).ok()?;
    let time = if secs < 0.0 {
        epoch.checked_sub(span)?
    } else {
        epoch.checked_add(span)?
    };
    Some(plist::Date::from(time))
}

/// Seconds since 2001-01-01 of a `plist::Date` (nanosecond precision, as the `plist` crate's
/// own binary writer computes it).
pub(crate) fn date_to_seconds(date: plist::Date) -> f64 {
    let time = SystemTime::from(date);
    let epoch = UNIX_EPOCH + Duration::from_secs(PLIST_EPOCH);
    match time.duration_since(epoch) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

#[cfg(test)]
mod tests {
    use super::{date_from_seconds, date_to_seconds};
    use proptest::prelude::*;

    proptest! {
        /// Once a date has been through `plist::Date`, it comes back to the same seconds.
        #[test]
        fn date_seconds_are_stable_after_one_trip(secs in -6.3e10f64..2.5e11) {
            let once = date_to_seconds(date_from_seconds(secs).unwrap());
            let twice = date_to_seconds(date_from_seconds(once).unwrap());
            prop_assert_eq!(once.to_bits(), twice.to_bits());
            // and it moves by at most a nanosecond-ish rounding
            prop_assert!((once - secs).abs() <= 1e-9 + secs.abs() * 1e-15);
        }
    }
}
