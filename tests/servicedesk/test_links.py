"""Requests from an alert, a patrol finding or an incident, linked both ways; the requests of an
asset; the requesters seen before."""

from __future__ import annotations

import pytest

from inspections.models import PatrolAnswer, PatrolFinding, PatrolRound
from opskit.alerts import incidents
from opskit.alerts import services as alerts
from opskit.servicedesk import queries, services
from opskit.validation import ValidationFailed
from tests.servicedesk.util import MIN, new


def test_a_request_from_an_alert_is_linked_both_ways(ctx, site, t0) -> None:
    alert = alerts.raise_alert(
        "monitor:host.down:asset=srv",
        source="monitor",
        rule="host.down",
        urgency="B",
        message="SRV-01 无法 ping 通",
        asset_id=site.server.id,
        at=t0,
    )
    ctx.flush()
    req = services.open_request_from_alert(alert.id, category="network", raised_at=t0 + MIN)
    ctx.commit()
    assert (req.alert_id, req.channel, req.urgency, req.category) == (
        alert.id,
        "alert",
        "B",
        "network",
    )
    assert (req.asset_id, req.room_id) == (site.server.id, site.server.room_id)
    assert req.description == "SRV-01 无法 ping 通" and req.title == "SRV-01 无法 ping 通"
    assert queries.requests_for_alert(alert.id) == [req]
    # asked again (a second tap on the alert page): the open request, not a second one
    assert services.open_request_from_alert(alert.id, raised_at=t0 + 2 * MIN) is req
    services.resolve(req, "网线松动", at=t0 + 20 * MIN)
    again = services.open_request_from_alert(alert.id, urgency="A", raised_at=t0 + 30 * MIN)
    assert again.id != req.id and again.urgency == "A"
    assert queries.requests_for_alert(alert.id) == [req, again]


def test_an_unknown_alert_or_incident_is_named(ctx, site, t0) -> None:
    with pytest.raises(ValidationFailed) as caught:
        services.open_request_from_alert(999_999)
    assert list(caught.value.errors) == ["alert_id"]
    with pytest.raises(ValidationFailed) as caught:
        services.open_request_from_incident(999_999, channel="phone")
    assert list(caught.value.errors) == ["incident_id"]


def test_requests_from_an_incident(ctx, site, t0) -> None:
    incident = incidents.open_incident(
        "财务系统全部中断", grade="major", urgency="A", description="核心交换机故障", at=t0
    )
    ctx.flush()
    one = services.open_request_from_incident(
        incident.id,
        channel="phone",
        requester_name="李雷",
        requester_department="财务部",
        raised_at=t0 + MIN,
    )
    two = services.open_request_from_incident(
        incident.id, channel="wechat", requester_name="韩梅梅", raised_at=t0 + 2 * MIN
    )
    assert (one.incident_id, one.urgency, one.title, one.description) == (
        incident.id,
        "A",
        "财务系统全部中断",
        "核心交换机故障",
    )
    assert queries.requests_for_incident(incident.id) == [one, two]


def _finding(ctx, site, t0) -> PatrolFinding:
    patrol = PatrolRound(
        client_id="round-for-request",
        room_id=site.server.room_id,
        started_at=t0,
        status="submitted",
    )
    answer = PatrolAnswer(
        round=patrol, target="room", checklist_key="room_environment", item_key="hot_aisle_temp"
    )
    finding = PatrolFinding(
        round=patrol,
        answer=answer,
        level="warning",
        urgency="C",
        message="热通道温度 35°C",
        opened_at=t0,
    )
    ctx.add_all([patrol, answer, finding])
    ctx.flush()
    return finding


def test_a_request_from_a_patrol_finding_is_linked_both_ways(ctx, site, t0) -> None:
    finding = _finding(ctx, site, t0)
    req = services.open_request_from_finding(
        finding.id,
        description=finding.message,
        urgency=finding.urgency,
        room_id=site.server.room_id,
        raised_at=t0 + MIN,
    )
    ctx.commit()
    assert (req.finding_id, req.channel, req.urgency, req.room_id) == (
        finding.id,
        "patrol",
        "C",
        site.server.room_id,
    )
    assert queries.requests_for_finding(finding.id) == [req]
    again = services.open_request_from_finding(
        finding.id, description="再次", urgency="C", raised_at=t0 + 2 * MIN
    )
    assert again is req


def test_requests_of_an_asset_and_requesters_seen_before(ctx, site, t0) -> None:
    first = new(t0, asset_tag="PRN-01", client_id="asset-req-001")
    second = new(
        t0 + 5 * MIN,
        asset_tag="PRN-01",
        client_id="asset-req-002",
        requester_name="李雷",
        requester_department="人事部",
        requester_phone="010-12345678",
    )
    new(t0 + 6 * MIN, asset_tag="SRV-01", client_id="asset-req-003")
    new(t0 + 7 * MIN, client_id="asset-req-004", requester_name="")
    ctx.commit()
    assert queries.requests_of_asset(site.printer.id) == [first, second]
    people = queries.requesters()
    assert [(p.name, p.department, p.phone, p.requests) for p in people] == [
        ("王芳", "财务部", "13800138000", 2),
        ("李雷", "人事部", "010-12345678", 1),
    ]
    assert people[0].last_at == t0 + 6 * MIN
    assert [p.name for p in queries.requesters("人事")] == ["李雷"]
    assert [p.name for p in queries.requesters("1380013")] == ["王芳"]
