//! Entity capabilities for XMPP, with every detail of the specifications right.
//!
//! - A zero-copy **disco#info model** (XEP-0030) with extended information forms (XEP-0128): [`DiscoInfo`],
//!   parsed from a `<query/>` or an `<iq/>` holding one ([`DiscoInfo::parse`], [`DiscoInfo::from_element`],
//!   [`DiscoInfo::from_minidom`]) and written back ([`DiscoInfo::to_xml`]).
//! - **XEP-0115 v1.6**: the verification string and its hash ([`xep0115`]) with the §5.4 validation, the
//!   `<c/>` element ([`Caps`]) including the legacy format with `ext` bundles ([`LegacyProfile`], with the
//!   iChat profile Z-XMPP advertised to be offered calls).
//! - **XEP-0390** (caps 2.0): the hash input, capability hash sets ([`CapsHashSet`]) and hash nodes ([`xep0390`]).
//! - A **sans-IO caps cache** ([`CapsCache`]) that only caches replies it has verified, refuses poisoned
//!   ones, bounds its size and its outstanding queries, and persists with serde ([`CacheSnapshot`]).
//!
//! Where the Rust ecosystem's `xmpp-parsers` 0.23 differs (it sorts after appending `<`, does not sort form
//! fields, hashes forms without a hidden `FORM_TYPE`, does not validate), this crate follows the XEPs; see
//! `docs/caps.md` in the repository.
//!
//! # Hashing a reply
//!
//! ```
//! use zxmpp_caps::{Algorithm, DiscoInfo, xep0115, xep0390};
//!
//! let reply = br#"<query xmlns='http://jabber.org/protocol/disco#info'>
//!   <identity category='client' name='Exodus 0.9.1' type='pc'/>
//!   <feature var='http://jabber.org/protocol/caps'/>
//!   <feature var='http://jabber.org/protocol/disco#info'/>
//!   <feature var='http://jabber.org/protocol/disco#items'/>
//!   <feature var='http://jabber.org/protocol/muc'/>
//! </query>"#;
//! let info = DiscoInfo::parse(reply)?;
//! assert_eq!(xep0115::ver(&info, &Algorithm::Sha1)?.to_base64(), "QgayPKawpkPSDYmwT/WM94uAlu0=");
//! let hash = xep0390::hash(&info, &Algorithm::Sha256)?;
//! assert_eq!(hash.to_base64(), "CYEpCSTmIyvtrwic1NPddIpuV44E9NGYGaZx1kYKFoE=");
//! # Ok::<(), zxmpp_caps::Error>(())
//! ```
//!
//! # The cache loop
//!
//! Feed presence `<c/>` elements in, send the queries it asks for, feed the replies back, read the events.
//!
//! ```
//! use std::time::Instant;
//! use zxmpp_caps::{Algorithm, CacheConfig, Caps, CapsCache, CapsEvent, DiscoInfo, Identity};
//!
//! // What the peer really supports, and the <c/> it advertises.
//! let theirs = DiscoInfo::new()
//!     .with_identity(Identity::new("client", "pc").with_name("Peer"))
//!     .with_feature("http://jabber.org/protocol/disco#info");
//! let advert = Caps::for_info("https://peer.example", &theirs, Algorithm::Sha1)?;
//!
//! let mut cache = CapsCache::new(CacheConfig::default());
//! let now = Instant::now();
//! cache.handle_caps(now, "peer@example.org/home", &advert);
//! while let Some(query) = cache.poll_query() {
//!     // Send <iq type='get' to=query.jid><query xmlns='…disco#info' node=query.node/></iq>, await the
//!     // result, then hand it back (here the peer answers honestly).
//!     let ok = cache.handle_disco_info(now, &query.jid, &query.node, &theirs);
//!     assert!(ok);
//! }
//! assert!(matches!(cache.poll_event(), Some(CapsEvent::Verified { .. })));
//! let caps = cache.lookup("peer@example.org/home").expect("verified");
//! assert!(caps.has_feature("http://jabber.org/protocol/disco#info"));
//! // Call cache.handle_timeout(now) when cache.poll_timeout() is due.
//! # Ok::<(), zxmpp_caps::Error>(())
//! ```

#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod algo;
mod cache;
mod caps;
mod error;
mod legacy;
mod model;
mod parse;
mod write;
pub mod xep0115;
pub mod xep0390;

pub use algo::{Algorithm, Digest, Hasher, Sink};
pub use cache::{
    CacheConfig, CacheSnapshot, Capabilities, CapsCache, CapsEvent, CapsQuery, SNAPSHOT_VERSION,
    Scheme, Trust, VerKey,
};
pub use caps::{Caps, CapsHashSet, HashValue, NS_CAPS};
pub use error::{Error, IllFormed};
pub use legacy::{
    ExtBundle, ICHAT_AV_EXT, ICHAT_BUNDLES, ICHAT_FEATURES, ICHAT_NODE, LegacyProfile,
};
pub use model::{
    DataForm, DiscoInfo, FORM_TYPE, Field, FormType, Identity, NS_DATA, NS_DISCO_INFO,
};
pub use parse::Limits;
pub use zxmpp_xml::Config;
