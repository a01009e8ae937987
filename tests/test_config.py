"""Settings from OPSKIT_* variables."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from opskit.config import ConfigError, Settings

# settings files and the secret key
pytestmark = pytest.mark.dateless


def test_defaults(tmp_path: Path) -> None:
    settings = Settings.from_env({"OPSKIT_INSTANCE_PATH": str(tmp_path)})
    assert settings.timezone == "Asia/Shanghai"
    assert settings.default_locale == "zh_CN"
    assert settings.resolved_database_url() == f"sqlite:///{tmp_path / 'opskit.db'}"
    assert settings.secure_cookies is False
    assert settings.report_periods() == ("month", "quarter", "year")


def test_values_and_file_variants(tmp_path: Path) -> None:
    secret_file = tmp_path / "key"
    secret_file.write_text("from-a-file\n")
    settings = Settings.from_env(
        {
            "OPSKIT_DATABASE_URL": "postgresql+psycopg://ops@db/opskit",
            "OPSKIT_SECRET_KEY_FILE": str(secret_file),
            "OPSKIT_TIMEZONE": "Asia/Urumqi",
            "OPSKIT_DEFAULT_LOCALE": "en",
            "OPSKIT_SECURE_COOKIES": "yes",
            "OPSKIT_LOGIN_MAX_FAILURES": "3",
            "OPSKIT_REPORT_SCHEDULE": " Year, quarter ",
        }
    )
    assert settings.report_periods() == ("quarter", "year")  # in the order of their length
    assert Settings.from_env({"OPSKIT_REPORT_SCHEDULE": "none"}).report_periods() == ()
    assert settings.resolved_database_url() == "postgresql+psycopg://ops@db/opskit"
    assert settings.secret_key == "from-a-file"
    assert settings.timezone == "Asia/Urumqi"
    assert settings.default_locale == "en"
    assert settings.secure_cookies is True
    assert settings.login_max_failures == 3


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OPSKIT_TIMEZONE": "Beijing"}, "OPSKIT_TIMEZONE: unknown time zone 'Beijing'"),
        ({"OPSKIT_DEFAULT_LOCALE": "fr"}, "OPSKIT_DEFAULT_LOCALE: expected one of zh_CN, en"),
        ({"OPSKIT_SECURE_COOKIES": "maybe"}, "OPSKIT_SECURE_COOKIES: expected true/false"),
        ({"OPSKIT_LOGIN_MAX_FAILURES": "five"}, "OPSKIT_LOGIN_MAX_FAILURES: expected a whole"),
        ({"OPSKIT_SESSION_HOURS": "0"}, "OPSKIT_SESSION_HOURS: must be at least 1"),
        ({"OPSKIT_SECRET_KEY_FILE": "/nonexistent/key"}, "OPSKIT_SECRET_KEY_FILE: cannot read"),
        (
            {"OPSKIT_REPORT_SCHEDULE": "quarter,weekly"},
            "OPSKIT_REPORT_SCHEDULE: expected month, quarter, year or none (comma-separated), "
            "got 'weekly'",
        ),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    assert message in str(info.value)


def test_secret_key_is_generated_once_and_private(tmp_path: Path) -> None:
    first = Settings(instance_path=tmp_path / "inst").ensure_secret_key()
    second = Settings(instance_path=tmp_path / "inst").ensure_secret_key()
    assert first == second and len(first) >= 48
    mode = stat.S_IMODE((tmp_path / "inst" / "secret_key").stat().st_mode)
    assert mode == 0o600


def test_readme_lists_every_setting() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    for variable, _default, _doc in Settings.table():
        assert f"`{variable}`" in readme, f"{variable} missing from the README"


def test_secret_file_made_once_when_processes_start_together(tmp_path: Path) -> None:
    """`opskit poll --processes N` on a new instance: every process gets the same key."""
    import multiprocessing

    from opskit.config import secret_file

    path = tmp_path / "instance" / "secret_key"
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(6) as pool:
        keys = pool.map(_make_secret, [str(path)] * 12)
    assert len(set(keys)) == 1 and keys[0]
    assert path.read_bytes().strip() == keys[0]
    assert path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["secret_key"]  # no leftovers
    assert secret_file(path, lambda: b"other") == keys[0]


def _make_secret(path: str) -> bytes:
    import secrets

    from opskit.config import secret_file

    return secret_file(Path(path), lambda: secrets.token_hex(16).encode())
