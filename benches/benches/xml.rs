//! Throughput of zxmpp-xml against quick-xml (raw and namespace-resolving), rxml and minidom, on
//! the mixed (~10 MB) and small-message corpora. zxmpp-xml is fed 4 KiB chunks, as from a socket.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use zxmpp_benches::{mixed, peers, small};

fn bench(c: &mut Criterion) {
    // `cargo test --benches` runs each benchmark once: keep the corpora small there.
    let size = if std::env::args().any(|a| a == "--bench") {
        10_000_000
    } else {
        200_000
    };
    for (name, corpus) in [("mixed", mixed(size)), ("small", small(size))] {
        let mut group = c.benchmark_group(format!("xml-{name}"));
        group.throughput(Throughput::Bytes(corpus.len() as u64));
        group.sample_size(10);
        group.bench_function("zxmpp-xml", |b| b.iter(|| peers::zxmpp(&corpus, 4096)));
        group.bench_function("quick-xml-raw", |b| {
            b.iter(|| peers::quick_xml_raw(&corpus))
        });
        group.bench_function("quick-xml-ns", |b| b.iter(|| peers::quick_xml_ns(&corpus)));
        group.bench_function("rxml", |b| b.iter(|| peers::rxml(&corpus)));
        group.bench_function("minidom", |b| b.iter(|| peers::minidom(&corpus)));
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
