//! Snapshot + encode + decode + restore of a realistic client after every event: online over BOSH with two
//! unanswered requests, a roster of 200 items with its version, 500 verified caps cache entries, 50 stanzas
//! awaiting XEP-0198 acknowledgement (plus 5 queued), 5 pending iqs. JSON and binary (postcard) in one group,
//! plus the atomic file save (write, fsync, rename, fsync of the directory) of the binary snapshot.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use zxmpp_client::Client;
use zxmpp_state::{ClientSnapshot, Encoding, FileStore};

#[path = "../../crates/zxmpp-state/tests/common/realistic.rs"]
mod realistic;

fn client(now: Instant) -> Client {
    let snapshot = realistic::snapshot(now, 200, 500, 50, 2);
    Client::restore(snapshot, Some("r0m30myr0m30".into()), now).unwrap()
}

fn cycle(client: &Client, encoding: Encoding, now: Instant) -> Client {
    let bytes = client.snapshot().encode(encoding).unwrap();
    let snapshot = ClientSnapshot::decode(&bytes).unwrap();
    Client::restore(snapshot, Some("r0m30myr0m30".into()), now).unwrap()
}

fn bench(c: &mut Criterion) {
    let now = Instant::now();
    let client = client(now);
    // Sanity: the cycle keeps everything.
    let back = cycle(&client, Encoding::Binary, now);
    assert_eq!(back.roster().items.len(), 200);
    assert_eq!(back.caps_cache().len(), 500);
    assert_eq!(back.unacked(), 50);
    assert_eq!(back.snapshot(), client.snapshot());

    let mut group = c.benchmark_group("state");
    for (name, encoding) in [("json", Encoding::Json), ("binary", Encoding::Binary)] {
        let size = client.snapshot().encode(encoding).unwrap().len();
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(format!("snapshot+encode+decode+restore/{name}"), |b| {
            b.iter(|| black_box(cycle(black_box(&client), encoding, now)));
        });
        group.bench_function(format!("snapshot+encode/{name}"), |b| {
            b.iter(|| black_box(client.snapshot().encode(encoding).unwrap()));
        });
        let bytes = client.snapshot().encode(encoding).unwrap();
        group.bench_function(format!("decode+restore/{name}"), |b| {
            b.iter(|| {
                let s = ClientSnapshot::decode(black_box(&bytes)).unwrap();
                black_box(Client::restore(s, None, now).unwrap())
            });
        });
    }
    let dir = std::env::temp_dir().join(format!("zxmpp-state-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = FileStore::new(dir.join("client.snapshot"), Encoding::Binary);
    let snapshot = client.snapshot();
    group.throughput(Throughput::Bytes(
        snapshot.encode(Encoding::Binary).unwrap().len() as u64,
    ));
    group.sample_size(20);
    group.bench_function("file-save-fsync/binary", |b| {
        b.iter(|| store.save(black_box(&snapshot)).unwrap());
    });
    group.finish();
    std::fs::remove_dir_all(&dir).ok();
}

criterion_group!(benches, bench);
criterion_main!(benches);
