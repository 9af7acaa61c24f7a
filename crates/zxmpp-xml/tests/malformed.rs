//! The committed malformed corpus (`tests/malformed/`, written by `make_corpus.py`): every case
//! gives the expected error kind at the expected offset, read whole and in small chunks, and none
//! panics.

mod common;

use std::path::Path;

use zxmpp_xml::{Config, Error, ErrorKind, StreamReader, parse_document};

fn kind_name(kind: &ErrorKind) -> String {
    let debug = format!("{kind:?}");
    debug
        .split(['(', ' ', '{'])
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn run(mode: &str, data: &[u8], splits: &[usize]) -> Option<Error> {
    match mode {
        "stream" => common::read_chunked(StreamReader::new(Config::default()), data, splits).1,
        "fragments" => {
            common::read_chunked(StreamReader::fragments(Config::default()), data, splits).1
        }
        "document" => parse_document(data, &Config::default()).err(),
        other => panic!("unknown mode {other}"),
    }
}

#[test]
fn malformed_corpus_gives_expected_error_kind_and_offset() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/malformed");
    let manifest = std::fs::read_to_string(dir.join("expected.tsv")).unwrap();
    let mut count = 0;
    let mut failures = Vec::new();
    for line in manifest
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let f: Vec<&str> = line.split('\t').collect();
        let (file, mode, kind, offset) = (f[0], f[1], f[2], f[3].parse::<u64>().unwrap());
        let data = std::fs::read(dir.join("cases").join(file)).unwrap();
        count += 1;
        let small = data.len() < 4096;
        let chunkings: Vec<Vec<usize>> = if mode == "document" {
            vec![vec![]]
        } else if small {
            vec![
                vec![],
                (1..data.len()).collect(),
                (1..data.len()).step_by(7).collect(),
            ]
        } else {
            vec![
                vec![],
                (1..data.len()).step_by(4096).collect(),
                (1..data.len()).step_by(65_537).collect(),
            ]
        };
        for splits in chunkings {
            let got = run(mode, &data, &splits);
            let ok = match (&got, kind) {
                (None, "Partial") => true,
                (Some(e), k) => kind_name(e.kind()) == k && e.offset() == offset,
                _ => false,
            };
            if !ok {
                failures.push(format!(
                    "{file} ({} chunks): expected {kind} at {offset}, got {got:?}",
                    splits.len() + 1
                ));
                break;
            }
        }
    }
    assert!(
        count >= 50,
        "the corpus must hold at least 50 cases, has {count}"
    );
    assert!(
        failures.is_empty(),
        "{} of {count} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
