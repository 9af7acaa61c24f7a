//! A load-robust companion to the `vc` criterion bench for shared machines: zxmpp-vc's decode of the
//! captured iChat invitation (binary plist → invitation → typedstream → SIP-ICE) plus its byte-identical
//! re-encode, against the `plist` crate's read + write of the same file, in alternating batches; the
//! fastest batch of each is kept, since other jobs on the machine can only slow a batch down.
//!
//! Run: `cargo run --release -p zxmpp-benches --example vc-timing`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::io::Cursor;
use std::time::{Duration, Instant};

const INVITE: &[u8] = include_bytes!("../data/invite-seed.bplist");

fn zxmpp() -> usize {
    let inv = zxmpp_vc::Invitation::decode(black_box(INVITE)).unwrap();
    inv.encode().unwrap().len()
}

fn zxmpp_authored() -> usize {
    let inv = zxmpp_vc::Invitation::decode(black_box(INVITE)).unwrap();
    inv.encode_authored().unwrap().len()
}

fn plist_crate() -> usize {
    let v = plist::Value::from_reader(Cursor::new(black_box(INVITE))).unwrap();
    let mut out = Vec::with_capacity(INVITE.len());
    v.to_writer_binary(&mut out).unwrap();
    out.len()
}

fn batch(f: fn() -> usize, n: u32) -> Duration {
    let t = Instant::now();
    for _ in 0..n {
        black_box(f());
    }
    t.elapsed() / n
}

fn main() {
    // The contract first: both zxmpp paths give Apple's bytes back.
    let inv = zxmpp_vc::Invitation::decode(INVITE).unwrap();
    assert_eq!(inv.encode().unwrap(), INVITE);
    assert_eq!(inv.encode_authored().unwrap(), INVITE);
    let (mut z, mut a, mut p) = (Duration::MAX, Duration::MAX, Duration::MAX);
    for _ in 0..300 {
        z = z.min(batch(zxmpp, 50));
        a = a.min(batch(zxmpp_authored, 50));
        p = p.min(batch(plist_crate, 50));
    }
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!("1064-byte iChat invitation, fastest batch of 50:");
    println!(
        "  zxmpp-vc decode + encode (byte-identical)   {:>8.2} µs",
        us(z)
    );
    println!(
        "  zxmpp-vc decode + encode_authored           {:>8.2} µs",
        us(a)
    );
    println!(
        "  plist crate read + write                    {:>8.2} µs",
        us(p)
    );
    println!(
        "  ratio (plist crate / zxmpp-vc)              {:>8.2}x",
        p.as_secs_f64() / z.as_secs_f64()
    );
}
