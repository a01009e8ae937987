"""The dashboard for one site at a time: the selector, every tile filtered to the chosen site,
the choice kept in the session, the wall screen's ``?site=``, unknown site ids, and no change
at all with a single site. On SQLite and PostgreSQL."""

from __future__ import annotations

import re

from opskit import dashboard
from tests.conftest import login, post_form
from tests.dashboard.seed import seed, seed_two_sites


def _tile(html: str, name: str) -> str:
    match = re.search(rf'<section[^>]*id="tile-{name}".*?</section>', html, re.S)
    assert match, f"tile {name} missing"
    return match.group(0)


def _urgency_counts(html: str) -> dict[str, int]:
    alerts = _tile(html, "alerts")
    return {
        u: int(re.search(rf'data-urgency="{u}">\s*{u} <span[^>]*data-count>(\d+)<', alerts)[1])
        for u in "ABC"
    }


def _device_counts(html: str) -> dict[str, int]:
    devices = _tile(html, "devices")
    return {
        state: int(re.search(rf'data-state="{state}">.*?data-count>(\d+)<', devices, re.S)[1])
        for state in ("up", "down", "unknown")
    }


def _patrol_titles(html: str) -> list[str]:
    patrol = _tile(html, "patrol")
    return re.findall(r'data-round-state="\w+"><span class="text-break">([^<]*)<', patrol)


def _selected(html: str) -> str:
    select = re.search(r'<select[^>]*id="site-select".*?</select>', html, re.S)
    assert select, "no site selector"
    return re.search(r'<option value="(\w+)" selected>', select.group(0))[1]


def _tile_urls(html: str) -> set[str]:
    return set(re.findall(r'hx-get="(/tiles/[^"]*)"', html))


def test_every_tile_shows_the_chosen_site(db_app, db_client) -> None:
    with db_app.app_context():
        s = seed_two_sites()
    login(db_client, "viewer")
    a, b = s.site_a, s.site_b

    html = db_client.get("/").get_data(as_text=True)  # nothing chosen yet: all sites
    assert _selected(html) == "all"
    options = re.findall(r'<option value="(\w+)"[^>]*>([^<]*)<', html)
    assert options == [("all", "全部站点"), (str(b), "分部"), (str(a), "总部")]
    assert _tile_urls(html) == {f"/tiles/{n}?site=all" for n in dashboard.TILES}
    for page in (html, db_client.get("/?site=all").get_data(as_text=True)):
        # alerts: both sites' plus the one of no asset or room
        assert _urgency_counts(page) == {"A": 1, "B": 1, "C": 3}
        assert "短信网关余额不足" in _tile(page, "alerts")
        assert _patrol_titles(page) == [
            "00:00 每日机房巡检 · A机房",
            "00:00 分部夜间巡检 · B机房",
            "23:59 每日机房巡检 · A机房",
        ]
        env = _tile(page, "environment")
        assert 'data-room="A机房"' in env and 'data-room="B机房"' in env
        ups = _tile(page, "ups")
        assert 'data-ups="UPS-01"' in ups and 'data-ups="UPS-B1"' in ups
        assert _device_counts(page) == {"up": 7, "down": 2, "unknown": 0}
        down = _tile(page, "devices")
        assert "SRV-02" in down and "SW-B1" in down
        storage = _tile(page, "storage")
        assert 'data-volume="SRV-B1:/data"' in storage and 'data-volume="SRV-01:/var"' in storage
        warranty = _tile(page, "warranty")
        assert re.findall(r'data-asset="([^"]+)"', warranty) == ["SPARE-01", "SRV-01", "SRV-B1"]
        logbook = _tile(page, "logbook")
        assert "张三" in logbook and "李四" in logbook
        assert "系统补丁" in logbook and "出库检测" in logbook  # a power event of no site too

    html = db_client.get(f"/?site={a}").get_data(as_text=True)
    assert _selected(html) == str(a)
    assert _tile_urls(html) == {f"/tiles/{n}?site={a}" for n in dashboard.TILES}
    assert _urgency_counts(html) == {"A": 1, "B": 0, "C": 1}
    alerts = _tile(html, "alerts")
    assert "UPS-01 市电中断" in alerts and "漏水" not in alerts and "短信网关" not in alerts
    assert _patrol_titles(html) == ["00:00 每日机房巡检 · A机房", "23:59 每日机房巡检 · A机房"]
    env = _tile(html, "environment")
    assert 'data-room="A机房"' in env and "B机房" not in env
    assert re.search(r'data-metric="env.temperature_c" data-level="ok">24.5 °C<', env)
    ups = _tile(html, "ups")
    assert 'data-ups="UPS-01"' in ups and "UPS-B1" not in ups and ">42%<" in ups
    assert _device_counts(html) == {"up": 4, "down": 1, "unknown": 0}
    devices = _tile(html, "devices")
    assert "SRV-02" in devices and "SW-B1" not in devices
    storage = _tile(html, "storage")
    assert 'data-volume="SRV-01:/var"' in storage and "SRV-B1" not in storage
    warranty = _tile(html, "warranty")
    assert re.findall(r'data-asset="([^"]+)"', warranty) == ["SRV-01"]
    databases = _tile(html, "databases")  # DB-A1's connections above 85 %: marked
    assert 'data-database="DB-A1"' in databases and "DB-B1" not in databases
    assert "数据库连接使用率" in databases and "缓冲区命中率" in databases
    assert '<span class="badge text-bg-warning">91%</span>' in databases and "850" in databases
    logbook = _tile(html, "logbook")
    assert "张三" in logbook and "李四" not in logbook
    assert "系统补丁" not in logbook and "出库检测" not in logbook

    html = db_client.get(f"/?site={b}").get_data(as_text=True)
    assert _selected(html) == str(b)
    assert _urgency_counts(html) == {"A": 0, "B": 1, "C": 1}
    alerts = _tile(html, "alerts")
    assert "B机房 地板下漏水" in alerts  # the room's alert of no asset
    assert "UPS-01" not in alerts and "短信网关" not in alerts
    assert _patrol_titles(html) == ["00:00 分部夜间巡检 · B机房"]
    env = _tile(html, "environment")
    assert 'data-room="B机房"' in env and "A机房" not in env
    assert re.search(r'data-metric="env.temperature_c" data-level="ok">21.0 °C<', env)
    assert re.search(r'data-metric="env.humidity_percent" data-level="ok">52.0 %RH<', env)
    ups = _tile(html, "ups")
    assert 'data-ups="UPS-B1"' in ups and "UPS-01" not in ups
    assert ">15%<" in ups and ">100%<" in ups and "61 分钟" in ups and "市电供电" in ups
    assert _device_counts(html) == {"up": 3, "down": 1, "unknown": 0}
    devices = _tile(html, "devices")
    assert "SW-B1" in devices and "connection refused" in devices and "SRV-02" not in devices
    storage = _tile(html, "storage")
    assert 'data-volume="SRV-B1:/data"' in storage and 'data-level="critical"' in storage
    assert "97.2%" in storage and "SRV-01" not in storage
    warranty = _tile(html, "warranty")
    assert re.findall(r'data-asset="([^"]+)"', warranty) == ["SRV-B1"] and "45 天" in warranty
    logbook = _tile(html, "logbook")
    assert "李四" in logbook and "线路检修" in logbook and "张三" not in logbook
    assert "SRV-B1 文件服务器" in logbook and "系统补丁" in logbook  # its asset's power event
    assert "出库检测" not in logbook  # the power event of an asset of no room

    # each tile's partial, as htmx refreshes it, reads the site its URL names
    expect = {
        "alerts": ("B机房 地板下漏水", "UPS-01 市电中断"),
        "patrol": ("分部夜间巡检", "每日机房巡检"),
        "environment": ('data-room="B机房"', 'data-room="A机房"'),
        "ups": ('data-ups="UPS-B1"', 'data-ups="UPS-01"'),
        "devices": ("SW-B1", "SRV-02"),
        "storage": ("SRV-B1:/data", "SRV-01:/var"),
        "warranty": ('data-asset="SRV-B1"', 'data-asset="SRV-01"'),
        "logbook": ("李四", "张三"),
        "requests": ("文件共享无法访问", "打印机卡纸"),  # the nearest deadline's request
        "databases": ('data-database="DB-B1"', 'data-database="DB-A1"'),
    }
    assert set(expect) == set(dashboard.TILES)
    for name, (of_b, of_a) in expect.items():
        body = db_client.get(f"/tiles/{name}?site={b}").get_data(as_text=True)
        assert of_b in body and of_a not in body, name
        assert f'hx-get="/tiles/{name}?site={b}"' in body  # the next refresh keeps the site
        body = db_client.get(f"/tiles/{name}?site={a}").get_data(as_text=True)
        assert of_a in body and of_b not in body, name
        body = db_client.get(f"/tiles/{name}?site=all").get_data(as_text=True)
        if name == "requests":  # one nearest deadline shown: both sites' requests counted
            assert re.search(r'data-field="open-requests">\s*\S+ <span[^>]*data-count>2<', body)
        else:
            assert of_a in body and of_b in body, name
        assert f'hx-get="/tiles/{name}?site=all"' in body


def test_the_choice_is_kept_in_the_session(app, client) -> None:
    with app.app_context():
        s = seed_two_sites()
    b = s.site_b
    login(client, "engineer")
    assert "UPS-B1" in _tile(client.get(f"/?site={b}").get_data(as_text=True), "ups")

    html = client.get("/").get_data(as_text=True)  # no parameter: the remembered site
    assert _selected(html) == str(b)
    assert 'data-ups="UPS-01"' not in _tile(html, "ups")
    assert f'href="/kiosk?site={b}"' in html  # the wall-screen link takes the site along
    tile = client.get("/tiles/ups").get_data(as_text=True)  # a tile without ?site= too
    assert 'data-ups="UPS-B1"' in tile and "UPS-01" not in tile

    # another user's session is not changed
    other = app.test_client()
    login(other, "viewer")
    html = other.get("/").get_data(as_text=True)
    assert _selected(html) == "all" and 'data-ups="UPS-01"' in _tile(html, "ups")

    assert _selected(client.get("/?site=all").get_data(as_text=True)) == "all"
    html = client.get("/").get_data(as_text=True)
    assert _selected(html) == "all" and 'data-ups="UPS-01"' in _tile(html, "ups")

    # a new login is a new session: the choice does not carry over
    client.get(f"/?site={b}")
    assert _selected(client.get("/").get_data(as_text=True)) == str(b)
    post_form(client, "/logout")
    login(client, "engineer")
    assert _selected(client.get("/").get_data(as_text=True)) == "all"

    # a remembered site that no longer exists is forgotten: all sites, no error
    with client.session_transaction() as sess:
        sess[dashboard.SESSION_SITE] = 9999
    response = client.get("/")
    assert response.status_code == 200
    assert _selected(response.get_data(as_text=True)) == "all"
    with client.session_transaction() as sess:
        assert dashboard.SESSION_SITE not in sess


def test_wall_screen_takes_the_site_from_its_url(app, client) -> None:
    with app.app_context():
        s = seed_two_sites()
    a, b = s.site_a, s.site_b
    login(client, "viewer")
    client.get(f"/?site={a}")
    for path in (f"/kiosk?site={b}", f"/?kiosk=1&site={b}"):
        html = client.get(path).get_data(as_text=True)
        assert 'class="opskit-kiosk"' in html and 'id="site-select"' not in html
        assert '<span id="dashboard-site-name">分部</span>' in html
        assert _tile_urls(html) == {f"/tiles/{n}?site={b}" for n in dashboard.TILES}
        assert 'data-ups="UPS-B1"' in _tile(html, "ups") and "UPS-01" not in html
        assert _device_counts(html) == {"up": 3, "down": 1, "unknown": 0}
    # the wall screen's parameter is its own: the engineer's choice stays
    assert _selected(client.get("/").get_data(as_text=True)) == str(a)
    html = client.get("/kiosk?site=all").get_data(as_text=True)
    assert '<span id="dashboard-site-name">全部站点</span>' in html
    assert _device_counts(html) == {"up": 7, "down": 2, "unknown": 0}
    # no parameter: the session's choice
    assert '<span id="dashboard-site-name">总部</span>' in client.get("/kiosk").get_data(
        as_text=True
    )


def test_an_unknown_site_says_so(app, client) -> None:
    with app.app_context():
        s = seed_two_sites()
    login(client, "viewer")
    client.get(f"/?site={s.site_b}")
    for asked in ("9999", "abc"):
        response = client.get(f"/?site={asked}")
        assert response.status_code == 404
        html = response.get_data(as_text=True)
        assert f"没有编号为 {asked} 的站点（可能已被删除）。" in html and "请选择站点：" in html
        links = re.findall(r'<a class="btn btn-lg[^"]*" href="([^"]+)" data-site', html)
        assert links == ["/?site=all", f"/?site={s.site_b}", f"/?site={s.site_a}"]
        assert 'id="tile-' not in html
    # the session keeps the last good choice
    assert _selected(client.get("/").get_data(as_text=True)) == str(s.site_b)
    response = client.get("/kiosk?site=9999")
    assert response.status_code == 404
    assert 'href="/kiosk?site=all"' in response.get_data(as_text=True)
    assert client.get("/tiles/ups?site=9999").status_code == 404


def test_a_single_site_has_no_selector_and_no_filter(app, client) -> None:
    with app.app_context():
        s = seed()
        from assets.queries import get_asset
        from opskit import db
        from opskit.alerts import services as alert_services

        alert_services.raise_alert(
            "manual:sms-gateway", source="manual", rule="manual", urgency="B", message="短信网关"
        )
        db.session().commit()
        site = get_asset(s.ups_id).room.site_id
    login(client, "viewer")
    for path in ("/", f"/?site={site}", "/?site=all"):
        html = client.get(path).get_data(as_text=True)
        assert 'id="site-select"' not in html and 'id="dashboard-site-name"' not in html
        assert _tile_urls(html) == {f"/tiles/{n}" for n in dashboard.TILES}
        assert 'href="/kiosk"' in html
        # the alert of no asset is there: nothing is filtered with one site
        assert _urgency_counts(html) == {"A": 1, "B": 1, "C": 1}
    assert "短信网关" in client.get(f"/tiles/alerts?site={site}").get_data(as_text=True)
