"""Translation catalog upkeep (English source strings, Simplified Chinese catalog).

    python tools/i18n.py update    # extract strings from code and templates, merge into the .po
    (fill the empty msgstr entries in opskit/translations/zh_CN/LC_MESSAGES/messages.po)
    python tools/i18n.py compile   # write messages.mo next to it (committed, shipped in wheels)
    python tools/i18n.py check     # exit 1 if a string is untranslated or the .mo is stale
    python tools/i18n.py add FILE.json   # update + set {"English": "中文"} entries + compile
    (several people at once: flock /tmp/opskit-i18n.lock python tools/i18n.py add FILE.json)

``make test`` runs the same check through tests/test_i18n.py.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("opskit", "assets", "inspections", "monitors", "reports", "templates")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
METHODS = [("**.py", "python"), ("**.html", "jinja2")]
LOCALES = ("zh_Hans_CN",)  # the folder name Flask-Babel looks up for zh_CN


def po_path(locale: str) -> Path:
    return ROOT / "opskit" / "translations" / locale / "LC_MESSAGES" / "messages.po"


def extract() -> Catalog:
    catalog = Catalog(project="opskit", charset="utf-8")
    for source in SOURCES:
        for filename, lineno, message, _comments, context in extract_from_dir(
            ROOT / source, METHODS, keywords=KEYWORDS
        ):
            catalog.add(message, None, [(f"{source}/{filename}", lineno)], context=context)
    return catalog


def load_po(locale: str) -> Catalog:
    path = po_path(locale)
    if not path.exists():
        return Catalog(locale=locale, project="opskit")
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


def update() -> list[str]:
    """Merge extracted strings into each catalog; return the untranslated ids."""
    template = extract()
    missing = []
    for locale in LOCALES:
        catalog = load_po(locale)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.fuzzy = False
        catalog.obsolete.clear()
        catalog.project = catalog.language_team = "opskit"
        catalog.version = "1"
        for message in catalog:
            message.flags.discard("fuzzy")
            if message.id and not message.string:
                missing.append(f"{locale}: {message.id}")
        path = po_path(locale)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            write_po(fh, catalog, width=100, no_location=True, sort_output=True)
    return missing


def _mo_bytes(catalog: Catalog) -> bytes:
    buf = io.BytesIO()
    write_mo(buf, catalog)
    return buf.getvalue()


def compile_all() -> None:
    for locale in LOCALES:
        po_path(locale).with_suffix(".mo").write_bytes(_mo_bytes(load_po(locale)))


def check() -> list[str]:
    """Problems: strings in the code missing from a catalog or untranslated; stale .mo files."""
    problems = []
    wanted = {m.id for m in extract() if m.id}
    for locale in LOCALES:
        catalog = load_po(locale)
        translated = {m.id: m.string for m in catalog if m.id}
        for msgid in sorted(wanted, key=str):
            if not translated.get(msgid):
                problems.append(f"{locale}: untranslated {msgid!r} (run tools/i18n.py update)")
        mo = po_path(locale).with_suffix(".mo")
        if not mo.exists():
            problems.append(f"{locale}: {mo} missing (run tools/i18n.py compile)")
            continue
        with mo.open("rb") as fh:
            compiled = {m.id: m.string for m in read_mo(fh) if m.id}
        if compiled != {k: v for k, v in translated.items() if v}:
            problems.append(f"{locale}: {mo.name} is stale (run tools/i18n.py compile)")
    return problems


def main(argv: list[str]) -> int:
    action = argv[1] if len(argv) > 1 else "check"
    if action == "update":
        for line in update():
            print("untranslated:", line)
        return 0
    if action == "add" and len(argv) > 2:
        import json

        translations = json.loads(Path(argv[2]).read_text(encoding="utf-8"))
        update()
        for locale in LOCALES:
            catalog = load_po(locale)
            for message in catalog:
                if message.id in translations:
                    message.string = translations[message.id]
            with po_path(locale).open("wb") as fh:
                write_po(fh, catalog, width=100, no_location=True, sort_output=True)
        compile_all()
        for line in check():
            print(line)
        return 0
    if action == "compile":
        compile_all()
        return 0
    if action == "check":
        problems = check()
        for line in problems:
            print(line, file=sys.stderr)
        return 1 if problems else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
