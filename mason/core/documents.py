"""YAML and JSON documents from users, parsed within limits: the one home of YAML reading.

Every loader (mason.yml, app manifests, hosts files, static pods, catalog entries,
``-e`` extra vars) parses through here, so each gets the same guarantees:

- a syntax error is one line, ``SOURCE: line L, column C: invalid YAML: PROBLEM``;
- a key given twice in one mapping is refused (YAML says keys are unique; PyYAML
  would silently keep the last: two pods or services of one name); YAML merge
  keys (``<<: *base``) may still be overridden, as YAML intends;
- nesting deeper than :data:`MAX_DEPTH` is refused before Python's recursion limit
  is reached, and aliases may not expand a document past :data:`MAX_NODES` nodes
  (the "billion laughs") or refer to the node they are inside;
- values PyYAML cannot construct (``2001-02-30``, an integer of 5,000 digits, bad
  ``!!binary``) are a line-numbered error, not a ValueError.

Only the safe YAML tags are known; nothing here runs code or reads other files.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from mason.core.errors import InvalidInput
from mason.core.files import read_text

MAX_DEPTH = 64  # a manifest nests about 6 levels; Python's recursion limit is 1000 frames
MAX_NODES = 2_000_000  # after aliases are expanded; a 4 MiB file holds about 1M plain nodes
_MERGE = "tag:yaml.org,2002:merge"


class DocumentError(InvalidInput):
    """A document that cannot be parsed; ``line`` is 1-based when known."""

    def __init__(
        self, source: str, problem: str, line: int | None = None, column: int | None = None
    ):
        where = (
            f"line {line}, column {column}: "
            if line and column
            else f"line {line}: "
            if line
            else ""
        )
        super().__init__(f"{source}: {where}{_one_line(problem)}")
        self.source, self.problem, self.line = source, problem, line


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class _Loader(yaml.SafeLoader):
    """SafeLoader that counts nesting, refuses duplicate keys and wraps constructor crashes."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"nested more than {MAX_DEPTH} levels deep",
                    self.peek_event().start_mark,
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        # PyYAML's constructors crash on some tagged values (!!timestamp x: AttributeError)
        except (ValueError, TypeError, ArithmeticError, AttributeError, LookupError) as exc:
            raise ConstructorError(
                None, None, f"cannot read this value: {exc}", node.start_mark
            ) from None

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            self._refuse_duplicates(node)
        return super().construct_mapping(node, deep=deep)

    def _refuse_duplicates(self, node: MappingNode) -> None:
        first: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE:
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                seen = first.get(key)
            except TypeError:  # unhashable: the constructor itself says so
                continue
            if seen is not None:
                raise ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (first given on line {seen})",
                    key_node.start_mark,
                )
            first[key] = key_node.start_mark.line + 1


def _check_expansion(root: Node) -> None:
    """Refuse alias graphs that expand past MAX_NODES or MAX_DEPTH, or that contain themselves."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            on_path.discard(key)
            size[key] = 1 + sum(size[id(c)] for c in children)
            depth[key] = 1 + max((depth[id(c)] for c in children), default=0)
            if size[key] > MAX_NODES:
                raise ConstructorError(
                    None,
                    None,
                    f"aliases expand this document past {MAX_NODES:,} values",
                    node.start_mark,
                )
            if depth[key] > MAX_DEPTH:
                raise ConstructorError(
                    None,
                    None,
                    f"aliases nest it more than {MAX_DEPTH} levels deep",
                    node.start_mark,
                )
            continue
        if key in size:
            continue
        on_path.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in on_path:
                raise ConstructorError(
                    None,
                    None,
                    "an alias refers to a node it is inside (a recursive structure)",
                    child.start_mark,
                )
            if id(child) not in size:
                stack.append((child, False))


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def parse_yaml(text: str, source: str) -> Any:
    """One YAML document from ``text``; every problem is a :class:`DocumentError`."""
    loader = None
    try:
        loader = _Loader(text)  # the reader refuses characters YAML does not allow here
        node = loader.get_single_node()
        if node is None:
            return None
        if not isinstance(node, ScalarNode):
            _check_expansion(node)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and problem.startswith("but "):  # "expected a single document, but..."
            problem = f"{exc.context}, {problem}"
        raise DocumentError(
            source,
            f"invalid YAML: {problem}",
            mark.line + 1 if mark else None,
            mark.column + 1 if mark else None,
        ) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow
        line = text[: exc.position].count("\n") + 1 if isinstance(exc.position, int) else None
        problem = f"invalid YAML: character #x{exc.character:04x} is not allowed in YAML"
        raise DocumentError(source, problem, line) from None
    except yaml.YAMLError as exc:
        raise DocumentError(source, f"invalid YAML: {exc}") from None
    except RecursionError:  # pragma: no cover - MAX_DEPTH keeps far below the limit
        raise DocumentError(source, f"nested more than {MAX_DEPTH} levels deep") from None
    finally:
        if loader is not None:
            loader.dispose()


def parse_json(text: str, source: str) -> Any:
    """One JSON document, with the same limits as YAML (duplicates, depth, no NaN)."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise _Duplicate(key)
            out[key] = value
        return out

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not a number JSON allows")

    try:
        data = json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise DocumentError(source, f"invalid JSON: {exc.msg}", exc.lineno, exc.colno) from None
    except _Duplicate as exc:
        raise DocumentError(source, f"invalid JSON: duplicate key {exc.args[0]!r}") from None
    except RecursionError:
        raise DocumentError(source, f"nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as exc:
        raise DocumentError(source, f"invalid JSON: {exc}") from None
    if _depth(data) > MAX_DEPTH:
        raise DocumentError(source, f"nested more than {MAX_DEPTH} levels deep")
    return data


class _Duplicate(Exception):
    pass


def _depth(data: Any) -> int:
    deepest, stack = 0, [(data, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(item, dict):
            stack += [(v, level + 1) for v in item.values()]
        elif isinstance(item, list):
            stack += [(v, level + 1) for v in item]
    return deepest


def load(path: Path, *, source: str | None = None) -> Any:
    """Read a user's file (guarded, see :mod:`mason.core.files`) and parse it:
    JSON when it is named ``*.json``, else YAML."""
    source = source or str(path)
    text = read_text(path, source=source)
    if path.suffix.lower() == ".json":
        return parse_json(text, source)
    return parse_yaml(text, source)


def non_finite(data: Any) -> str | None:
    """The path (``a.b[2]``) of the first NaN or infinity inside ``data``, else None."""
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return path or "(the value)"
        if isinstance(item, dict):
            stack += [(v, f"{path}.{k}" if path else str(k)) for k, v in item.items()]
        elif isinstance(item, list):
            stack += [(v, f"{path}[{i}]") for i, v in enumerate(item)]
    return None
