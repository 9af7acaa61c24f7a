//! Zero-copy parsing from `zxmpp-xml` element views (and, with the `minidom` feature, from
//! `minidom::Element`).

use std::borrow::Cow;

use zxmpp_xml::{Config, Element, parse_document};

use crate::Error;
use crate::algo::Algorithm;
use crate::caps::{Caps, CapsHashSet, HashValue, NS_CAPS};
use crate::model::{DataForm, DiscoInfo, Field, Identity, NS_DATA, NS_DISCO_INFO};
use crate::xep0390::{NS_CAPS2, NS_HASHES2};

/// Count limits for parsing a disco#info reply (the XML size and depth limits are in [`Config`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Most `<identity/>` children.
    pub max_identities: usize,
    /// Most `<feature/>` children.
    pub max_features: usize,
    /// Most data forms.
    pub max_forms: usize,
    /// Most fields in one form.
    pub max_fields: usize,
    /// Most `<value/>`s in one field.
    pub max_values: usize,
    /// Most other child elements of `<query/>`.
    pub max_unknown: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_identities: 256,
            max_features: 4096,
            max_forms: 64,
            max_fields: 256,
            max_values: 256,
            max_unknown: 64,
        }
    }
}

fn check(count: usize, limit: usize, what: &'static str) -> Result<(), Error> {
    if count >= limit {
        Err(Error::TooMany { what, limit })
    } else {
        Ok(())
    }
}

fn required<'a>(
    el: &Element<'a>,
    attribute: &'static str,
    element: &'static str,
) -> Result<Cow<'a, str>, Error> {
    el.attr(attribute).ok_or(Error::MissingAttribute {
        element,
        attribute,
        offset: el.offset(),
    })
}

fn raw<'a>(el: &Element<'a>) -> Cow<'a, str> {
    Cow::Borrowed(el.as_str())
}

/// The character data of a `<value/>`: sliced straight out of the validated document when it is plain text
/// (no references, no CDATA, no markup), read through the element view otherwise.
fn value_text<'a>(value: &Element<'a>) -> Cow<'a, str> {
    let raw = value.as_str();
    if let Some(inner) = raw
        .strip_prefix("<value>")
        .and_then(|r| r.strip_suffix("</value>"))
        && !inner.contains(['&', '<', '\r'])
    {
        return Cow::Borrowed(inner);
    }
    value.text()
}

fn parse_form<'a>(x: &Element<'a>, limits: &Limits) -> Result<DataForm<'a>, Error> {
    let mut form = DataForm {
        kind: x.attr("type"),
        fields: Vec::new(),
        tabular: false,
    };
    for child in x.children() {
        if child.ns() != NS_DATA {
            continue;
        }
        match child.name() {
            "field" => {
                check(form.fields.len(), limits.max_fields, "fields in a form")?;
                let mut field = Field {
                    var: child.attr("var"),
                    kind: child.attr("type"),
                    values: Vec::new(),
                };
                for value in child.children() {
                    if value.is("value", NS_DATA) {
                        check(field.values.len(), limits.max_values, "values in a field")?;
                        field.values.push(value_text(&value));
                    }
                }
                form.fields.push(field);
            }
            "reported" | "item" => form.tabular = true,
            _ => {}
        }
    }
    Ok(form)
}

impl<'a> DiscoInfo<'a> {
    /// Parses a disco#info `<query/>`, or an `<iq/>` holding one, with default limits.
    ///
    /// # Errors
    /// [`Error::Xml`] for bad XML, [`Error::Unexpected`] when there is no disco#info `<query/>`,
    /// [`Error::MissingAttribute`], [`Error::TooMany`].
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        Self::parse_with(bytes, &Config::default(), &Limits::default())
    }

    /// Like [`DiscoInfo::parse`] with explicit XML and count limits.
    ///
    /// # Errors
    /// As [`DiscoInfo::parse`].
    pub fn parse_with(bytes: &'a [u8], config: &Config, limits: &Limits) -> Result<Self, Error> {
        let root = parse_document(bytes, config)?;
        Self::from_element(&root, limits)
    }

    /// Reads a disco#info `<query/>` element view, or an `<iq/>` holding one.
    ///
    /// # Errors
    /// As [`DiscoInfo::parse`], without XML errors.
    pub fn from_element(el: &Element<'a>, limits: &Limits) -> Result<Self, Error> {
        let query = if el.is("query", NS_DISCO_INFO) {
            el.clone()
        } else if el.name() == "iq" {
            el.child("query", NS_DISCO_INFO).ok_or(Error::Unexpected {
                expected: "a disco#info <query/> in the <iq/>",
                offset: el.offset(),
            })?
        } else {
            return Err(Error::Unexpected {
                expected: "a disco#info <query/> or <iq/>",
                offset: el.offset(),
            });
        };
        let mut info = DiscoInfo {
            node: query.attr("node"),
            lang: query.lang(),
            ..DiscoInfo::default()
        };
        for child in query.children() {
            match (child.ns(), child.name()) {
                (NS_DISCO_INFO, "identity") => {
                    check(info.identities.len(), limits.max_identities, "identities")?;
                    info.identities.push(Identity {
                        category: required(&child, "category", "identity")?,
                        kind: required(&child, "type", "identity")?,
                        lang: child.attr("xml:lang"),
                        name: child.attr("name"),
                    });
                }
                (NS_DISCO_INFO, "feature") => {
                    check(info.features.len(), limits.max_features, "features")?;
                    info.features.push(required(&child, "var", "feature")?);
                }
                (NS_DATA, "x") => {
                    check(info.forms.len(), limits.max_forms, "forms")?;
                    info.forms.push(parse_form(&child, limits)?);
                }
                _ => {
                    check(info.unknown.len(), limits.max_unknown, "unknown children")?;
                    info.unknown.push(raw(&child));
                }
            }
        }
        Ok(info)
    }
}

impl<'a> Caps<'a> {
    /// Parses an XEP-0115 `<c xmlns='http://jabber.org/protocol/caps'/>` on its own.
    ///
    /// # Errors
    /// [`Error::Xml`], [`Error::Unexpected`], [`Error::MissingAttribute`].
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let root = parse_document(bytes, &Config::default())?;
        Self::from_element(&root)
    }

    /// Reads an XEP-0115 `<c/>` element view (`node` and `ver` are required, `hash` and `ext` optional).
    ///
    /// # Errors
    /// [`Error::Unexpected`], [`Error::MissingAttribute`].
    pub fn from_element(el: &Element<'a>) -> Result<Self, Error> {
        if !el.is("c", NS_CAPS) {
            return Err(Error::Unexpected {
                expected: "an XEP-0115 <c/>",
                offset: el.offset(),
            });
        }
        Ok(Caps {
            node: required(el, "node", "c")?,
            ver: required(el, "ver", "c")?,
            hash: el.attr("hash").map(|h| Algorithm::from_name(&h)),
            ext: el.attr("ext"),
        })
    }

    /// The XEP-0115 `<c/>` child of a `<presence/>` view, if any.
    ///
    /// # Errors
    /// As [`Caps::from_element`] when the child is there but malformed.
    pub fn from_presence(presence: &Element<'a>) -> Result<Option<Self>, Error> {
        presence
            .child("c", NS_CAPS)
            .map(|c| Self::from_element(&c))
            .transpose()
    }
}

impl CapsHashSet {
    /// Reads an XEP-0390 `<c xmlns='urn:xmpp:caps'/>` element view; `<hash/>`es with bad Base64 are refused.
    ///
    /// # Errors
    /// [`Error::Unexpected`], [`Error::MissingAttribute`], [`Error::InvalidBase64`], [`Error::TooMany`]
    /// (more than 16 hashes).
    pub fn from_element(el: &Element<'_>) -> Result<Self, Error> {
        const MAX_HASHES: usize = 16;
        if !el.is("c", NS_CAPS2) {
            return Err(Error::Unexpected {
                expected: "an XEP-0390 <c/>",
                offset: el.offset(),
            });
        }
        let mut hashes = Vec::new();
        for h in el.children().filter(|c| c.is("hash", NS_HASHES2)) {
            check(hashes.len(), MAX_HASHES, "hashes")?;
            let algo = Algorithm::from_name(&required(&h, "algo", "hash")?);
            hashes.push(HashValue::from_base64(algo, &h.text())?);
        }
        Ok(CapsHashSet { hashes })
    }

    /// Parses an XEP-0390 `<c/>` on its own.
    ///
    /// # Errors
    /// [`Error::Xml`] and as [`CapsHashSet::from_element`].
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let root = parse_document(bytes, &Config::default())?;
        Self::from_element(&root)
    }
}

#[cfg(feature = "minidom")]
mod minidom_impl {
    use std::borrow::Cow;

    use super::{Limits, check};
    use crate::Error;
    use crate::model::{DataForm, DiscoInfo, Field, Identity, NS_DATA, NS_DISCO_INFO};

    const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

    fn lang(el: &minidom::Element) -> Option<&str> {
        el.attr_ns(XML_NS, "lang")
    }

    fn required<'a>(
        el: &'a minidom::Element,
        attribute: &'static str,
        element: &'static str,
    ) -> Result<Cow<'a, str>, Error> {
        el.attr(attribute)
            .map(Cow::Borrowed)
            .ok_or(Error::MissingAttribute {
                element,
                attribute,
                offset: 0,
            })
    }

    impl<'a> DiscoInfo<'a> {
        /// Reads a disco#info `<query/>` (or an `<iq/>` holding one) from a `minidom::Element`, borrowing its
        /// attribute strings. minidom keeps no parent, so `xml:lang` is only what the `<query/>` (or the
        /// `<iq/>`) itself carries.
        ///
        /// # Errors
        /// [`Error::Unexpected`] (offset 0), [`Error::MissingAttribute`], [`Error::TooMany`].
        pub fn from_minidom(el: &'a minidom::Element, limits: &Limits) -> Result<Self, Error> {
            let (query, iq_lang) = if el.is("query", NS_DISCO_INFO) {
                (el, None)
            } else if el.name() == "iq" {
                let q = el
                    .get_child("query", NS_DISCO_INFO)
                    .ok_or(Error::Unexpected {
                        expected: "a disco#info <query/> in the <iq/>",
                        offset: 0,
                    })?;
                (q, lang(el))
            } else {
                return Err(Error::Unexpected {
                    expected: "a disco#info <query/> or <iq/>",
                    offset: 0,
                });
            };
            let mut info = DiscoInfo {
                node: query.attr("node").map(Cow::Borrowed),
                lang: lang(query).or(iq_lang).map(Cow::Borrowed),
                ..DiscoInfo::default()
            };
            for child in query.children() {
                if child.is("identity", NS_DISCO_INFO) {
                    check(info.identities.len(), limits.max_identities, "identities")?;
                    info.identities.push(Identity {
                        category: required(child, "category", "identity")?,
                        kind: required(child, "type", "identity")?,
                        lang: lang(child).map(Cow::Borrowed),
                        name: child.attr("name").map(Cow::Borrowed),
                    });
                } else if child.is("feature", NS_DISCO_INFO) {
                    check(info.features.len(), limits.max_features, "features")?;
                    info.features.push(required(child, "var", "feature")?);
                } else if child.is("x", NS_DATA) {
                    check(info.forms.len(), limits.max_forms, "forms")?;
                    let mut form = DataForm {
                        kind: child.attr("type").map(Cow::Borrowed),
                        fields: Vec::new(),
                        tabular: false,
                    };
                    for f in child.children() {
                        if f.is("field", NS_DATA) {
                            check(form.fields.len(), limits.max_fields, "fields in a form")?;
                            let mut values = Vec::new();
                            for v in f.children().filter(|v| v.is("value", NS_DATA)) {
                                check(values.len(), limits.max_values, "values in a field")?;
                                values.push(Cow::Owned(v.text()));
                            }
                            form.fields.push(Field {
                                var: f.attr("var").map(Cow::Borrowed),
                                kind: f.attr("type").map(Cow::Borrowed),
                                values,
                            });
                        } else if f.is("reported", NS_DATA) || f.is("item", NS_DATA) {
                            form.tabular = true;
                        }
                    }
                    info.forms.push(form);
                } else {
                    check(info.unknown.len(), limits.max_unknown, "unknown children")?;
                    info.unknown.push(Cow::Owned(String::from(child)));
                }
            }
            Ok(info)
        }

        /// The `<query/>` as a `minidom::Element` (built by parsing [`DiscoInfo::to_xml`]).
        ///
        /// # Errors
        /// [`Error::Unexpected`] if a raw unknown child is not well-formed XML.
        pub fn to_minidom(&self) -> Result<minidom::Element, Error> {
            self.to_xml().parse().map_err(|_| Error::Unexpected {
                expected: "well-formed unknown children",
                offset: 0,
            })
        }
    }
}
