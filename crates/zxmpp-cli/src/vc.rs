//! `zxmpp vc decode`: shows an iChat AV invitation, its VCICEData and its SIP-ICE candidates.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::{Value as Json, json};
use zxmpp_vc::{AddressRecord, Family, GroupKind, Invitation, InvitationKey, RecordKind, SipIce};

use crate::Failure;
use crate::input::read_input;

/// The invitation captured from iChat 5 in 2010, as hex text.
const SAMPLE_HEX: &[u8] = include_bytes!("../data/invite-seed.hex");

/// iChat AV invitations.
#[derive(Debug, Subcommand)]
pub(crate) enum VcCommand {
    /// Decodes an iChat AV invitation: hex text, a raw binary plist, or an XMPP stanza carrying
    /// the hex; with no FILE, the sample invitation built into the binary.
    Decode(DecodeArgs),
}

/// Arguments of `vc decode`.
#[derive(Debug, Args)]
pub(crate) struct DecodeArgs {
    /// The input file, or `-` for standard input; the built-in sample when absent.
    file: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(cmd: VcCommand) -> Result<(), Failure> {
    match cmd {
        VcCommand::Decode(args) => decode(&args),
    }
}

/// What the input was.
#[derive(Debug, Clone, Copy)]
enum Source {
    Sample,
    Hex,
    Bplist,
    Stanza { offset: u64 },
}

impl Source {
    fn describe(self) -> String {
        match self {
            Source::Sample => "built-in sample (hex)".to_owned(),
            Source::Hex => "hex text".to_owned(),
            Source::Bplist => "binary plist".to_owned(),
            Source::Stanza { offset } => {
                format!("XMPP stanza, hex in the element at byte {offset}")
            }
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Source::Sample => "sample",
            Source::Hex => "hex",
            Source::Bplist => "bplist",
            Source::Stanza { .. } => "stanza",
        }
    }
}

fn invalid(what: &str, e: &zxmpp_vc::Error) -> Failure {
    match e.offset() {
        Some(offset) if !e.to_string().contains(&offset.to_string()) => {
            Failure::Invalid(format!("invalid {what}: {e} (byte offset {offset})"))
        }
        _ => Failure::Invalid(format!("invalid {what}: {e}")),
    }
}

fn decode(args: &DecodeArgs) -> Result<(), Failure> {
    let (data, sample) = match &args.file {
        Some(path) => (read_input(path)?, false),
        None => (SAMPLE_HEX.to_vec(), true),
    };
    let (bplist, source) = if data.starts_with(b"bplist") {
        (data, Source::Bplist)
    } else if data.trim_ascii_start().starts_with(b"<") {
        let (bytes, offset) =
            zxmpp_vc::find_invitation_hex(&data).map_err(|e| invalid("stanza", &e))?;
        (bytes, Source::Stanza { offset })
    } else {
        let bytes = zxmpp_vc::hex::decode(&data).map_err(|e| invalid("hex text", &e))?;
        (bytes, if sample { Source::Sample } else { Source::Hex })
    };
    let inv = Invitation::decode(&bplist).map_err(|e| invalid("invitation", &e))?;
    let out = if args.json {
        let mut s = serde_json::to_string_pretty(&to_json(&inv, source, bplist.len())?)
            .map_err(|e| Failure::Invalid(format!("cannot write JSON: {e}")))?;
        s.push('\n');
        s
    } else {
        to_text(&inv, source, bplist.len())?
    };
    print!("{out}");
    Ok(())
}

fn kind_name(k: GroupKind) -> String {
    match k {
        GroupKind::Local => "local".to_owned(),
        GroupKind::External => "external".to_owned(),
        other => format!("kind {}", other.to_u32()),
    }
}

fn record_text(r: &AddressRecord) -> String {
    match r.socket_addr() {
        Some(a) => format!("{} {a}", r.interface()),
        None => format!(
            "{} (family {}) port {}",
            r.interface(),
            r.family().to_u16(),
            r.port()
        ),
    }
}

fn yes_no(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "yes",
        Some(false) => "no",
        None => "-",
    }
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

fn to_text(inv: &Invitation, source: Source, len: usize) -> Result<String, Failure> {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "iChat AV invitation: {len}-byte binary plist, from {}",
        source.describe()
    );
    for key in inv.keys() {
        match key {
            InvitationKey::SessionId => {
                let _ = writeln!(o, "VCSessionID        {}", opt(inv.session_id));
            }
            InvitationKey::SecurityEnabled => {
                let _ = writeln!(o, "VCSecurityEnabled  {}", opt(inv.security_enabled));
            }
            InvitationKey::OrderIsFinal => {
                let _ = writeln!(o, "VCOrderIsFinal     {}", opt(inv.order_is_final));
            }
            InvitationKey::InviteesList => {
                let people = inv.invitees.as_deref().unwrap_or_default();
                let _ = writeln!(o, "VCInviteesList     {} participants", people.len());
                for (i, p) in people.iter().enumerate() {
                    let _ = writeln!(
                        o,
                        "  {}. {} <{}>",
                        i + 1,
                        p.presentity_name.as_deref().unwrap_or("-"),
                        p.presentity_id.as_deref().unwrap_or("-")
                    );
                    let _ = writeln!(
                        o,
                        "     vcPartyID {}  invitedBy {}",
                        p.vc_party_id.as_deref().unwrap_or("-"),
                        p.invited_by.as_deref().unwrap_or("-")
                    );
                    let _ = writeln!(
                        o,
                        "     state {}  reason {}  error {}  ardRole {}  audio {}  video {}  ICE {}",
                        opt(p.state),
                        opt(p.reason),
                        opt(p.error),
                        opt(p.ard_role),
                        yes_no(p.sending_audio),
                        yes_no(p.sending_video),
                        yes_no(p.using_ice)
                    );
                    for (k, v) in p.other() {
                        let _ = writeln!(o, "     {k} {v:?}");
                    }
                }
            }
            InvitationKey::IceData => {
                let Some(ice) = &inv.ice_data else { continue };
                let bytes = ice.to_bytes().map_err(|e| invalid("VCICEData", &e))?;
                let _ = writeln!(
                    o,
                    "VCICEData          {}-byte typedstream: version {}, CommNAT {}",
                    bytes.len(),
                    opt(ice.version()),
                    opt(ice.comm_nat())
                );
                for line in ice.archive().to_string().lines() {
                    let _ = writeln!(o, "  {line}");
                }
                if let Some(blob) = ice.sip_ice() {
                    sip_ice_text(&mut o, blob);
                }
            }
            InvitationKey::Other(name) => {
                if let Some((_, v)) = inv.other().iter().find(|(k, _)| *k == name) {
                    let _ = writeln!(o, "{name}  {v:?}");
                }
            }
            _ => {}
        }
    }
    Ok(o)
}

fn sip_ice_text(o: &mut String, blob: &SipIce) {
    let _ = writeln!(
        o,
        "SIP-ICE candidates ({} bytes, {} groups)",
        blob.encoded_len(),
        blob.groups().len()
    );
    for (gi, g) in blob.groups().iter().enumerate() {
        let h = &g.header;
        let _ = writeln!(
            o,
            "  {}. {} (kind {}; fields {:#010x} {:#010x} {:#010x} {} {}, trailer {:#010x})",
            gi + 1,
            kind_name(g.kind()),
            g.kind().to_u32(),
            h.unknown_8,
            h.unknown_12,
            h.unknown_16,
            h.unknown_20,
            h.unknown_22,
            h.trailer
        );
        for (ri, (r, kind)) in g.classified().enumerate() {
            let role = match (ri, kind) {
                (_, RecordKind::Complement { base: Some(b) }) => match g.records().get(b) {
                    Some(base) => format!("complement of {}", record_text(base)),
                    None => "complement".to_owned(),
                },
                (_, RecordKind::Complement { base: None }) => {
                    "marked ~ but complements no record here".to_owned()
                }
                (0, _) => "candidate".to_owned(),
                _ => "base".to_owned(),
            };
            let _ = writeln!(o, "     {:<32} {role}", record_text(r));
        }
    }
}

fn plist_json(v: &zxmpp_vc::plist::Value) -> Json {
    use zxmpp_vc::plist::Value as P;
    match v {
        P::Array(a) => Json::Array(a.iter().map(plist_json).collect()),
        P::Dictionary(d) => {
            Json::Object(d.iter().map(|(k, v)| (k.clone(), plist_json(v))).collect())
        }
        P::Boolean(b) => json!(b),
        P::Data(d) => json!({ "data": zxmpp_vc::hex::encode(d) }),
        P::Real(r) => json!(r),
        P::Integer(i) => match i.as_signed() {
            Some(n) => json!(n),
            None => json!(i.as_unsigned()),
        },
        P::String(s) => json!(s),
        other => json!(format!("{other:?}")),
    }
}

fn record_json(r: &AddressRecord, kind: RecordKind) -> Json {
    json!({
        "interface": r.interface(),
        "family": match r.family() {
            Family::V4 => json!("ipv4"),
            Family::V6 => json!("ipv6"),
            other => json!(other.to_u16()),
        },
        "address": r.ip().map(|ip| ip.to_string()),
        "port": r.port(),
        "complement_of": match kind {
            RecordKind::Complement { base } => json!(base),
            RecordKind::Plain => Json::Null,
        },
    })
}

fn to_json(inv: &Invitation, source: Source, len: usize) -> Result<Json, Failure> {
    let invitees: Vec<Json> = inv
        .invitees
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|p| {
            json!({
                "presentityID": p.presentity_id,
                "presentityName": p.presentity_name,
                "vcPartyID": p.vc_party_id,
                "invitedBy": p.invited_by,
                "state": p.state,
                "reason": p.reason,
                "error": p.error,
                "ardRole": p.ard_role,
                "sendingAudio": p.sending_audio,
                "sendingVideo": p.sending_video,
                "usingICE": p.using_ice,
                "other": p.other().iter().map(|(k, v)| (k.clone(), plist_json(v))).collect::<serde_json::Map<_, _>>(),
            })
        })
        .collect();
    let ice = match &inv.ice_data {
        None => Json::Null,
        Some(ice) => {
            let bytes = ice.to_bytes().map_err(|e| invalid("VCICEData", &e))?;
            let candidates: Vec<Json> = ice
                .sip_ice()
                .map(|b| {
                    b.groups()
                        .iter()
                        .map(|g| {
                            json!({
                                "kind": kind_name(g.kind()),
                                "kind_value": g.kind().to_u32(),
                                "records": g.classified().map(|(r, k)| record_json(r, k)).collect::<Vec<_>>(),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "length": bytes.len(),
                "version": ice.version(),
                "comm_nat": ice.comm_nat(),
                "typedstream": ice.archive().to_string(),
                "sip_ice": candidates,
            })
        }
    };
    Ok(json!({
        "source": source.tag(),
        "bplist_length": len,
        "keys": inv.keys().iter().map(InvitationKey::as_str).collect::<Vec<_>>(),
        "VCSessionID": inv.session_id,
        "VCSecurityEnabled": inv.security_enabled,
        "VCOrderIsFinal": inv.order_is_final,
        "VCInviteesList": invitees,
        "VCICEData": ice,
        "other": inv.other().iter().map(|(k, v)| (k.clone(), plist_json(v))).collect::<serde_json::Map<_, _>>(),
    }))
}
