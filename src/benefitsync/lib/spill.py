"""A list too large to keep in memory, parked in an anonymous temporary file.

A sync of a 100,000-employee company reads every record before it may decide about any of them
(an e-mail shared by two records, an ID that is no longer delivered), and applies only after the
whole plan passed the hold guard. Keeping records and plan in memory made a sync's peak RSS grow
with the company; `Spill` keeps them on disk in pickled chunks, so memory holds one chunk.

The first `keep` items (10,000 by default) stay in memory as they are, so a company of up to
10,000 employees never pays for pickling or the disk, and a larger one holds no more than that.
The file is unlinked on creation (`tempfile.TemporaryFile`): a crashed worker leaves nothing
behind. Only this process writes and reads it, so unpickling it is safe.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO, Generic, TypeVar

T = TypeVar("T")

CHUNK_SIZE = 1000
KEEP = 10_000


class Spill(Generic[T]):
    """Append items, then read them back in order, in chunks of `chunk_size`, any number of
    times. Use as a context manager (or call `close()`)."""

    def __init__(self, chunk_size: int = CHUNK_SIZE, keep: int = KEEP) -> None:
        self.chunk_size = chunk_size
        self.keep = keep
        self._kept: list[list[T]] = []  # the first chunks, in memory
        self._file: IO[bytes] | None = None  # the rest, created when needed
        self._buffer: list[T] = []
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def append(self, item: T) -> None:
        self._buffer.append(item)
        self._count += 1
        if len(self._buffer) >= self.chunk_size:
            self._flush()

    def extend(self, items: Iterable[T]) -> None:
        for item in items:
            self.append(item)

    def _flush(self) -> None:
        if not self._buffer:
            return
        if self._file is None and self._count <= self.keep:
            self._kept.append(self._buffer)
        else:
            if self._file is None:
                # Closed by close()/__exit__: the spill is itself the context manager.
                self._file = tempfile.TemporaryFile(prefix="benefitsync-spill-")  # noqa: SIM115
            self._file.seek(0, 2)
            pickle.dump(self._buffer, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._buffer = []

    def chunks(self) -> Iterator[list[T]]:
        """Every item, in the order appended, as lists of at most `chunk_size`."""
        self._flush()
        yield from list(self._kept)
        file = self._file
        if file is None:
            return
        end = file.seek(0, 2)
        file.seek(0)
        while file.tell() < end:
            chunk: list[T] = pickle.load(file)  # noqa: S301 - our own file, see module doc
            position = file.tell()
            yield chunk
            file.seek(position)  # the consumer may have appended meanwhile

    def __iter__(self) -> Iterator[T]:
        for chunk in self.chunks():
            yield from chunk

    @property
    def on_disk(self) -> bool:
        return self._file is not None

    def close(self) -> None:
        self._kept = []
        self._buffer = []
        if self._file is not None:
            self._file.close()

    def __enter__(self) -> Spill[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
