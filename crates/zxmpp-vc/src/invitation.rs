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
#[derive(Debug, Clone, PartialEq, Default)]
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
}

/// A participant's dictionary in `VCInviteesList`.
#[derive(Debug, Clone, PartialEq, Default)]
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

/// Limits for decoding an invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InvitationConfig {
    /// Most participants accepted in `VCInviteesList` (default 64).
    pub max_invitees: usize,
    /// Limits for the SIP-ICE blob inside `VCICEData`.
    pub sip_ice: crate::SipIceConfig,
}

impl Default for InvitationConfig {
    fn default() -> Self {
        InvitationConfig {
            max_invitees: 64,
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
                    inv.ice_data = Some(IceData::decode_with(data, &config.sip_ice)?);
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

    /// The invitation as a plist dictionary, keys in their original order.
    pub fn to_plist(&self) -> Result<Value> {
        let mut dict = Dictionary::new();
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
        for key in &keys {
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

    /// The keys in the order they will be written.
    #[must_use]
    pub fn keys(&self) -> &[InvitationKey] {
        &self.order
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

    /// The participant as a plist dictionary, keys in their original order.
    #[must_use]
    pub fn to_plist(&self) -> Value {
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
        let mut dict = Dictionary::new();
        for k in keys {
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
