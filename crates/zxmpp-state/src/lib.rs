//! The snapshot of a whole XMPP client, so that it can stop at any instant and go on later, even in another
//! process: the BOSH session (from `zxmpp-bosh`), XEP-0198 stream management state, the bound JID, the roster
//! and its version, the caps cache (from `zxmpp-caps`), the outbound queue and the pending iqs.
//!
//! - [`ClientSnapshot`] and the structs it holds are plain serde data; `zxmpp-client` fills them in
//!   (`Client::snapshot`) and reads them back (`Client::restore`).
//! - [`ClientSnapshot::encode`] / [`ClientSnapshot::decode`]: a small header (magic, format version, encoding,
//!   length, CRC-32) and a JSON ([`Encoding::Json`], readable) or postcard ([`Encoding::Binary`], compact)
//!   payload. A snapshot of a newer format fails with [`Error::FutureVersion`], a damaged one with
//!   [`Error::Checksum`]; older formats are migrated (format version 1 → 2).
//! - [`FileStore`]: one snapshot per file, replaced atomically (temporary file, fsync, rename).
//!
//! Time: a snapshot holds no [`std::time::Instant`]. Deadlines are stored as milliseconds left when the
//! snapshot was taken, and [`ClientSnapshot::taken_at_ms`] is a wall-clock time the application may set.
//!
//! ```
//! use zxmpp_state::{ClientSnapshot, Encoding, Error, FileStore, Phase, Roster, Settings};
//!
//! let snapshot = ClientSnapshot::new(Settings::new("juliet@example.com", [7; 32]));
//! assert_eq!(snapshot.phase, Phase::Offline);
//!
//! for encoding in [Encoding::Json, Encoding::Binary] {
//!     let bytes = snapshot.encode(encoding)?;
//!     assert_eq!(ClientSnapshot::decode(&bytes)?, snapshot);
//!     // A flipped byte is caught.
//!     let mut damaged = bytes.clone();
//!     *damaged.last_mut().unwrap() ^= 0x20;
//!     assert!(ClientSnapshot::decode(&damaged).is_err());
//! }
//!
//! let dir = std::env::temp_dir().join(format!("zxmpp-state-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let store = FileStore::new(dir.join("client.snapshot"), Encoding::Binary);
//! store.save(&snapshot)?;
//! assert_eq!(store.load()?, Some(snapshot));
//! store.remove()?;
//! # std::fs::remove_dir(&dir).ok();
//! # Ok::<(), Error>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod codec;
mod error;
mod model;
mod store;
mod v1;

pub use codec::{DEFAULT_MAX_SIZE, Encoding, FORMAT_VERSION, OLDEST_FORMAT_VERSION};
pub use error::Error;
pub use model::{
    ClientSnapshot, IqPurpose, PendingIq, Phase, QueuedStanza, Roster, RosterItem, Settings,
    StreamManagement, TransportSnapshot,
};
pub use store::FileStore;

/// Re-exported so that users name the same versions of the nested snapshot types.
pub use zxmpp_bosh;
/// Re-exported so that users name the same versions of the nested snapshot types.
pub use zxmpp_caps;

impl Settings {
    /// Settings with defaults for everything but the account and the entropy: SCRAM-SHA-256, SCRAM-SHA-1 and
    /// PLAIN allowed, stream management and STARTTLS on, no authentication over insecure connections,
    /// iq timeout 60 s, an `<r/>` after 5 stanzas or 2 s, roster fetched on each new session, a client
    /// identity `client/pc` named `zxmpp` with the features zxmpp answers for.
    #[must_use]
    pub fn new(jid: impl Into<String>, entropy: [u8; 32]) -> Self {
        let disco = zxmpp_caps::DiscoInfo::new()
            .with_identity(zxmpp_caps::Identity::new("client", "pc").with_name("zxmpp"))
            .with_feature("http://jabber.org/protocol/caps")
            .with_feature("http://jabber.org/protocol/disco#info")
            .with_feature("urn:xmpp:ping");
        Self {
            jid: jid.into(),
            resource: None,
            mechanisms: vec![
                "SCRAM-SHA-256".to_owned(),
                "SCRAM-SHA-1".to_owned(),
                "PLAIN".to_owned(),
            ],
            stream_management: true,
            starttls: true,
            allow_insecure_auth: false,
            iq_timeout_ms: 60_000,
            ack_every: 5,
            ack_delay_ms: 2_000,
            fetch_roster: true,
            caps_node: "https://github.com/zxmpp/zxmpp".to_owned(),
            disco,
            lang: None,
            entropy,
            ichat_caps: None,
        }
    }
}

impl ClientSnapshot {
    /// The snapshot of a client that never connected.
    #[must_use]
    pub fn new(settings: Settings) -> Self {
        Self {
            taken_at_ms: None,
            settings,
            phase: Phase::Offline,
            bound_jid: None,
            stream_management: None,
            roster: Roster::default(),
            caps_cache: zxmpp_caps::CapsCache::new(zxmpp_caps::CacheConfig::default()).snapshot(),
            outbound: Vec::new(),
            pending_iqs: Vec::new(),
            presence: None,
            counter: 0,
            transport: None,
        }
    }
}
