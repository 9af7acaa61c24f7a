//! XEP-0390 (Entity Capabilities 2.0) §4: hash function input, capability hashes and hash nodes.
//!
//! Every item is encoded with its separator octet (0x1f after each string, 0x1e after an identity, a field or
//! a value list, 0x1d after a form, 0x1c after each section) and the *encoded* octet strings are sorted
//! ("i;octet"), exactly as §4.1 says.

use std::cmp::Ordering;
use std::iter::once;
use std::ops::Range;

use crate::algo::{Algorithm, Digest, Hasher, Sink, decode_base64, encode_base64};
use crate::model::{DiscoInfo, FormType, Identity};
use crate::{Error, IllFormed};

/// The namespace of the XEP-0390 `<c/>` element and the prefix of capability hash nodes.
pub const NS_CAPS2: &str = "urn:xmpp:caps";
/// The XEP-0300 hashes namespace of the `<hash/>` children.
pub const NS_HASHES2: &str = "urn:xmpp:hashes:2";
const NODE_PREFIX: &str = "urn:xmpp:caps#";

const US: u8 = 0x1f;
const RS: u8 = 0x1e;
const GS: u8 = 0x1d;
const FS: u8 = 0x1c;

/// Compares `a ++ [t]` with `b ++ [t]` without building either.
fn cmp_terminated(a: &[u8], b: &[u8], t: u8) -> Ordering {
    let n = a.len().min(b.len());
    match a[..n].cmp(&b[..n]) {
        Ordering::Equal => a[n..]
            .iter()
            .copied()
            .chain(once(t))
            .cmp(b[n..].iter().copied().chain(once(t))),
        other => other,
    }
}

fn identity_parts<'i>(i: &'i Identity<'_>, inherited: &'i str) -> [&'i [u8]; 4] {
    [
        i.category.as_bytes(),
        i.kind.as_bytes(),
        i.lang.as_deref().unwrap_or(inherited).as_bytes(),
        i.name.as_deref().unwrap_or("").as_bytes(),
    ]
}

fn encoded_identity(parts: [&[u8]; 4]) -> impl Iterator<Item = u8> + '_ {
    parts
        .into_iter()
        .flat_map(|p| p.iter().copied().chain(once(US)))
        .chain(once(RS))
}

/// Checks §4.1 steps 1–3: only identities, features and data forms; no `<reported/>`/`<item/>`; every form
/// with a hidden `FORM_TYPE` (XEP-0068).
///
/// # Errors
/// The reason the reply cannot be hashed.
pub fn check(info: &DiscoInfo<'_>) -> Result<(), IllFormed> {
    if !info.unknown.is_empty() {
        return Err(IllFormed::UnexpectedChild);
    }
    for form in &info.forms {
        if form.tabular {
            return Err(IllFormed::TabularForm);
        }
        match form.form_type() {
            FormType::Hidden(_) => {}
            FormType::Conflicting => return Err(IllFormed::ConflictingFormType),
            FormType::Missing | FormType::NotHidden(_) => return Err(IllFormed::MissingFormType),
        }
    }
    Ok(())
}

/// Writes the hash function input (§4.1) to `sink`.
///
/// # Errors
/// The reason the reply cannot be hashed ([`check`]); nothing is written then.
pub fn write_input<S: Sink>(info: &DiscoInfo<'_>, sink: &mut S) -> Result<(), IllFormed> {
    check(info)?;

    // Features String.
    let mut features: Vec<&[u8]> = info.features.iter().map(|f| f.as_bytes()).collect();
    features.sort_unstable_by(|a, b| cmp_terminated(a, b, US));
    for feature in &features {
        sink.put(feature);
        sink.put(&[US]);
    }
    sink.put(&[FS]);

    // Identities String; xml:lang is inherited from the <query/> or <iq/> when the identity has none.
    let inherited = info.lang.as_deref().unwrap_or("");
    let mut identities: Vec<[&[u8]; 4]> = info
        .identities
        .iter()
        .map(|i| identity_parts(i, inherited))
        .collect();
    identities.sort_unstable_by(|a, b| encoded_identity(*a).cmp(encoded_identity(*b)));
    for parts in &identities {
        for part in parts {
            sink.put(part);
            sink.put(&[US]);
        }
        sink.put(&[RS]);
    }
    sink.put(&[FS]);

    // Extensions String: each field and each form is encoded into a scratch buffer, then sorted as octets.
    if !info.forms.is_empty() {
        let mut encoded_forms: Vec<Vec<u8>> = Vec::with_capacity(info.forms.len());
        let mut field_buf: Vec<u8> = Vec::new();
        let mut ranges: Vec<Range<usize>> = Vec::new();
        let mut values: Vec<&[u8]> = Vec::new();
        for form in &info.forms {
            field_buf.clear();
            ranges.clear();
            for field in &form.fields {
                let start = field_buf.len();
                field_buf.extend_from_slice(field.var.as_deref().unwrap_or("").as_bytes());
                field_buf.push(US);
                values.clear();
                values.extend(field.values.iter().map(|v| v.as_bytes()));
                values.sort_unstable_by(|a, b| cmp_terminated(a, b, US));
                for value in &values {
                    field_buf.extend_from_slice(value);
                    field_buf.push(US);
                }
                field_buf.push(RS);
                ranges.push(start..field_buf.len());
            }
            ranges.sort_unstable_by(|a, b| field_buf[a.clone()].cmp(&field_buf[b.clone()]));
            let mut form_bytes = Vec::with_capacity(field_buf.len() + 1);
            for range in &ranges {
                form_bytes.extend_from_slice(&field_buf[range.clone()]);
            }
            form_bytes.push(GS);
            encoded_forms.push(form_bytes);
        }
        encoded_forms.sort_unstable();
        for form in &encoded_forms {
            sink.put(form);
        }
    }
    sink.put(&[FS]);
    Ok(())
}

/// The hash function input (§4.1) as bytes.
///
/// # Errors
/// The reason the reply cannot be hashed.
pub fn input(info: &DiscoInfo<'_>) -> Result<Vec<u8>, IllFormed> {
    let mut out = Vec::new();
    write_input(info, &mut out)?;
    Ok(out)
}

/// The capability hash of a reply with `algo` (§4.2), hashed incrementally.
///
/// # Errors
/// [`Error::IllFormed`] when the reply cannot be hashed, [`Error::UnsupportedAlgorithm`] for unknown names.
pub fn hash(info: &DiscoInfo<'_>, algo: &Algorithm) -> Result<Digest, Error> {
    let mut hasher = Hasher::new(algo)?;
    write_input(info, &mut hasher)?;
    Ok(hasher.finalize())
}

/// The capability hash node of a hash (§4.3): `urn:xmpp:caps#` ALGO `.` BASE64.
#[must_use]
pub fn hash_node(algo: &Algorithm, value: &[u8]) -> String {
    let b64 = encode_base64(value);
    let mut node = String::with_capacity(NODE_PREFIX.len() + algo.name().len() + 1 + b64.len());
    node.push_str(NODE_PREFIX);
    node.push_str(algo.name());
    node.push('.');
    node.push_str(&b64);
    node
}

/// Splits a capability hash node (§4.3) into the algorithm and the hash value, searching the `.` from the end
/// so that algorithm names containing a full stop work.
///
/// # Errors
/// [`Error::InvalidHashNode`] when the prefix or the full stop is missing, [`Error::InvalidBase64`] when the
/// value does not decode.
pub fn parse_hash_node(node: &str) -> Result<(Algorithm, Vec<u8>), Error> {
    let rest = node
        .strip_prefix(NODE_PREFIX)
        .ok_or_else(|| Error::InvalidHashNode(node.to_owned()))?;
    let (algo, b64) = rest
        .rsplit_once('.')
        .ok_or_else(|| Error::InvalidHashNode(node.to_owned()))?;
    let value = decode_base64(b64).ok_or_else(|| Error::InvalidBase64(b64.to_owned()))?;
    Ok((Algorithm::from_name(algo), value))
}
