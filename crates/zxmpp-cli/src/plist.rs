//! `zxmpp plist convert FORMAT [-o OUT] FILE|-`: converts a property list like macOS
//! `plutil -convert`.
//!
//! Input is a binary plist (read with its layout kept) or an XML (or OpenStep text) plist.
//! `binary1` writes CoreFoundation's layout: a binary input that already has a CoreFoundation
//! layout (every Apple-written file) is written back byte for byte, anything else is laid out
//! from its value as CoreFoundation does. `json` writes compact JSON, and like plutil refuses
//! plists holding data, dates, UIDs or non-finite reals, or whose root is not a dictionary or an
//! array.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use zxmpp_bplist::plist::Value;
use zxmpp_bplist::{Document, to_vec_apple};

use crate::Failure;
use crate::input::{read_input, write_output};

/// Arguments of `zxmpp plist`.
#[derive(Debug, Args)]
pub(crate) struct PlistArgs {
    #[command(subcommand)]
    command: PlistCommand,
}

#[derive(Debug, Subcommand)]
enum PlistCommand {
    /// Converts a property list to another format, like `plutil -convert`.
    Convert(ConvertArgs),
}

#[derive(Debug, Args)]
struct ConvertArgs {
    /// Output format.
    format: Format,
    /// Where to write (`-` for standard output). Without it the input file is converted in
    /// place, or standard output is used when the input is `-`.
    #[arg(short = 'o', value_name = "OUT")]
    output: Option<PathBuf>,
    /// The property list to read (`-` for standard input).
    #[arg(value_name = "FILE|-")]
    input: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// XML property list.
    Xml1,
    /// Binary property list in CoreFoundation's layout.
    Binary1,
    /// JSON (no data, dates or UIDs).
    Json,
}

/// Runs `zxmpp plist …`.
pub(crate) fn run(args: PlistArgs) -> Result<(), Failure> {
    match args.command {
        PlistCommand::Convert(args) => convert(args),
    }
}

/// What was read: a binary plist keeps its document, anything else is only a value.
enum Source {
    Binary(Document),
    Text(Value),
}

fn convert(args: ConvertArgs) -> Result<(), Failure> {
    let name = args.input.display().to_string();
    let data = read_input(&args.input)?;
    let source = read_plist(&data).map_err(|e| Failure::Invalid(format!("{name}: {e}")))?;
    let bytes = match args.format {
        Format::Binary1 => match &source {
            Source::Binary(doc) if doc.is_cf_layout() => doc.to_vec(),
            _ => to_vec_apple(&value_of(&source, &name)?)
                .map_err(|e| Failure::Invalid(format!("{name}: {e}")))?,
        },
        Format::Xml1 => {
            let mut out = Vec::new();
            value_of(&source, &name)?
                .to_writer_xml(&mut out)
                .map_err(|e| Failure::Invalid(format!("{name}: cannot write XML: {e}")))?;
            out.push(b'\n');
            out
        }
        Format::Json => {
            let value = value_of(&source, &name)?;
            if !matches!(value, Value::Array(_) | Value::Dictionary(_)) {
                return Err(Failure::Invalid(format!(
                    "{name}: invalid object in plist for destination format (JSON needs a dictionary or an array at the root)"
                )));
            }
            let mut out = String::new();
            write_json(&value, &mut out).map_err(|what| {
                Failure::Invalid(format!(
                    "{name}: invalid object in plist for destination format ({what} cannot be JSON)"
                ))
            })?;
            out.into_bytes()
        }
    };
    let output = match (&args.output, args.input.as_os_str() == "-") {
        (Some(out), _) => out.clone(),
        (None, true) => PathBuf::from("-"),
        (None, false) => args.input.clone(),
    };
    write_output(&output, &bytes)
}

fn read_plist(data: &[u8]) -> Result<Source, String> {
    if data.starts_with(b"bplist") {
        return Document::parse(data)
            .map(Source::Binary)
            .map_err(|e| format!("invalid binary plist: {e}"));
    }
    Value::from_reader(std::io::Cursor::new(data))
        .map(Source::Text)
        .map_err(|e| format!("invalid property list: {e}"))
}

fn value_of(source: &Source, name: &str) -> Result<Value, Failure> {
    match source {
        Source::Binary(doc) => doc
            .to_value()
            .map_err(|e| Failure::Invalid(format!("{name}: {e}"))),
        Source::Text(value) => Ok(value.clone()),
    }
}

/// Writes `value` as compact JSON; returns the kind of value JSON cannot hold, if any.
fn write_json(value: &Value, out: &mut String) -> Result<(), &'static str> {
    match value {
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Integer(i) => out.push_str(&i.to_string()),
        Value::Real(x) if x.is_finite() => out.push_str(&format!("{x:?}")),
        Value::Real(_) => return Err("a non-finite real"),
        Value::String(s) => push_json_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out)?;
            }
            out.push(']');
        }
        Value::Dictionary(dict) => {
            out.push('{');
            for (i, (k, v)) in dict.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_json_string(k, out);
                out.push(':');
                write_json(v, out)?;
            }
            out.push('}');
        }
        Value::Data(_) => return Err("data"),
        Value::Date(_) => return Err("a date"),
        Value::Uid(_) => return Err("a UID"),
        _ => return Err("an unknown value"),
    }
    Ok(())
}

fn push_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}
