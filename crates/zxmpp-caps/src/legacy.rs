//! Legacy (XEP-0115 v1.3) capabilities: `ext` bundles answered as disco nodes `node#ext`, and the iChat
//! profile Z-XMPP advertised so that iChat would offer it audio and video calls.

use std::borrow::Cow;

use crate::caps::Caps;
use crate::model::{DiscoInfo, Identity};

/// iChat's caps node.
pub const ICHAT_NODE: &str = "apple:ichat:caps";

/// One legacy feature bundle: an `ext` name and the features its `node#ext` disco#info lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtBundle {
    /// The name in `ext`.
    pub name: &'static str,
    /// The features of `node#name`.
    pub features: &'static [&'static str],
}

/// iChat 5's legacy bundles (the Z-XMPP blog, 2010): each `ext` name and its one feature.
pub const ICHAT_BUNDLES: &[ExtBundle] = &[
    ExtBundle {
        name: "avavail",
        features: &["apple:iq:vc:available"],
    },
    ExtBundle {
        name: "avcap",
        features: &["apple:iq:vc:capable"],
    },
    ExtBundle {
        name: "audio",
        features: &["apple:iq:vc:audio"],
    },
    ExtBundle {
        name: "video",
        features: &["apple:iq:vc:video"],
    },
    ExtBundle {
        name: "maudio",
        features: &["apple:iq:vc:multiaudio"],
    },
    ExtBundle {
        name: "mvideo",
        features: &["apple:iq:vc:multivideo"],
    },
    ExtBundle {
        name: "ice",
        features: &["apple:iq:vc:ice"],
    },
    ExtBundle {
        name: "recauth",
        features: &["apple:iq:vc:recauth"],
    },
    ExtBundle {
        name: "auxvideo",
        features: &["apple:iq:vc:auxvideo"],
    },
    ExtBundle {
        name: "rdserver",
        features: &["apple:iq:rd:server"],
    },
    ExtBundle {
        name: "rdclient",
        features: &["apple:iq:rd:client"],
    },
    ExtBundle {
        name: "rdmuxing",
        features: &["apple:iq:rd:muxing"],
    },
];

/// The `ext` names an AV-capable, available iChat advertises (iChat drops `avavail` during a call).
pub const ICHAT_AV_EXT: &[&str] = &["avavail", "avcap", "audio", "video", "maudio", "mvideo"];

/// iChat 5's plain disco#info features (outside any bundle).
pub const ICHAT_FEATURES: &[&str] = &[
    "apple:profile:bundle-transfer",
    "apple:profile:efh-transfer",
    "apple:profile:transfer-extensions:rsrcfork",
    "http://www.apple.com/xmpp/message-attachments",
];

/// What an entity advertises in the legacy format and how it answers disco#info on its caps nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyProfile {
    /// The caps `node`.
    pub node: String,
    /// The legacy `ver` (a version label, not a hash).
    pub ver: String,
    /// The disco#info of `node#ver` and of the bare JID.
    pub base: DiscoInfo<'static>,
    /// The bundles, by `ext` name.
    pub bundles: Vec<ExtBundle>,
    /// The `ext` names currently advertised.
    pub active: Vec<&'static str>,
}

impl LegacyProfile {
    /// iChat's profile with version label `ver`, advertising the AV bundles in [`ICHAT_AV_EXT`].
    #[must_use]
    pub fn ichat(ver: &str) -> Self {
        let mut base = DiscoInfo::new().with_identity(Identity::new("client", "pc"));
        for feature in ICHAT_FEATURES {
            base.features.push(Cow::Borrowed(feature));
        }
        LegacyProfile {
            node: ICHAT_NODE.to_owned(),
            ver: ver.to_owned(),
            base,
            bundles: ICHAT_BUNDLES.to_vec(),
            active: ICHAT_AV_EXT.to_vec(),
        }
    }

    /// Sets which bundles are advertised; unknown names are left out.
    pub fn set_active(&mut self, names: &[&str]) {
        self.active = names
            .iter()
            .filter_map(|n| self.bundles.iter().find(|b| b.name == *n).map(|b| b.name))
            .collect();
    }

    /// The legacy `<c/>` to put in presence.
    #[must_use]
    pub fn caps(&self) -> Caps<'_> {
        Caps::legacy(self.node.as_str(), self.ver.as_str(), &self.active)
    }

    /// The disco#info answer for a query on `node` (`None`: the bare entity), or `None` when the node is not
    /// one of ours. The bare entity lists the base features plus every active bundle's; `node#ver` lists the
    /// base features only (legacy peers cache it per version, apart from the bundles); `node#ext` lists the
    /// bundle's features. Every known bundle answers, active or not, because peers
    /// cache bundles by name across presences.
    #[must_use]
    pub fn answer(&self, node: Option<&str>) -> Option<DiscoInfo<'static>> {
        let Some(node) = node else {
            return Some(self.full_info());
        };
        let suffix = node.strip_prefix(self.node.as_str())?.strip_prefix('#')?;
        if suffix == self.ver {
            let mut info = self.base.clone();
            info.node = Some(Cow::Owned(node.to_owned()));
            return Some(info);
        }
        let bundle = self.bundles.iter().find(|b| b.name == suffix)?;
        let mut info = DiscoInfo::new().with_node(node.to_owned());
        for feature in bundle.features {
            info.features.push(Cow::Borrowed(feature));
        }
        Some(info)
    }

    fn full_info(&self) -> DiscoInfo<'static> {
        let mut info = self.base.clone();
        for name in &self.active {
            if let Some(bundle) = self.bundles.iter().find(|b| b.name == *name) {
                for feature in bundle.features {
                    if !info.has_feature(feature) {
                        info.features.push(Cow::Borrowed(feature));
                    }
                }
            }
        }
        info
    }
}
