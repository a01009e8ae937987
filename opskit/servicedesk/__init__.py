"""The service desk's requests (服务请求): employees' requests worked under the contract's A/B/C
service levels on the one SLA engine, temporary measures and spare machines, repairs and
vendor cases, satisfaction surveys and runbooks. Other packages reach it through ``queries``
(reads) and ``services`` (writes)."""

from __future__ import annotations

from flask import Flask

from opskit import jobs
from opskit.alerts import wording as alert_wording
from opskit.servicedesk import (
    api,
    cli,
    repair_views,
    request_views,
    runbook_views,
    services,
    survey_views,
    wording,
)


def init_app(app: Flask) -> None:
    app.cli.add_command(cli.requests_cli)
    # the notifier's periodic jobs: SLA warnings and breaches, then the auto-close
    jobs.register("request clocks", services.run_clock_job, every=60)
    jobs.register("request auto-close", services.run_auto_close_job, every=600)
    # the desk's notices are alerts of rules servicedesk.request.<clock>: named by the clock
    alert_wording.register_rule_titles("servicedesk.", wording.clock_title)
    survey_views.init_app(app)  # the satisfaction survey: its link's public page, the tablet
    repair_views.init_app(app)  # repairs, their written report, the asset page's history
    runbook_views.init_app(app)  # runbooks, their versions, the asset page's runbooks
    request_views.init_app(app)  # the request pages: log one, the queue, a request's page
    app.register_blueprint(api.bp)  # /api/v1/requests
