"""Grading off the kernel's main thread, so a widget callback returns at once.

`run_in_background(fn, ...)` runs `fn` on a small shared thread pool and calls
`on_done(result)` (or `on_error(exception)`) from that thread when it finishes,
unless `cancel()` was called first. An HTTP request already under way cannot be
interrupted; cancelling means its result is dropped, and the SDK's own timeout
ends the request.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable

_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="workbook-grader")
        return _executor


class Pending:
    """A grading under way: `cancel()`, `done`, `cancelled`, `result(timeout)`."""

    def __init__(self) -> None:
        self._cancelled = threading.Event()
        self.future: Future | None = None

    def cancel(self) -> None:
        self._cancelled.set()
        if self.future is not None:
            self.future.cancel()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    @property
    def done(self) -> bool:
        return self.future is not None and self.future.done()

    def result(self, timeout: float | None = None) -> Any:
        assert self.future is not None
        return self.future.result(timeout)


def run_in_background(
    fn: Callable[..., Any],
    *args: Any,
    on_done: Callable[[Any], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
    **kwargs: Any,
) -> Pending:
    pending = Pending()

    def work() -> Any:
        try:
            result = fn(*args, **kwargs)
        except BaseException as error:  # handed to on_error; never lost in a thread
            if on_error is not None and not pending.cancelled:
                on_error(error)
            raise
        if on_done is not None and not pending.cancelled:
            on_done(result)
        return result

    pending.future = _pool().submit(work)
    return pending
