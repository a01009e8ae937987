"""People are shown by full name; opskit's own acts as System (系统)."""

from __future__ import annotations

from flask import Flask, render_template_string, session

from opskit import db
from opskit.models import User


def test_full_names_system_actor_and_unknown_logins(app: Flask) -> None:
    with app.app_context():
        engineer = db.session().query(User).filter_by(username="engineer").one()
        engineer.display_name = "张伟"
        db.session().commit()
    with app.test_request_context("/"):
        page = render_template_string(
            "{{ 'engineer'|person }}/{{ 'sla'|person }}/{{ 'gone'|person }}/{{ ''|person }}/"
            "{{ 'cli:root'|person }}/{{ 'cli:demo'|person }}/{{ 'anonymous'|person }}"
        )
        assert page == "张伟/系统/gone//命令行（root）/系统/未登录"
    with app.test_request_context("/"):
        session["locale"] = "en"
        assert render_template_string("{{ 'sla'|person }}") == "System"
