//! A load-robust companion to the `caps` criterion bench for shared machines: runs zxmpp-caps and
//! xmpp-parsers (parse + XEP-0390 sha-256 hash of the XEP-0390 complex example) in alternating batches and
//! reports the *fastest* batch of each, which other jobs on the machine can only slow down, never speed up.
//!
//! Run: `cargo run --release -p zxmpp-benches --example caps-timing`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use xmpp_parsers::disco::DiscoInfoResult;
use xmpp_parsers::hashes::Algo;
use zxmpp_caps::{Algorithm, DiscoInfo, xep0390};

const COMPLEX: &str = include_str!("../../crates/zxmpp-caps/tests/data/xep0390-complex.xml");

fn zxmpp() -> usize {
    let info = DiscoInfo::parse(black_box(COMPLEX.as_bytes())).unwrap();
    xep0390::hash(&info, &Algorithm::Sha256)
        .unwrap()
        .as_bytes()
        .len()
}

fn parsers() -> usize {
    let elem: minidom::Element = black_box(COMPLEX).parse().unwrap();
    let disco = DiscoInfoResult::try_from(elem).unwrap();
    let input = xmpp_parsers::ecaps2::compute_disco(&disco).unwrap();
    xmpp_parsers::ecaps2::hash_ecaps2(&input, Algo::Sha_256)
        .unwrap()
        .hash
        .len()
}

fn doc_only() -> usize {
    zxmpp_xml::parse_document(black_box(COMPLEX.as_bytes()), &zxmpp_xml::Config::default())
        .unwrap()
        .name()
        .len()
}

fn walk_only() -> usize {
    let root =
        zxmpp_xml::parse_document(black_box(COMPLEX.as_bytes()), &zxmpp_xml::Config::default())
            .unwrap();
    root.children().count()
}

fn parse_only() -> usize {
    DiscoInfo::parse(black_box(COMPLEX.as_bytes()))
        .unwrap()
        .features
        .len()
}

fn batch(f: fn() -> usize, n: u32) -> Duration {
    let t = Instant::now();
    for _ in 0..n {
        black_box(f());
    }
    t.elapsed() / n
}

fn main() {
    let (mut best_z, mut best_p) = (Duration::MAX, Duration::MAX);
    let (mut d, mut w, mut p) = (Duration::MAX, Duration::MAX, Duration::MAX);
    for _ in 0..200 {
        d = d.min(batch(doc_only, 20));
        w = w.min(batch(walk_only, 20));
        p = p.min(batch(parse_only, 20));
    }
    println!(
        "breakdown: parse_document {:.2} µs, + children() walk {:.2} µs, DiscoInfo::parse {:.2} µs",
        d.as_secs_f64() * 1e6,
        w.as_secs_f64() * 1e6,
        p.as_secs_f64() * 1e6
    );
    for _ in 0..200 {
        best_z = best_z.min(batch(zxmpp, 20));
        best_p = best_p.min(batch(parsers, 20));
    }
    println!(
        "xep0390 complex, parse + sha-256 ({} bytes), fastest batch of 20:",
        COMPLEX.len()
    );
    println!("  zxmpp-caps    {:>8.2} µs", best_z.as_secs_f64() * 1e6);
    println!("  xmpp-parsers  {:>8.2} µs", best_p.as_secs_f64() * 1e6);
    println!(
        "  ratio         {:>8.2}x",
        best_p.as_secs_f64() / best_z.as_secs_f64()
    );
}
