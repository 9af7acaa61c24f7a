"""Print the object graph of typedstream files, as read by pytypedstream, as canonical JSON.

Usage: python3 canon_json.py FILE...
Prints one line per file: the canonical JSON of the archive, or {"error": "..."} when
pytypedstream cannot read it. The Rust differential tests (tests/python_diff.rs) print the same
canonical form from zxmpp-typedstream's model and compare.

Canonical form:
  archive  {"order": "little"|"big", "system": int, "groups": [group...]}
  group    {"enc": str, "values": [value...]}          one value per type in "enc"
  value    by type: c C s S i I l L q Q -> int, B -> bool, f d -> float, ! -> null,
           * -> {"cstring": hex} | null, + -> {"unshared": hex} | null, % -> {"atom": hex} | null,
           : -> {"sel": hex} | null, # -> {"class": [[name, version]...]} | null,
           [Nc]/[NC] -> {"bytes": hex}, [N t] -> {"array": [...]}, {...} -> {"struct": [...]},
           @ -> null | {"ref": id} | object
  object   {"id": n, "class": [[name, version]...], one of:
            "string": str | "number": {"type", "value"} | "nsvalue": {"type", "value"} |
            "data": hex | "dict": [[k, v]...] | "elements": [...] | "date": float |
            "groups": [group...]}
  Objects are numbered in the order this walk first meets them; a later meeting is {"ref": n}.
"""

import json
import sys

import typedstream
from typedstream import archiving, encodings
from typedstream.types import foundation

# Class versions pytypedstream requires (it rejects any other), used for known classes.
KNOWN_VERSIONS = {b"NSString": 1, b"NSMutableString": 1}


class Walker:
    def __init__(self):
        self.ids = {}

    def known_chain(self, obj):
        chain = []
        for cls in type(obj).__mro__:
            if (
                isinstance(cls, type)
                and issubclass(cls, archiving.KnownArchivedObject)
                and cls is not archiving.KnownArchivedObject
            ):
                name = cls.archived_name
                chain.append([name.decode(), KNOWN_VERSIONS.get(name, 0)])
        return chain

    def class_chain(self, clazz):
        chain = []
        while clazz is not None:
            chain.append([clazz.name.decode(), clazz.version])
            clazz = clazz.superclass
        return chain

    def group(self, encs, values):
        return {
            "enc": b"".join(encs).decode(),
            "values": [self.value(e, v) for e, v in zip(encs, values)],
        }

    def value(self, enc, v):
        c = enc[:1]
        if c == b"@":
            return self.obj(v)
        if v is None:
            return None
        if c == b"B":
            return bool(v)
        if c in b"cCsSiIlLqQ" and len(enc) == 1:
            return int(v)
        if c in b"fd" and len(enc) == 1:
            return float(v)
        if c == b"*":
            return {"cstring": v.hex()}
        if c == b"+":
            return {"unshared": v.hex()}
        if c == b"%":
            return {"atom": v.hex()}
        if c == b":":
            return {"sel": v.hex()}
        if c == b"#":
            return {"class": self.class_chain(v)}
        if c == b"[":
            _, elem = encodings.parse_array_encoding(enc)
            if isinstance(v.elements, bytes):
                return {"bytes": v.elements.hex()}
            return {"array": [self.value(elem, x) for x in v.elements]}
        if c == b"{":
            _, fields = encodings.parse_struct_encoding(enc)
            if isinstance(v, archiving.GenericStruct):
                items = v.fields
            else:
                items = list(vars(v).values())
            return {"struct": [self.value(f, x) for f, x in zip(fields, items)]}
        raise ValueError(f"unsupported encoding {enc!r}")

    def obj(self, o):
        if o is None:
            return None
        if id(o) in self.ids:
            return {"ref": self.ids[id(o)]}
        out = {"id": len(self.ids)}
        self.ids[id(o)] = out["id"]
        if isinstance(o, archiving.GenericArchivedObject):
            out["class"] = self.class_chain(o.clazz)
            sup = o.super_object
            if sup is not None and type(sup) is not foundation.NSObject:
                raise ValueError("generic object with a known non-root superclass")
            out["groups"] = [self.group(g.encodings, g.values) for g in o.contents]
            return out
        out["class"] = self.known_chain(o)
        if isinstance(o, foundation.NSString):
            out["string"] = o.value
        elif isinstance(o, foundation.NSNumber):
            t = o.type_encoding
            out["number"] = {"type": t.decode(), "value": self.value(t, o.value)}
        elif isinstance(o, foundation.NSValue):
            t = o.type_encoding
            out["nsvalue"] = {"type": t.decode(), "value": self.value(t, o.value)}
        elif isinstance(o, foundation.NSData):
            out["data"] = o.data.hex()
        elif isinstance(o, foundation.NSDictionary):
            out["dict"] = [[self.obj(k), self.obj(v)] for k, v in o.contents.items()]
        elif isinstance(o, foundation.NSArray):
            out["elements"] = [self.obj(x) for x in o.elements]
        elif isinstance(o, foundation.NSDate):
            out["date"] = float(o.absolute_reference_date_offset)
        elif type(o) is foundation.NSObject:
            out["groups"] = []
        else:
            raise ValueError(f"unsupported known class {type(o).__name__}")
        return out


def canon(path):
    with open(path, "rb") as f:
        data = f.read()
    with typedstream.Unarchiver.from_data(data) as u:
        groups = u.decode_all()
        reader = u.reader
        w = Walker()
        return {
            "order": reader.byte_order,
            "system": reader.system_version,
            "groups": [w.group(g.encodings, g.values) for g in groups],
        }


def main():
    for path in sys.argv[1:]:
        try:
            out = canon(path)
        except Exception as e:  # reported to the Rust side, which decides
            out = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(out, sort_keys=True, allow_nan=False))


if __name__ == "__main__":
    main()
