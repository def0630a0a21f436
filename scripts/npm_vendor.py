"""Fetch the browser files listed in static/npm-packages.json from the npm registry into static/vendor/.

Each tarball is checked against its pinned sha512 integrity before a file is taken from it; files
already present with the same version are left alone. Usage: python scripts/npm_vendor.py [runtime|dev]
"""

import base64
import hashlib
import io
import json
import sys
import tarfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "static" / "npm-packages.json"
TARGET = ROOT / "static" / "vendor"
REGISTRY = "https://registry.npmjs.org"


def wanted(profile: str) -> list[dict]:
    packages = json.loads(MANIFEST.read_text())["packages"]
    return [p for p in packages if profile == "dev" or p.get("profile", "runtime") == "runtime"]


def fetch(package: dict) -> None:
    folder = TARGET / package["name"]
    stamp = folder / ".version"
    if stamp.exists() and stamp.read_text() == package["version"]:
        return
    url = f"{REGISTRY}/{package['name']}/-/{package['name'].split('/')[-1]}-{package['version']}.tgz"
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (a fixed https registry)
        data = response.read()
    algorithm, expected = package["integrity"].split("-", 1)
    if base64.b64encode(hashlib.new(algorithm, data).digest()).decode() != expected:
        sys.exit(f"{package['name']} {package['version']}: the download does not match its pinned integrity")
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for name in package["files"]:
            member = archive.extractfile(f"package/{name}")
            if member is None:
                sys.exit(f"{package['name']} {package['version']} has no {name}")
            (folder / Path(name).name).write_bytes(member.read())
    stamp.write_text(package["version"])
    print(f"    {package['name']} {package['version']} ({package['license']})")


if __name__ == "__main__":
    for item in wanted(sys.argv[1] if len(sys.argv) > 1 else "runtime"):
        fetch(item)
