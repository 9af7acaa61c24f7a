//! The invitation: the binary-plist dictionary iChat sends to start an ICE-era AV chat.
//!
//! Known keys become typed fields; every other key is kept with its value, and the order of all
//! keys is kept, so a decoded invitation encodes back to the same dictionary.

use plist::{Dictionary, Value};

use crate::error::{Error, Result};
use crate::ice_data::IceData;

/// A key of the invitation dictionary.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InvitationKey {
    /// `VCSessionID`: integer.
    SessionId,
    /// `VCICEData`: data holding a typedstream.
    IceData,
    /// `VCInviteesList`: array of participant dictionaries.
    InviteesList,
    /// `VCSecurityEnabled`: boolean.
    SecurityEnabled,
    /// `VCOrderIsFinal`: boolean.
    OrderIsFinal,
    /// Any other key, kept as written.
    Other(String),
}

impl InvitationKey {
    /// The key as written in the dictionary.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            InvitationKey::SessionId => "VCSessionID",
            InvitationKey::IceData => "VCICEData",
            InvitationKey::InviteesList => "VCInviteesList",
            InvitationKey::SecurityEnabled => "VCSecurityEnabled",
            InvitationKey::OrderIsFinal => "VCOrderIsFinal",
            InvitationKey::Other(k) => k,
        }
    }

    /// The key for a dictionary key.
    #[must_use]
    pub fn parse(key: &str) -> Self {
        match key {
            "VCSessionID" => InvitationKey::SessionId,
            "VCICEData" => InvitationKey::IceData,
            "VCInviteesList" => InvitationKey::InviteesList,
            "VCSecurityEnabled" => InvitationKey::SecurityEnabled,
            "VCOrderIsFinal" => InvitationKey::OrderIsFinal,
            other => InvitationKey::Other(other.to_owned()),
        }
    }
}

/// An iChat AV invitation.
///
/// Fields are `None` when the key is absent. Keys set on a decoded invitation keep their place;
/// keys added to a new one are written in the order of the fields below, then the other keys.
/// Two invitations are equal when their keys, values and key order (as they would be written)
/// are.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Invitation {
    /// `VCSessionID`: the session number (random in the sample).
    pub session_id: Option<i64>,
    /// `VCICEData`: the ICE data (a typedstream holding the SIP-ICE candidates).
    pub ice_data: Option<IceData>,
    /// `VCInviteesList`: the participants, the inviter first.
    pub invitees: Option<Vec<Participant>>,
    /// `VCSecurityEnabled`.
    pub security_enabled: Option<bool>,
    /// `VCOrderIsFinal`.
    pub order_is_final: Option<bool>,
    other: Vec<(String, Value)>,
    order: Vec<InvitationKey>,
    /// What [`Invitation::decode`] read: its bytes and their plist value.
    origin: Option<Box<Origin>>,
}

/// The binary plist an invitation was decoded from, and what it said: the invitation as
/// decoded (without VCICEData) and the VCICEData bytes.
#[derive(Debug, Clone)]
struct Origin {
    bytes: Vec<u8>,
    decoded: Invitation,
    ice_bytes: Option<Vec<u8>>,
}

/// A participant's dictionary in `VCInviteesList`.
///
/// Two participants are equal when their keys, values and key order (as they would be written)
/// are.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Participant {
    /// `presentityID`: the participant's bare JID (`user@host`).
    pub presentity_id: Option<String>,
    /// `presentityName`: the display name.
    pub presentity_name: Option<String>,
    /// `vcPartyID`: the JID plus a party number (`…local1` for the inviter, `…local2` next).
    pub vc_party_id: Option<String>,
    /// `invitedBy`: who invited the participant.
    pub invited_by: Option<String>,
    /// `state`: the participant's chat state (0 for the inviter, 2 for the invitee in the sample;
    /// probably IMAVChatState, 2 = invited — a guess).
    pub state: Option<i64>,
    /// `reason`.
    pub reason: Option<i64>,
    /// `error`.
    pub error: Option<i64>,
    /// `ardRole`: the screen-sharing (Apple Remote Desktop) role, 0 presumably none.
    pub ard_role: Option<i64>,
    /// `sendingAudio`.
    pub sending_audio: Option<bool>,
    /// `sendingVideo`.
    pub sending_video: Option<bool>,
    /// `usingICE`.
    pub using_ice: Option<bool>,
    other: Vec<(String, Value)>,
    order: Vec<String>,
}

const PARTICIPANT_KEYS: [&str; 11] = [
    "presentityID",
    "presentityName",
    "vcPartyID",
    "invitedBy",
    "state",
    "reason",
    "error",
    "ardRole",
    "sendingAudio",
    "sendingVideo",
    "usingICE",
];

/// Limits for decoding an invitation, one set per layer.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct InvitationConfig {
    /// Longest hex text accepted (default 4 MiB).
    pub max_hex_len: usize,
    /// Limits of the binary plist reader.
    pub bplist: zxmpp_bplist::Limits,
    /// Most participants accepted in `VCInviteesList` (default 64).
    pub max_invitees: usize,
    /// Limits of the typedstream reader (`VCICEData`).
    pub typedstream: zxmpp_typedstream::Limits,
    /// Limits and layout of the SIP-ICE blob inside `VCICEData`.
    pub sip_ice: crate::SipIceConfig,
}

impl Default for InvitationConfig {
    fn default() -> Self {
        InvitationConfig {
            max_hex_len: crate::hex::DEFAULT_MAX_HEX_LEN,
            bplist: zxmpp_bplist::Limits::default(),
            max_invitees: 64,
            typedstream: zxmpp_typedstream::Limits::default(),
            sip_ice: crate::SipIceConfig::default(),
        }
    }
}

pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "array",
        Value::Dictionary(_) => "dictionary",
        Value::Boolean(_) => "boolean",
        Value::Data(_) => "data",
        Value::Date(_) => "date",
        Value::Real(_) => "real",
        Value::Integer(_) => "integer",
        Value::String(_) => "string",
        Value::Uid(_) => "UID",
        _ => "unknown value",
    }
}

fn object(doc: &zxmpp_bplist::Document, index: u64) -> Option<&zxmpp_bplist::Object> {
    doc.objects().get(usize::try_from(index).ok()?)
}

fn dict_of(doc: &zxmpp_bplist::Document, index: u64) -> Option<(&[u64], &[u64])> {
    match object(doc, index)? {
        zxmpp_bplist::Object::Dict { keys, values, .. } if keys.len() == values.len() => {
            Some((keys, values))
        }
        _ => None,
    }
}

fn str_of(o: &zxmpp_bplist::Object) -> Option<std::borrow::Cow<'_, str>> {
    match o {
        zxmpp_bplist::Object::Ascii { text, .. } => Some(std::borrow::Cow::Borrowed(text)),
        zxmpp_bplist::Object::Utf16 { units, .. } => {
            String::from_utf16(units).ok().map(std::borrow::Cow::Owned)
        }
        _ => None,
    }
}

fn int_of(o: &zxmpp_bplist::Object) -> Option<i64> {
    match o {
        zxmpp_bplist::Object::Int { value, .. } => i64::try_from(*value).ok(),
        _ => None,
    }
}

fn bool_of(o: &zxmpp_bplist::Object) -> Option<bool> {
    match o {
        zxmpp_bplist::Object::Bool(b) => Some(*b),
        _ => None,
    }
}

fn wrong(key: impl Into<String>, expected: &'static str, v: &Value) -> Error {
    Error::WrongType {
        key: key.into(),
        expected,
        found: type_name(v),
    }
}

fn int(key: &str, v: &Value) -> Result<i64> {
    match v {
        Value::Integer(i) => i
            .as_signed()
            .ok_or_else(|| wrong(key, "64-bit signed integer", v)),
        _ => Err(wrong(key, "integer", v)),
    }
}

fn boolean(key: &str, v: &Value) -> Result<bool> {
    v.as_boolean().ok_or_else(|| wrong(key, "boolean", v))
}

fn string(key: &str, v: &Value) -> Result<String> {
    v.as_string()
        .map(str::to_owned)
        .ok_or_else(|| wrong(key, "string", v))
}

impl Invitation {
    /// An empty invitation.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes an invitation from its binary plist, and everything inside it (the VCICEData
    /// typedstream and its SIP-ICE blob), with default limits.
    pub fn decode(bplist: &[u8]) -> Result<Self> {
        Self::decode_with(bplist, &InvitationConfig::default())
    }

    /// Decodes an invitation from its binary plist with the given limits.
    pub fn decode_with(bplist: &[u8], config: &InvitationConfig) -> Result<Self> {
        let doc = zxmpp_bplist::Document::parse_with(bplist, &config.bplist)?;
        let mut inv = match Self::from_document(&doc, config) {
            Some(result) => result?,
            None => Self::from_plist_with(&doc.to_value()?, config)?,
        };
        let ice = inv.ice_data.take();
        let decoded = inv.clone();
        inv.ice_data = ice;
        let ice_bytes = inv
            .ice_data
            .as_ref()
            .and_then(|d| d.original_bytes().map(<[u8]>::to_vec));
        inv.origin = Some(Box::new(Origin {
            bytes: bplist.to_vec(),
            decoded,
            ice_bytes,
        }));
        Ok(inv)
    }

    /// Reads the shape iChat writes straight from the object table, without building a
    /// `plist::Value`. `None` when anything is outside that shape (an unknown key, an unexpected
    /// type, a reference cycle): the caller then takes the general path, which also reports
    /// errors properly.
    fn from_document(
        doc: &zxmpp_bplist::Document,
        config: &InvitationConfig,
    ) -> Option<Result<Self>> {
        let (keys, values) = dict_of(doc, doc.top_object())?;
        let mut inv = Invitation::default();
        for (k, v) in keys.iter().zip(values) {
            let key = InvitationKey::parse(&str_of(object(doc, *k)?)?);
            let value = object(doc, *v)?;
            match &key {
                InvitationKey::SessionId => inv.session_id = Some(int_of(value)?),
                InvitationKey::IceData => {
                    let zxmpp_bplist::Object::Data { bytes, .. } = value else {
                        return None;
                    };
                    match IceData::decode_with(bytes, &config.typedstream, &config.sip_ice) {
                        Ok(d) => inv.ice_data = Some(d),
                        Err(e) => return Some(Err(e)),
                    }
                }
                InvitationKey::InviteesList => {
                    let zxmpp_bplist::Object::Array { refs, .. } = value else {
                        return None;
                    };
                    if refs.len() > config.max_invitees {
                        return None;
                    }
                    let mut people = Vec::with_capacity(refs.len());
                    for r in refs {
                        people.push(Participant::from_document(doc, *r)?);
                    }
                    inv.invitees = Some(people);
                }
                InvitationKey::SecurityEnabled => inv.security_enabled = Some(bool_of(value)?),
                InvitationKey::OrderIsFinal => inv.order_is_final = Some(bool_of(value)?),
                InvitationKey::Other(_) => return None,
            }
            if inv.order.contains(&key) {
                return None;
            }
            inv.order.push(key);
        }
        Some(Ok(inv))
    }

    /// Decodes an invitation from the hex text iChat sends (whitespace and a leading line feed
    /// allowed), with default limits.
    pub fn from_hex(text: &[u8]) -> Result<Self> {
        Self::from_hex_with(text, &InvitationConfig::default())
    }

    /// Decodes an invitation from hex text with the given limits.
    pub fn from_hex_with(text: &[u8], config: &InvitationConfig) -> Result<Self> {
        let bytes = crate::hex::decode_with_limit(text, config.max_hex_len)?;
        Self::decode_with(&bytes, config)
    }

    /// Encodes the invitation as a binary plist.
    ///
    /// An invitation decoded with [`Invitation::decode`] and not changed since is written back
    /// as the bytes it was read from. Otherwise the dictionary is laid out as CoreFoundation
    /// writes one, with VCICEData encoded as NSArchiver writes it — which for an invitation iChat
    /// wrote gives the same bytes again.
    pub fn encode(&self) -> Result<Vec<u8>> {
        if let Some(origin) = &self.origin
            && self.is_unchanged(origin)
        {
            return Ok(origin.bytes.clone());
        }
        self.encode_authored()
    }

    /// Encodes the invitation as CoreFoundation and NSArchiver write it, whatever it was read
    /// from.
    pub fn encode_authored(&self) -> Result<Vec<u8>> {
        Ok(zxmpp_bplist::to_vec_apple(&self.to_plist()?)?)
    }

    /// Encodes the invitation as lowercase hex text of [`Invitation::encode`].
    pub fn to_hex(&self) -> Result<String> {
        Ok(crate::hex::encode(&self.encode()?))
    }

    /// Whether the invitation still says exactly what was decoded (VCICEData included).
    fn is_unchanged(&self, origin: &Origin) -> bool {
        let ice_same = match (&self.ice_data, &origin.ice_bytes) {
            (None, None) => true,
            (Some(ice), Some(bytes)) => ice.original_bytes() == Some(bytes.as_slice()),
            _ => false,
        };
        // The snapshot has no VCICEData, so its key list lacks that key: compare without it (its
        // place in `order` cannot move while it is set).
        let keys = |inv: &Invitation| {
            let mut k = inv.written_keys();
            k.retain(|k| *k != InvitationKey::IceData);
            k
        };
        ice_same && self.eq_fields(&origin.decoded) && keys(self) == keys(&origin.decoded)
    }

    /// Equal values, apart from VCICEData and the key order.
    fn eq_fields(&self, other: &Self) -> bool {
        self.session_id == other.session_id
            && self.invitees == other.invitees
            && self.security_enabled == other.security_enabled
            && self.order_is_final == other.order_is_final
            && self.other == other.other
    }

    /// Reads an invitation from its plist value (a dictionary), with default limits.
    pub fn from_plist(value: &Value) -> Result<Self> {
        Self::from_plist_with(value, &InvitationConfig::default())
    }

    /// Reads an invitation from its plist value with the given limits.
    pub fn from_plist_with(value: &Value, config: &InvitationConfig) -> Result<Self> {
        let dict = value.as_dictionary().ok_or(Error::NotADictionary {
            found: type_name(value),
        })?;
        let mut inv = Invitation::default();
        for (k, v) in dict.iter() {
            let key = InvitationKey::parse(k);
            match &key {
                InvitationKey::SessionId => inv.session_id = Some(int(k, v)?),
                InvitationKey::IceData => {
                    let data = v.as_data().ok_or_else(|| wrong(k.as_str(), "data", v))?;
                    inv.ice_data = Some(IceData::decode_with(
                        data,
                        &config.typedstream,
                        &config.sip_ice,
                    )?);
                }
                InvitationKey::InviteesList => {
                    let list = v.as_array().ok_or_else(|| wrong(k.as_str(), "array", v))?;
                    if list.len() > config.max_invitees {
                        return Err(Error::TooMany {
                            what: "invitees",
                            limit: config.max_invitees,
                            offset: 0,
                        });
                    }
                    let mut people = Vec::with_capacity(list.len());
                    for (i, p) in list.iter().enumerate() {
                        people.push(Participant::from_plist_at(p, i)?);
                    }
                    inv.invitees = Some(people);
                }
                InvitationKey::SecurityEnabled => inv.security_enabled = Some(boolean(k, v)?),
                InvitationKey::OrderIsFinal => inv.order_is_final = Some(boolean(k, v)?),
                InvitationKey::Other(name) => inv.other.push((name.clone(), v.clone())),
            }
            inv.order.push(key);
        }
        Ok(inv)
    }

    /// The keys that hold a value, in the order they are written.
    fn written_keys(&self) -> Vec<InvitationKey> {
        let mut keys = self.order.clone();
        for k in [
            InvitationKey::SessionId,
            InvitationKey::IceData,
            InvitationKey::InviteesList,
            InvitationKey::SecurityEnabled,
            InvitationKey::OrderIsFinal,
        ] {
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        for (name, _) in &self.other {
            let k = InvitationKey::Other(name.clone());
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        keys.retain(|k| match k {
            InvitationKey::SessionId => self.session_id.is_some(),
            InvitationKey::IceData => self.ice_data.is_some(),
            InvitationKey::InviteesList => self.invitees.is_some(),
            InvitationKey::SecurityEnabled => self.security_enabled.is_some(),
            InvitationKey::OrderIsFinal => self.order_is_final.is_some(),
            InvitationKey::Other(name) => self.other.iter().any(|(n, _)| n == name),
        });
        keys
    }

    /// The invitation as a plist dictionary, keys in their original order.
    pub fn to_plist(&self) -> Result<Value> {
        let mut dict = Dictionary::new();
        for key in &self.written_keys() {
            let value = match key {
                InvitationKey::SessionId => self.session_id.map(|v| Value::Integer(v.into())),
                InvitationKey::IceData => match &self.ice_data {
                    Some(d) => Some(Value::Data(d.to_bytes()?)),
                    None => None,
                },
                InvitationKey::InviteesList => self
                    .invitees
                    .as_ref()
                    .map(|l| Value::Array(l.iter().map(Participant::to_plist).collect())),
                InvitationKey::SecurityEnabled => self.security_enabled.map(Value::Boolean),
                InvitationKey::OrderIsFinal => self.order_is_final.map(Value::Boolean),
                InvitationKey::Other(name) => self
                    .other
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone()),
            };
            if let Some(v) = value {
                dict.insert(key.as_str().to_owned(), v);
            }
        }
        Ok(Value::Dictionary(dict))
    }

    /// The keys that hold a value, in the order they will be written.
    #[must_use]
    pub fn keys(&self) -> Vec<InvitationKey> {
        self.written_keys()
    }

    /// The keys this model does not know, with their values, in order.
    #[must_use]
    pub fn other(&self) -> &[(String, Value)] {
        &self.other
    }

    /// Sets an unknown key (replacing its value if present, else adding it at the end).
    pub fn set_other(&mut self, key: impl Into<String>, value: Value) {
        let key = key.into();
        if let Some(slot) = self.other.iter_mut().find(|(k, _)| *k == key) {
            slot.1 = value;
        } else {
            self.order.push(InvitationKey::Other(key.clone()));
            self.other.push((key, value));
        }
    }
}

impl Participant {
    /// A participant with no fields set.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a participant from its plist dictionary.
    pub fn from_plist(value: &Value) -> Result<Self> {
        Self::from_plist_at(value, 0)
    }

    fn from_plist_at(value: &Value, index: usize) -> Result<Self> {
        let dict = value
            .as_dictionary()
            .ok_or_else(|| wrong(format!("VCInviteesList[{index}]"), "dictionary", value))?;
        let mut p = Participant::default();
        for (k, v) in dict.iter() {
            let path = || format!("VCInviteesList[{index}].{k}");
            match k.as_str() {
                "presentityID" => p.presentity_id = Some(string(&path(), v)?),
                "presentityName" => p.presentity_name = Some(string(&path(), v)?),
                "vcPartyID" => p.vc_party_id = Some(string(&path(), v)?),
                "invitedBy" => p.invited_by = Some(string(&path(), v)?),
                "state" => p.state = Some(int(&path(), v)?),
                "reason" => p.reason = Some(int(&path(), v)?),
                "error" => p.error = Some(int(&path(), v)?),
                "ardRole" => p.ard_role = Some(int(&path(), v)?),
                "sendingAudio" => p.sending_audio = Some(boolean(&path(), v)?),
                "sendingVideo" => p.sending_video = Some(boolean(&path(), v)?),
                "usingICE" => p.using_ice = Some(boolean(&path(), v)?),
                other => p.other.push((other.to_owned(), v.clone())),
            }
            p.order.push(k.clone());
        }
        Ok(p)
    }

    fn known(&self, key: &str) -> Option<Value> {
        let s = |v: &Option<String>| v.as_ref().map(|s| Value::String(s.clone()));
        let i = |v: Option<i64>| v.map(|n| Value::Integer(n.into()));
        match key {
            "presentityID" => s(&self.presentity_id),
            "presentityName" => s(&self.presentity_name),
            "vcPartyID" => s(&self.vc_party_id),
            "invitedBy" => s(&self.invited_by),
            "state" => i(self.state),
            "reason" => i(self.reason),
            "error" => i(self.error),
            "ardRole" => i(self.ard_role),
            "sendingAudio" => self.sending_audio.map(Value::Boolean),
            "sendingVideo" => self.sending_video.map(Value::Boolean),
            "usingICE" => self.using_ice.map(Value::Boolean),
            other => self
                .other
                .iter()
                .find(|(k, _)| k == other)
                .map(|(_, v)| v.clone()),
        }
    }

    /// The keys that hold a value, in the order they are written.
    #[must_use]
    pub fn keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = self.order.iter().map(String::as_str).collect();
        for k in PARTICIPANT_KEYS {
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        for (k, _) in &self.other {
            if !keys.contains(&k.as_str()) {
                keys.push(k);
            }
        }
        keys.retain(|k| self.has(k));
        keys
    }

    fn has(&self, key: &str) -> bool {
        match key {
            "presentityID" => self.presentity_id.is_some(),
            "presentityName" => self.presentity_name.is_some(),
            "vcPartyID" => self.vc_party_id.is_some(),
            "invitedBy" => self.invited_by.is_some(),
            "state" => self.state.is_some(),
            "reason" => self.reason.is_some(),
            "error" => self.error.is_some(),
            "ardRole" => self.ard_role.is_some(),
            "sendingAudio" => self.sending_audio.is_some(),
            "sendingVideo" => self.sending_video.is_some(),
            "usingICE" => self.using_ice.is_some(),
            other => self.other.iter().any(|(n, _)| n == other),
        }
    }

    fn from_document(doc: &zxmpp_bplist::Document, index: u64) -> Option<Self> {
        let (keys, values) = dict_of(doc, index)?;
        let mut p = Participant::default();
        for (k, v) in keys.iter().zip(values) {
            let key = str_of(object(doc, *k)?)?.into_owned();
            let v = object(doc, *v)?;
            let s = || str_of(v).map(std::borrow::Cow::into_owned);
            match key.as_str() {
                "presentityID" => p.presentity_id = Some(s()?),
                "presentityName" => p.presentity_name = Some(s()?),
                "vcPartyID" => p.vc_party_id = Some(s()?),
                "invitedBy" => p.invited_by = Some(s()?),
                "state" => p.state = Some(int_of(v)?),
                "reason" => p.reason = Some(int_of(v)?),
                "error" => p.error = Some(int_of(v)?),
                "ardRole" => p.ard_role = Some(int_of(v)?),
                "sendingAudio" => p.sending_audio = Some(bool_of(v)?),
                "sendingVideo" => p.sending_video = Some(bool_of(v)?),
                "usingICE" => p.using_ice = Some(bool_of(v)?),
                _ => return None,
            }
            if p.order.contains(&key) {
                return None;
            }
            p.order.push(key);
        }
        Some(p)
    }

    /// The participant as a plist dictionary, keys in their original order.
    #[must_use]
    pub fn to_plist(&self) -> Value {
        let mut dict = Dictionary::new();
        for k in self.keys() {
            if let Some(v) = self.known(k) {
                dict.insert(k.to_owned(), v);
            }
        }
        Value::Dictionary(dict)
    }

    /// The keys this model does not know, with their values, in order.
    #[must_use]
    pub fn other(&self) -> &[(String, Value)] {
        &self.other
    }

    /// Sets an unknown key (replacing its value if present, else adding it at the end).
    pub fn set_other(&mut self, key: impl Into<String>, value: Value) {
        let key = key.into();
        if let Some(slot) = self.other.iter_mut().find(|(k, _)| *k == key) {
            slot.1 = value;
        } else {
            self.order.push(key.clone());
            self.other.push((key, value));
        }
    }
}

impl PartialEq for Participant {
    fn eq(&self, other: &Self) -> bool {
        self.keys() == other.keys()
            && self.presentity_id == other.presentity_id
            && self.presentity_name == other.presentity_name
            && self.vc_party_id == other.vc_party_id
            && self.invited_by == other.invited_by
            && self.state == other.state
            && self.reason == other.reason
            && self.error == other.error
            && self.ard_role == other.ard_role
            && self.sending_audio == other.sending_audio
            && self.sending_video == other.sending_video
            && self.using_ice == other.using_ice
            && self.other == other.other
    }
}

impl PartialEq for Invitation {
    fn eq(&self, other: &Self) -> bool {
        self.ice_data == other.ice_data
            && self.eq_fields(other)
            && self.written_keys() == other.written_keys()
    }
}
