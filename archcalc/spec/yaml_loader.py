"""Safe YAML reading that keeps the line and column of every value.

PyYAML's composer gives a node tree with marks; we build plain dicts and lists
from it ourselves instead of using its constructor, because its YAML 1.1 rules
misread specs: ``1e-5`` becomes a string and ``yes``/``no``/``on``/``off``
become booleans. Here a plain scalar is an int, a float, ``true``/``false``,
``null`` or a string, nothing else, and quoted scalars are always strings.
Only the standard tags are accepted, so ``!!python/object`` and friends are
refused rather than constructed.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from archcalc.errors import Location, SpecError
from archcalc.limits import LIMITS

try:
    _Loader = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    _Loader = yaml.SafeLoader

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null")}
_MERGE_TAG = _TAG + "merge"
_INT = re.compile(r"[-+]?[0-9][0-9_]*\Z")
_FLOAT = re.compile(r"[-+]?([0-9][0-9_]*\.?[0-9_]*|\.[0-9]+)([eE][-+]?[0-9]+)?\Z")


class Source:
    """A spec's text and name, turning (line, column) pairs into Locations."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.text = text
        self._lines: list[str] | None = None

    def at(self, line: int, column: int) -> Location:
        if self._lines is None:
            self._lines = self.text.splitlines()
        src = self._lines[line - 1] if 0 < line <= len(self._lines) else None
        return Location(self.name, line, column, src)


class LMap(dict):
    """A mapping that remembers where it, each key and each value were written."""

    __slots__ = ("src", "pos", "key_pos", "value_pos")

    def loc(self) -> Location:
        return self.src.at(*self.pos)

    def key_loc(self, key: str) -> Location:
        return self.src.at(*self.key_pos[key])

    def value_loc(self, key: str) -> Location:
        return self.src.at(*self.value_pos[key])


class LList(list):
    """A sequence that remembers where it and each item were written."""

    __slots__ = ("src", "pos", "item_pos")

    def loc(self) -> Location:
        return self.src.at(*self.pos)

    def item_loc(self, index: int) -> Location:
        return self.src.at(*self.item_pos[index])


def _pos(mark) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1)


def plain_scalar(text: str):
    """Resolve an unquoted scalar the way a spec author expects."""
    if text in ("", "~") or text.lower() == "null":
        return None
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if _INT.match(text):
        return int(text.replace("_", ""))
    if _FLOAT.match(text) and any(c.isdigit() for c in text):
        return float(text.replace("_", ""))
    return text


class _Builder:
    def __init__(self, src: Source) -> None:
        self.src = src
        self.count = 0

    def error(self, message: str, node, hint: str | None = None) -> SpecError:
        return SpecError(message, self.src.at(*_pos(node.start_mark)), hint=hint)

    def build(self, node, depth: int = 0):
        self.count += 1
        if self.count > LIMITS.max_yaml_values:
            raise self.error(
                f"the spec expands to more than {LIMITS.max_yaml_values:,} YAML values "
                "(an alias bomb, or a spec far larger than any network)",
                node,
            )
        if depth > LIMITS.max_nesting:
            raise self.error(f"the spec is nested more than {LIMITS.max_nesting} levels deep", node)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if isinstance(node, yaml.SequenceNode):
            self.check_tag(node, _TAG + "seq")
            out = LList()
            out.src, out.pos, out.item_pos = self.src, _pos(node.start_mark), []
            for item in node.value:
                out.append(self.build(item, depth + 1))
                out.item_pos.append(_pos(item.start_mark))
            return out
        self.check_tag(node, _TAG + "map")
        out = LMap()
        out.src, out.pos, out.key_pos, out.value_pos = self.src, _pos(node.start_mark), {}, {}
        merged: list = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merged.append(value_node)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.error("mapping keys must be plain names", key_node)
            key = self.scalar(key_node)
            if not isinstance(key, str):
                key = str(key)
            if key in out:
                raise self.error(f"duplicate key '{key}'", key_node)
            out[key] = self.build(value_node, depth + 1)
            out.key_pos[key] = _pos(key_node.start_mark)
            out.value_pos[key] = _pos(value_node.start_mark)
        for value_node in merged:
            self.merge(out, value_node, depth)
        return out

    def merge(self, out: LMap, value_node, depth: int) -> None:
        sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                raise self.error("'<<' merges mappings only", source)
            extra = self.build(source, depth + 1)
            for key, value in extra.items():
                if key not in out:
                    out[key] = value
                    out.key_pos[key] = extra.key_pos[key]
                    out.value_pos[key] = extra.value_pos[key]

    def check_tag(self, node, expected: str) -> None:
        if node.tag != expected:
            raise self.error(
                f"YAML tag '{node.tag.replace(_TAG, '!!')}' is not allowed",
                node,
                hint="specs are plain data: only strings, numbers, booleans, null, lists and mappings",
            )

    def scalar(self, node):
        if node.tag not in _SCALAR_TAGS:
            self.check_tag(node, _TAG + "str")
        if node.style is None or node.tag != _TAG + "str":
            return plain_scalar(node.value)
        return node.value


def load_yaml(text: str, name: str):
    """Parse spec text into LMap/LList/scalars; YAML errors become SpecErrors."""
    src = Source(name, text)
    if len(text.encode("utf-8", "surrogatepass")) > LIMITS.max_file_bytes:
        raise SpecError(
            f"the spec is larger than {LIMITS.max_file_bytes // (1024 * 1024)} MiB",
            src.at(1, 1),
        )
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = _pos(mark) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        raise SpecError(f"YAML syntax: {problem}", src.at(line, col)) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"YAML syntax: {exc}", src.at(1, 1)) from None
    except RecursionError:
        raise SpecError(
            f"the spec is nested more than {LIMITS.max_nesting} levels deep", src.at(1, 1)
        ) from None
    if node is None:
        raise SpecError("the spec is empty", src.at(1, 1))
    return _Builder(src).build(node)


def load_yaml_file(path: str | Path):
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > LIMITS.max_file_bytes:
            raise SpecError(
                f"the spec is {size / 2**20:.1f} MiB, larger than the "
                f"{LIMITS.max_file_bytes // 2**20} MiB limit",
                Location(str(path), 1, 1),
            )
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"not UTF-8 text: {exc.reason}", Location(str(path), 1, 1)) from None
    except OSError as exc:
        raise SpecError(f"cannot read spec: {exc.strerror}", Location(str(path), 1, 1)) from None
    return load_yaml(text, str(path))
