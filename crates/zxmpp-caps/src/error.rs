//! The crate's error type and the reasons a disco#info reply is ill-formed.

/// Why a disco#info reply cannot be hashed: XEP-0115 §5.4 (steps 3.3–3.5) or XEP-0390 §4.1 (steps 1–3).
///
/// An ill-formed reply is never cached.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum IllFormed {
    /// Two identities with the same category/type/xml:lang/name (XEP-0115 §5.4 3.3).
    #[error("duplicate identity {category}/{kind}/{lang}/{name}")]
    DuplicateIdentity {
        /// `category`.
        category: String,
        /// `type`.
        kind: String,
        /// `xml:lang` (empty when absent).
        lang: String,
        /// `name` (empty when absent).
        name: String,
    },
    /// Two features with the same `var` (XEP-0115 §5.4 3.4).
    #[error("duplicate feature {0}")]
    DuplicateFeature(String),
    /// Two forms with the same `FORM_TYPE` (XEP-0115 §5.4 3.5).
    #[error("two forms with FORM_TYPE {0}")]
    DuplicateFormType(String),
    /// A `FORM_TYPE` field with more than one differing `<value/>` (XEP-0115 §5.4 3.5).
    #[error("FORM_TYPE with differing values")]
    ConflictingFormType,
    /// A child of `<query/>` other than `<identity/>`, `<feature/>` or a data form (XEP-0390 §4.1 1).
    #[error("unexpected child element in <query/> (XEP-0390)")]
    UnexpectedChild,
    /// A data form with `<reported/>` or `<item/>` (XEP-0390 §4.1 2).
    #[error("data form with <reported/> or <item/> (XEP-0390)")]
    TabularForm,
    /// A data form without a hidden `FORM_TYPE` with one value (XEP-0390 §4.1 3, XEP-0068).
    #[error("data form without a hidden FORM_TYPE (XEP-0390)")]
    MissingFormType,
}

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is not well-formed XMPP XML.
    #[error("XML error: {0}")]
    Xml(#[from] zxmpp_xml::Error),
    /// The element is not what was expected (for example not a disco#info `<query/>`).
    #[error("expected {expected} at byte {offset}")]
    Unexpected {
        /// What was expected.
        expected: &'static str,
        /// Byte offset of the element found.
        offset: u64,
    },
    /// A required attribute is missing.
    #[error("<{element}/> at byte {offset} lacks the '{attribute}' attribute")]
    MissingAttribute {
        /// Element name.
        element: &'static str,
        /// Attribute name.
        attribute: &'static str,
        /// Byte offset of the element.
        offset: u64,
    },
    /// A count limit of [`crate::Limits`] was exceeded.
    #[error("more than {limit} {what}")]
    TooMany {
        /// What was counted.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// The reply is ill-formed under XEP-0115 §5.4 or XEP-0390 §4.1.
    #[error("ill-formed disco#info reply: {0}")]
    IllFormed(#[from] IllFormed),
    /// The hash algorithm is not one this crate computes.
    #[error("unsupported hash algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    /// A hash value is not valid Base64.
    #[error("invalid Base64 hash value {0:?}")]
    InvalidBase64(String),
    /// A node is not an XEP-0390 capability hash node (`urn:xmpp:caps#ALGO.BASE64`).
    #[error("not a capability hash node: {0:?}")]
    InvalidHashNode(String),
    /// A persisted cache snapshot has a format version this crate cannot read.
    #[error("cache snapshot format version {found}, this crate reads {supported}")]
    UnsupportedSnapshotVersion {
        /// The version found.
        found: u32,
        /// The version this crate reads and writes.
        supported: u32,
    },
}
