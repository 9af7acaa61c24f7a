//! zxmpp-typedstream: decode and encode throughput on the iChat VCICEData sample and on a
//! larger synthetic archive (an NSArray of 500 small dictionaries sharing their keys).
//! No Rust peer is benchmarked: the one crates.io typedstream reader (crabstep) is GPL-3.0.

#![allow(clippy::expect_used, missing_docs)] // benchmark harness: inputs are known good

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use zxmpp_typedstream::{Archive, Object, ObjectId, Value, decode, encode};

const VCICEDATA: &[u8] =
    include_bytes!("../../crates/zxmpp-typedstream/tests/data/vcicedata-seed.typedstream");

fn synthetic() -> Vec<u8> {
    // Object ids: the array is #0; the first dictionary is #1 and its two keys #2 and #4.
    let mut items = Vec::new();
    for i in 0..500 {
        let (k1, k2) = if i == 0 {
            (
                Value::object(Object::ns_string("address")),
                Value::object(Object::ns_string("port")),
            )
        } else {
            (Value::Ref(ObjectId(2)), Value::Ref(ObjectId(4)))
        };
        items.push(Value::object(Object::ns_mutable_dictionary(vec![
            (
                k1,
                Value::object(Object::ns_string(format!("192.168.1.{}", i % 256))),
            ),
            (k2, Value::object(Object::ns_number_i32(16402 + i))),
        ])));
    }
    encode(&Archive::with_root(Value::object(Object::ns_array(items)))).expect("encodes")
}

fn bench(c: &mut Criterion) {
    let big = synthetic();
    let mut g = c.benchmark_group("typedstream");
    for (name, bytes) in [("vcicedata", VCICEDATA), ("array500", big.as_slice())] {
        let archive = decode(bytes).expect("decodes");
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function(format!("decode/{name}"), |b| {
            b.iter(|| decode(black_box(bytes)).expect("decodes"));
        });
        g.bench_function(format!("encode/{name}"), |b| {
            b.iter(|| encode(black_box(&archive)).expect("encodes"));
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
