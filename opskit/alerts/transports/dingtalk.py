"""DingTalk (钉钉) group robot: a markdown message, signed when a signing secret is configured.

Its secret is JSON {"url": webhook URL with access_token, "sign": signing secret or ""}; either
part typed on the form replaces that part only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.parse
from typing import Any

from flask_babel import lazy_gettext as _l

from opskit.alerts.transports.base import (
    SECRET,
    URL,
    Cleaned,
    Form,
    Message,
    Saved,
    TransportError,
    post_json,
    robot_reply,
    robot_url,
)


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk robot signature: base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}"))."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class DingTalk:
    key = "dingtalk"
    label = _l("DingTalk group robot")
    fields = (URL, SECRET)

    def clean(self, form: Form, saved: Saved | None) -> Cleaned:
        errors: dict[str, str] = {}
        url = robot_url(form, saved, errors)
        sign = str(form.get("secret", "")).strip()
        secret = None
        if url or sign:
            old = json.loads(saved.secret or "{}") if saved else {}
            secret = json.dumps(
                {"url": url or old.get("url", ""), "sign": sign or old.get("sign", "")}
            )
        return Cleaned({}, secret, errors)

    def send(self, settings: dict[str, Any], secret: str | None, message: Message) -> None:
        try:
            parts = json.loads(secret or "{}")
        except ValueError:
            raise TransportError("DingTalk: stored secret unreadable", retry=False) from None
        url = parts.get("url", "")
        if parts.get("sign"):
            ts = int(time.time() * 1000)
            sign = urllib.parse.quote_plus(dingtalk_sign(parts["sign"], ts))
            url = f"{url}{'&' if '?' in url else '?'}timestamp={ts}&sign={sign}"
        body = {"msgtype": "markdown", "markdown": {"title": message.title, "text": message.text}}
        _status, reply = post_json(url, body)
        robot_reply("DingTalk", reply)


TRANSPORT = DingTalk()
