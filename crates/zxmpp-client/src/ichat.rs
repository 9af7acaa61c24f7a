//! iChat AV signalling on top of the client core, sans-IO: the caps profile iChat 5 advertised, recognising
//! iChat peers, reading incoming call signalling (the pre-ICE `apple:iq:vc:*` queries and the ICE-era
//! invitation carried as the hex of a binary plist), and the calls in progress ([`Calls`], serde, so that an
//! application can persist them next to the client's snapshot).
//!
//! Signalling only: no media. What is known and what is guessed about the formats is in `docs/apple-vc.md`
//! and `docs/ichat.md`; in particular the element names of the ICE-era exchange are unknown, so incoming
//! invitations are found in any element whose text is the hex of a `bplist00`, and this module sends its own
//! offers as `<message><invite xmlns='urn:zxmpp:ichat:0'><state>0</state><invitation>HEX</invitation></invite>
//! </message>` (`state` 1 withdraws the offer, as iChat sent an element with text `1` to cancel).
//!
//! ```
//! use std::net::SocketAddr;
//! use zxmpp_client::ichat::{self, Calls, Signal};
//!
//! let mut alice = Calls::new();
//! let addr: SocketAddr = "192.168.1.132:16402".parse().unwrap();
//! let offer = alice
//!     .offer("bob@example.com", "alice@example.com/home", &[("en1".into(), addr)], 473_648_504)
//!     .unwrap();
//! assert!(alice.in_call());
//!
//! // Bob's side: classify the stanza as received.
//! let signal = ichat::classify(&offer).unwrap();
//! let Signal::Invitation(inv) = &signal else { panic!() };
//! assert_eq!(inv.candidates[0].to_string(), "en1 192.168.1.132:16402");
//! let mut bob = Calls::new();
//! bob.handle_signal("alice@example.com/home", &signal);
//! assert_eq!(bob.calls().len(), 1);
//!
//! let cancel = alice.cancel(None).unwrap();
//! bob.handle_signal("alice@example.com/home", &ichat::classify(&cancel).unwrap());
//! assert!(!alice.in_call() && !bob.in_call());
//! ```

use std::fmt;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};
use zxmpp_caps::{Caps, CapsCache, ICHAT_NODE, Trust};
use zxmpp_vc::{
    AddressRecord, Group, GroupKind, IceData, Invitation, Participant, RecordKind, SipIce, VcQuery,
};
use zxmpp_xml::{Config, Element};

/// Every legacy `ext` bundle iChat 5 advertised (`docs/apple-formats` §6), in the order Z-XMPP sent them.
pub const ICHAT_EXT: &[&str] = &[
    "ice", "recauth", "rdserver", "maudio", "audio", "rdclient", "mvideo", "auxvideo", "rdmuxing",
    "avcap", "avavail", "video",
];

/// The feature of the `avavail` bundle: the peer can take a call now.
pub const FEATURE_AVAILABLE: &str = "apple:iq:vc:available";

/// The feature of the `avcap` bundle: the peer has audio/video hardware.
pub const FEATURE_CAPABLE: &str = "apple:iq:vc:capable";

/// The namespace of the element this module wraps its own offers in (the ICE-era names are unknown).
pub const NS_INVITE: &str = "urn:zxmpp:ichat:0";

/// The version of [`Calls`]' serialized form.
pub const CALLS_FORMAT_VERSION: u32 = 1;

/// The `ext` bundles to advertise: all of [`ICHAT_EXT`], without `avavail` while in a call.
#[must_use]
pub fn ext_bundles(in_call: bool) -> Vec<&'static str> {
    ICHAT_EXT
        .iter()
        .copied()
        .filter(|e| !(in_call && *e == "avavail"))
        .collect()
}

/// What is known about a peer's iChat AV abilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAv {
    /// Its caps node is `apple:ichat:caps` or its features include an `apple:iq:vc:*` one.
    pub ichat: bool,
    /// It advertises `apple:iq:vc:available` (the `avavail` bundle): it can take a call now.
    pub can_call: bool,
    /// It advertises `apple:iq:vc:capable`.
    pub av_capable: bool,
    /// How far the cached disco#info can be trusted (`Legacy`: unverifiable `ext` nodes).
    pub trust: Option<Trust>,
    /// Whether every advertised part (`node#ver` and each `ext`) is in the cache.
    pub complete: bool,
}

impl PeerAv {
    /// What the caps cache knows about `jid`, with the `<c/>` it last advertised if at hand.
    ///
    /// Before the disco#info answers arrive, the legacy `ext` names alone already tell an iChat peer apart
    /// (`avavail` in `ext` means it can take a call).
    #[must_use]
    pub fn of(cache: &CapsCache, jid: &str, caps: Option<&Caps<'_>>) -> Self {
        let known = cache.lookup(jid);
        let has = |var: &str| known.as_ref().is_some_and(|c| c.has_feature(var));
        let ext_has = |name: &str| caps.is_some_and(|c| c.ext_names().any(|e| e == name));
        let vc_feature = known.as_ref().is_some_and(|c| {
            c.infos
                .iter()
                .any(|i| i.features.iter().any(|f| f.starts_with("apple:iq:vc:")))
        });
        PeerAv {
            ichat: caps.is_some_and(|c| c.node == ICHAT_NODE) || vc_feature,
            can_call: has(FEATURE_AVAILABLE) || ext_has("avavail"),
            av_capable: has(FEATURE_CAPABLE) || ext_has("avcap"),
            trust: known.as_ref().map(|c| c.trust),
            complete: known.as_ref().is_some_and(|c| c.complete),
        }
    }
}

impl fmt::Display for PeerAv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.ichat {
            return f.write_str("not iChat AV");
        }
        f.write_str(if self.can_call {
            "iChat AV: can take a call"
        } else if self.av_capable {
            "iChat AV: busy (no avavail)"
        } else {
            "iChat: no AV"
        })?;
        match self.trust {
            Some(Trust::Legacy) => f.write_str(" [legacy caps, unverifiable]"),
            Some(Trust::Verified) => f.write_str(" [verified caps]"),
            Some(_) => f.write_str(" [caps unverified]"),
            None => f.write_str(" [caps not yet known]"),
        }
    }
}

/// One address of a call: an interface name and a socket address, shown as `IFNAME ADDRESS:PORT`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    /// The interface name (`en1`, `external`, `en1~`).
    pub interface: String,
    /// The address, `None` for a family this crate does not know.
    pub addr: Option<SocketAddr>,
    /// A `~` record: the bitwise complement of another record.
    pub complement: bool,
}

impl Candidate {
    fn from_record(record: &AddressRecord, kind: RecordKind) -> Self {
        Candidate {
            interface: record.interface().into_owned(),
            addr: record.socket_addr(),
            complement: matches!(kind, RecordKind::Complement { .. }),
        }
    }
}

impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addr {
            Some(addr) => write!(f, "{} {addr}", self.interface),
            None => write!(f, "{} (unknown address family)", self.interface),
        }
    }
}

/// Whether an ICE-era invitation offers or withdraws a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OfferState {
    /// An element with text `0` (or none) beside the hex: an offer.
    Offer,
    /// An element with text `1` beside the hex: the offer is withdrawn.
    Cancel,
}

/// A decoded ICE-era invitation.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct IncomingInvitation {
    /// Offer or cancel.
    pub state: OfferState,
    /// `VCSessionID`.
    pub session_id: Option<i64>,
    /// The inviter's `presentityID` (the first participant).
    pub inviter: Option<String>,
    /// The candidates of the SIP-ICE blob (each group's candidate first), complements left out.
    pub candidates: Vec<Candidate>,
    /// Every address record of the blob, complements and bases included.
    pub records: Vec<Candidate>,
    /// The decoded invitation.
    pub invitation: Box<Invitation>,
}

/// What an incoming stanza (or an iq's child) says about iChat AV.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Signal {
    /// A pre-ICE `apple:iq:vc:request`/`response`/`cancel`/`counterProposal` query.
    Vc(VcQuery),
    /// An ICE-era invitation (or its withdrawal).
    Invitation(IncomingInvitation),
    /// A query in an `apple:iq:vc:` namespace this crate does not know.
    UnknownVc {
        /// Its namespace.
        ns: String,
    },
    /// A payload that looked like iChat signalling but could not be read.
    Malformed(zxmpp_vc::Error),
}

impl Signal {
    /// How to answer an iq that carried this signal: a result, or an error condition (which iChat ignores,
    /// as it ignores every `<iq type='error'/>`).
    pub fn iq_answer(&self) -> Result<(), &'static str> {
        match self {
            Signal::Vc(_) | Signal::Invitation(_) => Ok(()),
            Signal::UnknownVc { .. } => Err("service-unavailable"),
            Signal::Malformed(_) => Err("bad-request"),
        }
    }

    /// Human-readable lines describing the signal (the reference client prints them).
    #[must_use]
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        match self {
            Signal::Vc(query) => describe_vc(query, &mut out),
            Signal::Invitation(inv) => {
                out.push(format!(
                    "{} session {} from {}",
                    match inv.state {
                        OfferState::Offer => "invitation",
                        OfferState::Cancel => "invitation cancelled",
                    },
                    inv.session_id.map_or("?".to_owned(), |s| s.to_string()),
                    inv.inviter.as_deref().unwrap_or("?")
                ));
                for c in &inv.candidates {
                    out.push(format!("candidate {c}"));
                }
            }
            Signal::UnknownVc { ns } => out.push(format!("unknown iChat query {ns}")),
            Signal::Malformed(e) => out.push(format!("malformed iChat payload: {e}")),
        }
        out
    }
}

fn describe_vc(query: &VcQuery, out: &mut Vec<String>) {
    let records = |d: &zxmpp_vc::IpPortData, out: &mut Vec<String>| {
        for (r, k) in d.classified() {
            out.push(format!("address {}", Candidate::from_record(r, k)));
        }
    };
    match query {
        VcQuery::Request(r) => {
            out.push(format!(
                "vc request{}{}",
                if r.audio_only == Some(true) {
                    " (audio only)"
                } else {
                    ""
                },
                r.ext_ip_addr
                    .map(|ip| format!(" external {ip}:{}", r.ext_sip_port.unwrap_or(0)))
                    .unwrap_or_default()
            ));
            records(&r.caller_addresses, out);
        }
        VcQuery::Response(r) => {
            out.push(format!("vc response {:?}", r.answer));
            records(&r.connect_data, out);
        }
        VcQuery::Cancel(_) => out.push("vc cancel".to_owned()),
        VcQuery::CounterProposal(c) => {
            out.push("vc counterProposal".to_owned());
            records(&c.connect_data, out);
        }
        other => out.push(format!("vc {}", other.namespace())),
    }
}

/// Reads a stanza (or an iq's child element) for iChat AV signalling. `None`: nothing iChat-related in it.
///
/// An `apple:iq:vc:*` `<query/>` anywhere in it is a pre-ICE query; otherwise the first element whose text
/// is the hex of a binary plist is decoded as an invitation; a sibling or cousin element whose whole text is
/// `1` marks it as withdrawn.
#[must_use]
pub fn classify(xml: &str) -> Option<Signal> {
    let root = match zxmpp_xml::parse_document(xml.as_bytes(), &Config::default()) {
        Ok(root) => root,
        Err(_) => return None,
    };
    if let Some(query) = find(&root, &|e| e.ns().starts_with("apple:iq:vc:")) {
        let known = [
            zxmpp_vc::NS_REQUEST,
            zxmpp_vc::NS_RESPONSE,
            zxmpp_vc::NS_CANCEL,
            zxmpp_vc::NS_COUNTER_PROPOSAL,
        ];
        if !known.contains(&query.ns()) {
            return Some(Signal::UnknownVc {
                ns: query.ns().to_owned(),
            });
        }
        return Some(match VcQuery::from_element(&query) {
            Ok(q) => Signal::Vc(q),
            Err(e) => Signal::Malformed(e),
        });
    }
    let (bytes, _) = match zxmpp_vc::find_invitation_hex(xml.as_bytes()) {
        Ok(found) => found,
        Err(zxmpp_vc::Error::NoInvitation) => return None,
        Err(e) => return Some(Signal::Malformed(e)),
    };
    let invitation = match Invitation::decode(&bytes) {
        Ok(inv) => inv,
        Err(e) => return Some(Signal::Malformed(e)),
    };
    let cancelled = find(&root, &|e| {
        e.children().next().is_none() && e.text().trim() == "1"
    })
    .is_some();
    let mut candidates = Vec::new();
    let mut records = Vec::new();
    if let Some(blob) = invitation.ice_data.as_ref().and_then(IceData::sip_ice) {
        for group in blob.groups() {
            for (i, (record, kind)) in group.classified().enumerate() {
                let c = Candidate::from_record(record, kind);
                if i == 0 {
                    candidates.push(c.clone());
                }
                records.push(c);
            }
        }
    }
    Some(Signal::Invitation(IncomingInvitation {
        state: if cancelled {
            OfferState::Cancel
        } else {
            OfferState::Offer
        },
        session_id: invitation.session_id,
        inviter: invitation
            .invitees
            .as_ref()
            .and_then(|v| v.first())
            .and_then(|p| p.presentity_id.clone()),
        candidates,
        records,
        invitation: Box::new(invitation),
    }))
}

fn find<'a>(root: &Element<'a>, pred: &dyn Fn(&Element<'a>) -> bool) -> Option<Element<'a>> {
    let mut stack = vec![root.clone()];
    while let Some(el) = stack.pop() {
        if pred(&el) {
            return Some(el);
        }
        let mut kids: Vec<Element<'a>> = el.children().collect();
        kids.reverse();
        stack.extend(kids);
    }
    None
}

/// Which side placed a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    /// We offered it.
    Outgoing,
    /// The peer offered it.
    Incoming,
}

/// A call offer in progress (signalling only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// The peer's JID (as addressed for outgoing calls, as received for incoming ones).
    pub peer: String,
    /// Who offered it.
    pub direction: Direction,
    /// `VCSessionID`.
    pub session_id: Option<i64>,
    /// The offered candidates (ours for outgoing, the peer's for incoming).
    pub candidates: Vec<Candidate>,
    /// The invitation as hex (what was sent or received), to send again or withdraw.
    pub invitation_hex: String,
}

/// What [`Calls::handle_signal`] changed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallChange {
    /// An incoming offer was recorded.
    Offered(Call),
    /// A call was withdrawn by the peer and removed.
    Cancelled(Call),
    /// A cancel matched no call in progress.
    UnknownCancel,
}

/// Errors of [`Calls`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// Building the invitation failed.
    #[error("building the invitation: {0}")]
    Vc(#[from] zxmpp_vc::Error),
    /// A saved state of another format version.
    #[error("call state format {found}, this build reads {CALLS_FORMAT_VERSION}")]
    Version {
        /// The version found.
        found: u32,
    },
}

/// The calls in progress; serialize it (with its format version) next to the client's snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Calls {
    version: u32,
    calls: Vec<Call>,
}

impl Default for Calls {
    fn default() -> Self {
        Self::new()
    }
}

impl Calls {
    /// No calls.
    #[must_use]
    pub fn new() -> Self {
        Calls {
            version: CALLS_FORMAT_VERSION,
            calls: Vec::new(),
        }
    }

    /// Checks the format version of a deserialized value.
    ///
    /// # Errors
    /// [`CallError::Version`] for another version.
    pub fn validated(self) -> Result<Self, CallError> {
        if self.version == CALLS_FORMAT_VERSION {
            Ok(self)
        } else {
            Err(CallError::Version {
                found: self.version,
            })
        }
    }

    /// The calls in progress, oldest first.
    #[must_use]
    pub fn calls(&self) -> &[Call] {
        &self.calls
    }

    /// Whether any call is in progress (then `avavail` is left out of the caps: [`ext_bundles`]).
    #[must_use]
    pub fn in_call(&self) -> bool {
        !self.calls.is_empty()
    }

    /// Builds an invitation to `peer` offering `candidates` (each as a local SIP-ICE group), records the call
    /// and returns the `<message/>` to send. `own_jid` is our full JID; `session_id` should be random.
    ///
    /// # Errors
    /// [`CallError::Vc`] if an interface name does not fit a record or encoding fails.
    pub fn offer(
        &mut self,
        peer: &str,
        own_jid: &str,
        candidates: &[(String, SocketAddr)],
        session_id: i64,
    ) -> Result<String, CallError> {
        let mut groups = Vec::new();
        for (interface, addr) in candidates {
            let record = AddressRecord::new(interface, *addr)?;
            groups.push(Group::new(GroupKind::Local, record.clone(), record)?);
        }
        let bare = |j: &str| j.split('/').next().unwrap_or(j).to_owned();
        let mut me = Participant::new();
        me.presentity_id = Some(bare(own_jid));
        me.vc_party_id = Some(format!("{}1", bare(own_jid)));
        me.state = Some(0);
        let mut them = Participant::new();
        them.presentity_id = Some(bare(peer));
        them.vc_party_id = Some(format!("{}2", bare(peer)));
        them.invited_by = Some(bare(own_jid));
        them.state = Some(2);
        let mut invitation = Invitation::new();
        invitation.session_id = Some(session_id);
        invitation.ice_data = Some(IceData::new(SipIce::new(groups)));
        invitation.invitees = Some(vec![me, them]);
        invitation.security_enabled = Some(false);
        invitation.order_is_final = Some(false);
        let hex = invitation.to_hex()?;
        self.calls
            .retain(|c| !(c.direction == Direction::Outgoing && c.peer == peer));
        self.calls.push(Call {
            peer: peer.to_owned(),
            direction: Direction::Outgoing,
            session_id: Some(session_id),
            candidates: candidates
                .iter()
                .map(|(i, a)| Candidate {
                    interface: i.clone(),
                    addr: Some(*a),
                    complement: false,
                })
                .collect(),
            invitation_hex: hex.clone(),
        });
        Ok(offer_stanza(peer, "0", &hex))
    }

    /// Withdraws our offer to `peer` (or the latest outgoing one): removes it and returns the `<message/>` to
    /// send; `None` when there is no such offer.
    pub fn cancel(&mut self, peer: Option<&str>) -> Option<String> {
        let index = self.calls.iter().rposition(|c| {
            c.direction == Direction::Outgoing && peer.is_none_or(|p| c.peer == p)
        })?;
        let call = self.calls.remove(index);
        Some(offer_stanza(&call.peer, "1", &call.invitation_hex))
    }

    /// Forgets an incoming call from `peer` (the application declined or ended it); returns it.
    pub fn forget_incoming(&mut self, peer: &str) -> Option<Call> {
        let index = self
            .calls
            .iter()
            .position(|c| c.direction == Direction::Incoming && c.peer == peer)?;
        Some(self.calls.remove(index))
    }

    /// Takes an incoming signal from `from` into account: ICE-era offers are recorded, their withdrawals
    /// remove the matching call (same peer and session); a pre-ICE `cancel` removes the peer's incoming call.
    pub fn handle_signal(&mut self, from: &str, signal: &Signal) -> Option<CallChange> {
        match signal {
            Signal::Invitation(inv) => match inv.state {
                OfferState::Offer => {
                    let hex = inv.invitation.to_hex().unwrap_or_default();
                    let call = Call {
                        peer: from.to_owned(),
                        direction: Direction::Incoming,
                        session_id: inv.session_id,
                        candidates: inv.candidates.clone(),
                        invitation_hex: hex,
                    };
                    self.calls.retain(|c| {
                        !(c.direction == Direction::Incoming
                            && c.peer == from
                            && c.session_id == inv.session_id)
                    });
                    self.calls.push(call.clone());
                    Some(CallChange::Offered(call))
                }
                OfferState::Cancel => Some(
                    match self.calls.iter().position(|c| {
                        c.direction == Direction::Incoming
                            && c.peer == from
                            && c.session_id == inv.session_id
                    }) {
                        Some(i) => CallChange::Cancelled(self.calls.remove(i)),
                        None => CallChange::UnknownCancel,
                    },
                ),
            },
            Signal::Vc(VcQuery::Cancel(_)) => Some(match self.forget_incoming(from) {
                Some(call) => CallChange::Cancelled(call),
                None => CallChange::UnknownCancel,
            }),
            _ => None,
        }
    }
}

fn offer_stanza(peer: &str, state: &str, hex: &str) -> String {
    format!(
        "<message to='{}' type='chat'><invite xmlns='{NS_INVITE}'><state>{state}</state><invitation>{hex}</invitation></invite></message>",
        zxmpp_xml::escape_attr(peer)
    )
}
