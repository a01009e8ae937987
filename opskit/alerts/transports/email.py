"""E-mail transport: plain text over SMTP (STARTTLS and login optional; the password is secret)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from opskit.alerts.transports.base import (
    SECRET,
    TIMEOUT,
    Cleaned,
    Field,
    Form,
    Message,
    Saved,
    TransportError,
    settings_of,
)

EMAIL = _l("E-mail")


class Email:
    key = "email"
    label = EMAIL
    fields = (
        Field("host", _l("SMTP server"), EMAIL),
        Field("port", _l("Port"), EMAIL, default="25"),
        Field("starttls", "STARTTLS", EMAIL, widget="checkbox"),
        Field("username", _l("SMTP user name"), EMAIL),
        Field("from", _l("Sender address"), EMAIL),
        Field("to", _l("Recipients (comma-separated)"), EMAIL),
        SECRET,  # the SMTP password
    )

    def clean(self, form: Form, saved: Saved | None) -> Cleaned:
        settings = settings_of(self.fields, form)
        errors: dict[str, str] = {}
        if not settings["host"]:
            errors["host"] = _("An SMTP server is required.")
        if not settings["port"].isdigit() or not 0 < int(settings["port"]) < 65536:
            errors["port"] = _("A port is a number from 1 to 65535.")
        if "@" not in settings["to"]:
            errors["to"] = _("At least one e-mail address, separated by commas.")
        password = str(form.get("secret", "")).strip()
        return Cleaned(settings, password or None, errors)

    def send(self, settings: dict[str, Any], secret: str | None, message: Message) -> None:
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
                f"e-mail: server said {exc.smtp_code} {exc.smtp_error!r}",
                retry=exc.smtp_code < 500,
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise TransportError(
                f"e-mail: recipients refused: {list(exc.recipients)}", retry=False
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise TransportError(f"e-mail: cannot reach {host}:{port}: {exc}", retry=True) from None
        if refused:
            raise TransportError(f"e-mail: refused for {sorted(refused)}", retry=False)


TRANSPORT = Email()
