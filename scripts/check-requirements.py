"""Exit 0 when every requirement in the given file is installed at a matching version, else 1."""
import sys
from importlib import metadata

ok = True
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    name, _, version = line.partition("==")
    try:
        have = metadata.version(name.strip())
    except metadata.PackageNotFoundError:
        ok = False
        continue
    if version and have != version.strip():
        ok = False
sys.exit(0 if ok else 1)
