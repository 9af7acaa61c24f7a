//! The capability announcements in presence: XEP-0115 `<c/>` (with legacy `ext`) and XEP-0390 `<c/>`.

use std::borrow::Cow;

use crate::algo::{Algorithm, decode_base64};
use crate::model::DiscoInfo;
use crate::{Error, xep0115, xep0390};

/// The XEP-0115 namespace.
pub const NS_CAPS: &str = "http://jabber.org/protocol/caps";

/// An XEP-0115 `<c xmlns='http://jabber.org/protocol/caps'/>`.
///
/// Without a `hash` attribute it is the legacy (pre-1.4) format: `ver` is a version label, not a hash, and
/// `ext` names feature bundles, each a disco node `node#ext`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Caps<'a> {
    /// `node`: the software's URI (for iChat `apple:ichat:caps`).
    pub node: Cow<'a, str>,
    /// `ver`: the verification string, or a version label in the legacy format.
    pub ver: Cow<'a, str>,
    /// `hash`: the algorithm of `ver`; `None` in the legacy format.
    pub hash: Option<Algorithm>,
    /// `ext`: the space-separated names of legacy feature bundles, as written.
    pub ext: Option<Cow<'a, str>>,
}

impl<'a> Caps<'a> {
    /// The `<c/>` that advertises `info`: `ver` is its XEP-0115 hash with `algo`.
    ///
    /// # Errors
    /// [`Error::IllFormed`] if `info` is ill-formed under §5.4, [`Error::UnsupportedAlgorithm`].
    pub fn for_info(
        node: impl Into<Cow<'a, str>>,
        info: &DiscoInfo<'_>,
        algo: Algorithm,
    ) -> Result<Self, Error> {
        let ver = xep0115::ver(info, &algo)?.to_base64();
        Ok(Caps {
            node: node.into(),
            ver: Cow::Owned(ver),
            hash: Some(algo),
            ext: None,
        })
    }

    /// A legacy `<c/>` (no `hash`), as iChat sends.
    pub fn legacy(
        node: impl Into<Cow<'a, str>>,
        ver: impl Into<Cow<'a, str>>,
        ext: &[&str],
    ) -> Self {
        Caps {
            node: node.into(),
            ver: ver.into(),
            hash: None,
            ext: if ext.is_empty() {
                None
            } else {
                Some(Cow::Owned(ext.join(" ")))
            },
        }
    }

    /// Whether this is the legacy format (no `hash` attribute, XEP-0115 §5.4 step 1).
    #[must_use]
    pub fn is_legacy(&self) -> bool {
        self.hash.is_none()
    }

    /// The legacy bundle names in `ext`, split on XML whitespace, empty names skipped.
    pub fn ext_names(&self) -> impl Iterator<Item = &str> {
        self.ext
            .as_deref()
            .unwrap_or("")
            .split([' ', '\t', '\n', '\r'])
            .filter(|s| !s.is_empty())
    }

    /// The disco node to query for `ver`: `node#ver`.
    #[must_use]
    pub fn ver_node(&self) -> String {
        format!("{}#{}", self.node, self.ver)
    }

    /// The disco node of a legacy bundle: `node#ext`.
    #[must_use]
    pub fn ext_node(&self, ext: &str) -> String {
        format!("{}#{}", self.node, ext)
    }

    /// Whether `info` hashes to `ver` with `hash` (XEP-0115 §5.4 steps 3.3–3.8).
    ///
    /// # Errors
    /// [`Error::IllFormed`] when the reply is ill-formed, [`Error::UnsupportedAlgorithm`] when `hash` is
    /// missing (legacy) or unknown.
    pub fn verify(&self, info: &DiscoInfo<'_>) -> Result<bool, Error> {
        let algo = self
            .hash
            .as_ref()
            .ok_or_else(|| Error::UnsupportedAlgorithm(String::new()))?;
        Ok(xep0115::ver(info, algo)?.matches_base64(&self.ver))
    }

    /// Detaches from the input buffer.
    #[must_use]
    pub fn into_owned(self) -> Caps<'static> {
        Caps {
            node: Cow::Owned(self.node.into_owned()),
            ver: Cow::Owned(self.ver.into_owned()),
            hash: self.hash,
            ext: self.ext.map(|e| Cow::Owned(e.into_owned())),
        }
    }
}

/// One XEP-0300 `<hash xmlns='urn:xmpp:hashes:2' algo='…'>BASE64</hash>`.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct HashValue {
    /// `algo`.
    pub algo: Algorithm,
    /// The decoded hash value.
    pub value: Vec<u8>,
}

impl HashValue {
    /// Parses the Base64 text of a `<hash/>`.
    ///
    /// # Errors
    /// [`Error::InvalidBase64`].
    pub fn from_base64(algo: Algorithm, b64: &str) -> Result<Self, Error> {
        let value = decode_base64(b64).ok_or_else(|| Error::InvalidBase64(b64.to_owned()))?;
        Ok(HashValue { algo, value })
    }

    /// The XEP-0390 capability hash node (`urn:xmpp:caps#ALGO.BASE64`).
    #[must_use]
    pub fn node(&self) -> String {
        xep0390::hash_node(&self.algo, &self.value)
    }

    /// Whether `info` hashes to this value (XEP-0390 §4.4).
    ///
    /// # Errors
    /// [`Error::IllFormed`], [`Error::UnsupportedAlgorithm`].
    pub fn verify(&self, info: &DiscoInfo<'_>) -> Result<bool, Error> {
        Ok(xep0390::hash(info, &self.algo)?.as_bytes() == self.value.as_slice())
    }
}

/// An XEP-0390 `<c xmlns='urn:xmpp:caps'/>`: a capability hash set.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CapsHashSet {
    /// The `<hash/>` children in document order.
    pub hashes: Vec<HashValue>,
}

impl CapsHashSet {
    /// The hash set of `info` for each algorithm in `algos`.
    ///
    /// # Errors
    /// [`Error::IllFormed`], [`Error::UnsupportedAlgorithm`].
    pub fn for_info(info: &DiscoInfo<'_>, algos: &[Algorithm]) -> Result<Self, Error> {
        let input = xep0390::input(info)?;
        let hashes = algos
            .iter()
            .map(|a| {
                Ok(HashValue {
                    algo: a.clone(),
                    value: a.digest(&input)?.as_bytes().to_vec(),
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(CapsHashSet { hashes })
    }

    /// The hash a processing entity should query and verify: the strongest algorithm this crate computes.
    #[must_use]
    pub fn preferred(&self) -> Option<&HashValue> {
        self.hashes
            .iter()
            .filter(|h| h.algo.is_known())
            .max_by_key(|h| h.algo.strength())
    }
}
