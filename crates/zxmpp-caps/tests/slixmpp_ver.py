#!/usr/bin/env python3
"""Computes XEP-0115 verification strings with slixmpp, as an independent implementation.

Reads a JSON list of disco#info documents (a <query/> or an <iq/> holding one) on stdin and prints a JSON
list: for each document, slixmpp's `ver` for the hash named in argv[1] (default sha-1), or null when slixmpp
could not compute one. No network: the plugin's `generate_verstring` is called on a parsed stanza.
"""
import json
import sys
import warnings

warnings.simplefilter("ignore")

from slixmpp import ClientXMPP  # noqa: E402  (fails loudly when slixmpp is missing)
from slixmpp.plugins.xep_0030.stanza import DiscoInfo  # noqa: E402
from slixmpp.stanza import Iq  # noqa: E402
from slixmpp.xmlstream import ET  # noqa: E402


def main():
    algo = sys.argv[1] if len(sys.argv) > 1 else "sha-1"
    xmpp = ClientXMPP("caps@example.org", "unused")
    for plugin in ("xep_0030", "xep_0004", "xep_0115"):
        xmpp.register_plugin(plugin)
    caps = xmpp.plugin["xep_0115"]
    out = []
    for doc in json.load(sys.stdin):
        xml = ET.fromstring(doc)
        if xml.tag.endswith("}iq") or xml.tag == "iq":
            info = Iq(xmpp, xml=xml)["disco_info"]
        else:
            info = DiscoInfo(xml=xml)
        try:
            out.append(caps.generate_verstring(info, algo))
        except Exception as exc:  # report, do not hide: the Rust side shows it
            out.append("error: %r" % (exc,))
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
