"""The mock-interview clock: a deadline that survives a kernel restart.

    clock = MockClock.from_state(state.get("mock"), limit_seconds=45 * 60)
    clock.status            # "ready", "running" or "finished"
    clock.start()           # sets started_at; clock.to_state() goes into the state file
    clock.finish("time")    # or "finished" when the learner stops early

The clock is plain data plus `Countdown`, a daemon thread that ticks about once a
second and calls `on_expire` once at the deadline. No widget imports here; bad
values read back from a state file (`started_at: "yesterday"`) give a clock that
is "ready" again plus a `problem` to report, never an exception.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Callable

STATUSES = ("ready", "running", "finished")
REASONS = ("time", "finished")


def _seconds(value: object) -> float | None:
    """A finite, non-negative number of seconds, or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) and value >= 0 else None


def check_limit_minutes(minutes: object) -> float:
    """The time limit as a positive finite number of minutes; ValueError naming the parameter otherwise."""
    value = _seconds(minutes)
    if value is None or value <= 0 or value > 24 * 60:
        raise ValueError(f"time_limit_minutes must be a number of minutes above 0 and at most 1440, got {minutes!r}")
    return value


@dataclass
class MockClock:
    limit_seconds: float
    started_at: float | None = None
    finished_at: float | None = None
    time_used_seconds: float | None = None
    reason: str | None = None  # "time" (ran out) or "finished" (stopped early)
    problem: str = ""  # why a stored clock was not usable, for the learner

    @classmethod
    def from_state(cls, data: object, limit_seconds: float) -> "MockClock":
        """Rebuild the clock from the state file's "mock" entry; anything unusable starts a fresh one."""
        if data is None:
            return cls(limit_seconds)
        if not isinstance(data, dict):
            return cls(limit_seconds, problem="the saved mock clock was not readable; it starts afresh")
        started = _seconds(data.get("started_at"))
        limit = _seconds(data.get("limit_seconds"))
        if started is None or not limit:
            return cls(limit_seconds, problem="the saved mock clock had an unreadable start time or limit; it starts afresh")
        clock = cls(limit, started_at=started)
        if data.get("finished_at") is not None:
            finished = _seconds(data.get("finished_at"))
            used = _seconds(data.get("time_used_seconds"))
            clock.finished_at = finished if finished is not None else started + limit
            clock.time_used_seconds = min(used, limit) if used is not None else limit
            clock.reason = data.get("reason") if data.get("reason") in REASONS else "time"
        return clock

    def to_state(self) -> dict | None:
        if self.started_at is None:
            return None
        state = {"started_at": self.started_at, "limit_seconds": self.limit_seconds}
        if self.finished_at is not None:
            state.update(finished_at=self.finished_at, time_used_seconds=self.time_used_seconds, reason=self.reason)
        return state

    @property
    def status(self) -> str:
        if self.started_at is None:
            return "ready"
        return "finished" if self.finished_at is not None else "running"

    @property
    def deadline(self) -> float | None:
        return None if self.started_at is None else self.started_at + self.limit_seconds

    def remaining(self, now: float | None = None) -> float:
        if self.status != "running":
            return 0.0
        return max(0.0, self.deadline - (time.time() if now is None else now))

    def overdue(self, now: float | None = None) -> bool:
        """Running, with the deadline passed (for example while the notebook was closed)."""
        return self.status == "running" and self.remaining(now) <= 0

    def start(self, now: float | None = None) -> bool:
        if self.status != "ready":
            return False
        self.started_at = time.time() if now is None else now
        return True

    def finish(self, reason: str, now: float | None = None) -> bool:
        """Stop the clock once; returns False when it was not running."""
        if self.status != "running":
            return False
        now = time.time() if now is None else now
        self.finished_at = now
        self.reason = reason if reason in REASONS else "finished"
        used = self.limit_seconds if self.reason == "time" else now - self.started_at
        self.time_used_seconds = round(max(0.0, min(used, self.limit_seconds)), 1)
        return True


class Countdown:
    """A daemon thread: on_tick(remaining) about every `tick` seconds, on_expire() once at the deadline."""

    def __init__(self, deadline: float, on_tick: Callable[[float], None], on_expire: Callable[[], None], tick: float = 1.0):
        self.deadline = deadline
        self.on_tick = on_tick
        self.on_expire = on_expire
        self.tick = tick
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="workbook-mock-clock", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while True:
            remaining = self.deadline - time.time()
            if remaining <= 0:
                if not self._stop.is_set():
                    self.on_expire()
                return
            if self._stop.wait(min(self.tick, remaining)):
                return
            try:
                self.on_tick(self.deadline - time.time())
            except Exception:  # noqa: BLE001 - a display hiccup must not stop the clock
                pass
