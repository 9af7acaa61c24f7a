//! iChat AV over XMPP, as Mac OS X 10.5–10.6 iChat spoke it.
//!
//! - [`Invitation`]: the binary-plist dictionary of an ICE-era call invitation. [`Invitation::from_hex`]
//!   decodes the whole chain in one call — hex text → binary plist → the `VCICEData` typedstream
//!   ([`IceData`]) → the SIP-ICE candidate blob ([`SipIce`]) — into typed values, keeping unknown keys in
//!   order; [`Invitation::encode`] and [`Invitation::to_hex`] go back, byte for byte for what iChat wrote.
//! - [`SipIce`]: groups of 40-byte [`AddressRecord`]s (interface name, IPv4/IPv6 address, port); the
//!   `~` records are recognised as bitwise complements of their base ([`RecordKind`]); unknown header
//!   fields and leftover bytes are kept. [`Group::new`] and [`SipIce::new`] build new blobs.
//! - The pre-ICE protocol: [`VcQuery`] (`apple:iq:vc:request`, `:response`, `:cancel`,
//!   `:counterProposal`) with builders, [`VcQuery::to_xml`], and parsers on `zxmpp-xml`
//!   ([`VcQuery::parse`], [`VcIq::parse`]); their address lists are [`IpPortData`].
//! - [`hex`]: the hex framing (lowercase out; either case, whitespace and a leading line feed in).
//!
//! Nothing here does I/O. Every reader is bounded ([`InvitationConfig`], [`SipIceConfig`]) and
//! fails with an [`Error`] that carries the byte offset where one is known.
//!
//! # Example
//!
//! ```
//! use zxmpp_vc::{AddressRecord, Group, GroupKind, IceData, Invitation, Participant, SipIce};
//!
//! # fn main() -> Result<(), zxmpp_vc::Error> {
//! // Build an invitation offering one local and one NAT-mapped candidate.
//! let host = AddressRecord::new("en1", "192.168.1.132:16402".parse().unwrap())?;
//! let mapped = AddressRecord::new("external", "93.139.37.211:49958".parse().unwrap())?;
//! let blob = SipIce::new(vec![
//!     Group::new(GroupKind::Local, host.clone(), host.clone())?,
//!     Group::new(GroupKind::External, mapped, host)?,
//! ]);
//! let mut me = Participant::new();
//! me.presentity_id = Some("alice@example.com".into());
//! let mut invitation = Invitation::new();
//! invitation.session_id = Some(473_648_504);
//! invitation.ice_data = Some(IceData::new(blob));
//! invitation.invitees = Some(vec![me]);
//! invitation.security_enabled = Some(false);
//! invitation.order_is_final = Some(false);
//!
//! // What goes into the stanza: lowercase hex of a binary plist.
//! let hex = invitation.to_hex()?;
//! assert!(hex.starts_with("62706c6973743030")); // "bplist00"
//!
//! // The receiving side: one call decodes every layer.
//! let received = Invitation::from_hex(format!("\n{hex}").as_bytes())?;
//! let blob = received.ice_data.as_ref().and_then(IceData::sip_ice).unwrap();
//! for group in blob.groups() {
//!     for (record, kind) in group.classified() {
//!         println!("{:?} {} {:?} {:?}", group.kind(), record.interface(), record.socket_addr(), kind);
//!     }
//! }
//! assert_eq!(blob.groups()[1].candidate().unwrap().socket_addr().unwrap().port(), 49958);
//! assert_eq!(received.encode()?, invitation.encode()?);
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
pub mod hex;
mod ice_data;
mod invitation;
mod ipport;
mod record;
mod sipice;

pub use error::{Error, Result};
pub use ice_data::IceData;
pub use invitation::{Invitation, InvitationConfig, InvitationKey, Participant};
pub use ipport::IpPortData;
/// The `plist` crate, whose `Value` the invitation model uses for keys it does not know.
pub use plist;
pub use record::{AddressRecord, Family, RECORD_LEN, RecordKind};
pub use sipice::{Group, GroupHeader, GroupKind, SipIce, SipIceConfig};
mod parse;
mod stanza;
pub use parse::{VcIq, find_invitation_hex};
pub use stanza::{
    Answer, Cancel, CounterProposal, ExtraChild, NS_CANCEL, NS_COUNTER_PROPOSAL, NS_REQUEST,
    NS_RESPONSE, Request, Response, VcQuery,
};
