//! The snapshot structs a client fills in.

use serde::{Deserialize, Serialize};

/// The whole persistent state of an XMPP client, transport included.
///
/// Times are never stored as instants: a pending deadline is stored as the number of milliseconds left at the
/// moment the snapshot was taken ([`PendingIq::remaining_ms`]); restoring adds it to the `now` given to the
/// restore call. [`ClientSnapshot::taken_at_ms`] is a wall-clock time (milliseconds since the Unix epoch) that
/// the application passes in explicitly if it wants one; the crates never read a clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientSnapshot {
    /// Wall-clock time of the snapshot in milliseconds since the Unix epoch, if the application set one.
    pub taken_at_ms: Option<u64>,
    /// The client's settings (everything of its configuration except the password).
    pub settings: Settings,
    /// Where the session stood.
    pub phase: Phase,
    /// The bound full JID of the current (or last) session.
    pub bound_jid: Option<String>,
    /// XEP-0198 stream management state, when it was enabled.
    pub stream_management: Option<StreamManagement>,
    /// The roster with its version (RFC 6121 §2.6).
    pub roster: Roster,
    /// The entity capabilities cache (verified disco#info replies).
    pub caps_cache: zxmpp_caps::CacheSnapshot,
    /// Stanzas the application asked to send that have not been sent yet (the client was offline).
    pub outbound: Vec<QueuedStanza>,
    /// iq requests sent and not yet answered.
    pub pending_iqs: Vec<PendingIq>,
    /// The last presence the application set (resent after a new session), serialized.
    pub presence: Option<String>,
    /// Counter for generated stanza ids and SASL nonces.
    pub counter: u64,
    /// The transport's own resumable state (set by the application or driver, not by the client core).
    pub transport: Option<TransportSnapshot>,
}

/// The settings of a client that survive a restart. The password is never part of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// The account's bare JID (`user@domain`).
    pub jid: String,
    /// The resource to ask for at bind time; `None` lets the server choose.
    pub resource: Option<String>,
    /// SASL mechanism names allowed, in order of preference (`SCRAM-SHA-256`, `SCRAM-SHA-1`, `PLAIN`).
    pub mechanisms: Vec<String>,
    /// Whether to enable XEP-0198 stream management when offered.
    pub stream_management: bool,
    /// Whether to negotiate STARTTLS when offered on an insecure connection.
    pub starttls: bool,
    /// Whether to allow authentication over a connection that is not secure.
    pub allow_insecure_auth: bool,
    /// Timeout of iq requests in milliseconds.
    pub iq_timeout_ms: u64,
    /// Send an XEP-0198 `<r/>` after this many unacknowledged stanzas.
    pub ack_every: u32,
    /// Send an XEP-0198 `<r/>` this many milliseconds after the oldest unacknowledged stanza.
    pub ack_delay_ms: u64,
    /// Fetch the roster at the start of every new (not resumed) session.
    pub fetch_roster: bool,
    /// The XEP-0115 node of this software.
    pub caps_node: String,
    /// What this client answers to disco#info (and hashes into its caps).
    pub disco: zxmpp_caps::DiscoInfo<'static>,
    /// `xml:lang` of the stream.
    pub lang: Option<String>,
    /// Seed for SASL nonces and stanza ids (32 bytes from a CSPRNG in real use).
    pub entropy: [u8; 32],
    /// Advertise iChat's legacy caps profile (`node='apple:ichat:caps'`, `ext` bundles) with this version
    /// label instead of an XEP-0115 hash, and answer disco#info from it (`None`: off).
    pub ichat_caps: Option<String>,
}

/// Where the session stood when the snapshot was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Phase {
    /// No stream (never connected, closed, or the connection was lost).
    Offline,
    /// A stream was being negotiated; restoring starts a new connection.
    Negotiating,
    /// The session was established and the stream open.
    Online,
    /// The session was closed on purpose or failed for good; restoring does not reconnect.
    Closed,
    /// The resource was bound and XEP-0198 `<enable/>` sent, `<enabled/>` (or `<failed/>`) not yet received;
    /// stanzas already flow. [`ClientSnapshot::stream_management`] holds the pending state (no id yet; its
    /// `inbound` and `unacked` count from the `<enable/>`). Restoring goes on with the same stream when the
    /// transport does (a restored BOSH session); a new connection sends the unacknowledged stanzas again.
    /// (Added after format version 2 was published, at the end of the enum, so older snapshots decode as
    /// before.)
    EnablingSm,
}

/// XEP-0198 stream management state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamManagement {
    /// The resumption id (`<enabled id=…/>`), when the server allows resumption.
    pub id: Option<String>,
    /// The server's preferred reconnection location (`<enabled location=…/>`).
    pub location: Option<String>,
    /// The longest resumption time the server allows, in seconds (`max`).
    pub max_secs: Option<u32>,
    /// Inbound h: how many stanzas the client has handled (modulo 2^32).
    pub inbound: u32,
    /// The latest h the server acknowledged (modulo 2^32).
    pub acked: u32,
    /// Stanzas sent and not yet acknowledged, oldest first.
    pub unacked: Vec<QueuedStanza>,
}

/// One stanza waiting to be sent or to be acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedStanza {
    /// The stanza's `id`, if it has one.
    pub id: Option<String>,
    /// The serialized stanza.
    pub xml: String,
}

/// An iq request awaiting its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingIq {
    /// The request's id.
    pub id: String,
    /// The JID it was sent to (`None`: the account's server).
    pub to: Option<String>,
    /// Who asked for it.
    pub purpose: IqPurpose,
    /// Milliseconds left before it times out, counted from the snapshot.
    pub remaining_ms: u64,
}

/// Why an iq was sent (decides what its answer does).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum IqPurpose {
    /// The application's own request: its answer becomes an event.
    App,
    /// A roster get.
    Roster,
    /// A disco#info query of the caps cache, for this node.
    Caps {
        /// The node queried.
        node: String,
    },
}

/// The roster and its version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roster {
    /// The version the server last gave (`ver`), if it supports versioning.
    pub version: Option<String>,
    /// The items, in the order the server sent them.
    pub items: Vec<RosterItem>,
}

/// One roster item (RFC 6121 §2.1.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterItem {
    /// The contact's bare JID.
    pub jid: String,
    /// The handle the user gave it.
    pub name: Option<String>,
    /// The subscription state as written (`none`, `to`, `from`, `both`; unknown values kept).
    pub subscription: String,
    /// `ask='subscribe'` when a subscription request is pending.
    pub ask: bool,
    /// Whether the server marked it pre-approved (`approved='true'`).
    pub approved: bool,
    /// The groups it belongs to.
    pub groups: Vec<String>,
}

/// The transport's own resumable state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TransportSnapshot {
    /// A BOSH session (its sid, rids, unanswered bodies, keys).
    ///
    /// In JSON it is nested as it is; in the binary encoding it is embedded as JSON bytes, because
    /// `zxmpp-bosh` snapshots read text-or-bytes fields with `deserialize_any`, which postcard cannot do.
    Bosh(#[serde(with = "embedded_json")] zxmpp_bosh::ClientSnapshot),
}

/// Serde for values that need a self-describing format: nested in human-readable formats, JSON bytes in others.
mod embedded_json {
    use std::fmt;

    use serde::de::{self, DeserializeOwned, Visitor};
    use serde::{Deserializer, Serialize, Serializer};

    pub(super) fn serialize<T: Serialize, S: Serializer>(
        value: &T,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            value.serialize(s)
        } else {
            let bytes = serde_json::to_vec(value).map_err(serde::ser::Error::custom)?;
            s.serialize_bytes(&bytes)
        }
    }

    pub(super) fn deserialize<'de, T: DeserializeOwned, D: Deserializer<'de>>(
        d: D,
    ) -> Result<T, D::Error> {
        if d.is_human_readable() {
            T::deserialize(d)
        } else {
            let bytes = d.deserialize_byte_buf(BytesVisitor)?;
            serde_json::from_slice(&bytes).map_err(de::Error::custom)
        }
    }

    struct BytesVisitor;

    impl Visitor<'_> for BytesVisitor {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("JSON bytes")
        }

        fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }

        fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(v)
        }
    }
}
