"""Notification transports: one small function per kind, registered in ``TRANSPORTS``.

Each takes the channel's settings, its decrypted secret and a ``Message`` and either returns or
raises ``TransportError`` saying whether a retry can help (a timeout or a 5xx can; a wrong URL,
a rejected signature or a refused recipient cannot).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

TIMEOUT = 10


class TransportError(Exception):
    def __init__(self, message: str, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


@dataclass(frozen=True)
class Message:
    title: str
    text: str  # plain text / markdown body
    urgency: str
    payload: dict[str, Any]  # the structured event, for webhooks


def _post_json(url: str, body: dict[str, Any]) -> tuple[int, bytes]:
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ("http", "https"):
        raise TransportError(f"URL must be http(s), got {scheme or 'nothing'!r}", retry=False)
    data = json.dumps(body, ensure_ascii=False).encode()
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, data=data, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        retry = exc.code >= 500 or exc.code in (408, 429)
        raise TransportError(f"HTTP {exc.code} from {_host(url)}", retry=retry) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TransportError(f"cannot reach {_host(url)}: {reason}", retry=True) from None


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc or url


def _robot_reply(kind: str, body: bytes) -> None:
    """WeCom and DingTalk answer 200 with {"errcode": 0} on success."""
    try:
        reply = json.loads(body or b"{}")
    except ValueError:
        raise TransportError(f"{kind}: unreadable answer", retry=True) from None
    code = reply.get("errcode", 0)
    if code != 0:
        # -1 is "system busy" on both; everything else (bad key, signature, keyword) is final
        raise TransportError(f"{kind}: errcode {code}: {reply.get('errmsg', '')}", retry=code == -1)


def send_webhook(settings: dict[str, Any], secret: str | None, message: Message) -> None:
    url = secret or settings.get("url", "")
    _post_json(url, {"title": message.title, "text": message.text, **message.payload})


def send_wecom(settings: dict[str, Any], secret: str | None, message: Message) -> None:
    """WeCom (企业微信) group robot: markdown message to its webhook URL (the key is secret)."""
    _status, body = _post_json(
        secret or "", {"msgtype": "markdown", "markdown": {"content": message.text}}
    )
    _robot_reply("WeCom", body)


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk robot signature: base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}"))."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def send_dingtalk(settings: dict[str, Any], secret: str | None, message: Message) -> None:
    """DingTalk (钉钉) robot: markdown message; signed when a signing secret is configured.

    ``secret`` is JSON {"url": webhook URL with access_token, "sign": signing secret or ""}.
    """
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
    _status, reply = _post_json(url, body)
    _robot_reply("DingTalk", reply)


def send_email(settings: dict[str, Any], secret: str | None, message: Message) -> None:
    recipients = [a.strip() for a in settings.get("to", "").replace(";", ",").split(",") if a]
    if not recipients:
        raise TransportError("e-mail: no recipients", retry=False)
    mail = EmailMessage()
    mail["Subject"] = message.title
    mail["From"] = settings.get("from") or "opskit@localhost"
    mail["To"] = ", ".join(recipients)
    mail.set_content(message.text)
    host, port = settings.get("host", "127.0.0.1"), int(settings.get("port", 25))
    try:
        with smtplib.SMTP(host, port, timeout=TIMEOUT) as smtp:
            if settings.get("starttls"):
                smtp.starttls()
            if settings.get("username"):
                smtp.login(settings["username"], secret or "")
            refused = smtp.send_message(mail)
    except smtplib.SMTPAuthenticationError as exc:
        raise TransportError(f"e-mail: login refused ({exc.smtp_code})", retry=False) from None
    except smtplib.SMTPResponseException as exc:
        raise TransportError(
            f"e-mail: server said {exc.smtp_code} {exc.smtp_error!r}", retry=exc.smtp_code < 500
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise TransportError(
            f"e-mail: recipients refused: {list(exc.recipients)}", retry=False
        ) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise TransportError(f"e-mail: cannot reach {host}:{port}: {exc}", retry=True) from None
    if refused:
        raise TransportError(f"e-mail: refused for {sorted(refused)}", retry=False)


TRANSPORTS: dict[str, Callable[[dict[str, Any], str | None, Message], None]] = {
    "email": send_email,
    "webhook": send_webhook,
    "wecom": send_wecom,
    "dingtalk": send_dingtalk,
}
