"""Printable QR labels and the tablet scan page (being built)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("labels", __name__)
