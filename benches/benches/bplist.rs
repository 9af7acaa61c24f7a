//! Binary plist reading and writing: zxmpp-bplist against the `plist` crate, on Apple's
//! 1064-byte iChat invitation and on a larger generated document.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)] // bench code

use std::hint::black_box;
use std::io::Cursor;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use zxmpp_bplist::plist::{Dictionary, Value};
use zxmpp_bplist::{Document, to_vec_apple};

const SEED: &[u8] = include_bytes!("../../crates/zxmpp-bplist/tests/data/invite-seed.bplist");

/// 2 000 dictionaries of mixed scalars, as CoreFoundation lays them out.
fn large() -> Vec<u8> {
    let items = (0..2000i64)
        .map(|i| {
            let mut d = Dictionary::new();
            d.insert("id".into(), Value::Integer(i.into()));
            d.insert("name".into(), Value::String(format!("user{i}@example.org")));
            d.insert("online".into(), Value::Boolean(i % 3 == 0));
            d.insert("score".into(), Value::Real(i as f64 / 7.0));
            d.insert("blob".into(), Value::Data(vec![i as u8; 32]));
            Value::Dictionary(d)
        })
        .collect();
    to_vec_apple(&Value::Array(items)).unwrap()
}

fn read(c: &mut Criterion) {
    let large = large();
    for (name, input) in [("seed", SEED), ("large", large.as_slice())] {
        let mut g = c.benchmark_group(format!("bplist_read/{name}"));
        g.throughput(Throughput::Bytes(input.len() as u64));
        g.bench_function("zxmpp_document_parse", |b| {
            b.iter(|| Document::parse(black_box(input)).unwrap())
        });
        g.bench_function("zxmpp_parse_to_value", |b| {
            b.iter(|| zxmpp_bplist::from_slice(black_box(input)).unwrap())
        });
        g.bench_function("plist_crate_from_reader", |b| {
            b.iter(|| Value::from_reader(Cursor::new(black_box(input))).unwrap())
        });
        g.finish();
    }
}

fn write(c: &mut Criterion) {
    let large = large();
    for (name, input) in [("seed", SEED), ("large", large.as_slice())] {
        let doc = Document::parse(input).unwrap();
        let value = doc.to_value().unwrap();
        let mut g = c.benchmark_group(format!("bplist_write/{name}"));
        g.throughput(Throughput::Bytes(input.len() as u64));
        g.bench_function("zxmpp_document_to_vec", |b| {
            b.iter(|| black_box(&doc).to_vec())
        });
        g.bench_function("zxmpp_to_vec_apple", |b| {
            b.iter(|| to_vec_apple(black_box(&value)).unwrap())
        });
        g.bench_function("plist_crate_to_writer_binary", |b| {
            b.iter(|| {
                let mut out = Vec::with_capacity(input.len());
                black_box(&value).to_writer_binary(&mut out).unwrap();
                out
            })
        });
        g.finish();
    }
}

criterion_group!(benches, read, write);
criterion_main!(benches);
