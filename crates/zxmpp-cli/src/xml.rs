//! `zxmpp xml frame`: split an XMPP stream into stanzas.

use std::io::{Read, Write};
use std::path::PathBuf;

use clap::Subcommand;
use serde::Serialize;
use zxmpp_xml::{Config, ErrorKind, Event, Status, StreamReader};

use crate::Failure;

/// XMPP stream tools.
#[derive(Debug, Subcommand)]
pub(crate) enum XmlCommand {
    /// Splits an XMPP stream into stanzas: one line per stanza with byte offset, length, name and
    /// namespace. Reads a stream with its `<stream:stream>` header, or a plain sequence of stanzas.
    Frame {
        /// The captured stream; `-` or nothing for standard input.
        #[arg(default_value = "-")]
        file: PathBuf,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(cmd: XmlCommand) -> Result<(), Failure> {
    match cmd {
        XmlCommand::Frame { file, json } => frame(&file, json),
    }
}

/// One line of output.
#[derive(Debug, Serialize)]
struct Line {
    offset: u64,
    length: usize,
    event: &'static str,
    name: String,
    namespace: String,
}

fn open(file: &std::path::Path) -> Result<Box<dyn Read>, Failure> {
    if file.as_os_str() == "-" {
        Ok(Box::new(std::io::stdin()))
    } else {
        std::fs::File::open(file)
            .map(|f| Box::new(f) as Box<dyn Read>)
            .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", file.display())))
    }
}

fn frame(file: &std::path::Path, json: bool) -> Result<(), Failure> {
    let mut input = open(file)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if !json {
        writeln!(
            out,
            "{:>10} {:>8}  {:<28} namespace",
            "offset", "length", "name"
        )
        .map_err(write_failed)?;
    }
    let mut reader = StreamReader::new(Config::default());
    let mut buf: Vec<u8> = Vec::new();
    // Stream offset of buf[0]: what has been discarded so far.
    let mut dropped: u64 = 0;
    let mut chunk = vec![0u8; 64 * 1024];
    let mut any_event = false;
    let mut eof = false;
    loop {
        loop {
            let before = reader.offset();
            let line = match reader.next(&buf) {
                Ok(Status::Complete(event)) => describe(&event, &buf, before - dropped, dropped),
                Ok(Status::Partial) => break,
                // No stream header: read the input as a sequence of stanzas instead. Nothing
                // has been discarded before the first event, so the reader starts over.
                Err(e) if !any_event && matches!(e.kind(), ErrorKind::NotAStreamHeader(_)) => {
                    reader = StreamReader::fragments(Config::default());
                    continue;
                }
                Err(e) => {
                    out.flush().map_err(write_failed)?;
                    return Err(Failure::Invalid(format!("invalid XML stream: {e}")));
                }
            };
            any_event = true;
            print_line(&mut out, &line, json)?;
        }
        if eof {
            break;
        }
        if any_event {
            let n = reader.discard();
            buf.drain(..n);
            dropped += n as u64;
        }
        let read = input
            .read(&mut chunk)
            .map_err(|e| Failure::Usage(format!("cannot read input: {e}")))?;
        eof = read == 0;
        buf.extend_from_slice(&chunk[..read]);
    }
    out.flush().map_err(write_failed)?;
    let pending = usize::try_from(reader.offset() - dropped).unwrap_or(usize::MAX);
    if !reader.is_between_stanzas()
        || buf
            .get(pending..)
            .is_some_and(|rest| rest.iter().any(|b| !b.is_ascii_whitespace()))
    {
        return Err(Failure::Invalid(format!(
            "the input ends inside a stanza or tag (at byte {})",
            reader.offset()
        )));
    }
    if !any_event {
        return Err(Failure::Invalid("no XML in the input".to_owned()));
    }
    Ok(())
}

fn describe(event: &Event<'_>, buf: &[u8], from: u64, dropped: u64) -> Line {
    match event {
        Event::StreamOpen(h) | Event::StreamRestart(h) => Line {
            offset: h.element().offset(),
            length: h.element().as_bytes().len(),
            event: if matches!(event, Event::StreamOpen(_)) {
                "stream-open"
            } else {
                "stream-restart"
            },
            name: h.element().qname().to_owned(),
            namespace: h.element().ns().to_owned(),
        },
        Event::Stanza(el) => Line {
            offset: el.offset(),
            length: el.as_bytes().len(),
            event: "stanza",
            name: el.qname().to_owned(),
            namespace: el.ns().to_owned(),
        },
        _ => {
            // The close tag is what the reader consumed after any whitespace.
            let from = usize::try_from(from).unwrap_or(usize::MAX);
            let region = buf.get(from..).unwrap_or_default();
            let skip = region
                .iter()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
            let len = region
                .get(skip..)
                .and_then(|r| r.iter().position(|&b| b == b'>'))
                .map_or(0, |p| p + 1);
            Line {
                offset: dropped + (from + skip) as u64,
                length: len,
                event: "stream-close",
                name: String::new(),
                namespace: String::new(),
            }
        }
    }
}

fn print_line(out: &mut impl Write, line: &Line, json: bool) -> Result<(), Failure> {
    if json {
        let text = serde_json::to_string(line)
            .map_err(|e| Failure::Usage(format!("cannot write JSON: {e}")))?;
        writeln!(out, "{text}").map_err(write_failed)
    } else {
        let name = match line.event {
            "stream-open" => format!("<{}> (stream open)", line.name),
            "stream-restart" => format!("<{}> (restart)", line.name),
            "stream-close" => "(stream close)".to_owned(),
            _ => line.name.clone(),
        };
        writeln!(
            out,
            "{:>10} {:>8}  {:<28} {}",
            line.offset, line.length, name, line.namespace
        )
        .map_err(write_failed)
    }
}

fn write_failed(e: std::io::Error) -> Failure {
    Failure::Usage(format!("cannot write output: {e}"))
}
