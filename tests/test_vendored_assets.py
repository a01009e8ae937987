"""The committed front-end files in opskit/static/vendor/ match VENDOR.json and the pins.

No npm and no node_modules needed: only package.json, package-lock.json and the vendor folder.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "opskit" / "static" / "vendor"


def _load_tool() -> ModuleType:
    path = ROOT / "tools" / "vendor_assets.py"
    spec = importlib.util.spec_from_file_location("opskit_tools_vendor_assets", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


vendor_assets = _load_tool()


def _manifest() -> list[dict[str, Any]]:
    return json.loads((VENDOR / "VENDOR.json").read_text(encoding="utf-8"))


def _entry(file: str) -> dict[str, Any]:
    matches = [e for e in _manifest() if e["file"] == file]
    assert len(matches) == 1, f"VENDOR.json has {len(matches)} entries for {file}"
    return matches[0]


def _text(file: str) -> str:
    return (VENDOR / file).read_text(encoding="utf-8")


def test_check_finds_no_problems() -> None:
    assert vendor_assets.check(ROOT) == []


def test_htmx_is_2_0() -> None:
    found = re.findall(r'version:"(\d+\.\d+\.\d+)"', _text("htmx.org/htmx.min.js"))
    assert found, "no version string in htmx.min.js"
    assert all(v.startswith("2.0.") for v in found), found
    entry = _entry("htmx.org/htmx.min.js")
    assert entry["version"].startswith("2.0.")
    assert entry["version"] in found


@pytest.mark.parametrize(
    "file", ["bootstrap/bootstrap.min.css", "bootstrap/bootstrap.bundle.min.js"]
)
def test_bootstrap_is_5_3(file: str) -> None:
    match = re.search(r"Bootstrap\s+v(\d+\.\d+\.\d+)", _text(file))
    assert match, f"no Bootstrap banner in {file}"
    assert match.group(1).startswith("5.3.")
    assert _entry(file)["version"] == match.group(1)


def test_echarts_is_6() -> None:
    match = re.search(r'\.version="(\d+\.\d+\.\d+)"', _text("echarts/echarts.min.js"))
    assert match, "no version string in echarts.min.js"
    assert match.group(1).startswith("6.")
    assert _entry("echarts/echarts.min.js")["version"] == match.group(1)


def test_zxing_wasm_is_vendored_for_the_barcode_polyfill() -> None:
    # The polyfill's default locateFile points at fastly.jsdelivr.net; the scanner page must
    # call BarcodeDetectionAPI.prepareZXingModule() with a locateFile returning
    # /static/vendor/zxing-wasm/<file> before the first `new BarcodeDetector()`.
    entry = _entry("zxing-wasm/zxing_reader.wasm")
    wasm = VENDOR / entry["file"]
    assert wasm.read_bytes()[:4] == b"\0asm"
    polyfill = _text("barcode-detector/barcode-detector.polyfill.js")
    assert f"zxing-wasm@{entry['version']}/" in polyfill
    assert entry["sha256"] in polyfill  # ZXING_WASM_SHA256 the polyfill was built against
    assert "prepareZXingModule" in polyfill


# Hosts that may appear in vendored JS/CSS: XML namespaces and licence/home-page comments,
# which are never fetched, plus the polyfill's default wasm CDN (overridden by the page).
KNOWN_HOSTS = {
    "www.w3.org": None,
    "www.apache.org": None,
    "getbootstrap.com": None,
    "github.com": None,
    "fastly.jsdelivr.net": "barcode-detector/barcode-detector.polyfill.js",
}


def test_no_unexpected_external_hosts() -> None:
    for entry in _manifest():
        if not entry["file"].endswith((".js", ".css")):
            continue
        for url in re.findall(r"https?://[^\s\"'`()<>]+", _text(entry["file"])):
            host = urlsplit(url).hostname
            assert host in KNOWN_HOSTS, f"{entry['file']} references {url}"
            only_in = KNOWN_HOSTS[host]
            assert only_in in (None, entry["file"]), f"{entry['file']} references {url}"


@pytest.fixture
def vendored_copy(tmp_path: Path) -> Path:
    shutil.copytree(VENDOR, tmp_path / "opskit" / "static" / "vendor")
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(ROOT / name, tmp_path / name)
    assert vendor_assets.check(tmp_path) == []
    return tmp_path


def test_check_reports_corrupted_file(vendored_copy: Path) -> None:
    target = vendored_copy / "opskit" / "static" / "vendor" / "htmx.org" / "htmx.min.js"
    data = bytearray(target.read_bytes())
    data[100] ^= 0x01
    target.write_bytes(bytes(data))
    problems = vendor_assets.check(vendored_copy)
    assert problems
    assert all("htmx.org/htmx.min.js" in p for p in problems), problems


def test_check_reports_missing_and_unlisted_files(vendored_copy: Path) -> None:
    vendor = vendored_copy / "opskit" / "static" / "vendor"
    (vendor / "idb" / "idb.umd.js").unlink()
    (vendor / "idb" / "extra.js").write_text("// not listed\n", encoding="utf-8")
    problems = vendor_assets.check(vendored_copy)
    assert any("idb/idb.umd.js" in p and "missing" in p for p in problems), problems
    assert any("idb/extra.js" in p and "not listed" in p for p in problems), problems


def test_check_reports_version_not_matching_package_json(vendored_copy: Path) -> None:
    package_json = vendored_copy / "package.json"
    data = json.loads(package_json.read_text(encoding="utf-8"))
    data["dependencies"]["echarts"] = "6.0.0"
    package_json.write_text(json.dumps(data), encoding="utf-8")
    problems = vendor_assets.check(vendored_copy)
    assert any("echarts/echarts.min.js" in p for p in problems), problems


def test_check_reports_wrong_zxing_wasm(vendored_copy: Path) -> None:
    wasm = vendored_copy / "opskit" / "static" / "vendor" / "zxing-wasm" / "zxing_reader.wasm"
    wasm.write_bytes(wasm.read_bytes() + b"\0")
    problems = vendor_assets.check(vendored_copy)
    assert any("zxing_reader.wasm" in p and "built against" in p for p in problems), problems
