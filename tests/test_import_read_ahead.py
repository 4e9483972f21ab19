"""The import's read-ahead thread: batches in order, errors raised in the writing thread,
and no thread left behind when the writer stops early (a cancel, a full disk)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from studio.data.importing.ahead import ReadAhead


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name == "import-read-ahead"}


def test_batches_come_prepared_and_in_order() -> None:
    with ReadAhead(iter(range(50)), lambda n: n * n, depth=2) as batches:
        assert list(batches) == [n * n for n in range(50)]
    assert not _threads()


def test_an_error_while_reading_is_raised_in_the_writer() -> None:
    def rows() -> Iterator[int]:
        yield 1
        raise ValueError("line 2: broken")

    with ReadAhead(rows(), str) as batches:
        listed = iter(batches)
        assert next(listed) == "1"
        with pytest.raises(ValueError, match="line 2"):
            next(listed)
    assert not _threads()


def test_stopping_early_stops_the_reader_and_closes_its_source() -> None:
    closed = threading.Event()

    def endless() -> Iterator[int]:
        try:
            n = 0
            while True:
                n += 1
                yield n
        finally:
            closed.set()

    def write_until_cancelled() -> None:
        with ReadAhead(endless(), lambda n: n, depth=1) as batches:
            for n in batches:
                if n == 3:
                    raise RuntimeError("cancelled by the writer")

    with pytest.raises(RuntimeError):
        write_until_cancelled()
    assert closed.is_set()
    assert not _threads()
