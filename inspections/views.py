"""The domain's pages, one blueprint per group, in the order ``init_app`` registers them:
the round pages (``inspections.*``, ``round_views``), the logbook (``logbook.views``), the
administration of checklists and plans (``admin_views``), the overview pages
(``patrol_views``)."""

from __future__ import annotations

from flask import Blueprint

from inspections import admin_views, patrol_views, round_views
from inspections.logbook import views as logbook_views
from inspections.moves import views as move_views

BLUEPRINTS: tuple[Blueprint, ...] = (
    round_views.bp,
    logbook_views.bp,
    admin_views.bp,
    patrol_views.bp,
    move_views.bp,
)
