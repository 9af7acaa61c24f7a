//! The pre-ICE iChat AV protocol: `apple:iq:vc:*` queries inside `<iq type='set'/>`.
//!
//! Each operation is a `<query/>` whose namespace names it; its children are plain elements in
//! the same default namespace whose text is a number, an address or hex. Children this model does
//! not know are kept (name and text) and written back after the known ones.

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::ipport::IpPortData;

/// Namespace of an invitation (`<query xmlns='apple:iq:vc:request'/>`).
pub const NS_REQUEST: &str = "apple:iq:vc:request";
/// Namespace of an answer to an invitation.
pub const NS_RESPONSE: &str = "apple:iq:vc:response";
/// Namespace of a withdrawn invitation.
pub const NS_CANCEL: &str = "apple:iq:vc:cancel";
/// Namespace of a counter-proposal of addresses.
pub const NS_COUNTER_PROPOSAL: &str = "apple:iq:vc:counterProposal";

/// A child element this model does not know, kept as its name and text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExtraChild {
    /// The element's local name.
    pub name: String,
    /// Its text.
    pub text: String,
}

/// `apple:iq:vc:request`: the caller's invitation, one per iChat resource of the callee.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Request {
    /// `VCNewCallerIPPortData`: the caller's addresses.
    pub caller_addresses: IpPortData,
    /// `isAudioOnly`: `1` for an audio chat.
    pub audio_only: Option<bool>,
    /// `extSIPPort`: the caller's external SIP port (0 when none).
    pub ext_sip_port: Option<u16>,
    /// `extIPAddr`: the caller's external address.
    pub ext_ip_addr: Option<IpAddr>,
    /// `VCProtocolVersion` (1).
    pub protocol_version: Option<u32>,
    /// Children this model does not know.
    pub extra: Vec<ExtraChild>,
}

/// The answer in a [`Response`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Answer {
    /// `0`: the callee accepts.
    Accept,
    /// `1`: the callee declines.
    Decline,
    /// Any other value, kept.
    Other(u32),
}

impl Answer {
    /// The wire value.
    #[must_use]
    pub fn to_u32(self) -> u32 {
        match self {
            Answer::Accept => 0,
            Answer::Decline => 1,
            Answer::Other(v) => v,
        }
    }

    /// The answer of a wire value.
    #[must_use]
    pub fn from_u32(v: u32) -> Self {
        match v {
            0 => Answer::Accept,
            1 => Answer::Decline,
            v => Answer::Other(v),
        }
    }
}

/// `apple:iq:vc:response`: the callee's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Response {
    /// `response`: accept (0) or decline (1).
    pub answer: Answer,
    /// `connectData`: the callee's addresses (empty on decline).
    pub connect_data: IpPortData,
    /// `VCProtocolVersion` (1).
    pub protocol_version: Option<u32>,
    /// Children this model does not know.
    pub extra: Vec<ExtraChild>,
}

/// `apple:iq:vc:cancel`: the caller withdraws the invitation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Cancel {
    /// `VCProtocolVersion` (1).
    pub protocol_version: Option<u32>,
    /// Children this model does not know.
    pub extra: Vec<ExtraChild>,
}

/// `apple:iq:vc:counterProposal`: other addresses to try.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct CounterProposal {
    /// `connectData`: the proposed addresses.
    pub connect_data: IpPortData,
    /// `VCProtocolVersion` (1).
    pub protocol_version: Option<u32>,
    /// Children this model does not know.
    pub extra: Vec<ExtraChild>,
}

/// One `apple:iq:vc:*` query.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VcQuery {
    /// `apple:iq:vc:request`.
    Request(Request),
    /// `apple:iq:vc:response`.
    Response(Response),
    /// `apple:iq:vc:cancel`.
    Cancel(Cancel),
    /// `apple:iq:vc:counterProposal`.
    CounterProposal(CounterProposal),
}

impl Request {
    /// An invitation offering `addresses`, protocol version 1, audio and video.
    #[must_use]
    pub fn new(addresses: IpPortData) -> Self {
        Request {
            caller_addresses: addresses,
            audio_only: Some(false),
            ext_sip_port: Some(0),
            ext_ip_addr: None,
            protocol_version: Some(1),
            extra: Vec::new(),
        }
    }

    /// Sets `isAudioOnly`.
    #[must_use]
    pub fn audio_only(mut self, yes: bool) -> Self {
        self.audio_only = Some(yes);
        self
    }

    /// Sets `extIPAddr` and `extSIPPort`.
    #[must_use]
    pub fn external(mut self, ip: IpAddr, sip_port: u16) -> Self {
        self.ext_ip_addr = Some(ip);
        self.ext_sip_port = Some(sip_port);
        self
    }
}

impl Response {
    /// Accepts, offering `addresses`, protocol version 1.
    #[must_use]
    pub fn accept(addresses: IpPortData) -> Self {
        Response {
            answer: Answer::Accept,
            connect_data: addresses,
            protocol_version: Some(1),
            extra: Vec::new(),
        }
    }

    /// Declines (empty `connectData`), protocol version 1.
    #[must_use]
    pub fn decline() -> Self {
        Response {
            answer: Answer::Decline,
            connect_data: IpPortData::default(),
            protocol_version: Some(1),
            extra: Vec::new(),
        }
    }
}

impl Cancel {
    /// A cancel with protocol version 1.
    #[must_use]
    pub fn new() -> Self {
        Cancel {
            protocol_version: Some(1),
            extra: Vec::new(),
        }
    }
}

impl CounterProposal {
    /// A counter-proposal of `addresses`, protocol version 1.
    #[must_use]
    pub fn new(addresses: IpPortData) -> Self {
        CounterProposal {
            connect_data: addresses,
            protocol_version: Some(1),
            extra: Vec::new(),
        }
    }
}

fn child(out: &mut String, name: &str, text: &str) {
    let _ = write!(out, "<{name}>{}</{name}>", zxmpp_xml::escape_text(text));
}

fn opt_child<T: std::fmt::Display>(out: &mut String, name: &str, v: Option<T>) {
    if let Some(v) = v {
        child(out, name, &v.to_string());
    }
}

fn extras(out: &mut String, extra: &[ExtraChild]) {
    for e in extra {
        child(out, &e.name, &e.text);
    }
}

impl VcQuery {
    /// The query's namespace.
    #[must_use]
    pub fn namespace(&self) -> &'static str {
        match self {
            VcQuery::Request(_) => NS_REQUEST,
            VcQuery::Response(_) => NS_RESPONSE,
            VcQuery::Cancel(_) => NS_CANCEL,
            VcQuery::CounterProposal(_) => NS_COUNTER_PROPOSAL,
        }
    }

    /// The `<query/>` element as XML text, children in the order iChat's peers write them.
    ///
    /// ```
    /// use zxmpp_vc::{Cancel, VcQuery};
    /// assert_eq!(
    ///     VcQuery::Cancel(Cancel::new()).to_xml(),
    ///     "<query xmlns='apple:iq:vc:cancel'><VCProtocolVersion>1</VCProtocolVersion></query>"
    /// );
    /// ```
    #[must_use]
    pub fn to_xml(&self) -> String {
        let mut out = format!("<query xmlns='{}'>", self.namespace());
        match self {
            VcQuery::Request(r) => {
                child(
                    &mut out,
                    "VCNewCallerIPPortData",
                    &r.caller_addresses.to_hex(),
                );
                opt_child(&mut out, "isAudioOnly", r.audio_only.map(u8::from));
                opt_child(&mut out, "extSIPPort", r.ext_sip_port);
                opt_child(&mut out, "extIPAddr", r.ext_ip_addr);
                opt_child(&mut out, "VCProtocolVersion", r.protocol_version);
                extras(&mut out, &r.extra);
            }
            VcQuery::Response(r) => {
                child(&mut out, "response", &r.answer.to_u32().to_string());
                child(&mut out, "connectData", &r.connect_data.to_hex());
                opt_child(&mut out, "VCProtocolVersion", r.protocol_version);
                extras(&mut out, &r.extra);
            }
            VcQuery::Cancel(c) => {
                opt_child(&mut out, "VCProtocolVersion", c.protocol_version);
                extras(&mut out, &c.extra);
            }
            VcQuery::CounterProposal(c) => {
                child(&mut out, "connectData", &c.connect_data.to_hex());
                opt_child(&mut out, "VCProtocolVersion", c.protocol_version);
                extras(&mut out, &c.extra);
            }
        }
        out.push_str("</query>");
        out
    }

    /// The query inside an `<iq type='set'/>` with the given `id`, `to` and `from`.
    ///
    /// ```
    /// use zxmpp_vc::{Cancel, VcQuery};
    /// let iq = VcQuery::Cancel(Cancel::new()).to_iq("c1", "bob@example.com/iChat", "alice@example.com/iChat");
    /// assert!(iq.starts_with("<iq type='set' id='c1' to='bob@example.com/iChat'"));
    /// ```
    #[must_use]
    pub fn to_iq(&self, id: &str, to: &str, from: &str) -> String {
        format!(
            "<iq type='set' id='{}' to='{}' from='{}'>{}</iq>",
            zxmpp_xml::escape_attr(id),
            zxmpp_xml::escape_attr(to),
            zxmpp_xml::escape_attr(from),
            self.to_xml()
        )
    }
}
