//! iChat AV over XMPP.
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
pub use record::{AddressRecord, Family, RECORD_LEN, RecordKind};
pub use sipice::{Group, GroupHeader, GroupKind, SipIce, SipIceConfig};
mod parse;
mod stanza;
pub use parse::{VcIq, find_invitation_hex};
pub use stanza::{
    Answer, Cancel, CounterProposal, ExtraChild, NS_CANCEL, NS_COUNTER_PROPOSAL, NS_REQUEST,
    NS_RESPONSE, Request, Response, VcQuery,
};
