//! Explicit conversion of views into owned `minidom::Element`s (feature `minidom`).

use minidom::rxml::{Namespace, NcName};

use crate::element::{Element, Node, XML_NS};

impl Element<'_> {
    /// Copies the element and its subtree into an owned [`minidom::Element`].
    ///
    /// Names, namespaces, attributes and text are kept; namespace declarations become minidom's
    /// own namespace bookkeeping, as when minidom parses the same bytes.
    #[must_use]
    pub fn to_minidom(&self) -> minidom::Element {
        let mut builder = minidom::Element::builder(self.name(), self.ns());
        for attr in self.attrs() {
            if attr.is_namespace_declaration() {
                continue;
            }
            let Ok(local) = NcName::try_from(attr.local_name()) else {
                continue;
            };
            let value = attr.value().into_owned();
            builder = match attr.prefix() {
                None => builder.attr(local, value),
                Some(_) if attr.ns() == XML_NS => builder.attr_ns(Namespace::XML, local, value),
                Some(_) => builder.attr_ns(Namespace::from(attr.ns().to_owned()), local, value),
            };
        }
        for node in self.nodes() {
            builder = match node {
                Node::Element(child) => builder.append(child.to_minidom()),
                Node::Text(text) => builder.append(text.into_owned()),
            };
        }
        builder.build()
    }
}
