//! Reading one complete document.

use crate::config::Config;
use crate::element::{Element, Scope};
use crate::error::{Error, ErrorKind, Result};
use crate::reader::{Event, Status, StreamReader, is_ws};

/// Reads one complete document — a BOSH `<body/>`, a disco#info `<iq/>` or `<query/>` — with the
/// same checks as the stream reader, and returns a view of its root element.
///
/// An XML declaration and whitespace may come before the root element, whitespace after it.
///
/// ```
/// let body = br#"<body xmlns='http://jabber.org/protocol/httpbind' rid='1' sid='s'>
///   <message xmlns='jabber:client' to='juliet@example.com'><body>Hi &amp; bye</body></message>
/// </body>"#;
/// let root = zxmpp_xml::parse_document(body, &zxmpp_xml::Config::default())?;
/// assert!(root.is("body", "http://jabber.org/protocol/httpbind"));
/// let message = root.children().next().unwrap();
/// assert_eq!(message.ns(), "jabber:client");
/// assert_eq!(message.child("body", "jabber:client").unwrap().text(), "Hi & bye");
/// assert_eq!(&body[message.range()], message.as_bytes());
/// # Ok::<(), zxmpp_xml::Error>(())
/// ```
///
/// # Errors
/// Whatever the stream reader rejects, [`ErrorKind::NoRootElement`] for a document without an
/// element, [`ErrorKind::UnexpectedEof`] for one that ends early, and
/// [`ErrorKind::DataAfterEnd`] for a second root element or text after the root.
pub fn parse_document<'a>(bytes: &'a [u8], config: &Config) -> Result<Element<'a>> {
    let mut reader = StreamReader::fragments(*config);
    let mut root = None;
    loop {
        let status = reader.next(bytes).map_err(|e| match e.kind() {
            // After the root element, stray text is data after the end of the document.
            ErrorKind::TextAtStreamLevel if root.is_some() => {
                Error::new(ErrorKind::DataAfterEnd, e.offset())
            }
            _ => e,
        })?;
        match status {
            Status::Complete(Event::Stanza(el)) => {
                if root.is_some() {
                    return Err(Error::new(ErrorKind::DataAfterEnd, el.offset()));
                }
                root = Some((el.range(), el.qname().len(), content_start(&el)));
            }
            Status::Complete(_) => {}
            Status::Partial => break,
        }
    }
    let rest_at = reader.offset();
    let rest = bytes
        .get(usize::try_from(rest_at).unwrap_or(usize::MAX)..)
        .unwrap_or_default();
    match root {
        Some((range, name_len, content)) => {
            if !rest.iter().all(|&b| is_ws(b)) {
                return Err(Error::new(ErrorKind::DataAfterEnd, rest_at));
            }
            Ok(Element::build(
                bytes,
                0,
                (range.start, content, range.end),
                name_len,
                &Scope::empty(),
                None,
            ))
        }
        None if reader.is_between_stanzas() && rest.iter().all(|&b| is_ws(b)) => {
            Err(Error::new(ErrorKind::NoRootElement, bytes.len() as u64))
        }
        None => Err(Error::new(ErrorKind::UnexpectedEof, bytes.len() as u64)),
    }
}

/// Index just past the start tag of `el`.
fn content_start(el: &Element<'_>) -> usize {
    el.range().start + el.start_tag_len()
}
