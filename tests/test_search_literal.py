"""A search for ``%`` or ``_`` finds those characters, not everything (issue #13, item 8)."""

from __future__ import annotations

from flask import Flask

from assets import queries
from assets import services as asset_services
from opskit import db
from tests import factories


def test_percent_and_underscore_are_searched_literally(db_app: Flask) -> None:
    with db_app.app_context():
        plain = factories.asset("SRV-01", name="数据库服务器")
        under = factories.asset("SRV_02", name="备份服务器")
        pct = factories.asset("UPS-01", kind="ups", name="UPS 100% load test")
        asset_services.save_link(plain, "eth0", under, "eth_1", medium="Cat6")
        db.session().commit()

        def tags(q: str) -> list[str]:
            return sorted(a.asset_tag for a in db.session().scalars(queries.asset_query(q=q)))

        assert tags("%") == ["UPS-01"]
        assert tags("_") == ["SRV_02"]
        assert tags("srv") == ["SRV-01", "SRV_02"]
        assert tags("0%") == ["UPS-01"]
        assert tags("\\") == []
        assert pct.id and len(queries.list_links(q="_").items) == 1
        assert queries.list_links(q="%").items == []
