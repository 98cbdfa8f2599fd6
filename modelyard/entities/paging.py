"""A page of results with the token for the next page."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")


class PagedList(list[T]):
    """A list of results plus `token`, the opaque token of the next page (None on the last)."""

    def __init__(self, items: Iterable[T], token: str | None) -> None:
        super().__init__(items)
        self.token = token or None


def collect_pages(
    search: Callable[..., PagedList[T]], max_results: int | None, page_size: int, **query: Any
) -> list[T]:
    """Every item of a paged search, up to max_results (None: all), page_size at a time.

    `search` is called as search(**query, max_results=..., page_token=...) until a page has no
    token or max_results items are in.
    """
    found: list[T] = []
    token: str | None = None
    while max_results is None or len(found) < max_results:
        want = page_size if max_results is None else min(page_size, max_results - len(found))
        page = search(**query, max_results=want, page_token=token)
        found.extend(page)
        token = page.token
        if not token:
            break
    return found
