"""Python's standard plistlib as an independent binary plist implementation for zxmpp-bplist's
differential tests (tests/plistlib_diff.rs).

Modes:
  read               binary plist on stdin  -> canonical JSON of what plistlib read, on stdout
  dump               canonical JSON on stdin -> plistlib.dumps(FMT_BINARY, sort_keys=False) on stdout
  serve              one JSON request per line on stdin, one JSON answer per line on stdout:
                     {"read": hex} -> {"canon": ...};  {"dump": canonical} -> {"hex": ...}
  generate N SEED    N random values written by plistlib, one JSON line each:
                     {"hex": file bytes, "canon": canonical JSON, "has_bool": bool, "sorted": bool}

Canonical JSON (the same on the Rust side): {"bool": b}, {"int": "decimal"},
{"real": "IEEE-754 bits, 16 hex digits"}, {"str": s}, {"data": "hex"},
{"date_us": microseconds since 2001-01-01T00:00:00}, {"uid": n}, {"array": [...]},
{"dict": [[key, value], ...]} in the dictionary's order.
"""
import datetime
import json
import plistlib
import random
import struct
import sys

EPOCH = datetime.datetime(2001, 1, 1)
US = datetime.timedelta(microseconds=1)


def canon(v):
    if isinstance(v, bool):
        return {"bool": v}
    if isinstance(v, int):
        return {"int": str(v)}
    if isinstance(v, float):
        return {"real": struct.pack(">d", v).hex()}
    if isinstance(v, str):
        return {"str": v}
    if isinstance(v, (bytes, bytearray)):
        return {"data": bytes(v).hex()}
    if isinstance(v, datetime.datetime):
        return {"date_us": (v - EPOCH) // US}
    if isinstance(v, plistlib.UID):
        return {"uid": v.data}
    if isinstance(v, list):
        return {"array": [canon(x) for x in v]}
    if isinstance(v, dict):
        return {"dict": [[k, canon(x)] for k, x in v.items()]}
    raise TypeError(type(v))


def uncanon(c):
    (tag, x), = c.items()
    if tag == "bool":
        return x
    if tag == "int":
        return int(x)
    if tag == "real":
        return struct.unpack(">d", bytes.fromhex(x))[0]
    if tag == "str":
        return x
    if tag == "data":
        return bytes.fromhex(x)
    if tag == "date_us":
        return EPOCH + datetime.timedelta(microseconds=x)
    if tag == "uid":
        return plistlib.UID(x)
    if tag == "array":
        return [uncanon(y) for y in x]
    if tag == "dict":
        return {k: uncanon(y) for k, y in x}
    raise ValueError(tag)


def has_bool(v):
    if isinstance(v, bool):
        return True
    if isinstance(v, list):
        return any(has_bool(x) for x in v)
    if isinstance(v, dict):
        return any(has_bool(x) for x in v.values())
    return False


def random_value(rng, depth):
    kinds = ["bool", "int", "bigint", "real", "str", "ustr", "data", "date", "uid"]
    if depth < 4:
        kinds += ["array", "dict"] * 3
    kind = rng.choice(kinds)
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "int":
        return rng.choice([0, 1, 2, 255, 256, 65535, 65536, -1, rng.randint(-1000, 1000)])
    if kind == "bigint":
        magnitude = rng.getrandbits(rng.randint(1, 64))
        return -magnitude if rng.random() < 0.3 and magnitude < (1 << 63) else magnitude
    if kind == "real":
        return rng.choice([0.5, 1.0, 3.25, rng.uniform(-1e9, 1e9), rng.uniform(-1, 1) * 1e300])
    if kind == "str":
        return "".join(rng.choice("ab k") for _ in range(rng.choice([0, 1, 3, 14, 15, 40])))
    if kind == "ustr":
        return "".join(rng.choice("aé€😀ž") for _ in range(rng.choice([1, 5, 16])))
    if kind == "data":
        return bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 14, 15, 300])))
    if kind == "date":
        return EPOCH + datetime.timedelta(milliseconds=rng.randint(-3 * 10**12, 3 * 10**12))
    if kind == "uid":
        return plistlib.UID(rng.choice([0, 7, 255, 256, 70000, 1 << 40]))
    if kind == "array":
        return [random_value(rng, depth + 1) for _ in range(rng.choice([0, 1, 2, 5, 16]))]
    return {
        "".join(rng.choice("abcé") for _ in range(rng.randint(0, 4))): random_value(rng, depth + 1)
        for _ in range(rng.choice([0, 1, 3, 15]))
    }


def main():
    mode = sys.argv[1]
    if mode == "read":
        value = plistlib.loads(sys.stdin.buffer.read(), fmt=plistlib.FMT_BINARY)
        json.dump(canon(value), sys.stdout)
    elif mode == "dump":
        value = uncanon(json.load(sys.stdin))
        sys.stdout.buffer.write(plistlib.dumps(value, fmt=plistlib.FMT_BINARY, sort_keys=False))
    elif mode == "serve":
        for line in sys.stdin:
            request = json.loads(line)
            if "read" in request:
                value = plistlib.loads(bytes.fromhex(request["read"]), fmt=plistlib.FMT_BINARY)
                answer = {"canon": canon(value)}
            else:
                value = uncanon(request["dump"])
                data = plistlib.dumps(value, fmt=plistlib.FMT_BINARY, sort_keys=False)
                answer = {"hex": data.hex()}
            sys.stdout.write(json.dumps(answer) + "\n")
            sys.stdout.flush()
    elif mode == "generate":
        count, seed = int(sys.argv[2]), int(sys.argv[3])
        rng = random.Random(seed)
        for i in range(count):
            value = random_value(rng, 0)
            if i % 5 != 0:  # mostly a container at the top, as in real files
                value = {"k": value, "b": random_value(rng, 1)} if i % 2 else [value, random_value(rng, 1)]
            sort = i % 5 == 4
            data = plistlib.dumps(value, fmt=plistlib.FMT_BINARY, sort_keys=sort)
            line = {"hex": data.hex(), "canon": canon(plistlib.loads(data)),
                    "has_bool": has_bool(value), "sorted": sort}
            print(json.dumps(line))
    else:
        raise SystemExit("unknown mode " + mode)


if __name__ == "__main__":
    main()
