//! Helpers shared by the integration tests: read a stream in given chunks and record what came out.

#![allow(dead_code, unreachable_pub)]

use zxmpp_xml::{Config, Error, Event, Status, StreamReader};

/// What a reader produced, owned, for comparisons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    Open {
        offset: u64,
        attrs: Vec<(String, String)>,
    },
    Restart {
        offset: u64,
        attrs: Vec<(String, String)>,
    },
    Stanza {
        offset: u64,
        bytes: Vec<u8>,
        name: String,
        ns: String,
    },
    Close,
}

/// Feeds `input` split at `splits` (sorted positions) to a reader and returns everything seen,
/// and the error if one ended the stream. Drops consumed bytes after every chunk.
pub fn read_chunked(
    reader: StreamReader,
    input: &[u8],
    splits: &[usize],
) -> (Vec<Seen>, Option<Error>) {
    read_chunked_with(reader, input, splits, false)
}

/// As [`read_chunked`]; `shrink`: call [`StreamReader::shrink_to_fit`] after every chunk, as an idle stream's
/// owner does.
pub fn read_chunked_with(
    mut reader: StreamReader,
    input: &[u8],
    splits: &[usize],
    shrink: bool,
) -> (Vec<Seen>, Option<Error>) {
    let mut seen = Vec::new();
    let mut buf = Vec::new();
    let mut last = 0;
    let mut bounds: Vec<usize> = splits
        .iter()
        .copied()
        .filter(|&s| s > 0 && s < input.len())
        .collect();
    bounds.sort_unstable();
    bounds.dedup();
    bounds.push(input.len());
    let mut max_buf = 0;
    for b in bounds {
        buf.extend_from_slice(&input[last..b]);
        last = b;
        max_buf = max_buf.max(buf.len());
        loop {
            match reader.next(&buf) {
                Ok(Status::Partial) => break,
                Ok(Status::Complete(ev)) => seen.push(own(&ev)),
                Err(e) => return (seen, Some(e)),
            }
        }
        let n = reader.discard();
        buf.drain(..n);
        if shrink {
            reader.shrink_to_fit();
        }
    }
    (seen, None)
}

pub fn read_whole(reader: StreamReader, input: &[u8]) -> (Vec<Seen>, Option<Error>) {
    read_chunked(reader, input, &[])
}

pub fn stream(input: &[u8]) -> (Vec<Seen>, Option<Error>) {
    read_whole(StreamReader::new(Config::default()), input)
}

fn own(ev: &Event<'_>) -> Seen {
    match ev {
        Event::StreamOpen(h) | Event::StreamRestart(h) => {
            let attrs = h
                .element()
                .attrs()
                .map(|a| (a.qname().to_owned(), a.value().into_owned()))
                .collect();
            let offset = h.element().offset();
            if matches!(ev, Event::StreamOpen(_)) {
                Seen::Open { offset, attrs }
            } else {
                Seen::Restart { offset, attrs }
            }
        }
        Event::Stanza(el) => Seen::Stanza {
            offset: el.offset(),
            bytes: el.as_bytes().to_vec(),
            name: el.name().to_owned(),
            ns: el.ns().to_owned(),
        },
        Event::StreamClose => Seen::Close,
        _ => panic!("unknown event"),
    }
}

pub const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
    xmlns:stream='http://etherx.jabber.org/streams' to='im.example.com' version='1.0'>";
