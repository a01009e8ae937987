"""What a notification transport is: the typed ``Transport`` protocol every transport module
implements, the form ``Field``s it asks for, the ``Message`` it sends and the ``TransportError``
it raises.

A transport is one module of ``opskit/alerts/transports/``, registered in
``transports.TRANSPORTS``. The channel pages (``opskit.alerts.channels``) and the notification
worker (``opskit.alerts.notify``) only ever ask the transport:

- ``key``, ``label`` (translated);
- ``fields``: what the channel form shows for it (label, text/password/checkbox, default, the
  heading it stands under). A field marked ``secret`` goes to the channel's encrypted ``secret``
  and is never shown back (an empty one keeps what is stored); the others are its ``settings``.
  Transports may share a field (one input on the form: the robot URL);
- ``clean(form, saved) -> Cleaned``: its settings, its new secret (``None``: unchanged) and the
  errors keyed by field;
- ``send(settings, secret, message)``: returns, or raises ``TransportError`` saying whether a
  retry can help (a timeout or a 5xx can; a wrong URL, a rejected signature or a refused
  recipient cannot).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

TIMEOUT = 10

#: the submitted channel form (``request.form``) or the values a page starts it with
Form = Mapping[str, Any]


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


@dataclass(frozen=True)
class Field:
    """One input of the channel form. ``widget``: text, password or checkbox; ``section``: the
    heading it stands under; ``secret``: stored encrypted, never shown back (``kept``: the help
    shown under it on a saved channel's form)."""

    name: str
    label: Any
    section: Any
    widget: str = "text"
    default: str = ""
    secret: bool = False
    kept: Any = ""


@dataclass(frozen=True)
class Saved:
    """What a saved channel of the same transport stores (a new channel, or one changing its
    transport, has nothing saved)."""

    secret: str | None


@dataclass(frozen=True)
class Cleaned:
    """A transport's part of a submitted channel form: ``settings`` (shown), ``secret`` (the
    new secret; ``None``: keep the stored one) and ``errors`` keyed by field."""

    settings: dict[str, Any]
    secret: str | None
    errors: dict[str, str]


class Transport(Protocol):
    """One way of sending a notification (``notification_channel.kind``)."""

    # read-only attributes (properties here), so that plain class attributes implement them

    @property
    def key(self) -> str: ...

    @property
    def label(self) -> Any:
        """Its name on the pages (a lazy translated string)."""

    @property
    def fields(self) -> tuple[Field, ...]:
        """Its inputs on the channel form, settings and secrets."""

    def clean(self, form: Form, saved: Saved | None) -> Cleaned:
        """Its settings and secret from the submitted form; errors keyed by field."""
        ...

    def send(self, settings: dict[str, Any], secret: str | None, message: Message) -> None:
        """Send ``message`` (``secret`` decrypted), or raise ``TransportError``."""
        ...


def settings_of(fields: tuple[Field, ...], form: Form) -> dict[str, Any]:
    """The visible (not secret) fields from the form: text stripped, checkboxes as booleans."""
    settings: dict[str, Any] = {}
    for field in fields:
        if field.secret:
            continue
        if field.widget == "checkbox":
            settings[field.name] = bool(form.get(field.name))
        else:
            settings[field.name] = str(form.get(field.name, field.default)).strip()
    return settings


# --- robots and webhooks: a URL (with its key) that is the secret ------------------------------

ROBOT = _l("Robot / webhook")

URL = Field(
    "url",
    _l("URL (WeCom, DingTalk, webhook)"),
    ROBOT,
    secret=True,
    kept=_l("Stored encrypted and never shown again; leave empty to keep the current one."),
)
#: one input for DingTalk's signing secret and the SMTP password
SECRET = Field(
    "secret",
    _l("DingTalk signing secret, or SMTP password"),
    ROBOT,
    widget="password",
    secret=True,
    kept=_l("Leave empty to keep the current one."),
)


def robot_url(form: Form, saved: Saved | None, errors: dict[str, str]) -> str:
    """The URL typed (``""``: keep the stored one), checked; problems go to ``errors``."""
    url = str(form.get("url", "")).strip()
    if url and not url.startswith(("http://", "https://")):
        errors["url"] = _("Expected an http:// or https:// URL.")
    elif not url and saved is None:
        errors["url"] = _("The robot or webhook URL is required.")
    return url


def clean_robot(form: Form, saved: Saved | None) -> Cleaned:
    """A transport whose only secret is its URL: no settings."""
    errors: dict[str, str] = {}
    url = robot_url(form, saved, errors)
    return Cleaned({}, url or None, errors)


def post_json(url: str, body: dict[str, Any]) -> tuple[int, bytes]:
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
        raise TransportError(f"HTTP {exc.code} from {host_of(url)}", retry=retry) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TransportError(f"cannot reach {host_of(url)}: {reason}", retry=True) from None


def host_of(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc or url


def robot_reply(kind: str, body: bytes) -> None:
    """WeCom and DingTalk answer 200 with {"errcode": 0} on success."""
    try:
        reply = json.loads(body or b"{}")
    except ValueError:
        raise TransportError(f"{kind}: unreadable answer", retry=True) from None
    code = reply.get("errcode", 0)
    if code != 0:
        # -1 is "system busy" on both; everything else (bad key, signature, keyword) is final
        raise TransportError(f"{kind}: errcode {code}: {reply.get('errmsg', '')}", retry=code == -1)
