//! Serialization back to XML text.

use std::fmt::Write as _;

use crate::algo::encode_base64;
use crate::caps::{Caps, CapsHashSet, NS_CAPS};
use crate::model::{DiscoInfo, NS_DATA, NS_DISCO_INFO};
use crate::xep0390::{NS_CAPS2, NS_HASHES2};

/// Appends `s` escaped for a single-quoted attribute value.
pub(crate) fn push_attr(out: &mut String, name: &str, value: &str) {
    out.push(' ');
    out.push_str(name);
    out.push_str("='");
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out.push('\'');
}

/// Appends `s` escaped as character data.
pub(crate) fn push_text(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

impl DiscoInfo<'_> {
    /// Writes the `<query xmlns='http://jabber.org/protocol/disco#info'/>` element.
    pub fn write_xml(&self, out: &mut String) {
        out.push_str("<query");
        push_attr(out, "xmlns", NS_DISCO_INFO);
        if let Some(node) = &self.node {
            push_attr(out, "node", node);
        }
        if let Some(lang) = &self.lang {
            push_attr(out, "xml:lang", lang);
        }
        out.push('>');
        for i in &self.identities {
            out.push_str("<identity");
            push_attr(out, "category", &i.category);
            push_attr(out, "type", &i.kind);
            if let Some(lang) = &i.lang {
                push_attr(out, "xml:lang", lang);
            }
            if let Some(name) = &i.name {
                push_attr(out, "name", name);
            }
            out.push_str("/>");
        }
        for f in &self.features {
            out.push_str("<feature");
            push_attr(out, "var", f);
            out.push_str("/>");
        }
        for form in &self.forms {
            out.push_str("<x");
            push_attr(out, "xmlns", NS_DATA);
            if let Some(kind) = &form.kind {
                push_attr(out, "type", kind);
            }
            out.push('>');
            for field in &form.fields {
                out.push_str("<field");
                if let Some(var) = &field.var {
                    push_attr(out, "var", var);
                }
                if let Some(kind) = &field.kind {
                    push_attr(out, "type", kind);
                }
                out.push('>');
                for value in &field.values {
                    out.push_str("<value>");
                    push_text(out, value);
                    out.push_str("</value>");
                }
                out.push_str("</field>");
            }
            out.push_str("</x>");
        }
        for raw in &self.unknown {
            out.push_str(raw);
        }
        out.push_str("</query>");
    }

    /// The `<query/>` element as a string.
    #[must_use]
    pub fn to_xml(&self) -> String {
        let mut out = String::with_capacity(256);
        self.write_xml(&mut out);
        out
    }
}

impl Caps<'_> {
    /// The `<c xmlns='http://jabber.org/protocol/caps'/>` element as a string.
    #[must_use]
    pub fn to_xml(&self) -> String {
        let mut out = String::with_capacity(128);
        out.push_str("<c");
        push_attr(&mut out, "xmlns", NS_CAPS);
        if let Some(hash) = &self.hash {
            push_attr(&mut out, "hash", hash.name());
        }
        push_attr(&mut out, "node", &self.node);
        push_attr(&mut out, "ver", &self.ver);
        if let Some(ext) = &self.ext {
            push_attr(&mut out, "ext", ext);
        }
        out.push_str("/>");
        out
    }
}

impl CapsHashSet {
    /// The `<c xmlns='urn:xmpp:caps'/>` element with its `<hash xmlns='urn:xmpp:hashes:2'/>` children.
    #[must_use]
    pub fn to_xml(&self) -> String {
        let mut out = String::with_capacity(64 + 100 * self.hashes.len());
        out.push_str("<c");
        push_attr(&mut out, "xmlns", NS_CAPS2);
        out.push('>');
        for h in &self.hashes {
            out.push_str("<hash");
            push_attr(&mut out, "xmlns", NS_HASHES2);
            push_attr(&mut out, "algo", h.algo.name());
            let _ = write!(out, ">{}</hash>", encode_base64(&h.value));
        }
        out.push_str("</c>");
        out
    }
}
