"""Configuration backup pages (monitors/configs/history/views.py): the asset page's section, the
device's history, a version's diffs, the access form (roles, stored passwords never shown, a
refused form keeps what was typed) and the admin's button accepting a changed host key."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from monitors.configs.models import ConfigDevice
from opskit import db
from tests import factories
from tests.configs import stored
from tests.conftest import login, post_form

# the versions carry fixed instants; nothing is compared with "now"
pytestmark = pytest.mark.dateless

V1 = "\n".join(
    [
        "hostname CORE-SW1",
        "enable secret 5 $1$abcd$SECRETHASH1",
        "interface Gi0/1",
        " description uplink",
        "!",
        "ntp server 10.1.1.1",
        "end",
    ]
)
V2 = V1.replace("ntp server 10.1.1.1", "ntp server 10.1.1.2\nlogging host 10.1.1.9")


def _masked(text: str) -> str:
    return text.replace("$1$abcd$SECRETHASH1", "<masked>")


@pytest.fixture
def seeded(app: Flask) -> dict[str, int]:
    with app.app_context():
        core = factories.asset("SW-CORE-01", kind="switch", mgmt_ip="10.0.0.1")
        bare = factories.asset("SW-ACC-09", kind="switch", mgmt_ip="10.0.0.9")
        device = ConfigDevice(
            asset_id=core.id,
            platform="cisco_ios",
            username="backup",
            password="Pa55-stored",
            enable_password="En-stored",
            host_key_type="ssh-ed25519",
            host_key="AAAAold",
            host_key_fingerprint="SHA256:oldoldold",
            host_key_pinned_at=datetime(2026, 3, 1, 1, 0, tzinfo=UTC),
            last_success_at=datetime(2026, 3, 5, 2, 30, tzinfo=UTC),
            last_reason="auth",
            last_error="Authentication failed for backup",
            consecutive_failures=2,
        )
        db.session().add(device)
        v1 = stored.version(core.id, 1, datetime(2026, 3, 1, 1, 0, tzinfo=UTC), V1, _masked(V1))
        v2 = stored.version(core.id, 2, datetime(2026, 3, 5, 2, 30, tzinfo=UTC), V2, _masked(V2))
        v2.previous_id = v1.id
        db.session().commit()
        return {"core": core.id, "bare": bare.id, "v1": v1.id, "v2": v2.id}


def _page(client: FlaskClient, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, response.get_data(as_text=True)[:400]
    return response.get_data(as_text=True)


def test_a_viewer_reads_the_section_history_and_diff_with_secrets_masked(
    app: Flask, client: FlaskClient, seeded: dict[str, int]
) -> None:
    login(client, "viewer")
    core = seeded["core"]
    asset_page = _page(client, f"/assets/{core}")
    assert f"/configs/panel/{core}" in asset_page  # the section is loaded into the asset page
    panel = _page(client, f"/configs/panel/{core}")
    assert re.search(r'data-field="platform">Cisco IOS / IOS-XE<', panel)
    assert re.search(r'data-field="versions"><a href="/configs/\d+/versions/\d+">2</a>', panel)
    assert "Authentication failed for backup" in panel
    assert f"/configs/{core}/access" not in panel  # a viewer is not offered the form
    assert _page(client, f"/configs/panel/{seeded['bare']}") == ""  # nothing to show a reader

    history = _page(client, f"/configs/{core}")
    rows = re.findall(r'<tr data-version="(\d+)">\s*<td>(\d+)</td>', history)
    assert rows == [(str(seeded["v2"]), "2"), (str(seeded["v1"]), "1")]
    assert "SHA256:oldoldold" in history
    assert 'id="configs-fetch"' not in history and 'id="configs-accept-key"' not in history

    page = _page(client, f"/configs/{core}/versions/{seeded['v2']}")
    assert "SECRETHASH1" not in page and "Pa55-stored" not in page
    assert "2 unchanged lines" in page or "2 行未变" in page  # lines 1-2 folded
    split = page[page.index('id="version-split"') : page.index('id="version-unified"')]
    unified = page[page.index('id="version-unified"') :]
    # side by side: the ntp line changed in place, the logging line added; unified: one a line
    assert re.search(
        r'<tr class="changed" data-kind="changed"><td class="no">6</td><td class="text left">'
        r'ntp server 10.1.1.1</td><td class="no">6</td><td class="text right">ntp server 10.1.1.2<',
        split,
    )
    assert re.search(
        r'data-kind="added"><td class="no"></td><td class="text left"></td>'
        r'<td class="no">7</td><td class="text right">logging host 10.1.1.9<',
        split,
    )
    assert re.findall(r'data-kind="(\w+)"', unified) == [
        "equal",
        "equal",
        "equal",
        "removed",
        "added",
        "added",
        "equal",
    ]
    # on a narrow screen the side-by-side table hides and the unified one shows
    assert 'class="config-diff d-none d-md-block" id="version-split"' in page
    assert 'class="config-diff d-md-none" id="version-unified"' in page
    assert f'id="version-previous" href="/configs/{core}/versions/{seeded["v1"]}' in page

    only_unified = _page(client, f"/configs/{core}/versions/{seeded['v2']}?view=unified")
    assert 'id="version-split"' not in only_unified
    assert 'class="config-diff" id="version-unified"' in only_unified
    text = _page(client, f"/configs/{core}/versions/{seeded['v1']}?view=text")
    assert text.count('<tr class="equal"><td class="no">') == 7
    assert '<td class="no">2</td><td class="text">enable secret 5 &lt;masked&gt;</td>' in text
    assert "SECRETHASH1" not in text
    # a version of another asset, or none: not found
    _page(client, f"/configs/{seeded['bare']}/versions/{seeded['v2']}", 404)
    _page(client, f"/configs/{core}/versions/99999", 404)


def test_viewers_and_supervisors_may_not_write(
    app: Flask, client: FlaskClient, seeded: dict[str, int]
) -> None:
    core = seeded["core"]
    for persona in ("viewer", "supervisor"):
        client = app.test_client()
        login(client, persona)
        assert client.get(f"/configs/{core}/access").status_code == 403
        for path in (f"/configs/{core}/access", f"/configs/{core}/fetch"):
            assert post_form(client, path, {"username": "x"}).status_code == 403
    client = app.test_client()
    login(client, "engineer")
    assert post_form(client, f"/configs/{core}/accept-key").status_code == 403
    with app.app_context():
        assert db.session().get(ConfigDevice, 1).username == "backup"


def test_the_access_form_never_shows_a_password_and_keeps_what_was_typed(
    app: Flask, client: FlaskClient, seeded: dict[str, int]
) -> None:
    login(client, "engineer")
    core, bare = seeded["core"], seeded["bare"]
    # fetch now on a device not set up: refused, back to the page named if it is this site's
    for back, expected in (
        ("/configs/upgrades/7", "/configs/upgrades/7"),
        ("//evil.example/x", f"/configs/{bare}"),
        ("/\\evil.example/x", f"/configs/{bare}"),
        ("https://evil.example/", f"/configs/{bare}"),
    ):
        response = post_form(client, f"/configs/{bare}/fetch", {"next": back})
        assert response.status_code == 302 and response.headers["Location"] == expected
    # the asset page offers an engineer to set a device up
    assert f'href="/configs/{bare}/access"' in _page(client, f"/configs/panel/{bare}")
    form = _page(client, f"/configs/{core}/access")
    assert "Pa55-stored" not in form and "En-stored" not in form
    assert form.count('type="password" autocomplete="new-password" placeholder="') == 2
    assert 'value="backup"' in form and 'id="c-interval_h" name="interval_h" value="24"' in form

    # refused: every wrong field named, what was typed kept, the typed password not echoed
    response = post_form(
        client,
        f"/configs/{bare}/access",
        {
            "platform": "no_such",
            "transport": "ssh",
            "port": "70000",
            "username": "netops",
            "password": "typed-Secret9",
            "interval_h": "soon",
            "timeout_s": "30",
            "enabled": "1",
        },
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert set(re.findall(r'data-error="(\w+)"', page)) == {"platform", "port", "interval_h"}
    assert 'value="netops"' in page and 'value="soon"' in page and 'value="70000"' in page
    assert "typed-Secret9" not in page
    with app.app_context():
        assert db.session().query(ConfigDevice).count() == 1  # nothing written

    # saved: a Huawei over Telnet every 12 hours; a blank password keeps the stored one
    response = post_form(
        client,
        f"/configs/{core}/access",
        {
            "platform": "huawei_vrp",
            "transport": "telnet",
            "port": "2323",
            "username": "netops",
            "password": "",
            "enable_password": "Super-new1",
            "interval_h": "12",
            "timeout_s": "45",
            "enabled": "1",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:600]
    with app.app_context():
        device = db.session().get(ConfigDevice, 1)
        assert (device.platform, device.transport, device.port) == ("huawei_vrp", "telnet", 2323)
        assert (device.username, device.interval_s, device.timeout_s) == ("netops", 43200, 45)
        assert device.password == "Pa55-stored" and device.enable_password == "Super-new1"
    again = _page(client, f"/configs/{core}/access")
    assert "Super-new1" not in again and 'value="12"' in again


def test_only_an_admin_accepts_a_changed_host_key_with_csrf(
    app: Flask, client: FlaskClient, seeded: dict[str, int]
) -> None:
    core = seeded["core"]
    with app.app_context():
        device = db.session().get(ConfigDevice, 1)
        device.offered_host_key_type = "ssh-ed25519"
        device.offered_host_key = "AAAAnew"
        device.offered_host_key_fingerprint = "SHA256:newnewnew"
        device.offered_host_key_at = datetime(2026, 3, 6, 1, 0, tzinfo=UTC)
        db.session().commit()
    login(client, "engineer")
    page = _page(client, f"/configs/{core}")
    assert "SHA256:newnewnew" in page and 'id="configs-accept-key"' not in page
    client = app.test_client()
    login(client, "admin")
    page = _page(client, f"/configs/{core}")
    assert 'id="configs-accept-key"' in page
    # without the CSRF token: refused, nothing changes
    assert client.post(f"/configs/{core}/accept-key", data={}).status_code == 400
    # a fingerprint other than the one offered now: refused
    response = post_form(client, f"/configs/{core}/accept-key", {"fingerprint": "SHA256:other"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session().get(ConfigDevice, 1).host_key == "AAAAold"
    response = post_form(client, f"/configs/{core}/accept-key", {"fingerprint": "SHA256:newnewnew"})
    assert response.status_code == 302
    with app.app_context():
        device = db.session().get(ConfigDevice, 1)
        assert (device.host_key, device.host_key_fingerprint) == ("AAAAnew", "SHA256:newnewnew")
        assert device.offered_host_key is None
    assert 'id="configs-offered-key"' not in _page(client, f"/configs/{core}")
