//! Shared by the integration tests: proptest strategies for `plist::Value` trees and a
//! canonical JSON form of a value (the same one `plistlib_diff.py` prints).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
#![allow(dead_code)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proptest::prelude::*;
use serde_json::json;
use zxmpp_bplist::plist::{Date, Dictionary, Integer, Uid, Value};

const PLIST_EPOCH: u64 = 978_307_200;

/// A date at a whole number of milliseconds from 2001-01-01 (about ±95 years).
fn date_ms() -> impl Strategy<Value = Date> {
    (-3_000_000_000_000i64..3_000_000_000_000).prop_map(|ms| {
        let epoch = UNIX_EPOCH + Duration::from_secs(PLIST_EPOCH);
        let t = if ms < 0 {
            epoch - Duration::from_millis(ms.unsigned_abs())
        } else {
            epoch + Duration::from_millis(ms as u64)
        };
        Date::from(t)
    })
}

/// Integers of every bit length (so every width boundary is hit), either sign.
fn int_of_any_width() -> impl Strategy<Value = Integer> {
    (0u32..=64, any::<u64>(), any::<bool>()).prop_map(|(bits, raw, negative)| {
        let magnitude = if bits == 64 {
            raw
        } else {
            raw & ((1u64 << bits) - 1)
        };
        if negative && magnitude <= i64::MAX as u64 {
            Integer::from(-(magnitude as i64))
        } else {
            Integer::from(magnitude)
        }
    })
}

fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ab]{0,2}",
        "[a-z ]{0,40}",
        ".{0,20}",
        "[a-z\u{e9}\u{17e}\u{1f600}]{0,16}",
    ]
}

fn scalar(with_bools: bool, weird_reals: bool) -> BoxedStrategy<Value> {
    let real = if weird_reals {
        any::<f64>().boxed()
    } else {
        prop_oneof![
            Just(0.5f64),
            Just(1.0f64),
            (-1e12f64..1e12)
                .prop_filter("no negative zero", |x| x.to_bits() != (-0.0f64).to_bits()),
        ]
        .boxed()
    };
    let mut options: Vec<(u32, BoxedStrategy<Value>)> = vec![
        (3, string().prop_map(Value::String).boxed()),
        (2, (0i64..5).prop_map(|i| Value::Integer(i.into())).boxed()),
        (3, int_of_any_width().prop_map(Value::Integer).boxed()),
        (
            1,
            any::<u64>().prop_map(|i| Value::Integer(i.into())).boxed(),
        ),
        (2, real.prop_map(Value::Real).boxed()),
        (1, date_ms().prop_map(Value::Date).boxed()),
        (
            2,
            prop::collection::vec(any::<u8>(), 0..40)
                .prop_map(Value::Data)
                .boxed(),
        ),
        (
            1,
            any::<u64>().prop_map(|u| Value::Uid(Uid::new(u))).boxed(),
        ),
    ];
    if with_bools {
        options.push((3, any::<bool>().prop_map(Value::Boolean).boxed()));
    }
    proptest::strategy::Union::new_weighted(options).boxed()
}

fn tree(leaf: BoxedStrategy<Value>) -> impl Strategy<Value = Value> {
    leaf.prop_recursive(4, 64, 16, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..17).prop_map(Value::Array),
            prop::collection::vec((string(), inner), 0..17).prop_map(|entries| {
                let mut d = Dictionary::new();
                for (k, v) in entries {
                    d.insert(k, v);
                }
                Value::Dictionary(d)
            }),
        ]
    })
}

/// Any value tree (with booleans, NaNs and negative zeros).
pub(crate) fn value() -> impl Strategy<Value = Value> {
    tree(scalar(true, true))
}

/// Value trees without booleans, NaNs or negative zero (where plistlib's uniquing and
/// CoreFoundation's agree).
pub(crate) fn value_without_bools() -> impl Strategy<Value = Value> {
    tree(scalar(false, false))
}

/// Microseconds since 2001-01-01, rounded to nearest.
fn date_us(d: Date) -> i128 {
    let epoch = UNIX_EPOCH + Duration::from_secs(PLIST_EPOCH);
    let t = SystemTime::from(d);
    let ns: i128 = match t.duration_since(epoch) {
        Ok(x) => x.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    };
    (ns + 500).div_euclid(1000)
}

fn int_string(i: Integer) -> String {
    i.as_signed()
        .map(|v| v.to_string())
        .or_else(|| i.as_unsigned().map(|v| v.to_string()))
        .unwrap()
}

/// The canonical JSON form of a value (see `plistlib_diff.py`).
pub(crate) fn canon(v: &Value) -> serde_json::Value {
    match v {
        Value::Boolean(b) => json!({ "bool": b }),
        Value::Integer(i) => json!({ "int": int_string(*i) }),
        Value::Real(x) => json!({ "real": format!("{:016x}", x.to_bits()) }),
        Value::String(s) => json!({ "str": s }),
        Value::Data(d) => {
            json!({ "data": d.iter().map(|b| format!("{b:02x}")).collect::<String>() })
        }
        Value::Date(d) => json!({ "date_us": date_us(*d) as i64 }),
        Value::Uid(u) => json!({ "uid": u.get() }),
        Value::Array(a) => json!({ "array": a.iter().map(canon).collect::<Vec<_>>() }),
        Value::Dictionary(d) => {
            json!({ "dict": d.iter().map(|(k, v)| json!([k, canon(v)])).collect::<Vec<_>>() })
        }
        _ => unreachable!("unknown plist::Value variant"),
    }
}
