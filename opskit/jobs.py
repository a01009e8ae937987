"""Periodic jobs: work a package needs done every few minutes by the long-running notifier.

The notifier (``opskit notify run``, and the demo's notifier thread) belongs to the desk, which
may not import the packages above it. A package with such work registers it from its
``init_app`` instead, e.g. ``reports``: ``jobs.register("report pack", schedule.run_due)``.
A job returns what it made (one log line each: "report pack built: <path>"); when it raises,
the notifier logs "report pack not built: <error>" and tries again at the next turn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from opskit import memory


@dataclass(frozen=True)
class Job:
    name: str  # what it makes, for the log: "report pack"
    run: Callable[[], Iterable[object]]  # cheap when nothing is due; returns what it made
    every: float = 600.0  # seconds between two runs


#: name → job, filled by the packages' ``init_app`` (registering again replaces)
JOBS: dict[str, Job] = {}


def register(name: str, run: Callable[[], Iterable[object]], every: float = 600.0) -> None:
    JOBS[name] = Job(name, run, every)


def due(next_at: dict[str, float], now: float, first_in: float = 0.0) -> list[Job]:
    """The jobs due at the monotonic time ``now``. ``next_at`` is the caller's memory of each
    job's next run; a job not seen before is due ``first_in`` seconds from ``now``."""
    out = []
    for job in list(JOBS.values()):
        at = next_at.setdefault(job.name, now + first_in)
        if now >= at:
            next_at[job.name] = now + job.every
            out.append(job)
    return out


def run(job: Job) -> list[object]:
    """Run one job; when it made something (a report pack), the memory its work freed goes back
    to the system, so a server that built a pack returns to its usual footprint."""
    made = list(job.run())
    if made:
        memory.release()
    return made
