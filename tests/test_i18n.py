"""Chinese first: every UI string is in the catalog, dates follow the locale and site zone."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask, render_template_string

ROOT = Path(__file__).resolve().parent.parent


def _i18n_tool():
    spec = importlib.util.spec_from_file_location("i18n_tool", ROOT / "tools" / "i18n.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.dateless  # the catalog against the source, whatever the date
def test_every_string_is_translated_and_compiled() -> None:
    problems = _i18n_tool().check()
    assert problems == []


def test_catalog_covers_the_navigation() -> None:
    tool = _i18n_tool()
    catalog = {m.id: m.string for m in tool.load_po("zh_Hans_CN") if m.id}
    assert catalog["Assets"] == "资产"
    assert catalog["Patrol"] == "巡检"
    assert catalog["Monitoring"] == "监控"
    assert catalog["Alerts"] == "告警"
    assert catalog["Reports"] == "报表"


def test_datetimes_render_in_site_time_zone_and_locale(app: Flask) -> None:
    moment = datetime(2026, 3, 31, 8, 0, tzinfo=UTC)
    with app.test_request_context("/"):
        zh = render_template_string("{{ t|datetime('full') }}", t=moment)
    assert "2026年3月31日" in zh and "16:00:00" in zh
    with app.test_request_context("/"):
        from flask import session

        session["locale"] = "en"
        en = render_template_string("{{ t|datetime('medium') }}", t=moment)
    assert "Mar 31, 2026" in en and "4:00:00" in en


def test_a_template_says_its_words_in_each_readers_language(app: Flask) -> None:
    """A filter of a constant is not folded when the template compiles: the compiled template
    is kept, and the next reader may read another language (the dashboard's database tile said
    its column titles in the language of whoever opened it first)."""
    from flask import session

    template = app.jinja_env.from_string(
        '{{ "db.connections.used_percent"|metric_label }}|{{ _("Server") }}'
    )
    with app.test_request_context("/"):
        session["locale"] = "en"
        en = template.render()
    with app.test_request_context("/"):
        zh = template.render()
    with app.test_request_context("/"):
        session["locale"] = "en"
        again = template.render()
    assert en == again == "Database connections used|Server"
    assert zh == "数据库连接使用率|服务器"
