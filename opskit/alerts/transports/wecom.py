"""WeCom (企业微信) group robot: a markdown message to its webhook URL (the key is secret)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from opskit.alerts.transports.base import (
    URL,
    Cleaned,
    Form,
    Message,
    Saved,
    clean_robot,
    post_json,
    robot_reply,
)


class WeCom:
    key = "wecom"
    label = _l("WeCom group robot")
    fields = (URL,)

    def clean(self, form: Form, saved: Saved | None) -> Cleaned:
        return clean_robot(form, saved)

    def send(self, settings: dict[str, Any], secret: str | None, message: Message) -> None:
        body = {"msgtype": "markdown", "markdown": {"content": message.text}}
        _status, reply = post_json(secret or "", body)
        robot_reply("WeCom", reply)


TRANSPORT = WeCom()
