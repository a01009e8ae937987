"""What an engineer's fingers cost on a tablet, for the service desk's "under 30 seconds" tests.

The budget is the person's time, simulated: each tap, each character typed and each photo of a
label cost what they cost a person on an iPad (the constants below), so a test says whether a
form asks for too much, not how busy the machine running it is. The pages' answers are measured
(wall time of the Playwright waits) and reported beside it; each must come within
``PAGE_LIMIT_S``, a bound for a page that hangs, not a speed goal (those live in ``bench/``):
the suite runs several browsers at once on two cores, where a page takes what the machine
lets it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from playwright.sync_api import Locator, Page, expect

#: what a person needs on the iPad, in seconds
TAP_S = 1.5  # find the control and tap it
LATIN_S = 0.35  # a letter or digit on the on-screen keyboard
HANZI_S = 1.0  # a Chinese character through pinyin input
PHOTO_S = 6.0  # aim at the label and take the photo
BUDGET_S = 30.0
#: a page (or the script on it) that has not answered in this long is broken
PAGE_LIMIT_S = 5.0


@dataclass
class Taps:
    """What the engineer does (simulated time, counted) and the pages' answers (measured)."""

    page: Page
    spent: float = 0.0
    actions: int = 0
    waits: list[tuple[str, float]] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    def _act(self, what: str, seconds: float) -> None:
        self.actions += 1
        self.spent += seconds
        self.log.append(f"{what}: {seconds:.1f} s")

    def wait(self, what: str, done: Locator) -> None:
        """The page answers: until ``done`` shows (measured, not counted in the budget)."""
        started = time.monotonic()
        expect(done).to_be_visible(timeout=20_000)
        waited = time.monotonic() - started
        self.waits.append((what, waited))
        self.log.append(f"  page answers, {what}: {waited:.1f} s (measured)")

    def tap(self, locator: Locator) -> None:
        locator.tap()
        self._act(f"tap {locator}", TAP_S)

    def type(self, locator: Locator, text: str) -> None:
        locator.tap()
        locator.press_sequentially(text)
        self._act(
            f"type {text!r}", TAP_S + sum(HANZI_S if ord(c) > 0x2E80 else LATIN_S for c in text)
        )

    def photo(self, input_selector: str, png: bytes) -> None:
        self.page.set_input_files(
            input_selector, {"name": "label.png", "mimeType": "image/png", "buffer": png}
        )
        self._act("photo of the label", TAP_S + PHOTO_S)

    def report(self) -> str:
        return "\n".join([*self.log, f"{self.actions} actions, {self.spent:.1f} s of the person"])

    def check(self, *, actions: int | None = None) -> None:
        """The person's time is within the budget (and the actions as many as said); no page
        hung."""
        report = self.report()
        if actions is not None:
            assert self.actions == actions, report
        assert self.spent < BUDGET_S, report
        slow = [(what, round(s, 1)) for what, s in self.waits if s > PAGE_LIMIT_S]
        assert slow == [], report
