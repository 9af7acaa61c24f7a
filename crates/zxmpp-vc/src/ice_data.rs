//! VCICEData: the typedstream (NSArchiver) archive inside an invitation.
//!
//! iChat archives one `NSMutableDictionary`:
//!
//! ```text
//! "connection helper" -> NSMutableDictionary { "CommNAT" -> NSNumber('i') }
//! "version"           -> NSNumber('i', 2)
//! "SIP-ICE"           -> NSData (the candidate blob, see [`SipIce`])
//! ```
//!
//! [`IceData`] keeps the decoded archive whole, so entries it does not model survive and the
//! archive encodes back to the same bytes; the SIP-ICE blob is decoded into a [`SipIce`] that is
//! kept in step with the archive.

use zxmpp_typedstream::{Archive, Content, Limits, Object, Value};

use crate::error::{Error, Result};
use crate::sipice::{SipIce, SipIceConfig};

/// Dictionary key of the SIP-ICE blob.
const SIP_ICE: &str = "SIP-ICE";
/// Dictionary key of the format version.
const VERSION: &str = "version";
/// Dictionary key of the NAT helper settings.
const CONNECTION_HELPER: &str = "connection helper";
/// Key inside the connection helper.
const COMM_NAT: &str = "CommNAT";

/// The decoded VCICEData value.
///
/// ```
/// use zxmpp_vc::{AddressRecord, Group, GroupKind, IceData, SipIce};
/// let host = AddressRecord::new("en1", "192.168.1.132:16402".parse().unwrap()).unwrap();
/// let blob = SipIce::new(vec![Group::new(GroupKind::Local, host.clone(), host).unwrap()]);
/// let ice = IceData::new(blob.clone());
/// let bytes = ice.to_bytes().unwrap();
/// let back = IceData::decode(&bytes).unwrap();
/// assert_eq!(back.version(), Some(2));
/// assert_eq!(back.comm_nat(), Some(0));
/// assert_eq!(back.sip_ice(), Some(&blob));
/// ```
#[derive(Debug, Clone)]
pub struct IceData {
    archive: Archive,
    sip_ice: Option<SipIce>,
    /// The bytes the archive was decoded from, while it is unchanged: written back as they are,
    /// so even an archive that made other choices than Apple's writer comes back byte for byte.
    original: Option<Vec<u8>>,
}

/// Equal when the archives (and so the SIP-ICE blobs) are; where the bytes came from does not
/// matter.
impl PartialEq for IceData {
    fn eq(&self, other: &Self) -> bool {
        self.archive == other.archive && self.sip_ice == other.sip_ice
    }
}

impl IceData {
    /// VCICEData as iChat 5 writes it: version 2, `CommNAT` 0, and `sip_ice`.
    #[must_use]
    pub fn new(sip_ice: SipIce) -> Self {
        let key = |s: &str| Value::object(Object::ns_string(s));
        let helper = Object::ns_mutable_dictionary(vec![(
            key(COMM_NAT),
            Value::object(Object::ns_number_i32(0)),
        )]);
        let root = Object::ns_mutable_dictionary(vec![
            (key(CONNECTION_HELPER), Value::object(helper)),
            (key(VERSION), Value::object(Object::ns_number_i32(2))),
            (
                key(SIP_ICE),
                Value::object(Object::ns_data(sip_ice.to_bytes())),
            ),
        ]);
        IceData {
            archive: Archive::with_root(Value::object(root)),
            sip_ice: Some(sip_ice),
            original: None,
        }
    }

    /// Reads VCICEData with the default limits.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        Self::decode_with(bytes, &Limits::default(), &SipIceConfig::default())
    }

    /// Reads VCICEData with the given typedstream limits, reading the SIP-ICE blob with
    /// `config`.
    pub fn decode_with(bytes: &[u8], limits: &Limits, config: &SipIceConfig) -> Result<Self> {
        let archive = zxmpp_typedstream::decode_with(bytes, limits)?;
        let mut ice = Self::from_archive_with(archive, config)?;
        ice.original = Some(bytes.to_vec());
        Ok(ice)
    }

    /// Wraps a decoded archive, reading its SIP-ICE blob with the default limits.
    pub fn from_archive(archive: Archive) -> Result<Self> {
        Self::from_archive_with(archive, &SipIceConfig::default())
    }

    /// Wraps a decoded archive, reading its SIP-ICE blob with `config`.
    pub fn from_archive_with(archive: Archive, config: &SipIceConfig) -> Result<Self> {
        let root = archive.root_object().ok_or(Error::IceData {
            reason: "the root is not an object",
        })?;
        if root.as_dictionary().is_none() {
            return Err(Error::IceData {
                reason: "the root object is not a dictionary",
            });
        }
        let sip_ice = match root.get(SIP_ICE) {
            None => None,
            Some(v) => {
                let data = archive
                    .resolve(v)
                    .and_then(Object::as_data)
                    .ok_or(Error::IceData {
                        reason: "SIP-ICE is not an NSData",
                    })?;
                Some(SipIce::decode_with(data, config)?)
            }
        };
        Ok(IceData {
            archive,
            sip_ice,
            original: None,
        })
    }

    /// The archive's bytes (the VCICEData value): the bytes it was decoded from while it is
    /// unchanged, else the archive written as Apple's NSArchiver writes it.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        match &self.original {
            Some(bytes) => Ok(bytes.clone()),
            None => Ok(self.archive.to_bytes()?),
        }
    }

    /// The bytes this value was decoded from, while it is unchanged.
    #[must_use]
    pub fn original_bytes(&self) -> Option<&[u8]> {
        self.original.as_deref()
    }

    /// The whole archive, for the entries this type does not model.
    #[must_use]
    pub fn archive(&self) -> &Archive {
        &self.archive
    }

    /// The decoded SIP-ICE blob, when the dictionary has one.
    #[must_use]
    pub fn sip_ice(&self) -> Option<&SipIce> {
        self.sip_ice.as_ref()
    }

    /// Replaces the SIP-ICE blob (adding the entry at the end when there is none).
    pub fn set_sip_ice(&mut self, sip_ice: SipIce) {
        self.original = None;
        let bytes = sip_ice.to_bytes();
        if let Some(root) = self.archive.root_mut().and_then(Value::as_object_mut) {
            match root.get_mut(SIP_ICE) {
                Some(Value::Object(o)) if matches!(o.content, Content::Data(_)) => {
                    o.content = Content::Data(bytes);
                }
                Some(v) => *v = Value::object(Object::ns_data(bytes)),
                None => {
                    if let Content::Dictionary(entries) = &mut root.content {
                        entries.push((
                            Value::object(Object::ns_string(SIP_ICE)),
                            Value::object(Object::ns_data(bytes)),
                        ));
                    }
                }
            }
        }
        self.sip_ice = Some(sip_ice);
    }

    fn number(&self, obj: &Object, key: &str) -> Option<i64> {
        let v = obj.get(key)?;
        self.archive.resolve(v)?.as_number()?.as_i64()
    }

    /// The `version` number (2 in the sample).
    #[must_use]
    pub fn version(&self) -> Option<i64> {
        self.number(self.archive.root_object()?, VERSION)
    }

    /// The `CommNAT` number inside `connection helper` (0 in the sample; meaning unknown).
    #[must_use]
    pub fn comm_nat(&self) -> Option<i64> {
        let root = self.archive.root_object()?;
        let helper = self.archive.resolve(root.get(CONNECTION_HELPER)?)?;
        self.number(helper, COMM_NAT)
    }
}
