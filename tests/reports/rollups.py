"""A 5-minute rollup row for the report tests that seed a quarter's figures."""

from __future__ import annotations

from datetime import UTC, datetime

from monitors.models import Resolution, Rollup


def five_minute(
    asset_id: int, metric: str, instance: str, at: datetime, value: float, spread: float = 0.0
) -> Rollup:
    """The rollup of the 5 minutes from ``at``: mean ``value``, min/max ``spread`` either side."""
    return Rollup(
        asset_id=asset_id,
        metric=metric,
        instance=instance,
        resolution=int(Resolution.FIVE_MINUTES),
        bucket=at.astimezone(UTC),
        count=5,
        min=value - spread,
        max=value + spread,
        avg=value,
        last=value,
    )
