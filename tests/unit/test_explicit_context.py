"""Writes run on explicit state: no ContextVar but the log's request id, and recorders that
override no private method of the library (issue 28, part 3)."""

from __future__ import annotations

import ast
import functools
import inspect
import os
from pathlib import Path

import pytest
from eventsourcing.persistence import Recorder
from eventsourcing.utils import resolve_topic

import storage.recorders
from storage.event_store import RECORDERS

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = {"api/observability.py:current_request_id"}  # the access log's request id


def _is_context_var(call: ast.expr | None) -> bool:
    if not isinstance(call, ast.Call):
        return False
    func = call.func
    return (isinstance(func, ast.Name) and func.id == "ContextVar") or (
        isinstance(func, ast.Attribute) and func.attr == "ContextVar")


def _project_sources() -> list[Path]:
    """The project's Python files: the tree under ROOT, pruned of hidden directories (.venv, .git),
    build output and eggs before descending (a venv holds thousands of files)."""
    found: list[Path] = []
    for directory, subdirs, files in os.walk(ROOT):
        subdirs[:] = [d for d in subdirs if not (d.startswith(".") or d in {"build", "node_modules", "__pycache__"}
                                                 or d.endswith(".egg-info"))]
        found.extend(Path(directory) / f for f in files if f.endswith(".py"))
    return sorted(found)


@functools.cache
def context_vars() -> frozenset[str]:
    """Every ContextVar the project's code makes, as ``path:name``, read from the code with ast."""
    found: set[str] = set()
    for path in _project_sources():
        relative = path.relative_to(ROOT)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and _is_context_var(node.value):
                targets = [t for t in node.targets if isinstance(t, ast.Name)]
            elif isinstance(node, ast.AnnAssign) and _is_context_var(node.value) and isinstance(node.target, ast.Name):
                targets = [node.target]
            else:
                continue
            found |= {f"{relative.as_posix()}:{target.id}" for target in targets}
        # A ContextVar made anywhere else (an argument, a container): named by its line.
        assigned = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Assign | ast.AnnAssign)}
        found |= {f"{relative.as_posix()}:line {n.lineno}" for n in ast.walk(tree)
                  if isinstance(n, ast.expr) and _is_context_var(n) and id(n) not in assigned}
    return frozenset(found)


def test_the_scan_finds_the_request_id() -> None:
    assert context_vars() >= ALLOWED


def test_no_context_var_but_the_request_id() -> None:
    assert context_vars() == ALLOWED


def recorder_classes() -> set[type]:
    named = {resolve_topic(topic) for topic in RECORDERS.values()}
    declared = {member for _, member in inspect.getmembers(storage.recorders, inspect.isclass)
                if issubclass(member, Recorder) and member.__module__ == storage.recorders.__name__}
    return named | declared


def private_overrides(cls: type) -> set[str]:
    """``Class.name`` for each private (one leading underscore, not dunder) attribute our classes
    in ``cls``'s MRO define that a base class from eventsourcing defines too."""
    library = [base for base in cls.__mro__ if base.__module__.split(".")[0] == "eventsourcing"]
    ours = [base for base in cls.__mro__ if _is_ours(base)]
    return {f"{base.__qualname__}.{name}" for base in ours for name in vars(base)
            if name.startswith("_") and not (name.startswith("__") and name.endswith("__"))
            and name not in MADE_BY_PYTHON and any(name in vars(lib) for lib in library)}


MADE_BY_PYTHON = {"_abc_impl"}  # set on every subclass of an ABC by ABCMeta


def _is_ours(cls: type) -> bool:
    """A class of this project (its source is under the repository, not in the venv)."""
    try:
        source = Path(inspect.getfile(cls)).resolve()
    except TypeError:  # a builtin
        return False
    return source.is_relative_to(ROOT) and not any(part.startswith(".") for part in source.relative_to(ROOT).parts)


def test_the_recorders_are_found() -> None:
    names = {cls.__name__ for cls in recorder_classes()}
    assert {"PostgresAttachingRecorder", "SQLiteAttachingRecorder"} <= names


@pytest.mark.parametrize("cls", sorted(recorder_classes(), key=lambda c: c.__qualname__), ids=lambda c: c.__name__)
def test_a_recorder_overrides_no_private_method_of_the_library(cls: type) -> None:
    assert private_overrides(cls) == set()


def test_the_override_check_sees_a_private_override() -> None:
    from eventsourcing.sqlite import SQLiteApplicationRecorder

    class Overriding(SQLiteApplicationRecorder):
        def _insert_events(self, *args: object, **kwargs: object) -> None:  # type: ignore[override]
            raise AssertionError

    assert private_overrides(Overriding) == {"test_the_override_check_sees_a_private_override.<locals>."
                                             "Overriding._insert_events"}


def test_no_select_one_over_zero() -> None:
    source = Path(storage.recorders.__file__).read_text(encoding="utf-8")
    assert "1 / 0" not in source and "1/0" not in source
