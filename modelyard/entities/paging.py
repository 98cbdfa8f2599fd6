"""A page of results with the token for the next page."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")


class PagedList(list[T]):
    """A list of results plus `token`, the opaque token of the next page (None on the last)."""

    def __init__(self, items: Iterable[T], token: str | None) -> None:
        super().__init__(items)
        self.token = token or None
