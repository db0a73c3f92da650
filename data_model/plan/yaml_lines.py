"""Reading a plan's YAML with the line of every key and item, so each mistake names its line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from data_model.plan.errors import PlanError

KeyPath = tuple[Any, ...]  # keys and list positions from the top of the plan


class Document:
    """The plan's values with the line each key or item is on, for messages."""

    def __init__(self, file: Path, text: str) -> None:
        self.file = file
        self.lines: dict[KeyPath, int] = {}
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            self.data = self._value(loader, node, ()) if node is not None else None
        except yaml.MarkedYAMLError as error:
            # where the unclosed bracket or quote began, else where the parser gave up
            mark = error.context_mark or error.problem_mark
            line = mark.line + 1 if mark else 1
            raise PlanError(f"{file}, line {line}: not valid YAML: {error.problem}") from None
        finally:
            loader.dispose()

    def _value(self, loader: yaml.SafeLoader, node: yaml.Node, path: KeyPath) -> Any:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            out = {}
            for key_node, value_node in node.value:
                key = loader.construct_object(key_node)
                if key in out:
                    raise PlanError(
                        f"{self.file}, line {key_node.start_mark.line + 1}: '{key}' is given twice"
                    )
                self.lines[(*path, key)] = key_node.start_mark.line + 1
                out[key] = self._value(loader, value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self._value(loader, item, (*path, i)) for i, item in enumerate(node.value)]
        try:
            return loader.construct_object(node)
        except (ValueError, yaml.YAMLError) as error:  # 2014-13-01 looks like a date but is not
            raise PlanError(
                f"{self.file}, line {node.start_mark.line + 1}: '{node.value}' cannot be read"
                f" ({error})"
            ) from None

    def line(self, path: KeyPath) -> int:
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)

    def error(self, path: KeyPath, message: str) -> PlanError:
        return PlanError(f"{self.file}, line {self.line(path)}: {message}")


class Section:
    """A mapping in the plan, read key by key with checks; every mistake names its line."""

    def __init__(self, doc: Document, path: KeyPath, value: Any, what: str) -> None:
        self.doc, self.path, self.what = doc, path, what
        if not isinstance(value, dict):
            raise doc.error(path, f"{what} must be a mapping of settings")
        self.value = value

    def only(self, *allowed: str) -> None:
        for key in self.value:
            if key not in allowed:
                raise self.doc.error(
                    (*self.path, key),
                    f"unknown setting '{key}' in {self.what}; expected one of: "
                    + ", ".join(allowed),
                )

    def error(self, key: str | None, message: str) -> PlanError:
        return self.doc.error((*self.path, key) if key else self.path, message)

    def has(self, key: str) -> bool:
        return key in self.value

    def raw(self, key: str, default: Any = ...) -> Any:
        if key not in self.value:
            if default is ...:
                raise self.error(None, f"{self.what} needs '{key}'")
            return default
        return self.value[key]

    def text(self, key: str, default: Any = ...) -> str:
        value = self.raw(key, default)
        if value is default and default is not ...:
            return value
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"'{key}' in {self.what} must be text")
        return value.strip()

    def choice(self, key: str, choices: tuple[str, ...], default: Any = ...) -> str:
        value = self.raw(key, default)
        if value not in choices:
            raise self.error(key, f"'{key}' must be one of: {', '.join(choices)} (not {value!r})")
        return value

    def number(
        self,
        key: str,
        default: Any = ...,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        whole: bool = False,
        hint: str = "",
    ) -> Any:
        value = self.raw(key, default)
        if value is None and default is None:
            return None
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if not is_number or (whole and not float(value).is_integer()):
            kind = "a whole number" if whole else "a number"
            raise self.error(key, f"'{key}' in {self.what} must be {kind} (not {value!r})")
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            bounds = (
                f"between {minimum:g} and {maximum:g}"
                if maximum is not None
                else (f"at least {minimum:g}")
            )
            raise self.error(key, f"'{key}' must be {bounds} (not {value!r}){hint}")
        return int(value) if whole else value

    def flag(self, key: str, default: bool) -> bool:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"'{key}' must be true or false (not {value!r})")
        return value

    def date(self, key: str) -> dt.date:
        value = self.raw(key)
        if not isinstance(value, dt.date):
            raise self.error(key, f"'{key}' must be a date written YYYY-MM-DD (not {value!r})")
        return value

    def child(self, key: str, what: str) -> Section:
        return Section(self.doc, (*self.path, key), self.raw(key), what)

    def items(self, key: str, what: str, *, allow_empty: bool = False) -> list[Section]:
        value = self.raw(key, [] if allow_empty else ...)
        if not isinstance(value, list) or (not value and not allow_empty):
            raise self.error(key, f"'{key}' must be a list of {what}s")
        return [Section(self.doc, (*self.path, key, i), item, what) for i, item in enumerate(value)]
