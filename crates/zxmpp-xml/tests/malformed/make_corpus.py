"""Writes the malformed-input corpus of zxmpp-xml: one file per case and `expected.tsv`.

Each case names the error kind RFC 6120 / XML 1.0 call for and where it is: the expected offset
is found in the input by a marker (the index of a substring), never taken from the reader.
Run from this folder: python3 make_corpus.py
"""
import os

H = (b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
     b"xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0'>")

cases = []  # (name, mode, data, kind, offset)


def case(name, data, kind, marker=None, mode="stream", occurrence=0, offset=None):
    if offset is None:
        if marker is None:
            offset = len(data)
        else:
            at = -1
            for _ in range(occurrence + 1):
                at = data.index(marker, at + 1)
            offset = at
    cases.append((name, mode, data, kind, offset))


def s(stanza, kind, marker, name, occurrence=0):
    data = H + stanza
    if marker == b">x":  # the byte after the close tag
        case(name, data, kind, offset=len(data) - 1)
        return
    case(name, data, kind, marker, occurrence=occurrence)


# RFC 6120 §11.1: forbidden constructs.
s(b"<message><!-- hi --></message>", "Comment", b"<!--", "comment-in-stanza")
s(b"<!-- hi --><message/>", "Comment", b"<!--", "comment-between-stanzas")
s(b"<message><?pi data?></message>", "ProcessingInstruction", b"<?pi", "pi-in-stanza")
s(b"<?pi data?>", "ProcessingInstruction", b"<?pi", "pi-between-stanzas")
case("dtd-before-header", b"<!DOCTYPE stream [<!ELEMENT stream ANY>]>" + H, "Dtd", b"<!DOCTYPE")
case("entity-bomb-dtd", b"<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'><!ENTITY lol2 '&lol;&lol;&lol;'>]><lolz>&lol2;</lolz>",
     "Dtd", b"<!DOCTYPE", mode="document")
s(b"<message><body>&lol9;</body></message>", "UndefinedEntity", b"&lol9;", "entity-bomb-reference")
s(b"<message><body>&nbsp;</body></message>", "UndefinedEntity", b"&nbsp;", "undefined-entity-nbsp")
s(b"<message to='&ext;'/>", "UndefinedEntity", b"&ext;", "undefined-entity-in-attribute")
s(b"<message><body>a & b</body></message>", "InvalidReference", b"& b", "lone-ampersand")
s(b"<message><body>&#0;</body></message>", "InvalidReference", b"&#0;", "char-ref-nul")
s(b"<message><body>&#xD800;</body></message>", "InvalidReference", b"&#xD800;", "char-ref-surrogate")
s(b"<message><body>&#xFFFE;</body></message>", "InvalidReference", b"&#xFFFE;", "char-ref-fffe")
s(b"<message><body>&#x110000;</body></message>", "InvalidReference", b"&#x110000;", "char-ref-too-large")
s(b"<message><body>&#xZZ;</body></message>", "InvalidReference", b"&#xZZ;", "char-ref-not-hex")
s(b"<message a='x&#1;'/>", "InvalidReference", b"&#1;", "char-ref-control-in-attribute")
s(b"<message a='x&amp'/>", "InvalidReference", b"&amp'", "unterminated-reference-in-attribute")
# Characters and encoding.
s(b"<message><body>\x01</body></message>", "InvalidChar", b"\x01", "control-char-in-text")
s(b"<message a='\x1b'/>", "InvalidChar", b"\x1b", "escape-char-in-attribute")
s(b"<message><body>\xef\xbf\xbf</body></message>", "InvalidChar", b"\xef\xbf\xbf", "char-ffff")
s(b"<message><body>\xef\xbf\xbe</body></message>", "InvalidChar", b"\xef\xbf\xbe", "char-fffe")
s(b"<message><body>\x00</body></message>", "InvalidChar", b"\x00", "nul-byte")
s(b"<message><body>caf\xe9</body></message>", "InvalidUtf8", b"\xe9", "latin1-byte")
s(b"<message><body>\xc3</body></message>", "InvalidUtf8", b"\xc3", "truncated-utf8-sequence")
s(b"<message><body>\xed\xa0\x80</body></message>", "InvalidUtf8", b"\xed\xa0\x80", "utf8-surrogate")
s(b"<message><body>\xc0\xaf</body></message>", "InvalidUtf8", b"\xc0\xaf", "overlong-utf8")
s(b"<message><body>\xf8\x88\x80\x80\x80</body></message>", "InvalidUtf8", b"\xf8", "five-byte-utf8")
s(b"<message a='\xff'/>", "InvalidUtf8", b"\xff", "bad-utf8-in-attribute")
s(b"<m\xffssage/>", "InvalidUtf8", b"\xff", "bad-utf8-in-name")
# Tags and attributes.
s(b"<message><body>x</message>", "MismatchedEndTag", b"</message>", "mismatched-end-tag")
s(b"<message></body></message>", "MismatchedEndTag", b"</body>", "end-tag-of-unopened-child")
s(b"<a><b><c></b></c></a>", "MismatchedEndTag", b"</b>", "crossed-end-tags")
s(b"</message>", "MismatchedEndTag", b"</message>", "end-tag-between-stanzas")
case("end-tag-in-fragments", b"<a xmlns='x'/></a>", "UnexpectedEndTag", b"</a>", mode="fragments")
s(b"<message to='a' to='b'/>", "DuplicateAttribute", b"to='b'", "duplicate-attribute")
s(b"<message xmlns='jabber:client' xmlns='jabber:client'/>", "DuplicateAttribute", b"xmlns='jabber:client'/", "duplicate-xmlns")
s(b"<message to=a/>", "MalformedAttribute", b"to=a", "unquoted-attribute")
s(b"<message to/>", "MalformedAttribute", b"to/", "attribute-without-value")
s(b"<message to='a'from='b'/>", "MalformedAttribute", b"from=", "attributes-without-space")
s(b"<message to='<x'/>", "LtInAttributeValue", b"<x'", "lt-in-attribute")
s(b"<1message/>", "InvalidName", b"1message", "name-starts-with-digit")
s(b"<a:b:c xmlns:a='x'/>", "InvalidName", b"a:b:c", "name-with-two-colons")
s(b"<message $x='1'/>", "InvalidName", b"$x", "attribute-name-with-dollar")
s(b"<message><!x></message>", "Syntax", b"<!x", "bang-markup")
# Namespaces.
s(b"<foo:message/>", "UndeclaredPrefix", b"foo:message", "undeclared-element-prefix")
s(b"<message foo:a='1'/>", "UndeclaredPrefix", b"foo:a", "undeclared-attribute-prefix")
s(b"<message><x xmlns:p='urn:p'/><p:y/></message>", "UndeclaredPrefix", b"p:y", "prefix-out-of-scope")
s(b"<message xmlns:xmlns='urn:x'/>", "ReservedNamespace", b"xmlns:xmlns", "binding-xmlns-prefix")
s(b"<message xmlns:xml='urn:x'/>", "ReservedNamespace", b"xmlns:xml", "rebinding-xml-prefix")
s(b"<message xmlns:p=''/>", "ReservedNamespace", b"xmlns:p", "undeclaring-a-prefix")
s(b"<xmlns:message/>", "UndeclaredPrefix", b"xmlns:message", "xmlns-as-element-prefix")
# Stream structure.
case("not-a-stream-header", b"<message xmlns='jabber:client'/>", "NotAStreamHeader", b"<message")
case("stream-in-wrong-namespace", b"<stream:stream xmlns:stream='urn:wrong'>", "NotAStreamHeader", b"<stream:stream")
case("self-closed-stream-header", b"<stream:stream xmlns:stream='http://etherx.jabber.org/streams'/>", "NotAStreamHeader", b"<stream:stream")
s(b"hello<message/>", "TextAtStreamLevel", b"hello", "text-between-stanzas")
s(b"<![CDATA[x]]>", "TextAtStreamLevel", b"<![CDATA[", "cdata-between-stanzas")
s(b"&amp;", "TextAtStreamLevel", b"&amp;", "reference-between-stanzas")
s(b"</stream:stream><message/>", "DataAfterEnd", b"<message/>", "stanza-after-close")
s(b"</stream:stream>x", "DataAfterEnd", b">x", "text-after-close", occurrence=0)
s(b"</stream:streams>", "MismatchedEndTag", b"</stream:streams>", "wrong-stream-close")
s(b"<?xml version='1.0'?>", "MisplacedDeclaration", b"<?xml", "declaration-after-header", occurrence=1)
case("declaration-after-whitespace", b"  <?xml version='1.0'?>" + H[21:], "MisplacedDeclaration", b"<?xml")
s(b"\xef\xbb\xbf<message/>", "MisplacedBom", b"\xef\xbb\xbf", "bom-between-stanzas")
case("document-with-two-roots", b"<a xmlns='x'/><b xmlns='x'/>", "DataAfterEnd", b"<b", mode="document")
case("document-with-trailing-text", b"<a xmlns='x'/>text", "DataAfterEnd", b"text", mode="document")
case("document-empty", b"  ", "NoRootElement", None, mode="document")
# Truncations: a document ends early; a stream just waits for more.
for cut in (1, 5, 12, 30, 41):
    doc = b"<iq xmlns='jabber:client' type='get'><query xmlns='jabber:iq:roster'/></iq>"
    case("document-truncated-at-%d" % cut, doc[:cut], "UnexpectedEof", None, mode="document")
for cut in (10, 100, len(H) + 7, len(H) + 20):
    data = (H + b"<message><body>x &amp; y</body></message>")[:cut]
    case("stream-truncated-at-%d" % cut, data, "Partial", None)
# Limits (defaults: stanza 256 KiB, depth 64, 128 attributes, 32 namespace declarations).
big = b"<message><body>" + b"x" * (256 * 1024) + b"</body></message>"
s(big, "StanzaSizeLimit", b"<message>", "huge-stanza")
huge_attr = b"<message a='" + b"y" * (300 * 1024) + b"'/>"
s(huge_attr, "StanzaSizeLimit", b"<message", "huge-attribute")
case("huge-attribute-unterminated", H + b"<message a='" + b"y" * (300 * 1024), "StanzaSizeLimit", b"<message")
deep = b"".join(b"<d%d>" % i for i in range(70))
s(deep, "DepthLimit", b"<d64>", "deep-nesting")
many = b"<message " + b" ".join(b"a%d='1'" % i for i in range(129)) + b"/>"
s(many, "AttributeLimit", b"a128=", "too-many-attributes")
decls = b"<message " + b" ".join(b"xmlns:p%d='urn:%d'" % (i, i) for i in range(33)) + b"/>"
s(decls, "NamespaceDeclarationLimit", b"xmlns:p32=", "too-many-namespace-declarations")

os.makedirs("cases", exist_ok=True)
for f in os.listdir("cases"):
    os.remove(os.path.join("cases", f))
with open("expected.tsv", "w") as out:
    out.write("# file\tmode\tkind\toffset\n")
    for i, (name, mode, data, kind, offset) in enumerate(cases):
        fname = "%03d-%s.xml" % (i, name)
        with open(os.path.join("cases", fname), "wb") as f:
            f.write(data)
        out.write("%s\t%s\t%s\t%d\n" % (fname, mode, kind, offset))
print(len(cases), "cases")
