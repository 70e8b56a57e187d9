"""Paging through `GET /v1/company/employees`: offsets, page threads, the overlap check, restarts.

Follows https://developer.personio.de/docs/pagination-adoption-guide-for-v1-get-employees-endpoint:
`limit` is at most 100 and `offset` counts items. The first page gives `total_elements`; the
remaining pages are fetched by up to `max_concurrency` threads (as fast as the client's limiter
allows) and yielded in order, at most `_WINDOW * max_concurrency` pages ahead of the consumer.
The thread that fetched a page also decodes and parses it, so a buffered page holds its parsed
records, not Personio's JSON.

Offset paging over a changing list can skip or repeat an employee. Pages overlap by one record
(offsets 0, 99, 198, ...; about 1 % more requests), and a pass is accepted only when each page
starts with the record the previous page ended with, every page reported the same
`total_elements`, and the pass saw that many distinct records; otherwise the listing restarts
from offset 0 (at most `max_restarts` times), yielding only ids not yielded before. So no
employee is lost or yielded twice; one that changed between passes arrives in the version first
seen.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from .decode import DecodedPage
from .errors import BadRecord, RetriableError
from .schemas import EmployeeRecord

PAGE_SIZE = 100  # Personio's maximum `limit` since the pagination enforcement of 2025
_STEP = PAGE_SIZE - 1  # offsets advance by 99 so consecutive pages share one record
# Pages fetched ahead of the consumer, per fetching thread (see `Listing._in_order`).
_WINDOW = 2

FetchPage = Callable[[int], DecodedPage]


def _full(page: DecodedPage) -> bool:
    return page.size == PAGE_SIZE


class Listing:
    """All employees of one listing, each id at most once, in Personio's order.

    `fetch(offset)` returns the decoded page at `offset` (with retries: the client's). With
    `expected_total` (the last sync's count) the first second's burst asks for the first pages
    together with page 0 instead of waiting for page 0's total; a wrong guess costs a few empty
    pages, never a lost or duplicated employee. `on_restart` and `on_bad_record` count.
    """

    def __init__(
        self,
        fetch: FetchPage,
        *,
        max_concurrency: int,
        max_restarts: int,
        expected_total: int | None = None,
        on_restart: Callable[[], None] = lambda: None,
        on_bad_record: Callable[[], None] = lambda: None,
    ) -> None:
        self.fetch = fetch
        self.max_concurrency = max_concurrency
        self.max_restarts = max_restarts
        self.expected_total = expected_total
        self.on_restart = on_restart
        self.on_bad_record = on_bad_record
        self.yielded: set[int] = set()

    def __iter__(self) -> Iterator[EmployeeRecord]:
        for _ in range(self.max_restarts + 1):
            consistent = yield from self._pass()
            if consistent:
                return
            self.on_restart()
        raise RetriableError(
            f"the employee list kept changing while it was read ({self.max_restarts} restarts)"
        )

    def _records(self, page: DecodedPage, pass_ids: set[int]) -> Iterator[EmployeeRecord]:
        yielded = self.yielded
        for record in page.records:
            pid = record.personio_id if isinstance(record, BadRecord) else record.id
            if pid is None:
                pass_ids.add(-len(pass_ids) - 1)  # count id-less bad records towards the total
            else:
                pass_ids.add(pid)
                if pid in yielded:
                    continue
                yielded.add(pid)
            if isinstance(record, BadRecord):
                self.on_bad_record()
            yield record

    def _pass(self) -> Generator[EmployeeRecord, None, bool]:
        """One pass over all pages; returns whether the pass was consistent (module doc)."""
        pass_ids: set[int] = set()
        early: list[DecodedPage] = []
        # With a hint, the first window (one slot is the attributes call's) asks for several
        # pages at once; the total from page 0 then decides what else is needed.
        guessed = min(self.max_concurrency - 1, -(-(self.expected_total or 0) // _STEP))
        if guessed > 1:
            first, *early = self._in_order([i * _STEP for i in range(guessed)])
        else:
            first = self.fetch(0)
        yield from self._records(first, pass_ids)
        total = first.total_elements
        if total is None:
            # No metadata: fall back to sequential paging until a short page.
            offset, page = 0, first
            while page.size >= PAGE_SIZE:
                offset += PAGE_SIZE
                page = self.fetch(offset)
                yield from self._records(page, pass_ids)
            return True
        # Page k must start with the record page k-1 ended with: that detects any insert or
        # delete that shifted the list between the two fetches, even when the total stayed.
        changed = False
        prev_last = first.last_id if _full(first) else None
        offsets = [o for o in range(_STEP, max(_STEP, total - 1), _STEP) if o > len(early) * _STEP]
        for page in itertools.chain(early, self._in_order(offsets)):
            if page.total_elements != total:
                changed = True
            if prev_last is not None and (not page.size or page.first_id != prev_last):
                changed = True
            prev_last = page.last_id if _full(page) else None
            yield from self._records(page, pass_ids)
        return not changed and len(pass_ids) >= total

    def _in_order(self, offsets: Iterable[int]) -> Iterator[DecodedPage]:
        """Fetch pages on up to `max_concurrency` threads; yield them in offset order.

        At most `_WINDOW * max_concurrency` pages are fetched ahead of the consumer: enough that
        the threads keep fetching while one slow page (a retry, a 429 pause) holds up the order.
        """
        todo = iter(offsets)
        if self.max_concurrency == 1:
            for offset in todo:
                yield self.fetch(offset)
            return
        window = _WINDOW * self.max_concurrency
        pool = ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="personio-page")
        pending: deque[Future[DecodedPage]] = deque()
        try:
            for offset in todo:
                pending.append(pool.submit(self.fetch, offset))
                if len(pending) >= window:
                    break
            while pending:
                page = pending.popleft().result()
                nxt = next(todo, None)
                if nxt is not None:
                    pending.append(pool.submit(self.fetch, nxt))
                yield page
        finally:
            for fut in pending:
                fut.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
