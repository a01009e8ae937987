"""A non-editable install ships templates, static files, migrations and translations."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contains_everything_and_runs_outside_the_checkout(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = dist.glob("opskit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "opskit/__init__.py",
        "opskit/migrations/env.py",
        "opskit/migrations/script.py.mako",
        "opskit/migrations/versions/0001_core_tables.py",
        "opskit/translations/zh_Hans_CN/LC_MESSAGES/messages.mo",
        "opskit/static/vendor/VENDOR.json",
        "opskit/static/vendor/htmx.org/htmx.min.js",
        "opskit/static/css/opskit.css",
        "opskit/alerts/sla_policy.yaml",
        "opskit/alerts/rules.yaml",
        "opskit/demo/recordings/ups_rfc1628_steady.snmprec",
        "opskit/static/js/scan.js",
        "templates/alerts/index.html",
        "templates/assets/rack.html",
        "templates/__init__.py",
        "templates/base.html",
        "templates/auth/login.html",
        "assets/__init__.py",
        "inspections/__init__.py",
        "monitors/__init__.py",
        "reports/__init__.py",
    ):
        assert required in names, f"{required} missing from {wheel.name}"
    assert not [n for n in names if n.startswith("tests/") or "node_modules" in n]

    # install it (without dependencies: they are the ones of this venv) and run it elsewhere
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    site = str(target)
    script = (
        f"import sys; sys.path.insert(0, {site!r})\n"
        "import opskit, templates; from opskit import create_app, migrate, db\n"
        f"assert opskit.__file__.startswith({site!r}), opskit.__file__\n"
        "app = create_app()\n"
        "with app.app_context(): migrate.upgrade(db.engine())\n"
        "c = app.test_client()\n"
        "page = c.get('/login').get_data(as_text=True)\n"
        "assert '登录' in page, page[:300]\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSKIT_")}
    env.update(OPSKIT_INSTANCE_PATH=str(tmp_path / "inst"))
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"
