//! A human-readable tree view of an archive (`impl Display for Archive`).

use std::collections::HashSet;
use std::fmt::{self, Write};

use crate::model::{Archive, ByteOrder, Class, Content, Group, Object, Value};

impl fmt::Display for Archive {
    /// One line per value, indented by nesting; objects are numbered as [`crate::ObjectId`]s,
    /// back-references print as `-> #N`, a class chain is spelled out the first time a class
    /// appears.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let order = match self.byte_order {
            ByteOrder::Little => "little-endian (streamtyped)",
            ByteOrder::Big => "big-endian (typedstream)",
        };
        writeln!(
            f,
            "typedstream v4, {order}, system version {}, {} group{}",
            self.system_version,
            self.groups.len(),
            if self.groups.len() == 1 { "" } else { "s" }
        )?;
        let mut p = Printer {
            f,
            next_id: 0,
            seen: HashSet::new(),
        };
        for g in &self.groups {
            p.group(g, 0)?;
        }
        Ok(())
    }
}

struct Printer<'a, 'b> {
    f: &'a mut fmt::Formatter<'b>,
    next_id: u32,
    seen: HashSet<String>,
}

fn quote(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => format!("{s:?}"),
        Err(_) => format!("b\"{}\"", bytes.escape_ascii()),
    }
}

impl Printer<'_, '_> {
    fn indent(&mut self, depth: usize) -> fmt::Result {
        for _ in 0..depth {
            self.f.write_str("  ")?;
        }
        Ok(())
    }

    fn class(&mut self, c: &Class) -> String {
        let mut s = String::new();
        for (i, info) in c.chain.iter().enumerate() {
            if i > 0 {
                s.push_str(" : ");
            }
            let _ = write!(s, "{} v{}", info.name, info.version);
            if !self.seen.insert(info.name.clone()) {
                // The rest of the chain was shown with this class before.
                break;
            }
        }
        s
    }

    fn group(&mut self, g: &Group, depth: usize) -> fmt::Result {
        if let [v] = g.values.as_slice() {
            self.indent(depth)?;
            write!(self.f, "{}: ", quote(g.encoding.as_bytes()))?;
            self.value(v, depth)
        } else {
            self.indent(depth)?;
            writeln!(self.f, "group {}:", quote(g.encoding.as_bytes()))?;
            for v in &g.values {
                self.indent(depth + 1)?;
                self.value(v, depth + 1)?;
            }
            Ok(())
        }
    }

    /// Writes a value that starts on the current line (already indented) and ends the line.
    fn value(&mut self, v: &Value, depth: usize) -> fmt::Result {
        match v {
            Value::Nil => writeln!(self.f, "nil"),
            Value::Int(i) => writeln!(self.f, "{i}"),
            Value::UInt(u) => writeln!(self.f, "{u}"),
            Value::Bool(b) => writeln!(self.f, "{b}"),
            Value::Float(x) => writeln!(self.f, "{x:?}"),
            Value::Double(x) => writeln!(self.f, "{x:?}"),
            Value::CString(s) => writeln!(self.f, "C string {}", quote(s)),
            Value::Atom(s) => writeln!(self.f, "atom {}", quote(s)),
            Value::Selector(s) => writeln!(self.f, "selector {}", quote(s)),
            Value::Unshared(s) => writeln!(self.f, "{}", quote(s)),
            Value::Class(c) => {
                let c = self.class(c);
                writeln!(self.f, "class {c}")
            }
            Value::Ref(id) => writeln!(self.f, "-> #{id}"),
            Value::Object(o) => self.object(o, depth),
            Value::ByteArray(b) => {
                writeln!(self.f, "{} bytes", b.len())?;
                self.hexdump(b, depth + 1)
            }
            Value::Array(items) | Value::Struct(items) => {
                let what = if matches!(v, Value::Array(_)) {
                    "array"
                } else {
                    "struct"
                };
                writeln!(self.f, "{what}, {} items", items.len())?;
                for item in items {
                    self.indent(depth + 1)?;
                    self.value(item, depth + 1)?;
                }
                Ok(())
            }
        }
    }

    fn object(&mut self, o: &Object, depth: usize) -> fmt::Result {
        let id = self.next_id;
        self.next_id += 1;
        let class = self.class(&o.class);
        write!(self.f, "#{id} {class}")?;
        match &o.content {
            Content::String(s) => writeln!(self.f, " {s:?}"),
            Content::Number { objc_type, value } | Content::Value { objc_type, value } => {
                write!(self.f, " ({objc_type}) ")?;
                self.value(value, depth)
            }
            Content::Data(d) => {
                writeln!(self.f, ", {} bytes", d.len())?;
                self.hexdump(d, depth + 1)
            }
            Content::Date(s) => writeln!(self.f, " {s:?} s since 2001-01-01 00:00:00 UTC"),
            Content::Dictionary(entries) => {
                let n = entries.len();
                writeln!(self.f, ", {n} entr{}", if n == 1 { "y" } else { "ies" })?;
                for (k, v) in entries {
                    self.indent(depth + 1)?;
                    self.f.write_str("key: ")?;
                    self.value(k, depth + 1)?;
                    self.indent(depth + 1)?;
                    self.f.write_str("value: ")?;
                    self.value(v, depth + 1)?;
                }
                Ok(())
            }
            Content::Array(items) => {
                writeln!(self.f, ", {} elements", items.len())?;
                for item in items {
                    self.indent(depth + 1)?;
                    self.value(item, depth + 1)?;
                }
                Ok(())
            }
            Content::Groups(groups) => {
                writeln!(self.f, ", {} groups", groups.len())?;
                for g in groups {
                    self.group(g, depth + 1)?;
                }
                Ok(())
            }
        }
    }

    fn hexdump(&mut self, bytes: &[u8], depth: usize) -> fmt::Result {
        for (i, chunk) in bytes.chunks(16).enumerate() {
            self.indent(depth)?;
            write!(self.f, "{:04x} ", i * 16)?;
            for b in chunk {
                write!(self.f, " {b:02x}")?;
            }
            for _ in chunk.len()..16 {
                self.f.write_str("   ")?;
            }
            self.f.write_str("  |")?;
            for &b in chunk {
                let c = if b.is_ascii_graphic() || b == b' ' {
                    char::from(b)
                } else {
                    '.'
                };
                self.f.write_char(c)?;
            }
            writeln!(self.f, "|")?;
        }
        Ok(())
    }
}
