"""Writes of the service desk: a request logged (``intake``) and taken through its life
(``lifecycle``), its temporary measure and spare machine, the SLA watch and the auto-close
(``watch``). Services flush; the caller commits (``db.write``), as everywhere in opskit.
Other packages use the names below, never the modules.

**Logging.** ``open_request`` checks every field and names the wrong ones in one
``ValidationFailed`` (nothing is stored then): an unknown category, channel or urgency, an
empty description, an unknown asset tag or room, a phone that is no phone number (a mobile
1[3-9]xxxxxxxxx, or a landline with its area code such as 010-12345678 or 0755-1234567, an
extension after ``-``, ``转``, ``ext`` or ``#``; +86 allowed). The tablet's ``client_id`` makes a
retried save the same request. ``open_request_from_alert`` / ``_from_finding`` /
``_from_vuln_finding`` / ``_from_incident`` link the request to what it came from; the alert,
finding or incident page finds its requests through ``queries`` (an alert or a finding has at
most one open request: asking again gives that one).

**Life.** 新建 new → 已响应 responded → 处理中 in_progress (remote 远程 / on site 现场) → 已解决
resolved → 已关闭 closed, and 挂起 suspended (from responded or in progress, back to where it
was). A step taken early records the ones it implies: resolving a new request (fixed on the
phone) records the response too. Each step writes the request's row only while its status
allows it (``UPDATE … WHERE status IN …``, row count checked), so a retried tap or two
engineers at once record it once; a refused step says what the request's status is. Every
change is a ``RequestEvent``. The engineer who first responds to an unassigned request takes
it (it goes to their queue); reassigning is for supervisors and admins (``assign``).

**Roles.** Engineers, supervisors and admins work requests; a viewer (the customer's staff)
may log one and confirm or reopen their own. Commands and opskit's own jobs (no account)
may do everything. ``NotAllowed`` says who may.

**Arrival** (``arrive``): the engineer scans a label — the request's asset, or (rooms carry no
label of their own: ``assets.labels`` prints asset labels) any asset's label in the request's
room; a request of neither asset nor room takes any registered label. The label's URL
(``…/a/<tag>``) or the typed tag are both understood.

**SLA watch and notifications** (``watch_clocks``, run every minute by the notifier as the
periodic job "request clocks"). A running clock of an open request that passes the policy's
warning share (75 %) or its deadline gets a ``sla_warning`` / ``sla_breached`` event once per
clock (a clock first seen overdue gets only the breach). Each is told to the team through the
alerts' notification channels: the desk calls ``opskit.alerts.services.send_notice`` (source
``servicedesk``, rule ``servicedesk.request.<clock>``, one dedup key per request, clock and
kind), which records a notice — an alert resolved at once, with one notifying event — so the
existing routing by urgency and site, delivery with retries and the 5x8 hold outside working
hours carry it, while no alert clock of its own runs and nothing waits in the open-alert list.
The notices show in the alert history under the source 服务台 / Service desk.

**Auto-close** (``auto_close_due``, the job "request auto-close" and ``opskit requests
auto-close``): a request resolved and not confirmed closes by itself at the end of the Nth
working day after the day it was resolved (N: ``OPSKIT_REQUEST_AUTO_CLOSE_DAYS``, 3), on the
policy's working calendar, with ``closed_how = auto``.

**Satisfaction** (``surveys``): closing a request opens its survey (``open_survey``: a nonce,
valid ``SURVEY_EXPIRY_DAYS`` = 7 days); ``token_for`` signs its link ``/survey/<token>``;
``answer`` (by the link) and ``answer_on_tablet`` (the engineer hands the tablet over) record a
score 1-5 and a comment once, refusing an expired, used, tampered or unknown link
(``SurveyRefused`` with its ``Refusal``) and recording nothing then.

**Repairs** (``record_repair``, ``update_repair``, ``sign_repair``; module ``repairs``): a
repair of an asset, for a request or on its own — fault, cause, work done, parts (serial out and
in), the vendor case, downtime, cost, result — every bad field named at once
(``repair_errors``; a part row's as ``parts-<n>-<field>``), a retried save one repair (the
form's ``client_id``), and the engineer's and the customer's signatures drawn on the tablet
(PNG data URLs, checked with ``signature_png``). Engineers, supervisors and admins write.

**Runbooks** (``create_runbook``, ``edit_runbook``, ``restore_version``, ``draft_from_request``;
module ``runbooks``): recovery procedures (故障恢复流程及应急措施) in Markdown for an asset kind,
a system or one asset; every edit and every restore a new version, never overwritten; a resolved
request turned into a draft (``current_version`` 0 until its first edit). Every bad field named
at once (``runbook_errors``). Engineers, supervisors and admins write.
"""

from __future__ import annotations

from opskit.servicedesk.services.common import (
    NotAllowed,
    find_request,
    is_phone_number,
    new_client_id,
    tag_of,
)
from opskit.servicedesk.services.intake import (
    open_request,
    open_request_from_alert,
    open_request_from_finding,
    open_request_from_incident,
    open_request_from_vuln_finding,
)
from opskit.servicedesk.services.lifecycle import (
    arrive,
    assign,
    close,
    reopen,
    resolve,
    respond,
    resume,
    return_loan,
    set_temporary_measure,
    start_work,
    suspend,
)
from opskit.servicedesk.services.repairs import (
    PartInput,
    RepairInput,
    find_repair,
    record_repair,
    repair_errors,
    sign_repair,
    signature_png,
    update_repair,
)
from opskit.servicedesk.services.runbooks import (
    RunbookInput,
    create_runbook,
    draft_from_request,
    edit_runbook,
    restore_version,
    runbook_errors,
)
from opskit.servicedesk.services.surveys import (
    SURVEY_EXPIRY_DAYS,
    Refusal,
    SurveyRefused,
    answer,
    answer_on_tablet,
    check_link,
    open_survey,
    survey_of,
    token_for,
)
from opskit.servicedesk.services.watch import (
    auto_close_at,
    auto_close_days,
    auto_close_due,
    run_auto_close_job,
    run_clock_job,
    watch_clocks,
)

__all__ = [
    "SURVEY_EXPIRY_DAYS",
    "NotAllowed",
    "PartInput",
    "Refusal",
    "RepairInput",
    "RunbookInput",
    "SurveyRefused",
    "answer",
    "answer_on_tablet",
    "arrive",
    "assign",
    "auto_close_at",
    "auto_close_days",
    "auto_close_due",
    "check_link",
    "close",
    "create_runbook",
    "draft_from_request",
    "edit_runbook",
    "find_repair",
    "find_request",
    "is_phone_number",
    "new_client_id",
    "open_request",
    "open_request_from_alert",
    "open_request_from_finding",
    "open_request_from_incident",
    "open_request_from_vuln_finding",
    "open_survey",
    "record_repair",
    "reopen",
    "repair_errors",
    "resolve",
    "respond",
    "restore_version",
    "resume",
    "return_loan",
    "run_auto_close_job",
    "run_clock_job",
    "runbook_errors",
    "set_temporary_measure",
    "sign_repair",
    "signature_png",
    "start_work",
    "survey_of",
    "suspend",
    "tag_of",
    "token_for",
    "update_repair",
    "watch_clocks",
]
