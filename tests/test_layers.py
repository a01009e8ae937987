"""The layers hold: every import of an opskit module, at module level or inside a function, is
checked against ``tests/layers.py`` (the layers of DESIGN.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import layers

# the imports of the source tree
pytestmark = pytest.mark.dateless

IMPORTS = layers.all_imports()
GROUPS = (
    "opskit",
    "opskit.alerts",
    "opskit.servicedesk",
    "opskit.demo",
    "assets",
    "inspections",
    "monitors",
    "reports",
)


@pytest.mark.parametrize("package", GROUPS)
def test_each_import_respects_the_layers(package: str) -> None:
    problems = [
        problem
        for imp in IMPORTS
        if layers.package_of(imp.source) == package
        for problem in layers.layer_problems(imp)
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("package", GROUPS)
def test_imports_sit_at_module_level_unless_a_reason_is_given(package: str) -> None:
    problems = [
        problem
        for imp in IMPORTS
        if layers.package_of(imp.source) == package
        for problem in layers.nesting_problems(imp)
    ]
    assert not problems, "\n".join(problems)


def test_no_import_cycles() -> None:
    assert layers.cycles(IMPORTS) == []


def test_the_checker_sees_every_package() -> None:
    sources = {layers.package_of(imp.source) for imp in IMPORTS}
    assert set(GROUPS) <= sources
    assert len(IMPORTS) > 500  # the whole tree, not one folder


def _tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for package in layers.PACKAGES:
        init = root / package / "__init__.py"
        init.parent.mkdir(parents=True, exist_ok=True)
        if not init.exists():
            init.write_text("", encoding="utf-8")


def _problems(root: Path) -> list[str]:
    imports = layers.all_imports(root)
    found = [p for imp in imports for p in layers.layer_problems(imp)]
    found += [p for imp in imports for p in layers.nesting_problems(imp)]
    found += [" -> ".join(cycle) for cycle in layers.cycles(imports)]
    return found


def test_a_deliberate_bad_import_fails(tmp_path: Path) -> None:
    """A temporary tree shaped like opskit, with one module breaking each rule."""
    _tree(
        tmp_path,
        {
            "opskit/db.py": "",
            "opskit/xlsx/writer.py": "",
            "opskit/alerts/services.py": "",
            "opskit/alerts/models.py": "",
            "assets/queries.py": "from opskit import db\n",
            "assets/models.py": "",
            "monitors/views.py": "",
            "monitors/queries.py": "",
            "inspections/services.py": (
                "from assets import queries\n"  # fine: a lower package's public reads
                "from opskit.alerts import services\n"  # fine: the desk's writes
                "from opskit.xlsx.writer import *\n"  # fine: the base
            ),
        },
    )
    assert _problems(tmp_path) == []

    (tmp_path / "opskit/config.py").write_text("import monitors.queries\n", encoding="utf-8")
    (tmp_path / "inspections/export.py").write_text(
        "from monitors.views import bp\nfrom assets.models import Asset\n"
        "from opskit.alerts import models\n",
        encoding="utf-8",
    )
    (tmp_path / "monitors/poller.py").write_text(
        "def run():\n    from inspections import services\n", encoding="utf-8"
    )
    (tmp_path / "monitors/rollups.py").write_text(
        "def run():\n    from monitors import queries  # lazy: a real cycle, say which\n",
        encoding="utf-8",
    )
    (tmp_path / "monitors/a.py").write_text("from monitors import b\n", encoding="utf-8")
    (tmp_path / "monitors/b.py").write_text("from . import a\n", encoding="utf-8")
    problems = _problems(tmp_path)
    text = "\n".join(problems)
    assert "opskit.config imports monitors.queries: the base layer may not import" in text
    assert "inspections.export imports monitors.views: another package is reached" in text
    assert "inspections.export imports assets.models: another package is reached" in text
    assert "inspections.export imports opskit.alerts.models: another package is reached" in text
    assert "monitors.poller imports inspections.services: inside a function" in text
    assert "monitors.rollups" not in text  # nested, but the line says why
    assert "monitors.a -> monitors.b" in text
    assert len(problems) == 6, text


def test_composition_may_import_anything(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "monitors/views.py": "",
            "reports/build.py": "",
            "opskit/dashboard.py": "from monitors.views import *\nfrom reports import build\n",
            "opskit/demo/seed.py": "from monitors import views\n",
        },
    )
    assert _problems(tmp_path) == []


def test_no_long_module_without_a_reason() -> None:
    """A module over 500 lines says why on its docstring's first line ("over 500 lines: ...")."""
    long = []
    for path in sorted(layers.ROOT.rglob("*.py")):
        rel = path.relative_to(layers.ROOT)
        if rel.parts[0] in ("tests", ".venv", "node_modules", "build") or "versions" in rel.parts:
            continue
        if rel.parts[0].startswith("."):
            continue
        text = path.read_text(encoding="utf-8")
        if text.count("\n") <= 500:
            continue
        first = text.lstrip().removeprefix('"""').splitlines()[0] if text.strip() else ""
        if "over 500 lines" not in first.lower():
            long.append(f"{rel}: {text.count(chr(10))} lines, first line {first!r}")
    assert not long, "\n".join(long)
