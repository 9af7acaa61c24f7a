"""Reads an iChat invitation (binary plist) with Python's plistlib and pytypedstream, and prints
what it holds as JSON, for the differential test in tests/differential.rs."""
import json
import plistlib
import socket
import struct
import sys

import typedstream


def number(n):
    return n.value


def candidates(blob):
    groups = []
    for g in range(0, len(blob), 148):
        kind = struct.unpack(">I", blob[g + 4 : g + 8])[0]
        records = []
        for r in range(3):
            rec = blob[g + 24 + 40 * r : g + 64 + 40 * r]
            family = struct.unpack(">H", rec[2:4])[0]
            name = rec[4:20].split(b"\0", 1)[0].decode("utf-8", "replace")
            if family == 0:
                addr = socket.inet_ntop(socket.AF_INET, rec[20:24])
            else:
                addr = socket.inet_ntop(socket.AF_INET6, rec[20:36])
            port = struct.unpack(">H", rec[36:38])[0]
            records.append([name, addr, port])
        groups.append({"kind": kind, "records": records})
    return groups


def main():
    with open(sys.argv[1], "rb") as f:
        inv = plistlib.load(f)
    ice = typedstream.unarchive_from_data(inv["VCICEData"])
    entries = {str(k.value): v for k, v in ice.contents.items()}
    helper = {str(k.value): v for k, v in entries["connection helper"].contents.items()}
    blob = bytes(entries["SIP-ICE"].data)
    out = {
        "keys": list(inv.keys()),
        "VCSessionID": inv["VCSessionID"],
        "VCSecurityEnabled": inv["VCSecurityEnabled"],
        "VCOrderIsFinal": inv["VCOrderIsFinal"],
        "VCInviteesList": inv["VCInviteesList"],
        "version": number(entries["version"]),
        "CommNAT": number(helper["CommNAT"]),
        "sip_ice_hex": blob.hex(),
        "candidates": candidates(blob),
    }
    json.dump(out, sys.stdout)


main()
