"""Notifications against real local receivers: an SMTP server and an HTTP server on 127.0.0.1
that checks the WeCom and DingTalk message formats and the DingTalk signature."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from flask import Flask, current_app
from sqlalchemy import select, text

from opskit import db
from opskit.alerts import notify, services
from opskit.alerts.models import Alert, Delivery, DeliveryAttempt, NotificationChannel
from opskit.alerts.transports import dingtalk_sign
from tests import factories
from tests.conftest import login
from tests.test_serve import free_port

DING_SECRET = "SEC0123456789abcdef"
# Saturday 2026-11-28 10:00 in Shanghai; the next working period starts Monday 08:00.
SATURDAY = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
MONDAY_0800 = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
T0 = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)  # Thursday 11:00 Shanghai


class Receiver(BaseHTTPRequestHandler):
    """Routes: /wecom, /dingtalk (checks signature), /flaky (500 twice), /gone (404)."""

    received: dict[str, list[dict]]
    flaky_failures: list[int]

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        server = self.server
        if url.path == "/wecom":
            ok = (
                query.get("key") == "wecom-key"
                and body.get("msgtype") == "markdown"
                and isinstance(body.get("markdown", {}).get("content"), str)
            )
            if not ok:
                return self._reply(200, {"errcode": 93000, "errmsg": "invalid webhook url"})
        elif url.path == "/dingtalk":
            expected = dingtalk_sign(DING_SECRET, int(query.get("timestamp", "0")))
            if query.get("access_token") != "ding-token" or query.get("sign") != expected:
                return self._reply(200, {"errcode": 310000, "errmsg": "sign not match"})
            markdown = body.get("markdown", {})
            if body.get("msgtype") != "markdown" or not {"title", "text"} <= set(markdown):
                return self._reply(200, {"errcode": 40035, "errmsg": "bad message"})
        elif url.path == "/flaky":
            if server.flaky_failures[0] < 2:
                server.flaky_failures[0] += 1
                return self._reply(500, {"error": "try later"})
        elif url.path == "/gone":
            return self._reply(404, {"error": "not found"})
        server.received.setdefault(url.path, []).append(body)
        return self._reply(200, {"errcode": 0, "errmsg": "ok"})


@pytest.fixture
def http_receiver() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.received = {}
    server.flaky_failures = [0]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    thread.join(5)
    server.server_close()


class MailBox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], str]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.content.decode("utf-8")))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[MailBox, int]]:
    box = MailBox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


def _url(server: ThreadingHTTPServer, path: str) -> str:
    return f"http://127.0.0.1:{server.server_port}{path}"


def _channel(name: str, kind: str, secret: str | None = None, **settings) -> NotificationChannel:
    urgencies = settings.pop("urgencies", "ABC")
    channel = NotificationChannel(
        name=name, kind=kind, secret=secret, settings=settings, urgencies=urgencies
    )
    db.session().add(channel)
    return channel


def _raise(urgency: str, at: datetime, key: str = "monitor:ups:1") -> None:
    services.raise_alert(
        key,
        source="monitor",
        rule="ups.on_battery",
        urgency=urgency,
        message="UPS-01 电池供电",
        at=at,
    )
    db.session().commit()


@pytest.fixture
def ctx(db_app: Flask):
    with db_app.test_request_context("/"):
        yield db.session()


def test_every_channel_kind_delivers_once(ctx, http_receiver, smtp_server) -> None:
    box, port = smtp_server
    _channel(
        "值班邮箱", "email", host="127.0.0.1", port=port, to="duty@example.cn, boss@example.cn"
    )
    _channel("企业微信群", "wecom", _url(http_receiver, "/wecom?key=wecom-key"))
    _channel(
        "钉钉群",
        "dingtalk",
        json.dumps(
            {"url": _url(http_receiver, "/dingtalk?access_token=ding-token"), "sign": DING_SECRET}
        ),
    )
    _channel("工单系统", "webhook", _url(http_receiver, "/hook"))
    ctx.commit()
    _raise("A", T0)
    assert notify.run_once(T0) == (4, 4)
    assert notify.run_once(T0 + timedelta(minutes=1)) == (0, 0)  # nothing sent twice

    ((rcpts, mail),) = box.messages
    assert rcpts == ["duty@example.cn", "boss@example.cn"]
    assert "UPS-01" in mail
    (wecom,) = http_receiver.received["/wecom"]
    assert "[A] UPS-01 电池供电" in wecom["markdown"]["content"]
    assert "新告警" in wecom["markdown"]["content"]
    (ding,) = http_receiver.received["/dingtalk"]
    assert ding["markdown"]["title"] == "[A] UPS-01 电池供电"
    (hook,) = http_receiver.received["/hook"]
    assert (hook["event"], hook["urgency"], hook["rule"]) == ("raised", "A", "ups.on_battery")
    assert ctx.scalars(select(Delivery.status)).all() == ["sent"] * 4


def test_wrong_dingtalk_secret_is_a_permanent_failure_shown_on_the_channel(
    ctx, http_receiver
) -> None:
    channel = _channel(
        "钉钉群",
        "dingtalk",
        json.dumps(
            {"url": _url(http_receiver, "/dingtalk?access_token=ding-token"), "sign": "WRONG"}
        ),
    )
    ctx.commit()
    _raise("B", T0)
    notify.run_once(T0)
    delivery = ctx.scalar(select(Delivery))
    assert delivery.status == "failed" and delivery.attempts == 1
    assert "310000" in channel.last_error
    assert "/dingtalk" not in http_receiver.received
    assert notify.send_due(T0 + timedelta(hours=2)) == 0  # no retry of a permanent failure
    ctx.commit()
    client = current_app.test_client()
    login(client, "admin")
    page = client.get("/alerts/channels/").get_data(as_text=True)
    assert "<td>失败</td>" in page and ">failed<" not in page  # the delivery's state as a word


def test_receiver_failing_twice_then_succeeding_gets_exactly_one_message(
    ctx, http_receiver
) -> None:
    _channel("不稳定的接口", "webhook", _url(http_receiver, "/flaky"))
    ctx.commit()
    _raise("A", T0)
    assert notify.run_once(T0) == (1, 0)
    assert notify.send_due(T0 + timedelta(seconds=10)) == 0  # backoff not yet over
    assert notify.send_due(T0 + timedelta(seconds=31)) == 0  # second failure
    assert notify.send_due(T0 + timedelta(minutes=3)) == 1
    assert notify.send_due(T0 + timedelta(hours=3)) == 0
    assert len(http_receiver.received["/flaky"]) == 1
    attempts = ctx.scalars(select(DeliveryAttempt.ok).order_by(DeliveryAttempt.id)).all()
    assert attempts == [False, False, True]


def test_unreachable_and_404_receivers(ctx, http_receiver) -> None:
    _channel("已删除的接口", "webhook", _url(http_receiver, "/gone"))
    _channel("关机的服务器", "webhook", f"http://127.0.0.1:{free_port()}/x")
    ctx.commit()
    _raise("A", T0)
    notify.run_once(T0)
    rows = {d.channel.name: (d.status, d.attempts) for d in ctx.scalars(select(Delivery))}
    assert rows == {"已删除的接口": ("failed", 1), "关机的服务器": ("pending", 1)}


def test_level_two_waits_for_working_hours_unless_escalated(ctx, http_receiver) -> None:
    _channel("企业微信群", "wecom", _url(http_receiver, "/wecom?key=wecom-key"))
    ctx.commit()
    _raise("C", SATURDAY, key="patrol:temp")
    assert notify.run_once(SATURDAY) == (1, 0)
    assert ctx.scalar(select(Delivery.next_attempt_at)) == MONDAY_0800
    assert notify.send_due(SATURDAY + timedelta(hours=20)) == 0
    # the same condition gets worse: escalated to A, which goes out at once, and so do the
    # A clocks that already ran out (7x24 from the first sighting: acknowledge within 5 min)
    _raise("A", SATURDAY + timedelta(hours=1), key="patrol:temp")
    assert notify.run_once(SATURDAY + timedelta(hours=1)) == (3, 3)
    texts = [m["markdown"]["content"] for m in http_receiver.received["/wecom"]]
    assert "已升级" in texts[0]
    assert "确认期限 2026-11-28 10:05 将到" in texts[1]
    assert "确认期限 2026-11-28 10:05 已超时" in texts[2]
    assert notify.send_due(MONDAY_0800) == 1
    assert len(http_receiver.received["/wecom"]) == 4


def test_clock_warning_goes_out_before_the_breach_once(ctx, http_receiver) -> None:
    _channel("值班群", "webhook", _url(http_receiver, "/duty"))
    ctx.commit()
    _raise("B", T0)
    alert = ctx.scalar(select(Alert))
    services.acknowledge(alert, at=T0 + timedelta(minutes=2))
    ctx.commit()
    notify.run_once(T0 + timedelta(minutes=2))
    assert notify.run_once(T0 + timedelta(minutes=80)) == (0, 0)  # on site 2 h: 67 % used
    assert notify.run_once(T0 + timedelta(minutes=95)) == (1, 1)  # 79 %: warning
    assert notify.run_once(T0 + timedelta(minutes=100)) == (0, 0)  # once only
    warning = http_receiver.received["/duty"][-1]
    assert warning["event"] == "sla_warning" and "到场期限" in warning["text"]
    services.record_onsite(alert, at=T0 + timedelta(minutes=110))
    ctx.commit()
    assert notify.run_once(T0 + timedelta(minutes=130)) == (0, 0)  # arrived: no breach


def test_urgency_routing_and_maintenance_silence(ctx, http_receiver) -> None:
    _channel("只收A", "webhook", _url(http_receiver, "/a-only"), urgencies="A")
    ctx.commit()
    _raise("C", T0, key="c-alert")
    _raise("A", T0, key="a-alert")
    assert notify.run_once(T0) == (1, 1)
    assert [m["message"] for m in http_receiver.received["/a-only"]] == ["UPS-01 电池供电"]


def test_secrets_are_encrypted_at_rest(ctx) -> None:
    _channel("企业微信群", "wecom", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRET")
    ctx.commit()
    raw = ctx.execute(text("SELECT secret FROM notification_channel")).scalar_one()
    assert raw.startswith("fernet:") and "SECRET" not in raw
    ctx.expire_all()
    assert ctx.scalar(select(NotificationChannel.secret)).endswith("key=SECRET")


def test_channels_can_be_limited_to_sites(ctx, http_receiver) -> None:
    shanghai = factories.rack(site="上海数据中心", room="A机房", name="A01")
    beijing = factories.rack(site="北京数据中心", room="B机房", name="B01")
    sh_ups = factories.asset("UPS-SH", kind="ups", rack=shanghai, u_position=1)
    bj_ups = factories.asset("UPS-BJ", kind="ups", rack=beijing, u_position=1)
    _channel("上海值班", "webhook", _url(http_receiver, "/sh"), sites=[shanghai.room.site_id])
    _channel("总部", "webhook", _url(http_receiver, "/all"))
    ctx.commit()
    for ups in (sh_ups, bj_ups):
        services.raise_alert(
            f"monitor:ups:{ups.id}",
            source="monitor",
            rule="ups.on_battery",
            urgency="A",
            message=f"{ups.asset_tag} 电池供电",
            asset_id=ups.id,
            at=T0,
        )
    ctx.commit()
    notify.run_once(T0)
    assert [m["message"] for m in http_receiver.received["/sh"]] == ["UPS-SH 电池供电"]
    assert len(http_receiver.received["/all"]) == 2
