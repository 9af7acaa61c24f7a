//! `zxmpp typedstream decode [FILE|-] [--json]`: shows the object graph of an NSArchiver archive.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::{Map, Value as Json, json};
use zxmpp_typedstream::{Archive, ByteOrder, Class, Content, Group, Object, Value};

use crate::Failure;
use crate::input::read_input;

/// The `typedstream` command's arguments.
#[derive(Debug, Args)]
pub(crate) struct TypedstreamArgs {
    #[command(subcommand)]
    command: TypedstreamCommand,
}

#[derive(Debug, Subcommand)]
enum TypedstreamCommand {
    /// Shows the object graph of an NSArchiver archive (a typedstream).
    Decode {
        /// The archive; `-` or nothing reads standard input.
        file: Option<PathBuf>,
        /// Prints JSON instead of the readable tree.
        #[arg(long)]
        json: bool,
    },
}

/// Runs the `typedstream` command.
pub(crate) fn run(args: TypedstreamArgs) -> Result<(), Failure> {
    match args.command {
        TypedstreamCommand::Decode { file, json } => {
            let path = file.unwrap_or_else(|| PathBuf::from("-"));
            let bytes = read_input(&path)?;
            let archive = zxmpp_typedstream::decode(&bytes)
                .map_err(|e| Failure::Invalid(format!("invalid typedstream: {e}")))?;
            if json {
                let text = serde_json::to_string_pretty(&archive_json(&archive))
                    .map_err(|e| Failure::Usage(format!("cannot format JSON: {e}")))?;
                println!("{text}");
            } else {
                print!("{archive}");
            }
            Ok(())
        }
    }
}

/// The JSON view: header facts, then each group with its values; objects carry their
/// number (`id`), class chain with versions and a `kind`; back-references are `{"ref": id}`.
pub(crate) fn archive_json(a: &Archive) -> Json {
    let mut next_id = 0u32;
    json!({
        "byte_order": match a.byte_order { ByteOrder::Little => "little", ByteOrder::Big => "big" },
        "system_version": a.system_version,
        "groups": a.groups.iter().map(|g| group_json(g, &mut next_id)).collect::<Vec<_>>(),
    })
}

fn group_json(g: &Group, next_id: &mut u32) -> Json {
    json!({
        "encoding": g.encoding,
        "values": g.values.iter().map(|v| value_json(v, next_id)).collect::<Vec<_>>(),
    })
}

fn text(bytes: &[u8]) -> Json {
    match std::str::from_utf8(bytes) {
        Ok(s) => json!(s),
        Err(_) => json!({ "hex": hex::encode(bytes) }),
    }
}

fn float(f: f64) -> Json {
    if f.is_finite() {
        json!(f)
    } else {
        json!(f.to_string())
    }
}

fn chain_json(c: &Class) -> Json {
    Json::Array(
        c.chain
            .iter()
            .map(|i| json!({ "name": i.name, "version": i.version }))
            .collect(),
    )
}

fn value_json(v: &Value, next_id: &mut u32) -> Json {
    match v {
        Value::Int(i) => json!(i),
        Value::UInt(u) => json!(u),
        Value::Bool(b) => json!(b),
        Value::Float(f) => float(f64::from(*f)),
        Value::Double(d) => float(*d),
        Value::CString(s) => json!({ "cstring": text(s) }),
        Value::Atom(s) => json!({ "atom": text(s) }),
        Value::Selector(s) => json!({ "selector": text(s) }),
        Value::Unshared(s) => json!({ "string": text(s) }),
        Value::Class(c) => json!({ "class": chain_json(c) }),
        Value::Object(o) => object_json(o, next_id),
        Value::Ref(id) => json!({ "ref": id.0 }),
        Value::Array(items) => Json::Array(items.iter().map(|i| value_json(i, next_id)).collect()),
        Value::ByteArray(b) => json!({ "bytes": hex::encode(b) }),
        Value::Struct(items) => {
            json!({ "struct": items.iter().map(|i| value_json(i, next_id)).collect::<Vec<_>>() })
        }
        // Value::Nil and any variant added later.
        _ => Json::Null,
    }
}

fn object_json(o: &Object, next_id: &mut u32) -> Json {
    let id = *next_id;
    *next_id += 1;
    let mut m = Map::new();
    m.insert("id".into(), json!(id));
    m.insert("class".into(), json!(o.class.name()));
    m.insert("class_chain".into(), chain_json(&o.class));
    let mut put = |k: &str, v: Json| {
        m.insert(k.into(), v);
    };
    match &o.content {
        Content::String(s) => {
            put("kind", json!("string"));
            put("value", json!(s));
        }
        Content::Number { objc_type, value } | Content::Value { objc_type, value } => {
            let kind = if matches!(o.content, Content::Number { .. }) {
                "number"
            } else {
                "value"
            };
            put("kind", json!(kind));
            put("objc_type", json!(objc_type));
            put("value", value_json(value, next_id));
        }
        Content::Data(d) => {
            put("kind", json!("data"));
            put("length", json!(d.len()));
            put("hex", json!(hex::encode(d)));
        }
        Content::Dictionary(entries) => {
            put("kind", json!("dictionary"));
            let entries: Vec<Json> = entries
                .iter()
                .map(|(k, v)| {
                    let key = value_json(k, next_id);
                    json!({ "key": key, "value": value_json(v, next_id) })
                })
                .collect();
            put("entries", Json::Array(entries));
        }
        Content::Array(items) => {
            put("kind", json!("array"));
            let items: Vec<Json> = items.iter().map(|i| value_json(i, next_id)).collect();
            put("elements", Json::Array(items));
        }
        Content::Date(s) => {
            put("kind", json!("date"));
            put("seconds_since_2001", float(*s));
        }
        Content::Groups(groups) => {
            put("kind", json!("object"));
            let groups: Vec<Json> = groups.iter().map(|g| group_json(g, next_id)).collect();
            put("groups", Json::Array(groups));
        }
        // Any content kind added later.
        _ => put("kind", json!("unknown")),
    }
    Json::Object(m)
}
