//! The captured iChat invitation (1064-byte binary plist): zxmpp-vc's full decode (binary plist →
//! typed invitation → VCICEData typedstream → SIP-ICE blob) plus byte-identical re-encode, against
//! the `plist` crate reading and writing the same file (which stops at the plist layer and does
//! not give the same bytes back).
//!
//! `encode` writes an unchanged decoded invitation back as the bytes it was read from (after
//! checking the model against the decoded dictionary); `encode_authored` lays the plist and the
//! typedstream out anew, which is what any changed invitation costs.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::io::Cursor;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const INVITE: &[u8] = include_bytes!("../data/invite-seed.bplist");

fn invitation(c: &mut Criterion) {
    // Check the contract once before timing it.
    let inv = zxmpp_vc::Invitation::decode(INVITE).unwrap();
    assert_eq!(inv.encode().unwrap(), INVITE);
    assert_eq!(inv.encode_authored().unwrap(), INVITE);

    let mut g = c.benchmark_group("vc_invitation_roundtrip");
    g.throughput(Throughput::Bytes(INVITE.len() as u64));
    g.bench_function("zxmpp-vc decode+encode (byte-identical)", |b| {
        b.iter(|| {
            let inv = zxmpp_vc::Invitation::decode(black_box(INVITE)).unwrap();
            black_box(inv.encode().unwrap())
        });
    });
    g.bench_function("zxmpp-vc decode+encode_authored (laid out anew)", |b| {
        b.iter(|| {
            let inv = zxmpp_vc::Invitation::decode(black_box(INVITE)).unwrap();
            black_box(inv.encode_authored().unwrap())
        });
    });
    g.bench_function("zxmpp-vc decode only", |b| {
        b.iter(|| black_box(zxmpp_vc::Invitation::decode(black_box(INVITE)).unwrap()));
    });
    g.bench_function("plist crate read+write", |b| {
        b.iter(|| {
            let v = plist::Value::from_reader(Cursor::new(black_box(INVITE))).unwrap();
            let mut out = Vec::with_capacity(INVITE.len());
            v.to_writer_binary(&mut out).unwrap();
            black_box(out)
        });
    });
    g.finish();

    let blob = &INVITE[0x64 + 0xe1..0x64 + 0x209];
    let mut g = c.benchmark_group("vc_sip_ice_roundtrip");
    g.throughput(Throughput::Bytes(blob.len() as u64));
    g.bench_function("zxmpp-vc SipIce decode+encode", |b| {
        b.iter(|| {
            let s = zxmpp_vc::SipIce::decode(black_box(blob)).unwrap();
            black_box(s.to_bytes())
        });
    });
    g.finish();
}

criterion_group!(benches, invitation);
criterion_main!(benches);
