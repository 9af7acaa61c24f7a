//! Small helpers to read element views and to write stanzas.

use std::borrow::Cow;

use zxmpp_xml::{Element, escape_attr, escape_text};

pub(crate) const NS_CLIENT: &str = "jabber:client";
pub(crate) const NS_TLS: &str = "urn:ietf:params:xml:ns:xmpp-tls";
pub(crate) const NS_SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
pub(crate) const NS_BIND: &str = "urn:ietf:params:xml:ns:xmpp-bind";
pub(crate) const NS_SM: &str = "urn:xmpp:sm:3";
pub(crate) const NS_ROSTER: &str = "jabber:iq:roster";
pub(crate) const NS_ROSTER_VER: &str = "urn:xmpp:features:rosterver";
pub(crate) const NS_PING: &str = "urn:xmpp:ping";
pub(crate) const NS_STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
pub(crate) const NS_STREAM_ERRORS: &str = "urn:ietf:params:xml:ns:xmpp-streams";

/// An attribute as an owned string.
pub(crate) fn attr(el: &Element<'_>, name: &str) -> Option<String> {
    el.attr(name).map(Cow::into_owned)
}

/// The element's bytes as a string (the input was validated UTF-8).
pub(crate) fn raw(el: &Element<'_>) -> String {
    String::from_utf8_lossy(el.as_bytes()).into_owned()
}

/// The first child element, whatever its name.
pub(crate) fn first_child<'a>(el: &Element<'a>) -> Option<Element<'a>> {
    el.children().next()
}

/// The local name of the first child in `ns` that is not `text` (a defined condition).
pub(crate) fn condition(el: &Element<'_>, ns: &str) -> Option<String> {
    el.children()
        .find(|c| c.ns() == ns && c.name() != "text")
        .map(|c| c.name().to_owned())
}

/// The text of the `<text/>` child in `ns`.
pub(crate) fn text_child(el: &Element<'_>, ns: &str) -> Option<String> {
    el.child("text", ns).map(|t| t.text().into_owned())
}

/// Whether a top-level element is a stanza (counted by XEP-0198).
pub(crate) fn is_stanza(el: &Element<'_>) -> bool {
    matches!(el.name(), "message" | "presence" | "iq") && matches!(el.ns(), NS_CLIENT | "")
}

/// Writes ` name='value'` with escaping.
pub(crate) fn push_attr(out: &mut String, name: &str, value: &str) {
    out.push(' ');
    out.push_str(name);
    out.push_str("='");
    out.push_str(&escape_attr(value));
    out.push('\'');
}

/// Writes `<name>text</name>`.
pub(crate) fn push_text_el(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    out.push_str(&escape_text(text));
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// An `<iq/>` with the given type, id, optional `to` and inner XML.
pub(crate) fn iq(kind: &str, id: &str, to: Option<&str>, inner: &str) -> String {
    let mut out = String::with_capacity(48 + inner.len());
    out.push_str("<iq");
    push_attr(&mut out, "type", kind);
    push_attr(&mut out, "id", id);
    if let Some(to) = to {
        push_attr(&mut out, "to", to);
    }
    if inner.is_empty() {
        out.push_str("/>");
    } else {
        out.push('>');
        out.push_str(inner);
        out.push_str("</iq>");
    }
    out
}
