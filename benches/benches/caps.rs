//! Parse + hash of the XEP-0390 complex example (a real Tkabber disco#info reply, 2.6 KiB): zxmpp-caps
//! against xmpp-parsers 0.23 (minidom parse, `DiscoInfoResult`, `compute_disco` and `hash_ecaps2` /
//! `hash_caps`), in the same group. Both results are checked against the spec before timing.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use xmpp_parsers::disco::DiscoInfoResult;
use xmpp_parsers::hashes::Algo;
use zxmpp_caps::{Algorithm, DiscoInfo, xep0115, xep0390};

const COMPLEX: &str = include_str!("../../crates/zxmpp-caps/tests/data/xep0390-complex.xml");
/// XEP-0390 §4.5.2.
const XEP0390_SHA256: &str = "u79ZroNJbdSWhdSp311mddz44oHHPsEBntQ5b1jqBSY=";
/// The XEP-0115 §5.3 example (xmpp-parsers gets the XEP-0390 complex example wrong under XEP-0115, since
/// it does not sort form fields; see docs/caps.md).
const PSI: &str = include_str!("../../crates/zxmpp-caps/tests/data/xep0115-complex.xml");
/// XEP-0115 §5.3.
const XEP0115_SHA1: &str = "q07IKJEyjvHSyhy//CH0CxmKi8w=";

fn zxmpp_0390(bytes: &[u8]) -> [u8; 32] {
    let info = DiscoInfo::parse(bytes).unwrap();
    xep0390::hash(&info, &Algorithm::Sha256)
        .unwrap()
        .as_bytes()
        .try_into()
        .unwrap()
}

fn zxmpp_0115(bytes: &[u8]) -> [u8; 20] {
    let info = DiscoInfo::parse(bytes).unwrap();
    xep0115::ver(&info, &Algorithm::Sha1)
        .unwrap()
        .as_bytes()
        .try_into()
        .unwrap()
}

fn parsers_0390(text: &str) -> Vec<u8> {
    let elem: minidom::Element = text.parse().unwrap();
    let disco = DiscoInfoResult::try_from(elem).unwrap();
    let input = xmpp_parsers::ecaps2::compute_disco(&disco).unwrap();
    xmpp_parsers::ecaps2::hash_ecaps2(&input, Algo::Sha_256)
        .unwrap()
        .hash
}

fn parsers_0115(text: &str) -> Vec<u8> {
    let elem: minidom::Element = text.parse().unwrap();
    let disco = DiscoInfoResult::try_from(elem).unwrap();
    let input = xmpp_parsers::caps::compute_disco(&disco);
    xmpp_parsers::caps::hash_caps(&input, Algo::Sha_1)
        .unwrap()
        .hash
}

fn bench(c: &mut Criterion) {
    assert_eq!(
        STANDARD.encode(zxmpp_0390(COMPLEX.as_bytes())),
        XEP0390_SHA256
    );
    assert_eq!(STANDARD.encode(parsers_0390(COMPLEX)), XEP0390_SHA256);
    assert_eq!(STANDARD.encode(zxmpp_0115(PSI.as_bytes())), XEP0115_SHA1);
    assert_eq!(STANDARD.encode(parsers_0115(PSI)), XEP0115_SHA1);

    let mut g = c.benchmark_group("caps_xep0390_complex_parse_hash");
    g.throughput(Throughput::Bytes(COMPLEX.len() as u64));
    g.bench_function("zxmpp-caps", |b| {
        b.iter(|| zxmpp_0390(black_box(COMPLEX.as_bytes())))
    });
    g.bench_function("xmpp-parsers", |b| {
        b.iter(|| parsers_0390(black_box(COMPLEX)))
    });
    g.finish();

    // Where zxmpp's time goes: the parse alone, the hash of an already parsed reply alone.
    let mut g = c.benchmark_group("caps_xep0390_complex_breakdown");
    g.throughput(Throughput::Bytes(COMPLEX.len() as u64));
    g.bench_function("zxmpp-caps parse", |b| {
        b.iter(|| DiscoInfo::parse(black_box(COMPLEX.as_bytes())).unwrap())
    });
    let parsed = DiscoInfo::parse(COMPLEX.as_bytes()).unwrap();
    g.bench_function("zxmpp-caps hash", |b| {
        b.iter(|| xep0390::hash(black_box(&parsed), &Algorithm::Sha256).unwrap())
    });
    g.bench_function("zxmpp-xml parse_document", |b| {
        b.iter(|| {
            zxmpp_xml::parse_document(black_box(COMPLEX.as_bytes()), &zxmpp_xml::Config::default())
                .unwrap()
                .name()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("caps_xep0115_psi_parse_hash");
    g.throughput(Throughput::Bytes(PSI.len() as u64));
    g.bench_function("zxmpp-caps", |b| {
        b.iter(|| zxmpp_0115(black_box(PSI.as_bytes())))
    });
    g.bench_function("xmpp-parsers", |b| b.iter(|| parsers_0115(black_box(PSI))));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
