//! Just enough XMPP for the tests: the servers' endpoints, SASL PLAIN, the stanzas the tests send, and
//! picking elements out of what the servers answer (parsed with minidom, independently of zxmpp-bosh).

use minidom::Element;

/// `jabber:client`.
pub(crate) const NS_CLIENT: &str = "jabber:client";
/// `urn:ietf:params:xml:ns:xmpp-sasl`.
pub(crate) const NS_SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
/// `urn:ietf:params:xml:ns:xmpp-bind`.
pub(crate) const NS_BIND: &str = "urn:ietf:params:xml:ns:xmpp-bind";
/// `http://jabber.org/protocol/httpbind`.
pub(crate) const NS_HTTPBIND: &str = "http://jabber.org/protocol/httpbind";

/// A loopback server started by `scripts/prosody` or `scripts/ejabberd`.
pub(crate) struct Server {
    /// The BOSH URL.
    pub(crate) bosh: String,
    /// The XMPP domain (`to` of the session).
    pub(crate) domain: String,
    /// The password of every test account.
    pub(crate) password: String,
}

impl Server {
    /// The Prosody of `scripts/prosody start`, from `ZXMPP_PROSODY_*`.
    pub(crate) fn prosody() -> Self {
        Self::from_env("PROSODY", "prosody")
    }

    /// The ejabberd of `scripts/ejabberd start`, from `ZXMPP_EJABBERD_*`.
    pub(crate) fn ejabberd() -> Self {
        Self::from_env("EJABBERD", "ejabberd")
    }

    fn from_env(prefix: &str, script: &str) -> Self {
        let var = |name: &str| {
            let key = format!("ZXMPP_{prefix}_{name}");
            std::env::var(&key).unwrap_or_else(|_| {
                panic!(
                    "{key} is not set: this test needs a loopback {script}. Run `scripts/{script} start` and \
                     `eval \"$(scripts/{script} env)\"` first, or run the whole suite with scripts/test"
                )
            })
        };
        Self {
            bosh: var("BOSH"),
            domain: var("DOMAIN"),
            password: var("PASSWORD"),
        }
    }
}

/// `urn:xmpp:ping`.
pub(crate) const NS_PING: &str = "urn:xmpp:ping";

/// The `<auth/>` element of SASL PLAIN (RFC 4616) for `user`, with no authorization identity.
pub(crate) fn sasl_plain_auth(user: &str, password: &str) -> String {
    let token = base64(format!("\0{user}\0{password}").as_bytes());
    format!("<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{token}</auth>")
}

/// Base64 with padding (RFC 4648 §4).
pub(crate) fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// An XMPP ping (XEP-0199) to the server.
pub(crate) fn ping_iq(id: &str, to: &str) -> String {
    format!("<iq xmlns='{NS_CLIENT}' type='get' id='{id}' to='{to}'><ping xmlns='{NS_PING}'/></iq>")
}

/// A resource binding request (RFC 6120 §7).
pub(crate) fn bind_iq(id: &str, resource: &str) -> String {
    format!(
        "<iq xmlns='{NS_CLIENT}' type='set' id='{id}'><bind xmlns='{NS_BIND}'><resource>{resource}</resource></bind></iq>"
    )
}

/// Initial presence.
pub(crate) fn presence() -> String {
    format!("<presence xmlns='{NS_CLIENT}'/>")
}

/// A chat message.
pub(crate) fn chat(to: &str, id: &str, body: &str) -> String {
    format!(
        "<message xmlns='{NS_CLIENT}' type='chat' to='{to}' id='{id}'><body>{body}</body></message>"
    )
}

/// Parses one element (a whole `<body/>` or one stanza that declares its namespace).
pub(crate) fn parse(xml: &[u8]) -> Element {
    let text = std::str::from_utf8(xml).unwrap_or_else(|e| panic!("not UTF-8 ({e}): {xml:?}"));
    text.parse::<Element>()
        .unwrap_or_else(|e| panic!("not XML ({e}): {text}"))
}

/// Parses one payload taken out of a `<body/>`: unqualified elements are `jabber:client` (XEP-0206 §3), and
/// `namespaces` are the prefixes the `<body/>` declared (e.g. `stream`).
pub(crate) fn parse_payload(xml: &[u8], namespaces: &[(String, String)]) -> Element {
    let text = std::str::from_utf8(xml).unwrap_or_else(|e| panic!("not UTF-8 ({e}): {xml:?}"));
    let mut wrapper = format!("<wrapper xmlns='{NS_CLIENT}'");
    for (prefix, uri) in namespaces {
        wrapper.push_str(&format!(" xmlns:{prefix}='{uri}'"));
    }
    wrapper.push('>');
    wrapper.push_str(text);
    wrapper.push_str("</wrapper>");
    let parsed = wrapper
        .parse::<Element>()
        .unwrap_or_else(|e| panic!("not XML ({e}): {text}"));
    let mut children = parsed.children();
    let first = children
        .next()
        .unwrap_or_else(|| panic!("no element in payload: {text}"))
        .clone();
    assert!(
        children.next().is_none(),
        "more than one element in one payload: {text}"
    );
    first
}

/// Whether `stanza` is the result of the iq `id`.
pub(crate) fn is_result(stanza: &Element, id: &str) -> bool {
    stanza.is("iq", NS_CLIENT)
        && stanza.attr("type") == Some("result")
        && stanza.attr("id") == Some(id)
}

/// The text of the `<jid/>` in a bind result, if `iq` is one.
pub(crate) fn bound_jid(iq: &Element) -> Option<String> {
    if !iq.is("iq", NS_CLIENT) || iq.attr("type") != Some("result") {
        return None;
    }
    Some(
        iq.get_child("bind", NS_BIND)?
            .get_child("jid", NS_BIND)?
            .text(),
    )
}

/// The text of the `<body/>` of a chat message, if `stanza` is one.
pub(crate) fn message_body(stanza: &Element) -> Option<String> {
    if !stanza.is("message", NS_CLIENT) {
        return None;
    }
    Some(stanza.get_child("body", NS_CLIENT)?.text())
}
