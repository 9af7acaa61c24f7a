//! Format version 1, kept to migrate old snapshots: the same as version 2 without `Settings::ichat_caps`.

use serde::Deserialize;

use crate::{
    ClientSnapshot, PendingIq, Phase, QueuedStanza, Roster, Settings, StreamManagement,
    TransportSnapshot,
};

/// [`ClientSnapshot`] as format version 1 wrote it (field order matters for the binary encoding).
#[derive(Deserialize)]
pub(crate) struct ClientSnapshotV1 {
    taken_at_ms: Option<u64>,
    settings: SettingsV1,
    phase: Phase,
    bound_jid: Option<String>,
    stream_management: Option<StreamManagement>,
    roster: Roster,
    caps_cache: zxmpp_caps::CacheSnapshot,
    outbound: Vec<QueuedStanza>,
    pending_iqs: Vec<PendingIq>,
    presence: Option<String>,
    counter: u64,
    transport: Option<TransportSnapshot>,
}

/// [`Settings`] of format version 1.
#[derive(Deserialize)]
struct SettingsV1 {
    jid: String,
    resource: Option<String>,
    mechanisms: Vec<String>,
    stream_management: bool,
    starttls: bool,
    allow_insecure_auth: bool,
    iq_timeout_ms: u64,
    ack_every: u32,
    ack_delay_ms: u64,
    fetch_roster: bool,
    caps_node: String,
    disco: zxmpp_caps::DiscoInfo<'static>,
    lang: Option<String>,
    entropy: [u8; 32],
}

impl From<ClientSnapshotV1> for ClientSnapshot {
    fn from(v1: ClientSnapshotV1) -> Self {
        let s = v1.settings;
        ClientSnapshot {
            taken_at_ms: v1.taken_at_ms,
            settings: Settings {
                jid: s.jid,
                resource: s.resource,
                mechanisms: s.mechanisms,
                stream_management: s.stream_management,
                starttls: s.starttls,
                allow_insecure_auth: s.allow_insecure_auth,
                iq_timeout_ms: s.iq_timeout_ms,
                ack_every: s.ack_every,
                ack_delay_ms: s.ack_delay_ms,
                fetch_roster: s.fetch_roster,
                caps_node: s.caps_node,
                disco: s.disco,
                lang: s.lang,
                entropy: s.entropy,
                ichat_caps: None,
            },
            phase: v1.phase,
            bound_jid: v1.bound_jid,
            stream_management: v1.stream_management,
            roster: v1.roster,
            caps_cache: v1.caps_cache,
            outbound: v1.outbound,
            pending_iqs: v1.pending_iqs,
            presence: v1.presence,
            counter: v1.counter,
            transport: v1.transport,
        }
    }
}
