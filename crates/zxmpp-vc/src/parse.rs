//! Reading the `apple:iq:vc:*` queries and finding an invitation's hex inside a stanza, on
//! `zxmpp-xml`'s borrowed element views.

use std::borrow::Cow;
use std::net::IpAddr;

use zxmpp_xml::{Config, Element};

use crate::error::{Error, Result};
use crate::ipport::IpPortData;
use crate::stanza::{
    Answer, Cancel, CounterProposal, ExtraChild, NS_CANCEL, NS_COUNTER_PROPOSAL, NS_REQUEST,
    NS_RESPONSE, Request, Response, VcQuery,
};

/// An `<iq/>` carrying an `apple:iq:vc:*` query, with its envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VcIq {
    /// The `type` attribute (`set`; `error` for a failed invitation).
    pub iq_type: String,
    /// The `id` attribute.
    pub id: Option<String>,
    /// The `to` attribute.
    pub to: Option<String>,
    /// The `from` attribute.
    pub from: Option<String>,
    /// The `code` of an `<error/>` child, in an `<iq type='error'/>`.
    pub error_code: Option<u32>,
    /// The query.
    pub query: VcQuery,
}

fn owned(v: Option<Cow<'_, str>>) -> Option<String> {
    v.map(Cow::into_owned)
}

impl VcIq {
    /// Reads an `<iq/>` document holding an `apple:iq:vc:*` query.
    ///
    /// ```
    /// let iq = zxmpp_vc::VcIq::parse(
    ///     b"<iq type='set' id='c1'><query xmlns='apple:iq:vc:cancel'>\
    ///       <VCProtocolVersion>1</VCProtocolVersion></query></iq>",
    /// ).unwrap();
    /// assert!(matches!(iq.query, zxmpp_vc::VcQuery::Cancel(_)));
    /// ```
    pub fn parse(xml: &[u8]) -> Result<Self> {
        let root = zxmpp_xml::parse_document(xml, &Config::default())?;
        Self::from_element(&root)
    }

    /// Reads an `<iq/>` element holding an `apple:iq:vc:*` query.
    pub fn from_element(iq: &Element<'_>) -> Result<Self> {
        if iq.name() != "iq" {
            return Err(not_vc(iq));
        }
        let query = iq
            .children()
            .find(|c| c.name() == "query" && namespace_kind(c.ns()).is_some())
            .ok_or_else(|| not_vc(iq))?;
        let error_code = match iq.children().find(|c| c.name() == "error") {
            Some(e) => match e.attr("code") {
                Some(code) => {
                    Some(
                        code.trim()
                            .parse::<u32>()
                            .map_err(|_| Error::InvalidChild {
                                child: "error",
                                text: code.into_owned(),
                                expected: "an error code",
                                offset: e.offset(),
                            })?,
                    )
                }
                None => None,
            },
            None => None,
        };
        Ok(VcIq {
            iq_type: iq.attr("type").map(Cow::into_owned).unwrap_or_default(),
            id: owned(iq.attr("id")),
            to: owned(iq.attr("to")),
            from: owned(iq.attr("from")),
            error_code,
            query: VcQuery::from_element(&query)?,
        })
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Request,
    Response,
    Cancel,
    CounterProposal,
}

fn namespace_kind(ns: &str) -> Option<Kind> {
    match ns {
        NS_REQUEST => Some(Kind::Request),
        NS_RESPONSE => Some(Kind::Response),
        NS_CANCEL => Some(Kind::Cancel),
        NS_COUNTER_PROPOSAL => Some(Kind::CounterProposal),
        _ => None,
    }
}

fn not_vc(el: &Element<'_>) -> Error {
    Error::NotAVcQuery {
        name: el.name().to_owned(),
        ns: el.ns().to_owned(),
        offset: el.offset(),
    }
}

/// The children of a query, read once.
struct Children<'a> {
    list: Vec<Element<'a>>,
    used: Vec<bool>,
}

impl<'a> Children<'a> {
    fn new(query: &Element<'a>) -> Self {
        let list: Vec<Element<'a>> = query.children().collect();
        let used = vec![false; list.len()];
        Children { list, used }
    }

    fn take(&mut self, name: &str) -> Option<Element<'a>> {
        let i = self.list.iter().position(|c| c.name() == name)?;
        if let Some(u) = self.used.get_mut(i) {
            *u = true;
        }
        self.list.get(i).cloned()
    }

    fn extras(&self) -> Vec<ExtraChild> {
        self.list
            .iter()
            .zip(&self.used)
            .filter(|(_, used)| !**used)
            .map(|(c, _)| ExtraChild {
                name: c.name().to_owned(),
                text: c.text().into_owned(),
            })
            .collect()
    }
}

fn number<T: std::str::FromStr>(el: Option<Element<'_>>, child: &'static str) -> Result<Option<T>> {
    value(el, child, "a number")
}

fn value<T: std::str::FromStr>(
    el: Option<Element<'_>>,
    child: &'static str,
    expected: &'static str,
) -> Result<Option<T>> {
    match el {
        None => Ok(None),
        Some(el) => {
            let text = el.text();
            text.trim()
                .parse::<T>()
                .map(Some)
                .map_err(|_| Error::InvalidChild {
                    child,
                    text: text.into_owned(),
                    expected,
                    offset: el.offset(),
                })
        }
    }
}

fn addresses(el: Option<Element<'_>>, child: &'static str) -> Result<IpPortData> {
    match el {
        None => Ok(IpPortData::default()),
        Some(el) => IpPortData::from_hex(&el.text()).map_err(|e| Error::InvalidPayload {
            child,
            offset: el.offset(),
            source: Box::new(e),
        }),
    }
}

impl VcQuery {
    /// Reads a `<query/>` element in one of the `apple:iq:vc:*` namespaces.
    ///
    /// Missing optional children read as `None` (an empty list for addresses), so the bare query
    /// echoed in an error reply reads too; a response without `<response/>` is an error.
    pub fn from_element(query: &Element<'_>) -> Result<Self> {
        let kind = match namespace_kind(query.ns()) {
            Some(k) if query.name() == "query" => k,
            _ => return Err(not_vc(query)),
        };
        let mut c = Children::new(query);
        let version = number::<u32>(c.take("VCProtocolVersion"), "VCProtocolVersion")?;
        Ok(match kind {
            Kind::Request => {
                let caller = addresses(c.take("VCNewCallerIPPortData"), "VCNewCallerIPPortData")?;
                let audio_only =
                    number::<u8>(c.take("isAudioOnly"), "isAudioOnly")?.map(|v| v != 0);
                let ext_sip_port = number::<u16>(c.take("extSIPPort"), "extSIPPort")?;
                let ext_ip_addr =
                    value::<IpAddr>(c.take("extIPAddr"), "extIPAddr", "an IP address")?;
                VcQuery::Request(Request {
                    caller_addresses: caller,
                    audio_only,
                    ext_sip_port,
                    ext_ip_addr,
                    protocol_version: version,
                    extra: c.extras(),
                })
            }
            Kind::Response => {
                let answer =
                    number::<u32>(c.take("response"), "response")?.ok_or(Error::MissingChild {
                        parent: NS_RESPONSE,
                        child: "response",
                        offset: query.offset(),
                    })?;
                let connect_data = addresses(c.take("connectData"), "connectData")?;
                VcQuery::Response(Response {
                    answer: Answer::from_u32(answer),
                    connect_data,
                    protocol_version: version,
                    extra: c.extras(),
                })
            }
            Kind::Cancel => VcQuery::Cancel(Cancel {
                protocol_version: version,
                extra: c.extras(),
            }),
            Kind::CounterProposal => {
                let connect_data = addresses(c.take("connectData"), "connectData")?;
                VcQuery::CounterProposal(CounterProposal {
                    connect_data,
                    protocol_version: version,
                    extra: c.extras(),
                })
            }
        })
    }

    /// Reads a document that is a `<query/>` or an `<iq/>` holding one.
    pub fn parse(xml: &[u8]) -> Result<Self> {
        let root = zxmpp_xml::parse_document(xml, &Config::default())?;
        if root.name() == "iq" {
            Ok(VcIq::from_element(&root)?.query)
        } else {
            Self::from_element(&root)
        }
    }
}

/// The hex of `bplist` (the binary plist magic), lowercase.
const BPLIST_HEX: &str = "62706c697374";

/// Finds, in an XML document (a stanza), the first element whose text is the hex of a binary
/// plist, and returns the decoded bytes and the element's byte offset.
///
/// The element names of the ICE-era exchange are not known, so any element qualifies.
pub fn find_invitation_hex(xml: &[u8]) -> Result<(Vec<u8>, u64)> {
    let root = zxmpp_xml::parse_document(xml, &Config::default())?;
    let mut stack = vec![root];
    while let Some(el) = stack.pop() {
        let text = el.text();
        let trimmed = text.trim_start();
        if trimmed.len() >= BPLIST_HEX.len()
            && trimmed
                .get(..BPLIST_HEX.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(BPLIST_HEX))
        {
            let bytes = crate::hex::decode(text.as_bytes()).map_err(|e| Error::InvalidPayload {
                child: "invitation hex",
                offset: el.offset(),
                source: Box::new(e),
            })?;
            return Ok((bytes, el.offset()));
        }
        let mut kids: Vec<Element<'_>> = el.children().collect();
        kids.reverse();
        stack.extend(kids);
    }
    Err(Error::NoInvitation)
}
