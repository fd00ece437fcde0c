"""Graders: one seam for every judge of an answer set.

A grader turns (answers, scenario) into the same `Report` the notebook, the CLI
and the gradebook already show. Graders are picked by name from a registry, as
papermill picks its execution engines: the built-ins `offline` and `claude`, plus
any third-party grader a package advertises in the `workbook.graders` entry-point
group (`name = "package.module:Factory"`). A factory is called with the grader's
options and returns an object with `name` and `grade(answers, scenario)`.

Nothing here imports anthropic: the Claude grader's module is loaded only when
it is asked for by name.
"""

from __future__ import annotations

import importlib
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Callable, Protocol, Union, runtime_checkable

from ..answers import Answers
from ..report import Report
from ..scenario import Scenario

ENTRY_POINT_GROUP = "workbook.graders"


@runtime_checkable
class Grader(Protocol):
    name: str

    def grade(self, answers: Answers, scenario: Scenario) -> Report: ...


class UnknownGraderError(ValueError):
    """No grader of that name: the message lists the known ones."""


Factory = Union[Callable[..., Grader], str, EntryPoint]


class GraderRegistry:
    """Named grader factories, resolved lazily so an unused grader costs no imports."""

    def __init__(self) -> None:
        self._factories: dict[str, Factory] = {}
        self._entry_points_read = False

    def register(self, name: str, factory: Factory) -> None:
        """Register a callable, a "module:attribute" path or an entry point under `name`."""
        self._factories[name] = factory

    def register_entry_points(self) -> None:
        """Add graders that installed packages advertise; a built-in of the same name wins."""
        self._entry_points_read = True
        for point in entry_points(group=ENTRY_POINT_GROUP):
            self._factories.setdefault(point.name, point)

    def names(self) -> list[str]:
        if not self._entry_points_read:
            self.register_entry_points()
        return sorted(self._factories)

    def check(self, name: str) -> None:
        """Raise UnknownGraderError unless `name` is registered; imports nothing of the grader itself.

        The practice form checks the name before it is shown and makes the grader later:
        importing the offline grader compiles the scorer's patterns.
        """
        if name not in self._factories and not self._entry_points_read:
            self.register_entry_points()
        if name not in self._factories:
            raise UnknownGraderError(f"unknown grader {name!r} (known: {', '.join(self.names())})")

    def factory(self, name: str) -> Callable[..., Grader]:
        self.check(name)
        factory = self._factories[name]
        if isinstance(factory, EntryPoint):
            factory = factory.load()
        elif isinstance(factory, str):
            module, _, attribute = factory.partition(":")
            factory = getattr(importlib.import_module(module), attribute)
        self._factories[name] = factory
        return factory

    def get(self, name: str, **options: Any) -> Grader:
        return self.factory(name)(**options)


graders = GraderRegistry()
graders.register("offline", "workbook.graders.offline:OfflineGrader")
graders.register("claude", "workbook.graders.claude:ClaudeGrader")


def get_grader(name: str = "offline", **options: Any) -> Grader:
    """A grader instance by name, e.g. `get_grader("claude", model="...")`."""
    return graders.get(name, **options)


def grader_names() -> list[str]:
    return graders.names()


__all__ = ["ENTRY_POINT_GROUP", "Grader", "GraderRegistry", "UnknownGraderError", "get_grader", "grader_names", "graders"]
