//! Shared by the property and differential tests: value-tree strategies and the canonical JSON
//! form that `tests/canon_json.py` prints from pytypedstream.

#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use proptest::prelude::*;
use serde_json::{Value as Json, json};
use zxmpp_typedstream::{Archive, ByteOrder, Class, ClassInfo, Content, Group, Object, Value};

// ------------------------------------------------------------------ canonical JSON

/// The canonical JSON of an archive (see `tests/canon_json.py` for the form).
pub fn canonical(a: &Archive) -> Json {
    let mut ids = 0u32;
    json!({
        "order": match a.byte_order { ByteOrder::Little => "little", ByteOrder::Big => "big" },
        "system": a.system_version,
        "groups": a.groups.iter().map(|g| group(g, &mut ids)).collect::<Vec<_>>(),
    })
}

fn group(g: &Group, ids: &mut u32) -> Json {
    json!({
        "enc": g.encoding,
        "values": g.values.iter().map(|v| value(v, ids)).collect::<Vec<_>>(),
    })
}

fn chain(c: &Class) -> Json {
    Json::Array(c.chain.iter().map(|i| json!([i.name, i.version])).collect())
}

fn value(v: &Value, ids: &mut u32) -> Json {
    match v {
        Value::Nil => Json::Null,
        Value::Int(i) => json!(i),
        Value::UInt(u) => json!(u),
        Value::Bool(b) => json!(b),
        Value::Float(f) => json!(f64::from(*f)),
        Value::Double(d) => json!(d),
        Value::CString(s) => json!({ "cstring": hex::encode(s) }),
        Value::Unshared(s) => json!({ "unshared": hex::encode(s) }),
        Value::Atom(s) => json!({ "atom": hex::encode(s) }),
        Value::Selector(s) => json!({ "sel": hex::encode(s) }),
        Value::Class(c) => json!({ "class": chain(c) }),
        Value::ByteArray(b) => json!({ "bytes": hex::encode(b) }),
        Value::Array(items) => {
            json!({ "array": items.iter().map(|i| value(i, ids)).collect::<Vec<_>>() })
        }
        Value::Struct(items) => {
            json!({ "struct": items.iter().map(|i| value(i, ids)).collect::<Vec<_>>() })
        }
        Value::Ref(id) => json!({ "ref": id.0 }),
        Value::Object(o) => object(o, ids),
        other => panic!("unknown value {other:?}"),
    }
}

fn object(o: &Object, ids: &mut u32) -> Json {
    let id = *ids;
    *ids += 1;
    let mut out = serde_json::Map::new();
    out.insert("id".into(), json!(id));
    out.insert("class".into(), chain(&o.class));
    let (k, v) = match &o.content {
        Content::String(s) => ("string", json!(s)),
        Content::Number {
            objc_type,
            value: v,
        } => (
            "number",
            json!({ "type": objc_type, "value": value(v, ids) }),
        ),
        Content::Value {
            objc_type,
            value: v,
        } => (
            "nsvalue",
            json!({ "type": objc_type, "value": value(v, ids) }),
        ),
        Content::Data(d) => ("data", json!(hex::encode(d))),
        Content::Dictionary(e) => (
            "dict",
            Json::Array(
                e.iter()
                    .map(|(k, v)| {
                        let k = value(k, ids);
                        json!([k, value(v, ids)])
                    })
                    .collect(),
            ),
        ),
        Content::Array(items) => (
            "elements",
            Json::Array(items.iter().map(|i| value(i, ids)).collect()),
        ),
        Content::Date(d) => ("date", json!(d)),
        Content::Groups(gs) => (
            "groups",
            Json::Array(gs.iter().map(|g| group(g, ids)).collect()),
        ),
        other => panic!("unknown content {other:?}"),
    };
    out.insert(k.into(), v);
    Json::Object(out)
}

// ------------------------------------------------------------------ strategies

/// Which values to generate.
#[derive(Clone, Copy)]
pub struct Profile {
    /// Only what pytypedstream reads the same way: no int64 tags (0x87), no NaN or infinities,
    /// unsigned values below the signed maximum of their width.
    pub pytypedstream: bool,
}

fn float(p: Profile) -> BoxedStrategy<f64> {
    if p.pytypedstream {
        prop_oneof![
            (-1_000_000i32..1_000_000).prop_map(f64::from),
            -1e12f64..1e12,
            Just(-0.0),
            Just(0.5),
        ]
        .boxed()
    } else {
        prop_oneof![
            any::<f64>(),
            (-1_000_000i32..1_000_000).prop_map(f64::from),
            Just(-0.0),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(4_294_967_296.0),
        ]
        .boxed()
    }
}

fn float32(p: Profile) -> BoxedStrategy<f32> {
    #[allow(clippy::cast_possible_truncation)]
    float(p).prop_map(|f| f as f32).boxed()
}

/// A primitive (non-object) type encoding with a value of that type.
fn primitive(p: Profile) -> BoxedStrategy<(String, Value)> {
    let q = if p.pytypedstream {
        (i64::from(i32::MIN)..=i64::from(i32::MAX)).boxed()
    } else {
        any::<i64>().boxed()
    };
    let uq = if p.pytypedstream {
        (0..=u64::from(i32::MAX.unsigned_abs())).boxed()
    } else {
        any::<u64>().boxed()
    };
    let ui = if p.pytypedstream {
        (0..=u64::from(i32::MAX.unsigned_abs())).boxed()
    } else {
        (0..=u64::from(u32::MAX)).boxed()
    };
    let us = if p.pytypedstream {
        (0..=u64::from(i16::MAX.unsigned_abs())).boxed()
    } else {
        (0..=u64::from(u16::MAX)).boxed()
    };
    let bytes = || proptest::collection::vec(any::<u8>(), 0..24);
    let cstr = || proptest::collection::vec(1u8..=255, 1..12);
    prop_oneof![
        any::<i8>().prop_map(|v| ("c".to_owned(), Value::Int(v.into()))),
        any::<u8>().prop_map(|v| ("C".to_owned(), Value::UInt(v.into()))),
        any::<bool>().prop_map(|v| ("B".to_owned(), Value::Bool(v))),
        any::<i16>().prop_map(|v| ("s".to_owned(), Value::Int(v.into()))),
        us.prop_map(|v| ("S".to_owned(), Value::UInt(v))),
        any::<i32>().prop_map(|v| ("i".to_owned(), Value::Int(v.into()))),
        ui.clone().prop_map(|v| ("I".to_owned(), Value::UInt(v))),
        any::<i32>().prop_map(|v| ("l".to_owned(), Value::Int(v.into()))),
        ui.prop_map(|v| ("L".to_owned(), Value::UInt(v))),
        q.prop_map(|v| ("q".to_owned(), Value::Int(v))),
        uq.prop_map(|v| ("Q".to_owned(), Value::UInt(v))),
        float32(p).prop_map(|v| ("f".to_owned(), Value::Float(v))),
        float(p).prop_map(|v| ("d".to_owned(), Value::Double(v))),
        cstr().prop_map(|v| ("*".to_owned(), Value::CString(v))),
        bytes().prop_map(|v| ("+".to_owned(), Value::Unshared(v))),
        cstr().prop_map(|v| ("%".to_owned(), Value::Atom(v))),
        cstr().prop_map(|v| (":".to_owned(), Value::Selector(v))),
        prop_oneof![
            Just("*"),
            Just("+"),
            Just("%"),
            Just(":"),
            Just("#"),
            Just("!")
        ]
        .prop_map(|e| (e.to_owned(), Value::Nil)),
        class().prop_map(|c| ("#".to_owned(), Value::Class(c))),
        bytes().prop_map(|b| (format!("[{}c]", b.len()), Value::ByteArray(b))),
        proptest::collection::vec(any::<i16>(), 0..5).prop_map(|v| (
            format!("[{}s]", v.len()),
            Value::Array(v.into_iter().map(|i| Value::Int(i.into())).collect())
        )),
        (any::<i32>(), any::<i8>(), float(p)).prop_map(|(a, b, d)| (
            "{zx=icd}".to_owned(),
            Value::Struct(vec![
                Value::Int(a.into()),
                Value::Int(b.into()),
                Value::Double(d)
            ])
        )),
    ]
    .boxed()
}

/// Class chains of classes pytypedstream does not know, ending in NSObject or not.
fn class() -> impl Strategy<Value = Class> {
    (
        proptest::collection::vec(
            (
                prop_oneof![Just("ZXThing"), Just("ZXWidget"), Just("ZXBase")],
                0i64..3,
            ),
            1..3,
        ),
        any::<bool>(),
    )
        .prop_map(|(mut chain, nsobject)| {
            if nsobject {
                chain.push(("NSObject", 0));
            }
            Class {
                chain: chain
                    .into_iter()
                    .map(|(n, v)| ClassInfo::new(n, v))
                    .collect(),
            }
        })
}

fn string_object() -> impl Strategy<Value = Object> {
    ("\\PC{0,12}", any::<bool>()).prop_map(|(s, mutable)| {
        let class = if mutable {
            Class::ns_mutable_string()
        } else {
            Class::ns_string()
        };
        Object::new(class, Content::String(s))
    })
}

fn leaf(p: Profile) -> BoxedStrategy<Value> {
    let number = primitive(p)
        .prop_filter("NSNumber holds numbers", |(e, _)| {
            matches!(
                e.as_str(),
                "c" | "C" | "B" | "s" | "S" | "i" | "I" | "l" | "L" | "q" | "Q" | "f" | "d"
            )
        })
        .prop_map(|(objc_type, value)| {
            Object::new(Class::ns_number(), Content::Number { objc_type, value })
        });
    let nsvalue = primitive(p)
        .prop_filter("NSValue holds plain data", |(e, _)| {
            e.starts_with('{') || e.starts_with('[') || e == "i"
        })
        .prop_map(|(objc_type, value)| {
            Object::new(Class::ns_value(), Content::Value { objc_type, value })
        });
    let data =
        (proptest::collection::vec(any::<u8>(), 0..40), any::<bool>()).prop_map(|(d, mutable)| {
            let class = if mutable {
                Class::ns_mutable_data()
            } else {
                Class::ns_data()
            };
            Object::new(class, Content::Data(d))
        });
    prop_oneof![
        3 => string_object().prop_map(Value::object),
        2 => number.prop_map(Value::object),
        1 => nsvalue.prop_map(Value::object),
        1 => data.prop_map(Value::object),
        1 => float(p).prop_map(|d| Value::object(Object::ns_date(d))),
        1 => Just(Value::Nil),
    ]
    .boxed()
}

/// An `@` value: a tree of Foundation and generic objects (no refs yet).
pub fn object_value(p: Profile) -> BoxedStrategy<Value> {
    leaf(p)
        .prop_recursive(4, 40, 5, move |inner| {
            // Keys are distinct NSStrings: pytypedstream keeps dictionaries in a Python dict.
            let entries = proptest::collection::vec(
                (string_object().prop_map(Value::object), inner.clone()),
                0..4,
            );
            let items = proptest::collection::vec(inner.clone(), 0..5);
            let generic_group = prop_oneof![
                2 => primitive(p).prop_map(|(e, v)| Group::new(e, vec![v])),
                2 => inner.clone().prop_map(|v| Group::new("@", vec![v])),
                1 => (any::<i32>(), inner.clone())
                    .prop_map(|(i, v)| Group::new("i@", vec![Value::Int(i.into()), v])),
            ];
            prop_oneof![
                (entries, any::<bool>()).prop_map(|(e, m)| {
                    let class = if m {
                        Class::ns_mutable_dictionary()
                    } else {
                        Class::ns_dictionary()
                    };
                    Value::object(Object::new(class, Content::Dictionary(e)))
                }),
                (items, any::<bool>()).prop_map(|(e, m)| {
                    let class = if m {
                        Class::ns_mutable_array()
                    } else {
                        Class::ns_array()
                    };
                    Value::object(Object::new(class, Content::Array(e)))
                }),
                (class(), proptest::collection::vec(generic_group, 0..4))
                    .prop_map(|(c, g)| { Value::object(Object::new(c, Content::Groups(g))) }),
            ]
        })
        .boxed()
}

/// A whole archive: a root object, maybe more top-level groups, then some `@` values turned
/// into back-references to objects met before them (ancestors included, so cycles occur).
pub fn archive(p: Profile) -> impl Strategy<Value = Archive> {
    (
        object_value(p),
        proptest::collection::vec(primitive(p), 0..3),
        any::<bool>(),
        any::<u64>(),
        // pytypedstream reads the system version unsigned, zxmpp signed: negatives differ.
        if p.pytypedstream {
            prop_oneof![Just(1000i64), 0i64..5, Just(70_000)].boxed()
        } else {
            prop_oneof![Just(1000i64), -5i64..5, Just(70_000)].boxed()
        },
    )
        .prop_map(|(root, extra, big, seed, system)| {
            let mut groups = vec![Group::new("@", vec![root])];
            groups.extend(extra.into_iter().map(|(e, v)| Group::new(e, vec![v])));
            let mut a = Archive {
                byte_order: if big {
                    ByteOrder::Big
                } else {
                    ByteOrder::Little
                },
                system_version: system,
                groups,
            };
            add_refs(&mut a, seed);
            a
        })
}

/// Replaces about one `@` value in four (after the first object) with a reference to an
/// object numbered before it, deterministically from `seed`.
fn add_refs(a: &mut Archive, seed: u64) {
    let mut st = Refs { seed, count: 0 };
    for g in &mut a.groups {
        for v in &mut g.values {
            st.walk(v);
        }
    }
}

struct Refs {
    seed: u64,
    count: u32,
}

impl Refs {
    fn next(&mut self) -> u64 {
        self.seed = self
            .seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.seed >> 33
    }

    /// An `@` position.
    fn slot(&mut self, v: &mut Value) {
        if self.count > 0 && matches!(v, Value::Object(_)) && self.next().is_multiple_of(4) {
            let target = u32::try_from(self.next() % u64::from(self.count)).unwrap();
            *v = Value::Ref(zxmpp_typedstream::ObjectId(target));
            return;
        }
        self.walk(v);
    }

    fn walk(&mut self, v: &mut Value) {
        match v {
            Value::Object(o) => {
                self.count += 1;
                match &mut o.content {
                    Content::Dictionary(e) => {
                        for (k, v) in e {
                            // Keys stay literal (see `object_value`), but are numbered.
                            self.walk(k);
                            self.slot(v);
                        }
                    }
                    Content::Array(items) => {
                        for i in items {
                            self.slot(i);
                        }
                    }
                    Content::Groups(gs) => {
                        for g in gs {
                            for v in &mut g.values {
                                self.slot(v);
                            }
                        }
                    }
                    _ => {}
                }
            }
            Value::Array(items) | Value::Struct(items) => {
                for i in items {
                    self.walk(i);
                }
            }
            _ => {}
        }
    }
}
