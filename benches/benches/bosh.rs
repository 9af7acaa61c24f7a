//! BOSH: `<body/>` parse and write throughput, and connection-manager requests handled per second in memory.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use zxmpp_bosh::{Body, CmConfig, CmSession, HttpId, Limits, Rid};

const NS: &str = "xmlns='http://jabber.org/protocol/httpbind'";

fn stanza(i: usize) -> String {
    format!(
        "<message to='contact@example.com' from='user@example.com/res' id='m{i}' type='chat' xmlns='jabber:client'>\
         <body>Message number {i}, with some text &amp; an entity.</body>\
         <active xmlns='http://jabber.org/protocol/chatstates'/></message>"
    )
}

fn body_with(n: usize) -> Vec<u8> {
    let payloads: String = (0..n).map(stanza).collect();
    format!("<body rid='1249243562' sid='SomeSID' ack='1249243561' key='bfb06a6f113cd6fd3838ab9d300fdb4fe3da2f7d' {NS}>{payloads}</body>")
        .into_bytes()
}

fn body_codec(c: &mut Criterion) {
    let limits = Limits::default();
    for (name, n) in [("3 stanzas", 3), ("100 stanzas", 100)] {
        let input = body_with(n);
        let mut group = c.benchmark_group(format!("bosh_body_parse/{name}"));
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function("zxmpp-bosh Body::parse", |b| {
            b.iter(|| {
                Body::parse(black_box(&input), &limits)
                    .unwrap()
                    .payloads
                    .len()
            })
        });
        group.bench_function("zxmpp-xml parse_document (baseline)", |b| {
            let config = zxmpp_xml::Config::default().max_stanza_size(1 << 20);
            b.iter(|| {
                zxmpp_xml::parse_document(black_box(&input), &config)
                    .unwrap()
                    .children()
                    .count()
            })
        });
        group.finish();

        let parsed = Body::parse(&input, &limits).unwrap();
        let payloads: Vec<&[u8]> = parsed.payload_bytes().collect();
        let mut group = c.benchmark_group(format!("bosh_body_write/{name}"));
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function("zxmpp-bosh Body::write", |b| {
            let mut out = Vec::with_capacity(input.len() + 64);
            b.iter(|| {
                out.clear();
                parsed.body.write(&mut out, payloads.iter().copied());
                out.len()
            })
        });
        group.finish();
    }
}

fn cm_requests(c: &mut Criterion) {
    let mut group = c.benchmark_group("bosh_cm_requests");
    group.throughput(Throughput::Elements(256));
    group.measurement_time(Duration::from_secs(3));
    let message = stanza(1);
    // One request with a stanza, answered with a stanza from upstream: the steady state of a chat.
    group.bench_function("zxmpp-bosh CmSession request+response", |b| {
        b.iter_batched(
            || {
                let now = Instant::now();
                let creation = format!(
                    "<body rid='1000' to='example.com' wait='60' hold='1' ver='1.11' ack='1' {NS}/>"
                );
                let mut cm = CmSession::accept(
                    now,
                    CmConfig::default(),
                    "S".into(),
                    [1; 32],
                    HttpId(0),
                    creation.as_bytes(),
                )
                .unwrap();
                let _ = cm.poll_transmit();
                let requests: Vec<Vec<u8>> = (1001..1001 + 256)
                    .map(|rid| {
                        let rid = Rid::new(rid).unwrap();
                        format!("<body rid='{rid}' sid='S' {NS}>{message}</body>").into_bytes()
                    })
                    .collect();
                (cm, requests, now)
            },
            |(mut cm, requests, now)| {
                for (i, request) in requests.iter().enumerate() {
                    cm.handle_request(now, HttpId(i as u64 + 1), request);
                    cm.send(now, None, message.as_bytes().to_vec()).unwrap();
                    while let Some(t) = cm.poll_transmit() {
                        let _ = black_box(t);
                    }
                    while let Some(e) = cm.poll_event() {
                        black_box(e);
                    }
                }
                cm
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, body_codec, cm_requests);
criterion_main!(benches);
