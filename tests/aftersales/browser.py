"""What the browser tests share: signing in and out, and clicks that wait for the page they lead to.

The workspace pages update in place (htmx) where JavaScript runs, and navigate where it does not; ``Walk.click``
waits for either, and counts the clicks and the full page loads in between, so a test can assert how many a
person needs (counts, never timings).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.urls import reverse

PASSWORD = "pw-for-tests-1"

#: True once the page was replaced: a new document, or an in-place update (``desk.js`` counts them).
_CHANGED = (
    "([origin, swaps]) => performance.timeOrigin !== origin"
    " || Number(document.documentElement.dataset.swaps || 0) > swaps"
)
_NOW = "() => [performance.timeOrigin, Number(document.documentElement.dataset.swaps || 0)]"


def sign_in(page, base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(base + reverse("login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")
    page.wait_for_load_state()


def sign_out(page) -> None:
    page.click("header.top .me button[type=submit]")
    page.wait_for_url(re.compile(r".*/accounts/login/.*"))


def state_of(page) -> str:
    """The state of the case the page shows."""
    return page.locator("#case-state").get_attribute("data-state")


def wait_for_change(page, before) -> None:
    page.wait_for_function(_CHANGED, arg=before)
    page.wait_for_load_state()


def click(page, locator) -> None:
    """Click and wait for what it leads to (a new page or an in-place update)."""
    before = page.evaluate(_NOW)
    locator.click()
    wait_for_change(page, before)


@dataclass
class Walk:
    """A person's way through the pages: each click must hit a visible control; loads are counted from the
    browser's own ``load`` events (an in-place update is not one)."""

    page: object
    clicks: int = 0
    keys: int = 0
    loads: int = 0
    log: list[str] = field(default_factory=list)
    counting: bool = True

    def __post_init__(self):
        self.page.on("load", self._loaded)

    def _loaded(self, _page) -> None:
        if self.counting:
            self.loads += 1
            self.log.append(f"load {self.page.url}")

    def click(self, locator, what: str = "") -> None:
        assert locator.count() == 1, f"{what or locator}: {locator.count()} matches"
        assert locator.is_visible(), f"{what or locator} is not visible"
        self.clicks += 1
        self.log.append(f"click {what or locator}")
        click(self.page, locator)

    def press_enter(self, locator, what: str = "") -> None:
        """Enter in a field (a scanner ends a scan with it): a key, not a click."""
        before = self.page.evaluate(_NOW)
        self.keys += 1
        self.log.append(f"enter {what or locator}")
        locator.press("Enter")
        wait_for_change(self.page, before)

    def paused(self):
        """Signing in and out is not counted."""
        walk = self

        class _Paused:
            def __enter__(self):
                walk.counting = False

            def __exit__(self, *exc):
                walk.counting = True

        return _Paused()
