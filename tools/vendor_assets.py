"""Copy the pinned front-end libraries from node_modules into opskit/static/vendor/.

The machine rooms are air-gapped, so the browser never loads anything from a CDN: the few
files the pages need are committed under ``opskit/static/vendor/<npm package>/`` together
with each package's licence text and a manifest, ``opskit/static/vendor/VENDOR.json``
(package, version, source path inside the npm package, file, SPDX licence, sha256, bytes).
Runtime, deployment and the Python test suite never need npm or ``node_modules``.

Usage (from the repository root):

    python tools/vendor_assets.py           # copy from node_modules, rewrite VENDOR.json
    python tools/vendor_assets.py --check   # verify the committed files; no node_modules needed

``--check`` exits 1, naming the file, if a vendored file is missing, altered or unlisted, or if
a version in VENDOR.json differs from the exact pin in package.json (zxing-wasm, which is a
dependency of barcode-detector, is compared with package-lock.json).

How to bump a version:

1. Edit the exact version in ``package.json`` (exact versions only, no ``^`` or ``~``).
   Do not pin ``zxing-wasm`` separately: barcode-detector is built against one exact
   zxing-wasm version and embeds that ``.wasm`` file's sha256; this script refuses to vendor
   a different one.
2. ``npm install`` (updates ``package-lock.json``; use ``npm ci`` to just reproduce it).
3. ``python tools/vendor_assets.py`` (then ``--check``, and run the tests).
4. Commit ``package.json``, ``package-lock.json`` and ``opskit/static/vendor/``
   (``node_modules/`` is git-ignored).

If a new release moves a file, adjust ``FILES`` below.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VENDOR_REL = Path("opskit/static/vendor")
MANIFEST_NAME = "VENDOR.json"

# npm package -> [(path inside the npm package, file name under vendor/<package>/)]
FILES: dict[str, list[tuple[str, str]]] = {
    "htmx.org": [("dist/htmx.min.js", "htmx.min.js")],
    "bootstrap": [
        ("dist/css/bootstrap.min.css", "bootstrap.min.css"),
        ("dist/js/bootstrap.bundle.min.js", "bootstrap.bundle.min.js"),
    ],
    "echarts": [("dist/echarts.min.js", "echarts.min.js")],
    "idb": [("build/umd.js", "idb.umd.js")],
    "barcode-detector": [("dist/iife/polyfill.js", "barcode-detector.polyfill.js")],
    "zxing-wasm": [("dist/reader/zxing_reader.wasm", "zxing_reader.wasm")],
}

# Licence texts copied next to each package's files. Apache-2.0 (ECharts) also requires
# its NOTICE file, and ECharts embeds parts of d3 (BSD-3-Clause).
LEGAL_FILES: dict[str, list[tuple[str, str]]] = {
    "echarts": [("NOTICE", "NOTICE"), ("licenses/LICENSE-d3", "LICENSE-d3")],
}

# Not pinned in package.json: its version comes from barcode-detector's dependency.
TRANSITIVE = {"zxing-wasm": "barcode-detector"}

EXACT_VERSION = re.compile(r"^\d+\.\d+\.\d+$")


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def expected_pairs() -> set[tuple[str, str, str]]:
    """(package, source, file relative to vendor/) for every file that must be vendored."""
    pairs: set[tuple[str, str, str]] = set()
    for package, files in FILES.items():
        legal = [("LICENSE", "LICENSE"), *LEGAL_FILES.get(package, [])]
        for source, name in [*files, *legal]:
            pairs.add((package, source, f"{package}/{name}"))
    return pairs


# --------------------------------------------------------------------------- vendoring


def package_dir(root: Path, package: str) -> Path:
    """Resolve a package the way Node would for its dependant (nested copy first)."""
    parent = TRANSITIVE.get(package)
    if parent is not None:
        nested = root / "node_modules" / parent / "node_modules" / package
        if nested.is_dir():
            return nested
    return root / "node_modules" / package


def vendor(root: Path) -> list[dict[str, Any]]:
    """Copy FILES (and licences) from node_modules into the vendor folder; write VENDOR.json."""
    if not (root / "node_modules").is_dir():
        raise SystemExit("node_modules/ not found: run `npm ci` (or `npm install`) first")
    pins: dict[str, str] = read_json(root / "package.json")["dependencies"]

    metas: dict[str, dict[str, Any]] = {}
    for package in FILES:
        meta = read_json(package_dir(root, package) / "package.json")
        if package in TRANSITIVE:
            wanted = metas[TRANSITIVE[package]]["dependencies"][package]
            why = f"{TRANSITIVE[package]} depends on"
        else:
            wanted = pins[package]
            why = "package.json pins"
        if meta["version"] != wanted:
            raise SystemExit(
                f"{package}: installed {meta['version']} but {why} {wanted}; "
                "run `npm ci` (and do not pin zxing-wasm separately)"
            )
        metas[package] = meta

    vendor_dir = root / VENDOR_REL
    if vendor_dir.exists():
        shutil.rmtree(vendor_dir)
    vendor_dir.mkdir(parents=True)

    entries: list[dict[str, Any]] = []
    for package, source, rel in sorted(expected_pairs(), key=lambda p: p[2]):
        src = package_dir(root, package) / source
        dst = vendor_dir / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        entries.append(
            {
                "package": package,
                "version": metas[package]["version"],
                "source": source,
                "file": rel,
                "license": metas[package]["license"],
                "sha256": sha256_of(dst),
                "bytes": dst.stat().st_size,
            }
        )
    text = json.dumps(entries, indent=2, ensure_ascii=False) + "\n"
    (vendor_dir / MANIFEST_NAME).write_text(text, encoding="utf-8")
    return entries


# --------------------------------------------------------------------------- checking


def locked_version(lock: dict[str, Any], package: str) -> str | None:
    packages: dict[str, Any] = lock.get("packages", {})
    keys = [f"node_modules/{package}"]
    if package in TRANSITIVE:
        keys.insert(0, f"node_modules/{TRANSITIVE[package]}/node_modules/{package}")
    for key in keys:
        if key in packages:
            return packages[key].get("version")
    return None


def check(root: Path) -> list[str]:
    """Return the problems found in the committed vendor folder (empty list: all good).

    Needs only package.json, package-lock.json and opskit/static/vendor/ under ``root``.
    """
    vendor_dir = root / VENDOR_REL
    manifest_path = vendor_dir / MANIFEST_NAME
    manifest_rel = (VENDOR_REL / MANIFEST_NAME).as_posix()
    try:
        entries: list[dict[str, Any]] = read_json(manifest_path)
        pins: dict[str, str] = read_json(root / "package.json")["dependencies"]
        lock: dict[str, Any] = read_json(root / "package-lock.json")
    except (OSError, ValueError, KeyError) as exc:
        return [f"cannot read manifest or package files: {exc}"]

    problems: list[str] = []
    for package in FILES:
        if package in TRANSITIVE:
            continue
        pin = pins.get(package)
        if pin is None or not EXACT_VERSION.match(pin):
            problems.append(f"package.json: {package} must be pinned to an exact version")
        elif locked_version(lock, package) != pin:
            problems.append(
                f"package-lock.json: {package} is {locked_version(lock, package)}, "
                f"package.json pins {pin}; run `npm install`"
            )
    for package, parent in TRANSITIVE.items():
        wanted = (
            lock.get("packages", {})
            .get(f"node_modules/{parent}", {})
            .get("dependencies", {})
            .get(package)
        )
        if wanted != locked_version(lock, package):
            problems.append(
                f"package-lock.json: {package} is {locked_version(lock, package)} "
                f"but {parent} depends on {wanted}"
            )

    listed: set[str] = set()
    listed_pairs: set[tuple[str, str, str]] = set()
    for entry in entries:
        rel = str(entry.get("file", ""))
        name = (VENDOR_REL / rel).as_posix()
        package = str(entry.get("package", ""))
        listed.add(rel)
        listed_pairs.add((package, str(entry.get("source", "")), rel))
        expected_version = (
            locked_version(lock, package) if package in TRANSITIVE else pins.get(package)
        )
        if entry.get("version") != expected_version:
            problems.append(
                f"{name}: VENDOR.json says {package} {entry.get('version')}, "
                f"expected {expected_version}; run `python tools/vendor_assets.py`"
            )
        path = vendor_dir / rel
        if not path.is_file():
            problems.append(f"{name}: listed in {MANIFEST_NAME} but missing")
            continue
        size = path.stat().st_size
        if size != entry.get("bytes"):
            problems.append(f"{name}: {size} bytes, {MANIFEST_NAME} says {entry.get('bytes')}")
        if sha256_of(path) != entry.get("sha256"):
            problems.append(f"{name}: sha256 differs from {MANIFEST_NAME}")

    for package, source, rel in sorted(expected_pairs() - listed_pairs):
        problems.append(f"{manifest_rel}: no entry for {rel} ({package} {source})")
    for package, source, rel in sorted(listed_pairs - expected_pairs()):
        problems.append(f"{manifest_rel}: unexpected entry {rel} ({package} {source})")

    if vendor_dir.is_dir():
        for path in sorted(vendor_dir.rglob("*")):
            rel = path.relative_to(vendor_dir).as_posix()
            if path.is_file() and rel != MANIFEST_NAME and rel not in listed:
                problems.append(f"{(VENDOR_REL / rel).as_posix()}: not listed in {MANIFEST_NAME}")

    # barcode-detector embeds the sha256 of the zxing_reader.wasm it was built against.
    polyfill = vendor_dir / "barcode-detector" / "barcode-detector.polyfill.js"
    wasm = vendor_dir / "zxing-wasm" / "zxing_reader.wasm"
    if (
        polyfill.is_file()
        and wasm.is_file()
        and sha256_of(wasm) not in polyfill.read_text(encoding="utf-8")
    ):
        problems.append(
            f"{(VENDOR_REL / 'zxing-wasm/zxing_reader.wasm').as_posix()}: sha256 is not "
            "the one barcode-detector.polyfill.js was built against"
        )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="verify the committed vendor folder against VENDOR.json (no node_modules needed)",
    )
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root")
    args = parser.parse_args(argv)
    root: Path = args.root.resolve()

    if args.check:
        problems = check(root)
        for problem in problems:
            print(f"vendor check: {problem}", file=sys.stderr)
        if problems:
            return 1
        print(f"vendor check: {VENDOR_REL / MANIFEST_NAME} OK")
        return 0

    entries = vendor(root)
    problems = check(root)
    for problem in problems:
        print(f"vendor check: {problem}", file=sys.stderr)
    for entry in entries:
        print(f"{entry['package']:<17} {entry['version']:<8} {entry['bytes']:>9}  {entry['file']}")
    total = sum(int(entry["bytes"]) for entry in entries)
    print(f"{len(entries)} files, {total} bytes -> {VENDOR_REL}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
