"""Reads a sweep makes once for its whole batch (one transaction) instead of once per case: the active rules of a
trigger, the recipients of an alert. Outside ``read_once`` every read goes to the database as usual."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")

_memo: ContextVar[dict | None] = ContextVar("batch_memo", default=None)


@contextmanager
def read_once() -> Iterator[None]:
    """While the block runs, ``remembered`` computes each key once."""
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def remembered(key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, or inside ``read_once`` the value computed for ``key`` already."""
    memo = _memo.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]
