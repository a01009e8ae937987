"""The package as a new engineer gets it.

- The wheel ships templates, static files, migrations and translations, and runs outside the
  checkout.
- Every distribution the program imports is a runtime dependency (not only a dev extra).
- The wheel installed WITHOUT extras into a fresh venv runs `opskit demo` (simulated agents,
  poller, web server): the home page shows a UPS value from the demo's recordings.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import signal
import subprocess
import sys
import time
import tomllib
import urllib.error
import zipfile
from pathlib import Path

import pytest

from opskit.demo import devices, recordings
from tests.test_demo import Output, _free_tcp_port, _login, _ups_row

# the wheel is built once per worker: its tests share one worker; what a wheel holds and what the
# program imports cannot depend on the date (the demo in a fresh venv runs on the machine's clock)
pytestmark = [pytest.mark.xdist_group("packaging"), pytest.mark.dateless]

ROOT = Path(__file__).resolve().parent.parent

#: The packages of the wheel (pyproject's [tool.hatch.build.targets.wheel] packages).
PACKAGES = ("opskit", "assets", "inspections", "monitors", "reports", "templates")


@pytest.fixture(scope="session")  # once per worker: see tests/conftest.py
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of this checkout, built once per test worker."""
    dist = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
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
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"building the wheel failed:\n{result.stderr[-3000:]}"
    (built,) = dist.glob("opskit-*.whl")
    return built


def test_wheel_contains_everything_and_runs_outside_the_checkout(
    wheel: Path, tmp_path: Path
) -> None:
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
        "opskit/sla_policy.yaml",
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
        "monitors/grafana/machine-room.json",  # the dashboard to import into Grafana
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


# --- runtime dependencies -----------------------------------------------------------------------


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    """The runtime dependencies of pyproject.toml (no extras), normalised names."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {_normalize(re.match(r"[A-Za-z0-9._-]+", d).group(0)) for d in project["dependencies"]}  # type: ignore[union-attr]


def _imports(tree: ast.Module, top_level_only: bool) -> set[str]:
    """Top-level names of the absolute imports of a module: all of them, or (for the libraries
    we run) only those at module level outside try blocks, which fail when missing."""
    nodes = tree.body if top_level_only else ast.walk(tree)
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _distributions(modules: set[str], own: set[str]) -> tuple[set[str], set[str]]:
    """The distributions providing these top-level modules, and the modules none provides."""
    providers = importlib.metadata.packages_distributions()
    found, unknown = set(), set()
    for module in modules - set(sys.stdlib_module_names) - own:
        if module in providers:
            found |= {_normalize(d) for d in providers[module]}
        else:
            unknown.add(module)
    return found, unknown


def test_every_import_of_the_program_is_a_runtime_dependency() -> None:
    """opskit's own modules (imports anywhere in them, lazy ones too) and what the demo runs
    (snmpsim, pysnmp: their unconditional module-level imports) need only runtime
    dependencies; a dev extra is not installed by `pip install opskit` or `make run`."""
    declared = _declared()
    ours: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            ours |= _imports(ast.parse(path.read_text(encoding="utf-8")), top_level_only=False)
    needed, unknown = _distributions(ours, set(PACKAGES))
    assert not unknown, f"imported but installed by no distribution: {sorted(unknown)}"
    missing = needed - declared
    assert not missing, f"opskit imports {sorted(missing)}: make them runtime dependencies"

    for library in ("snmpsim", "pysnmp"):
        dist = importlib.metadata.distribution(library)
        requires = {
            _normalize(re.match(r"[A-Za-z0-9._-]+", r).group(0))  # type: ignore[union-attr]
            for r in dist.requires or []
            if "extra ==" not in r
        }
        used: set[str] = set()
        top = {f.parts[0] for f in dist.files or [] if f.suffix == ".py"}
        for file in dist.files or []:
            if file.suffix == ".py" and "tests" not in file.parts:
                source = Path(str(dist.locate_file(file))).read_text(encoding="utf-8")
                used |= _imports(ast.parse(source), top_level_only=True)
        needed, _unknown = _distributions(used, top)
        missing = needed - requires - declared - {_normalize(library)}
        assert not missing, f"{library} imports {sorted(missing)}: make them runtime dependencies"


# --- the wheel alone, in a fresh venv, runs the demo ------------------------------------------


def _run(args: list[str], what: str, timeout: float, **kwargs) -> str:
    try:
        result = subprocess.run(
            args, capture_output=True, text=True, timeout=timeout, check=False, **kwargs
        )
    except subprocess.TimeoutExpired as exc:
        message = f"{what}: no result within {timeout} s\n{exc.stdout}\n{exc.stderr}"
        raise AssertionError(message) from None
    assert result.returncode == 0, (
        f"{what} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result.stdout


@pytest.mark.real_clock  # the demo runs in its own process, on the machine's clock
def test_the_wheel_without_extras_runs_the_demo_in_a_fresh_venv(
    wheel: Path, tmp_path: Path
) -> None:
    """What a new engineer does first, without make: a fresh venv, `pip install opskit` (PyPI
    for the dependencies, pip's cache reused), `opskit demo`, log in, see a UPS reading."""
    venv = tmp_path / "venv"
    # pip installs into the new venv from this one (`pip --python`): the same resolution from the
    # same index and cache, without the 10 s of ensurepip copying a pip into the venv first
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], "python -m venv", 120)
    python, opskit = venv / "bin" / "python", venv / "bin" / "opskit"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPSKIT_", "PYTHON", "VIRTUAL_ENV"))
    }
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", str(wheel)],
        "pip install <wheel>",
        900,
        env=env,
    )
    # no dev extra came along, and opskit is the installed one, not this checkout
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    probe = (
        "import importlib.util, opskit; "
        "print(opskit.__file__); "
        "print([m for m in ('pytest', 'playwright', 'hatchling') if importlib.util.find_spec(m)])"
    )
    where, extras = _run(
        [str(python), "-c", probe], "import opskit", 60, cwd=elsewhere, env=env
    ).split("\n")[:2]
    assert where.startswith(str(venv)), where
    assert extras == "[]", extras

    env["OPSKIT_INSTANCE_PATH"] = str(tmp_path / "instance")
    port = _free_tcp_port()
    proc = subprocess.Popen(
        [str(opskit), "demo", "--port", str(port), "--snmp-port-base", "0"],
        cwd=elsewhere,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    out = Output(proc)
    try:
        out.wait_for("Ctrl-C stops everything", proc, timeout=300)
        password = re.search(r" password: (\S+)$", out.text, re.M)  # a new one, not "in FILE"
        assert password, f"no admin password printed:\n{out.text}"
        base = f"http://127.0.0.1:{port}"
        opener = _login(base, password.group(1))

        # the steady UPS's load, as its recording answers it (the same at any hour)
        steady = devices.by_tag(devices.STEADY_UPS)
        answer = recordings.probe_at(devices.recording(steady), time.time())
        load = {(m["metric"], m["instance"]): m["value"] for m in answer["metrics"]}
        want = f"{round(load[('ups.output.load_percent', '1')])}%"
        deadline = time.monotonic() + 180
        row: dict[str, str] = {}
        while row.get("load") != want:
            assert proc.poll() is None, f"the demo exited ({proc.returncode}):\n{out.text}"
            assert time.monotonic() < deadline, (
                f"the home page showed no UPS load {want} within 180 s (last row {row}):\n"
                f"{out.text}"
            )
            time.sleep(2)
            try:
                with opener.open(base + "/", timeout=30) as r:
                    page = r.read().decode()
            except urllib.error.URLError as exc:
                raise AssertionError(f"home page: {exc}\n{out.text}") from exc
            if f'data-ups="{devices.STEADY_UPS}"' in page:
                row = _ups_row(page, devices.STEADY_UPS)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # what Ctrl-C does
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError(f"the demo did not stop on Ctrl-C:\n{out.text}") from None
        finally:
            out._thread.join(10)
            if proc.stdout:
                proc.stdout.close()
    assert code == 0, f"the demo stopped with {code}:\n{out.text}"
    assert "demo stopped" in out.text, out.text
