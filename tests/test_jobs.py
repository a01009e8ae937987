"""Periodic jobs (``opskit.jobs``): when they are due, and what running one gives back."""

from __future__ import annotations

import pytest

from opskit import jobs, memory


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> dict[str, jobs.Job]:
    table: dict[str, jobs.Job] = {}
    monkeypatch.setattr(jobs, "JOBS", table)
    return table


def test_a_new_job_is_due_first_in_seconds_later_then_every(registry: dict) -> None:
    jobs.register("pack", lambda: [], every=600)
    next_at: dict[str, float] = {}
    assert jobs.due(next_at, 1000.0, first_in=60) == []
    assert jobs.due(next_at, 1059.9, first_in=60) == []
    assert [j.name for j in jobs.due(next_at, 1060.0, first_in=60)] == ["pack"]
    assert jobs.due(next_at, 1659.0, first_in=60) == []
    assert [j.name for j in jobs.due(next_at, 1660.0, first_in=60)] == ["pack"]


def test_the_reports_register_their_pack_job(app) -> None:
    assert "report pack" in jobs.JOBS
    assert jobs.JOBS["report pack"].every == 600


def test_running_a_job_that_made_something_releases_memory(
    registry: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    released = []
    monkeypatch.setattr(memory, "release", lambda: released.append(1))
    assert jobs.run(jobs.Job("idle", lambda: [])) == []
    assert released == []
    made = jobs.run(jobs.Job("pack", lambda: iter(["packs/2026-Q3.xlsx"])))
    assert made == ["packs/2026-Q3.xlsx"]
    assert released == [1]


def test_existing_objects_frozen_leaves_them_out_of_collections_until_the_block_ends() -> None:
    """What exists when the block starts is out of the collector's passes (frozen); a cycle the
    work makes is still collected inside; afterwards nothing stays frozen."""
    import gc
    import weakref

    class Node:
        other: object = None

    before = gc.get_freeze_count()
    with memory.existing_objects_frozen():
        assert gc.get_freeze_count() > before
        made = Node()
        made.other = Node()
        made.other.other = made  # a cycle: only the collector frees it
        gone = weakref.ref(made)
        del made
        gc.collect()
        assert gone() is None
    assert gc.get_freeze_count() == 0
