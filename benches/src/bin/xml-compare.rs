//! Compares zxmpp-xml with the other Rust XML parsers in one process, on the mixed and small
//! corpora: best of several runs each, one line per peer and corpus, `PEER CORPUS MB/s RATIO`,
//! where RATIO is zxmpp-xml's throughput divided by the peer's.
//!
//! ```sh
//! cargo run --release -p zxmpp-benches --bin xml-compare [-- --runs N --mb SIZE --peer P --corpus C]
//! ```

use std::time::{Duration, Instant};

use zxmpp_benches::{Corpus, mixed, peers, small};

fn best(runs: usize, mut f: impl FnMut() -> usize) -> (Duration, usize) {
    let mut best = Duration::MAX;
    let mut items = 0;
    for _ in 0..runs {
        let t = Instant::now();
        items = std::hint::black_box(f());
        best = best.min(t.elapsed());
    }
    (best, items)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: usize| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let runs = arg("--runs", 7);
    // `--peer NAME` runs one peer only (for profilers); ratios are then against that peer.
    let only = args
        .iter()
        .position(|a| a == "--peer")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let mb = arg("--mb", 10);
    // `--corpus NAME` reads one corpus only (for profilers).
    let corpus_only = args
        .iter()
        .position(|a| a == "--corpus")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let corpora: Vec<(&str, Corpus)> = [
        ("mixed", mixed as fn(usize) -> Corpus),
        ("small", small as fn(usize) -> Corpus),
    ]
    .into_iter()
    .filter(|(name, _)| corpus_only.as_deref().is_none_or(|c| c == *name))
    .map(|(name, make)| (name, make(mb * 1_000_000)))
    .collect();
    println!(
        "# {runs} runs each, best taken; zxmpp-xml fed in 4 KiB chunks, peers given the whole buffer"
    );
    println!(
        "{:<14} {:<7} {:>9} {:>7}",
        "PEER", "CORPUS", "MB/s", "RATIO"
    );
    for (name, corpus) in &corpora {
        let mbytes = corpus.len() as f64 / 1e6;
        let wanted = |peer: &str| only.as_deref().is_none_or(|o| o == peer);
        let ours = if wanted("zxmpp-xml") {
            let (t, stanzas) = best(runs, || peers::zxmpp(corpus, 4096));
            assert_eq!(
                stanzas,
                corpus.stanzas.len(),
                "zxmpp-xml must frame every stanza"
            );
            t
        } else {
            Duration::from_secs(1)
        };
        let ours_mbs = mbytes / ours.as_secs_f64();
        type Peer<'a> = (&'static str, Box<dyn Fn() -> usize + 'a>);
        let others: [Peer<'_>; 4] = [
            ("quick-xml-raw", Box::new(|| peers::quick_xml_raw(corpus))),
            ("quick-xml-ns", Box::new(|| peers::quick_xml_ns(corpus))),
            ("rxml", Box::new(|| peers::rxml(corpus))),
            ("minidom", Box::new(|| peers::minidom(corpus))),
        ];
        let mut results = vec![("zxmpp-xml", ours)];
        for (peer, f) in &others {
            if wanted(peer) {
                results.push((
                    peer,
                    best(
                        if *peer == "minidom" {
                            runs.min(3)
                        } else {
                            runs
                        },
                        f,
                    )
                    .0,
                ));
            }
        }
        for (peer, t) in results.into_iter().filter(|(p, _)| wanted(p)) {
            let mbs = mbytes / t.as_secs_f64();
            println!("{peer:<14} {name:<7} {mbs:>9.1} {:>7.2}", ours_mbs / mbs);
        }
    }
}
