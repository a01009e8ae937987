"""Webhook transport: the event as JSON, POSTed to a URL (the URL is the secret)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from opskit.alerts.transports.base import URL, Cleaned, Form, Message, Saved, clean_robot, post_json


class Webhook:
    key = "webhook"
    label = _l("Webhook (JSON)")
    fields = (URL,)

    def clean(self, form: Form, saved: Saved | None) -> Cleaned:
        return clean_robot(form, saved)

    def send(self, settings: dict[str, Any], secret: str | None, message: Message) -> None:
        url = secret or settings.get("url", "")
        post_json(url, {"title": message.title, "text": message.text, **message.payload})


TRANSPORT = Webhook()
