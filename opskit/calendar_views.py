"""The working calendar's page, ``/admin/calendar``: every year that matters now — loaded or
not, from the calendar package or from the site's file — with its holidays and make-up working
days; admins enter a year's arrangement (国务院放假安排) by pasting its lines, which writes
``<instance>/holidays.yaml`` atomically, is audited, and counts at once (``opskit.calendar``
re-reads the file when it changes, in every process).

Everyone logged in may look (the engineers see why a clock is warned about); only admins save.
Also here: the template global ``calendar_check`` (``opskit.calendar.calendar_check``) for the
``calendar_banner`` macro of ``templates/_calendar.html``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from opskit import audit, clock, db
from opskit import calendar as workcal
from opskit.auth import require_roles
from opskit.calendar import (
    WorkingCalendar,
    calendar_check,
    describe_year,
    forget_site_arrangements,
    site_arrangements,
    unloaded_years,
    years_in_view,
)
from opskit.holidays import (
    FIRST_YEAR,
    LAST_YEAR,
    Arrangement,
    SiteArrangements,
    arrangement_from_form,
    write_arrangements,
)
from opskit.models import Role
from opskit.validation import ValidationFailed

bp = Blueprint("calendar", __name__, url_prefix="/admin/calendar")

#: the audit log's name for a year of the site file
AUDIT_TYPE = "holiday_arrangement"


class ArrangementForm(FlaskForm):
    year = IntegerField(_l("Year"), validators=[InputRequired()])
    source = StringField(_l("Source (the notice)"), validators=[Length(max=200)])
    holidays = TextAreaField(_l("Holidays"))
    workdays = TextAreaField(_l("Make-up working days"))


def _calendar(site: SiteArrangements) -> WorkingCalendar:
    return WorkingCalendar(tz=clock.site_tz(), arrangements=site.years)


def _form_for(site: SiteArrangements, year: int) -> ArrangementForm:
    """The form for ``year``: what the site file has for it, else empty."""
    arrangement = site.years.get(year)
    form = ArrangementForm(formdata=None)
    form.year.data = year
    if arrangement is not None:
        form.source.data = arrangement.source
        form.holidays.data = "\n".join(arrangement.lines("holidays"))
        form.workdays.data = "\n".join(arrangement.lines("workdays"))
    return form


def _page(form: ArrangementForm, site: SiteArrangements, status: int = 200) -> Any:
    calendar = _calendar(site)
    today = clock.site_today()
    asked = form.year.data if isinstance(form.year.data, int) else None
    years = {*years_in_view(calendar, today)}
    if asked is not None and FIRST_YEAR <= asked <= LAST_YEAR:
        years.add(asked)  # the year of the form is listed too, whatever its age
    shown = sorted(y for y in years if y >= today.year - 1 or y in site.years or y == asked)
    older = sorted(y for y in workcal.PACKAGE_YEARS if y not in shown)
    return render_template(
        "admin/calendar.html",
        form=form,
        site=site,
        views=[describe_year(calendar, y) for y in shown],
        older=(older[0], older[-1]) if older else None,
        package_last=max(workcal.PACKAGE_YEARS, default=0),
        first_year=FIRST_YEAR,
        last_year=LAST_YEAR,
        check=calendar_check(),
    ), status


@bp.get("")
def index() -> Any:
    """The years and their arrangements for everyone; the form for admins (``?year=`` picks
    the year it is filled with: the site file's entry, if any)."""
    site = site_arrangements()
    year = request.args.get("year", type=int)
    if year is None or not FIRST_YEAR <= year <= LAST_YEAR:
        today = clock.site_today()
        missing = unloaded_years(_calendar(site), today)
        year = missing[0] if missing else today.year + 1
    return _page(_form_for(site, year), site)


def _changes(before: Arrangement | None, after: Arrangement | None) -> dict[str, tuple[Any, Any]]:
    def values(a: Arrangement | None) -> dict[str, Any]:
        if a is None:
            return {"source": None, "holidays": None, "workdays": None}
        return {
            "source": a.source,
            "holidays": a.lines("holidays"),
            "workdays": a.lines("workdays"),
        }

    old, new = values(before), values(after)
    return {key: (old[key], new[key]) for key in old}


def _refused_by_file(site: SiteArrangements, year: int) -> str | None:
    """Why the file cannot be rewritten for ``year`` without losing what another entry holds."""
    if site.keeps_all_but(year):
        return None
    return (
        _(
            "The file %(file)s has entries opskit cannot read; correct them by hand first "
            "(they would be lost):",
            file=site.path,
        )
        + " "
        + " ".join(site.problems)
    )


def _write(site: SiteArrangements, years: dict[int, Arrangement]) -> str | None:
    try:
        write_arrangements(site.path, years)
    except OSError as exc:
        return _("%(file)s could not be written: %(problem)s", file=site.path, problem=exc)
    finally:
        forget_site_arrangements()
    return None


@bp.post("")
@require_roles(Role.ADMIN)
def save() -> Any:
    """Save a year's arrangement: validated line by line (a rejected form keeps what was typed
    and names the line), written to the site file atomically, audited, in force at once."""
    form = ArrangementForm()
    site = site_arrangements()
    if not form.validate_on_submit():
        return _page(form, site, 400)
    year = form.year.data or 0
    try:
        arrangement = arrangement_from_form(
            year, form.source.data or "", form.holidays.data or "", form.workdays.data or ""
        )
    except ValidationFailed as exc:
        for key, messages in exc.errors.items():
            field = getattr(form, key)
            field.errors = [*field.errors, *messages]
        return _page(form, site, 400)
    problem = _refused_by_file(site, year) or _write(site, {**site.years, year: arrangement})
    if problem:
        form.year.errors = [*form.year.errors, problem]
        return _page(form, site, 400)
    before = site.years.get(year)
    audit.record(
        "create" if before is None else "update",
        AUDIT_TYPE,
        str(year),
        f"{year}: {arrangement.source}",
        _changes(before, arrangement),
    )
    db.session().commit()
    flash(
        _(
            "The arrangement of %(year)s was saved: the 5x8 clocks count with it from now on.",
            year=year,
        ),
        "success",
    )
    return redirect(url_for("calendar.index", year=year, _anchor=f"year-{year}")), 303


@bp.post("/<int:year>/remove")
@require_roles(Role.ADMIN)
def remove(year: int) -> Any:
    """Take a year out of the site file (audited); the package, if it knows the year, counts
    again, else the year is not loaded."""
    site = site_arrangements()
    before = site.years.get(year)
    if before is None:
        abort(404)
    problem = _refused_by_file(site, year) or _write(
        site, {y: a for y, a in site.years.items() if y != year}
    )
    if problem:
        flash(problem, "error")
        return redirect(url_for("calendar.index", year=year)), 303
    audit.record(
        "delete", AUDIT_TYPE, str(year), f"{year}: {before.source}", _changes(before, None)
    )
    db.session().commit()
    flash(_("The arrangement of %(year)s was removed.", year=year), "success")
    return redirect(url_for("calendar.index", year=year)), 303


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.add_template_global(calendar_check, "calendar_check")
