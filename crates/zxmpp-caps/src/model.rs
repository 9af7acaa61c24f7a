//! The disco#info model (XEP-0030) with extended information forms (XEP-0128, the XEP-0004 subset caps uses).
//!
//! Every string borrows from the parsed input where it can (`Cow::Borrowed`) and is already XML-unescaped,
//! so `&#x2B;` and `+` compare equal. [`DiscoInfo::into_owned`] detaches a reply from its buffer.

use std::borrow::Cow;

/// The disco#info namespace.
pub const NS_DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";
/// The data forms namespace (XEP-0004).
pub const NS_DATA: &str = "jabber:x:data";
/// The `var` of the field that names a form's type (XEP-0068).
pub const FORM_TYPE: &str = "FORM_TYPE";

/// A disco#info `<query/>`: identities, features and extended information forms.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DiscoInfo<'a> {
    /// The `node` attribute of the `<query/>`.
    pub node: Option<Cow<'a, str>>,
    /// The `xml:lang` in scope on the `<query/>` (its own, or inherited from the enclosing `<iq/>`).
    ///
    /// Identities without their own `xml:lang` inherit it for XEP-0390, which says implicit values count; it is
    /// written back on the `<query/>` so that a cached reply keeps the implicit value explicit.
    pub lang: Option<Cow<'a, str>>,
    /// The `<identity/>` children in document order.
    pub identities: Vec<Identity<'a>>,
    /// The `var` of each `<feature/>` child in document order.
    pub features: Vec<Cow<'a, str>>,
    /// The `<x xmlns='jabber:x:data'/>` children in document order.
    pub forms: Vec<DataForm<'a>>,
    /// Other child elements, as raw markup (`<foo xmlns='…'/>`), written back unchanged. XEP-0390 refuses a
    /// reply that has any; XEP-0115 ignores them.
    pub unknown: Vec<Cow<'a, str>>,
}

/// An `<identity/>`.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Identity<'a> {
    /// `category` (`client`, `server`, …).
    pub category: Cow<'a, str>,
    /// `type` (`pc`, `phone`, …).
    pub kind: Cow<'a, str>,
    /// The identity's own `xml:lang` attribute.
    pub lang: Option<Cow<'a, str>>,
    /// `name`.
    pub name: Option<Cow<'a, str>>,
}

impl<'a> Identity<'a> {
    /// An identity with category and type, no language and no name.
    pub fn new(category: impl Into<Cow<'a, str>>, kind: impl Into<Cow<'a, str>>) -> Self {
        Identity {
            category: category.into(),
            kind: kind.into(),
            lang: None,
            name: None,
        }
    }

    /// Sets the `name`.
    #[must_use]
    pub fn with_name(mut self, name: impl Into<Cow<'a, str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the `xml:lang`.
    #[must_use]
    pub fn with_lang(mut self, lang: impl Into<Cow<'a, str>>) -> Self {
        self.lang = Some(lang.into());
        self
    }

    /// Detaches from the input buffer.
    #[must_use]
    pub fn into_owned(self) -> Identity<'static> {
        Identity {
            category: owned(self.category),
            kind: owned(self.kind),
            lang: self.lang.map(owned),
            name: self.name.map(owned),
        }
    }
}

/// A data form (`<x xmlns='jabber:x:data'/>`), reduced to what capabilities hashing reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DataForm<'a> {
    /// The form's `type` attribute (`result` in disco#info replies).
    pub kind: Option<Cow<'a, str>>,
    /// The `<field/>` children in document order, `FORM_TYPE` included.
    pub fields: Vec<Field<'a>>,
    /// Whether the form has `<reported/>` or `<item/>` children (XEP-0390 refuses such forms).
    pub tabular: bool,
}

/// How a form names its type (XEP-0068), as XEP-0115 §5.4 reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormType<'f> {
    /// No `FORM_TYPE` field, or one without a `<value/>`.
    Missing,
    /// A `FORM_TYPE` field whose type is not `hidden`; the value is given.
    NotHidden(&'f str),
    /// A hidden `FORM_TYPE` field (the XEP-0068 way).
    Hidden(&'f str),
    /// `FORM_TYPE` fields with more than one differing `<value/>` (ill-formed under XEP-0115 §5.4).
    Conflicting,
}

impl<'a> DataForm<'a> {
    /// A `result` form with a hidden `FORM_TYPE` field.
    pub fn result(form_type: impl Into<Cow<'a, str>>) -> Self {
        DataForm {
            kind: Some(Cow::Borrowed("result")),
            fields: vec![Field {
                var: Some(Cow::Borrowed(FORM_TYPE)),
                kind: Some(Cow::Borrowed("hidden")),
                values: vec![form_type.into()],
            }],
            tabular: false,
        }
    }

    /// Adds a field with `var` and values.
    #[must_use]
    pub fn with_field<V, I>(mut self, var: impl Into<Cow<'a, str>>, values: I) -> Self
    where
        V: Into<Cow<'a, str>>,
        I: IntoIterator<Item = V>,
    {
        self.fields.push(Field {
            var: Some(var.into()),
            kind: None,
            values: values.into_iter().map(Into::into).collect(),
        });
        self
    }

    /// The form's type as its `FORM_TYPE` fields give it.
    ///
    /// The first `FORM_TYPE` field decides whether the type is hidden; the values of all `FORM_TYPE` fields
    /// must agree.
    #[must_use]
    pub fn form_type(&self) -> FormType<'_> {
        let mut first: Option<(&str, bool)> = None;
        for field in self.fields.iter().filter(|f| f.is_form_type()) {
            for value in &field.values {
                match first {
                    None => first = Some((value, field.kind.as_deref() == Some("hidden"))),
                    Some((v, _)) if v == value.as_ref() => {}
                    Some(_) => return FormType::Conflicting,
                }
            }
        }
        match first {
            None => FormType::Missing,
            Some((v, true)) => FormType::Hidden(v),
            Some((v, false)) => FormType::NotHidden(v),
        }
    }

    /// Detaches from the input buffer.
    #[must_use]
    pub fn into_owned(self) -> DataForm<'static> {
        DataForm {
            kind: self.kind.map(owned),
            fields: self.fields.into_iter().map(Field::into_owned).collect(),
            tabular: self.tabular,
        }
    }
}

/// A form `<field/>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Field<'a> {
    /// `var` (missing only on `fixed` fields; hashed as the empty string).
    pub var: Option<Cow<'a, str>>,
    /// `type` (`hidden`, `list-multi`, …).
    pub kind: Option<Cow<'a, str>>,
    /// The character data of each `<value/>`, in document order.
    pub values: Vec<Cow<'a, str>>,
}

impl Field<'_> {
    /// Whether this is a `FORM_TYPE` field.
    #[must_use]
    pub fn is_form_type(&self) -> bool {
        self.var.as_deref() == Some(FORM_TYPE)
    }

    /// Detaches from the input buffer.
    #[must_use]
    pub fn into_owned(self) -> Field<'static> {
        Field {
            var: self.var.map(owned),
            kind: self.kind.map(owned),
            values: self.values.into_iter().map(owned).collect(),
        }
    }
}

impl<'a> DiscoInfo<'a> {
    /// An empty reply.
    #[must_use]
    pub fn new() -> Self {
        DiscoInfo::default()
    }

    /// Adds an identity.
    #[must_use]
    pub fn with_identity(mut self, identity: Identity<'a>) -> Self {
        self.identities.push(identity);
        self
    }

    /// Adds a feature.
    #[must_use]
    pub fn with_feature(mut self, var: impl Into<Cow<'a, str>>) -> Self {
        self.features.push(var.into());
        self
    }

    /// Adds a form.
    #[must_use]
    pub fn with_form(mut self, form: DataForm<'a>) -> Self {
        self.forms.push(form);
        self
    }

    /// Sets the `node`.
    #[must_use]
    pub fn with_node(mut self, node: impl Into<Cow<'a, str>>) -> Self {
        self.node = Some(node.into());
        self
    }

    /// Whether the reply lists `var` as a feature.
    #[must_use]
    pub fn has_feature(&self, var: &str) -> bool {
        self.features.iter().any(|f| f == var)
    }

    /// Detaches from the input buffer.
    #[must_use]
    pub fn into_owned(self) -> DiscoInfo<'static> {
        DiscoInfo {
            node: self.node.map(owned),
            lang: self.lang.map(owned),
            identities: self
                .identities
                .into_iter()
                .map(Identity::into_owned)
                .collect(),
            features: self.features.into_iter().map(owned).collect(),
            forms: self.forms.into_iter().map(DataForm::into_owned).collect(),
            unknown: self.unknown.into_iter().map(owned).collect(),
        }
    }
}

fn owned(s: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(s.into_owned())
}
