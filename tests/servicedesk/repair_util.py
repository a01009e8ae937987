"""Helpers of the repair tests: drawn signatures as the tablet sends them, and a typical repair."""

from __future__ import annotations

import base64
import io
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from PIL import Image, ImageDraw

from opskit import db
from opskit.servicedesk.models import ServiceRequest
from opskit.servicedesk.services import PartInput, RepairInput


def drawn_signature(width: int = 300, height: int = 100, stroke: int = 0) -> str:
    """A PNG data URL of a scribble, like the canvas's ``toDataURL("image/png")``."""
    image = Image.new("RGBA", (width, height), (255, 255, 255, 0))
    pen = ImageDraw.Draw(image)
    pen.line([(10, 80 - stroke), (80, 20), (150, 70 + stroke), (280, 15)], fill="black", width=3)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def repair_input(start: datetime, **values: Any) -> RepairInput:
    """A disk replaced under a vendor case, down 2 h 30 min from ``start``."""
    data: dict[str, Any] = {
        "fault": "RAID 阵列降级，2 号硬盘告警",
        "diagnosis": "2 号硬盘坏道",
        "work_done": "更换 2 号硬盘并重建阵列",
        "result": "已修复，阵列恢复正常",
        "vendor": "华为",
        "vendor_case_number": "C-2026-0815",
        "rma_number": "RMA-77881",
        "vendor_engineer": "李工",
        "vendor_opened_at": start - timedelta(hours=1),
        "vendor_closed_at": start + timedelta(days=1),
        "downtime_start": start,
        "downtime_end": start + timedelta(hours=2, minutes=30),
        "cost": Decimal("1200.50"),
        "parts": [PartInput("600GB SAS 硬盘", "WX-OLD-001", "WX-NEW-002", 1)],
    }
    data.update(values)
    return RepairInput(**data)


def request_row(asset_id: int | None, raised_at: datetime, n: int = 1) -> ServiceRequest:
    """A request as the desk stores it, responded, on site and resolved (flushed; made here so
    the repair tests stand on the model alone)."""
    req = ServiceRequest(
        client_id=f"repair-test-{n:04d}-{asset_id}",
        channel="phone",
        category="hardware",
        asset_id=asset_id,
        urgency="B",
        title="服务器硬盘告警",
        description="服务器前面板硬盘灯红色",
        requester_name="王芳",
        requester_department="财务部",
        raised_at=raised_at,
        responded_at=raised_at + timedelta(minutes=3),
        onsite_at=raised_at + timedelta(minutes=50),
        resolved_at=raised_at + timedelta(hours=3),
    )
    db.session().add(req)
    db.session().flush()
    return req
