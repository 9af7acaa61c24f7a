//! XEP-0115 v1.6 §5: the verification string, its hash, and the §5.4 validation.
//!
//! All sorting uses "i;octet" (RFC 4790), which for Rust `str`s is plain `Ord` (it compares UTF-8 bytes).
//! The raw strings are sorted *before* `<` is appended: sorting `mood<` and `mood+notify<` as joined strings
//! would put `mood+notify` first, since `+` sorts before `<`.

use crate::algo::{Algorithm, Digest, Hasher, Sink};
use crate::model::{DataForm, DiscoInfo, Field, FormType, Identity};
use crate::{Error, IllFormed};

/// A reply checked under §5.4, with its parts in hashing order. Borrowing, no copies of strings.
struct Prepared<'i, 'a> {
    identities: Vec<&'i Identity<'a>>,
    features: Vec<&'i str>,
    forms: Vec<(&'i str, &'i DataForm<'a>)>,
}

fn identity_key<'i>(i: &'i Identity<'_>) -> (&'i str, &'i str, &'i str, &'i str) {
    (
        &i.category,
        &i.kind,
        i.lang.as_deref().unwrap_or(""),
        i.name.as_deref().unwrap_or(""),
    )
}

fn prepare<'i, 'a>(info: &'i DiscoInfo<'a>) -> Result<Prepared<'i, 'a>, IllFormed> {
    // §5.1 step 2 and §5.4 step 3.3: sort on category, type, xml:lang, then name; equal neighbours are
    // duplicate identities.
    let mut identities: Vec<&Identity<'a>> = info.identities.iter().collect();
    identities.sort_unstable_by(|a, b| identity_key(a).cmp(&identity_key(b)));
    if let Some(w) = identities
        .windows(2)
        .find(|w| identity_key(w[0]) == identity_key(w[1]))
    {
        let (category, kind, lang, name) = identity_key(w[0]);
        return Err(IllFormed::DuplicateIdentity {
            category: category.to_owned(),
            kind: kind.to_owned(),
            lang: lang.to_owned(),
            name: name.to_owned(),
        });
    }

    // §5.1 step 4 and §5.4 step 3.4.
    let mut features: Vec<&str> = info.features.iter().map(AsRef::as_ref).collect();
    features.sort_unstable();
    if let Some(w) = features.windows(2).find(|w| w[0] == w[1]) {
        return Err(IllFormed::DuplicateFeature(w[0].to_owned()));
    }

    // §5.4 step 3.5 applies to every form that names a type; step 3.6 then leaves out the forms whose
    // FORM_TYPE is missing or not hidden.
    let mut named: Vec<&str> = Vec::new();
    let mut forms: Vec<(&str, &DataForm<'a>)> = Vec::new();
    for form in &info.forms {
        match form.form_type() {
            FormType::Conflicting => return Err(IllFormed::ConflictingFormType),
            FormType::Missing => {}
            FormType::NotHidden(t) => named.push(t),
            FormType::Hidden(t) => {
                named.push(t);
                forms.push((t, form));
            }
        }
    }
    if named.len() > 1 {
        named.sort_unstable();
        if let Some(w) = named.windows(2).find(|w| w[0] == w[1]) {
            return Err(IllFormed::DuplicateFormType(w[0].to_owned()));
        }
    }
    forms.sort_unstable_by(|a, b| a.0.cmp(b.0));
    Ok(Prepared {
        identities,
        features,
        forms,
    })
}

fn write<S: Sink>(p: &Prepared<'_, '_>, sink: &mut S) {
    for identity in &p.identities {
        let (category, kind, lang, name) = identity_key(identity);
        sink.put(category.as_bytes());
        sink.put(b"/");
        sink.put(kind.as_bytes());
        sink.put(b"/");
        sink.put(lang.as_bytes());
        sink.put(b"/");
        sink.put(name.as_bytes());
        sink.put(b"<");
    }
    for feature in &p.features {
        sink.put(feature.as_bytes());
        sink.put(b"<");
    }
    let mut fields: Vec<&Field<'_>> = Vec::new();
    let mut values: Vec<&str> = Vec::new();
    for (form_type, form) in &p.forms {
        sink.put(form_type.as_bytes());
        sink.put(b"<");
        fields.clear();
        fields.extend(form.fields.iter().filter(|f| !f.is_form_type()));
        // Stable: fields sharing a var (not valid XEP-0004) keep document order.
        fields.sort_by(|a, b| {
            a.var
                .as_deref()
                .unwrap_or("")
                .cmp(b.var.as_deref().unwrap_or(""))
        });
        for field in &fields {
            sink.put(field.var.as_deref().unwrap_or("").as_bytes());
            sink.put(b"<");
            values.clear();
            values.extend(field.values.iter().map(AsRef::as_ref));
            values.sort_unstable();
            for value in &values {
                sink.put(value.as_bytes());
                sink.put(b"<");
            }
        }
    }
}

/// Checks a reply under XEP-0115 §5.4 steps 3.3–3.5.
///
/// # Errors
/// The first reason the reply is ill-formed.
pub fn validate(info: &DiscoInfo<'_>) -> Result<(), IllFormed> {
    prepare(info).map(|_| ())
}

/// Writes the verification string S (§5.1 steps 1–8) to `sink` after validating the reply (§5.4).
///
/// # Errors
/// The reason the reply is ill-formed; nothing is written then.
pub fn write_verification_string<S: Sink>(
    info: &DiscoInfo<'_>,
    sink: &mut S,
) -> Result<(), IllFormed> {
    let prepared = prepare(info)?;
    write(&prepared, sink);
    Ok(())
}

/// The verification string S (§5.1 steps 1–8), after validating the reply (§5.4).
///
/// # Errors
/// The reason the reply is ill-formed.
pub fn verification_string(info: &DiscoInfo<'_>) -> Result<String, IllFormed> {
    let mut out = Vec::new();
    write_verification_string(info, &mut out)?;
    // Only `str`s and ASCII were written.
    Ok(String::from_utf8(out).unwrap_or_default())
}

/// The `ver` of a reply (§5.1 step 9): S hashed with `algo`, hashed incrementally without building S.
///
/// # Errors
/// [`Error::IllFormed`] under §5.4, [`Error::UnsupportedAlgorithm`] for a name this crate cannot compute.
pub fn ver(info: &DiscoInfo<'_>, algo: &Algorithm) -> Result<Digest, Error> {
    let mut hasher = Hasher::new(algo)?;
    write_verification_string(info, &mut hasher)?;
    Ok(hasher.finalize())
}
