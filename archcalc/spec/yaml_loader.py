"""Safe YAML reading that keeps the line and column of every value.

We build plain dicts and lists from PyYAML's event stream ourselves instead of
using its composer and constructor, for four reasons: its YAML 1.1 rules misread
specs (``1e-5`` becomes a string and ``yes``/``no``/``on``/``off`` become
booleans); its constructor would build ``!!python/object`` tags; its C composer
recurses once per nesting level and crashes the interpreter on deeply nested
input; and it expands aliases without a budget (the "billion laughs" bomb).

Here a plain scalar is an int, a float, ``true``/``false``, ``null`` or a string,
nothing else, and quoted scalars are always strings. Only the standard tags are
accepted. Nesting depth and the number of values after alias expansion are
checked as the events arrive, so a hostile file is refused before it costs
anything.
"""

from __future__ import annotations

import os
import re

import yaml

from archcalc.collector import paused_gc
from archcalc.errors import Location, SpecError
from archcalc.limits import LIMITS, raise_hint
from archcalc.spec.text import VALUE_EXTRAS, refused

try:
    _Loader = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    _Loader = yaml.SafeLoader

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null")}
_INT = re.compile(r"[-+]?[0-9][0-9_]*\Z")
_FLOAT = re.compile(r"[-+]?([0-9][0-9_]*\.?[0-9_]*|\.[0-9]+)([eE][-+]?[0-9]+)?\Z")
_PLAIN_DATA = "specs are plain data: only strings, numbers, booleans, null, lists and mappings"
# A plain scalar can only be a number, ~, null, true or false (in any case) if it
# starts with one of these.
_MAYBE_NOT_TEXT = frozenset("+-.0123456789~nNtTfF")
_INT_DIGITS = 4000
_LIBYAML_MAX_NESTING = 1000


class Source:
    """A spec's text and name, turning (line, column) pairs into Locations."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.text = text
        self._lines: list[str] | None = None
        # Locations are immutable, so each point is made once and shared.
        self._locations: dict[tuple[int, int], Location] = {}

    def at(self, line: int, column: int) -> Location:
        return self.at_pos((line, column))

    def at_pos(self, pos: tuple[int, int]) -> Location:
        """The Location of a (line, column) pair."""
        loc = self._locations.get(pos)
        if loc is None:
            if self._lines is None:
                self._lines = self.text.splitlines()
            line = pos[0]
            src = self._lines[line - 1] if 0 < line <= len(self._lines) else None
            loc = self._locations[pos] = Location(self.name, line, pos[1], src)
        return loc

    def line_count(self) -> int:
        if self._lines is None:
            self._lines = self.text.splitlines()
        return len(self._lines)


class LMap(dict):
    """A mapping that remembers where it, each key and each value were written."""

    __slots__ = ("src", "pos", "key_pos", "value_pos")

    def loc(self) -> Location:
        return self.src.at_pos(self.pos)

    def key_loc(self, key: str) -> Location:
        return self.src.at_pos(self.key_pos[key])

    def value_loc(self, key: str) -> Location:
        return self.src.at_pos(self.value_pos[key])

    def without(self, keys) -> "LMap":
        """A copy without ``keys``, keeping the positions of the rest."""
        out = LMap((k, v) for k, v in self.items() if k not in keys)
        out.src, out.pos = self.src, self.pos
        out.key_pos = {k: p for k, p in self.key_pos.items() if k in out}
        out.value_pos = {k: p for k, p in self.value_pos.items() if k in out}
        return out


class LList(list):
    """A sequence that remembers where it and each item were written."""

    __slots__ = ("src", "pos", "item_pos")

    def loc(self) -> Location:
        return self.src.at_pos(self.pos)

    def item_loc(self, index: int) -> Location:
        return self.src.at_pos(self.item_pos[index])


def _pos(mark) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1)


def plain_scalar(text: str):
    """Resolve an unquoted scalar the way a spec author expects."""
    if text and text[0] not in _MAYBE_NOT_TEXT:
        return text  # cannot be a number, ~, null, true or false
    if text in ("", "~") or text.lower() == "null":
        return None
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if _INT.match(text):
        digits = text.replace("_", "")
        # Python refuses to read more digits than this (quadratic time); such a number is
        # far beyond any limit anyway, and as a float (inf) it fails the limit checks.
        return int(digits) if len(digits) <= _INT_DIGITS else float(digits)
    if _FLOAT.match(text) and any(c.isdigit() for c in text):
        return float(text.replace("_", ""))
    return text


def _shown_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG):] if tag.startswith(_TAG) else tag


class _Frame:
    """A sequence or mapping being read."""

    __slots__ = ("value", "is_list", "start", "anchor", "key", "key_pos", "merges", "merging", "size")

    def __init__(self, value, start, anchor):
        self.value = value
        self.is_list = isinstance(value, LList)
        self.start = start
        self.anchor = anchor
        self.key = None  # a mapping's key waiting for its value
        self.key_pos = None
        self.merges: list = []  # (value, position) of `<<` entries
        self.merging = False
        self.size = 1


class _Composer:
    def __init__(self, src: Source) -> None:
        self.src = src
        self.anchors: dict[str, tuple[object, int]] = {}
        self.stack: list[_Frame] = []
        self.total = 0
        self.root = None
        self.done = False

    def error(self, message: str, mark, hint: str | None = None) -> SpecError:
        return SpecError(message, self.src.at(*_pos(mark)), hint=hint)

    def count(self, n: int, mark, alias: str | None = None) -> None:
        self.total += n
        if self.total > LIMITS.max_yaml_values:
            if alias is not None:
                raise self.error(
                    f"alias '*{alias}' takes the spec past {LIMITS.max_yaml_values:,} values "
                    "(nested aliases multiply: an alias bomb)",
                    mark,
                    hint="write repeated parts once and use `repeat:` or a block",
                )
            raise self.error(
                f"the spec has more than {LIMITS.max_yaml_values:,} values, far more than any network",
                mark,
                hint=raise_hint("max_yaml_values"),
            )

    def check_tag(self, tag, mark, collection: str) -> None:
        if tag in (None, "!", _TAG + collection):
            return
        raise self.error(f"YAML tag '{_shown_tag(tag)}' is not allowed", mark, hint=_PLAIN_DATA)

    def run(self, events) -> object:
        stack = self.stack
        limit = LIMITS.max_yaml_values
        for event in events:
            kind = type(event)
            if kind is yaml.ScalarEvent:
                # The common case inline: an untagged, unanchored scalar inside a list or
                # a mapping. It does what scalar() and put() do, without the calls.
                if event.tag is not None or event.anchor is not None or not stack:
                    self.scalar(event)
                    continue
                text, mark = event.value, event.start_mark
                plain = event.implicit[0]
                self.total += 1
                if self.total > limit:
                    self.count(0, mark)
                frame = stack[-1]
                if not text.isprintable():
                    self.check_text(text, mark, key=not frame.is_list and frame.key is None)
                frame.size += 1
                container = frame.value
                if frame.is_list:
                    container.append(plain_scalar(text) if plain else text)
                    container.item_pos.append((mark.line + 1, mark.column + 1))
                elif frame.key is None:
                    if plain and text == "<<":
                        frame.key, frame.key_pos, frame.merging = "<<", (mark.line + 1, mark.column + 1), True
                        continue
                    value = plain_scalar(text) if plain else text
                    key = value if isinstance(value, str) else _key_text(value)
                    if key in container:
                        self.put(value, 1, mark, None)  # raises the duplicate key error
                    frame.key, frame.key_pos = key, (mark.line + 1, mark.column + 1)
                elif frame.merging:
                    frame.merges.append((plain_scalar(text) if plain else text, (mark.line + 1, mark.column + 1),
                                         mark))
                    frame.merging = False
                    frame.key = None
                else:
                    key = frame.key
                    container[key] = plain_scalar(text) if plain else text
                    container.key_pos[key] = frame.key_pos
                    container.value_pos[key] = (mark.line + 1, mark.column + 1)
                    frame.key = None
            elif kind is yaml.SequenceStartEvent or kind is yaml.MappingStartEvent:
                self.start(event, kind is yaml.MappingStartEvent)
            elif kind is yaml.SequenceEndEvent or kind is yaml.MappingEndEvent:
                self.end(event)
            elif kind is yaml.AliasEvent:
                self.alias(event)
            elif kind is yaml.DocumentStartEvent and self.done:
                raise self.error(
                    "a spec is one YAML document, but a second one starts here",
                    event.start_mark,
                    hint="remove the `---` line, or split the file",
                )
        return self.root

    def check_text(self, text: str, mark, key: bool) -> None:
        """Refuse a scalar holding a character that could act on a terminal, log or file
        format (see archcalc.spec.text); a key is a name, so it is one line."""
        found = refused(text, "" if key else VALUE_EXTRAS)
        if found is None:
            return
        offset, char = found
        loc = self.src.at(*_pos(mark))
        raise SpecError(
            f"{'a key' if key else 'a value'} holds {char}, which spec text may not contain",
            loc.within(text, offset),
            hint="keys are one line; values may hold line breaks but no other control or format characters",
        )

    def scalar(self, event) -> None:
        tag, mark = event.tag, event.start_mark
        if not event.value.isprintable():
            frame = self.stack[-1] if self.stack else None
            self.check_text(event.value, mark, key=frame is not None and not frame.is_list and frame.key is None)
        if tag in (None, "!"):
            value = plain_scalar(event.value) if event.implicit[0] else event.value
        elif tag == _TAG + "str":
            value = event.value
        elif tag in _SCALAR_TAGS:
            value = plain_scalar(event.value)
        else:
            raise self.error(f"YAML tag '{_shown_tag(tag)}' is not allowed", mark, hint=_PLAIN_DATA)
        self.count(1, mark)
        merge = tag is None and event.implicit[0] and event.value == "<<"
        self.put(value, 1, mark, event.anchor, merge_key=merge)

    def start(self, event, mapping: bool) -> None:
        mark = event.start_mark
        self.check_tag(event.tag, mark, "map" if mapping else "seq")
        frame_parent = self.stack[-1] if self.stack else None
        if frame_parent is not None and isinstance(frame_parent.value, LMap) and frame_parent.key is None:
            raise self.error("mapping keys must be plain names, not lists or mappings", mark)
        if len(self.stack) >= LIMITS.max_nesting:
            raise _nesting_error(self.src.at_pos(_pos(mark)))
        self.count(1, mark)
        if mapping:
            value = LMap()
            value.src, value.pos, value.key_pos, value.value_pos = self.src, _pos(mark), {}, {}
        else:
            value = LList()
            value.src, value.pos, value.item_pos = self.src, _pos(mark), []
        self.stack.append(_Frame(value, mark, event.anchor))

    def end(self, event) -> None:
        frame = self.stack.pop()
        value = frame.value
        if isinstance(value, LMap):
            self.apply_merges(frame)
        self.put(value, frame.size, frame.start, frame.anchor)

    def alias(self, event) -> None:
        mark = event.start_mark
        if event.anchor not in self.anchors:
            raise self.error(f"alias '*{event.anchor}' has no anchor '&{event.anchor}' before it", mark)
        parent = self.stack[-1] if self.stack else None
        if parent is not None and isinstance(parent.value, LMap) and parent.key is None:
            raise self.error("mapping keys must be plain names, not aliases", mark)
        value, size = self.anchors[event.anchor]
        self.count(size, mark, alias=event.anchor)
        self.put(value, size, mark, None)

    def put(self, value, size: int, mark, anchor, merge_key: bool = False) -> None:
        if anchor is not None:
            self.anchors[anchor] = (value, size)
        if not self.stack:
            self.root = value
            self.done = True
            return
        frame = self.stack[-1]
        frame.size += size
        container = frame.value
        if isinstance(container, LList):
            container.append(value)
            container.item_pos.append(_pos(mark))
            return
        if frame.key is None:
            if merge_key:
                frame.key, frame.key_pos, frame.merging = "<<", _pos(mark), True
                return
            key = value if isinstance(value, str) else _key_text(value)
            if key in container:
                first = container.key_pos[key]
                raise self.error(
                    f"duplicate key '{key}' (first written at line {first[0]}, column {first[1]})",
                    mark,
                    hint="YAML mappings cannot repeat a key; the later value would silently win",
                )
            frame.key, frame.key_pos = key, _pos(mark)
            return
        if frame.merging:
            frame.merges.append((value, _pos(mark), mark))
            frame.merging = False
        else:
            container[frame.key] = value
            container.key_pos[frame.key] = frame.key_pos
            container.value_pos[frame.key] = _pos(mark)
        frame.key = None

    def apply_merges(self, frame: _Frame) -> None:
        out = frame.value
        for value, _, mark in frame.merges:
            sources = value if isinstance(value, LList) else [value]
            for source in sources:
                if not isinstance(source, LMap):
                    raise self.error("'<<' merges mappings only", mark)
                for key, item in source.items():
                    if key not in out:
                        out[key] = item
                        out.key_pos[key] = source.key_pos[key]
                        out.value_pos[key] = source.value_pos[key]


def _key_text(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _syntax_error(exc: yaml.MarkedYAMLError, src: Source) -> SpecError:
    problem = exc.problem or exc.context or "invalid YAML"
    mark = exc.problem_mark or exc.context_mark
    line, col = _pos(mark) if mark else (1, 1)
    context_mark = exc.context_mark
    # At the end of the file there is no line to show; point at what was left open.
    if context_mark is not None and (line > src.line_count() or not src.at(line, col).source_line):
        line, col = _pos(context_mark)
        if exc.context:
            problem = f"{problem} ({exc.context} that starts here)"
    elif exc.context and context_mark is not None:
        problem = f"{problem} ({exc.context} at line {context_mark.line + 1}, column {context_mark.column + 1})"
    if "maximum nesting depth" in problem:
        # The libyaml in PyYAML >= 6.0.4 has a depth limit of its own (1,000), and its
        # scanner can reach it in a long flow collection before our composer sees the
        # level that passes ours: the same refusal, at the level libyaml refused.
        if LIMITS.max_nesting < _LIBYAML_MAX_NESTING:
            return _nesting_error(src.at(line, col))
        return SpecError(f"the spec is nested more than {_LIBYAML_MAX_NESTING:,} levels deep, "
                         "more than the YAML parser allows", src.at(line, col))
    hint = None
    shown_line = src.at(line, col).source_line or ""
    if "\t" in problem or shown_line[col - 1:col] == "\t":
        hint = "indent with spaces; YAML does not allow tabs"
    elif "'-' indicator" in problem or "<block end>" in problem or "expected key" in problem:
        hint = "check the indentation: the items of one list or mapping start in the same column"
    elif "mapping values are not allowed" in problem:
        hint = "a value containing ': ' must be quoted"
    elif "'{'" in problem or "'}'" in problem or "']'" in problem or "flow" in problem:
        hint = "check the brackets; expressions containing ',' or ':' must be quoted inside { } and [ ]"
    return SpecError(f"YAML syntax: {problem}", src.at(line, col), hint=hint)


def _nesting_error(location: Location) -> SpecError:
    return SpecError(f"the spec is nested more than {LIMITS.max_nesting} levels deep", location,
                     hint=raise_hint("max_nesting"))


def _check_size(size: int, name: str) -> None:
    if size > LIMITS.max_file_bytes:
        raise SpecError(f"the spec is {size:,} bytes, larger than the limit of {LIMITS.max_file_bytes:,} bytes",
                        Location(name, 1, 1), hint=raise_hint("max_file_bytes"))


def load_yaml(text: str, name: str):
    """Parse spec text into LMap/LList/scalars; YAML errors become SpecErrors."""
    if 4 * len(text) > LIMITS.max_file_bytes:  # UTF-8 takes at most 4 bytes a character
        _check_size(len(text.encode("utf-8", "surrogatepass")), name)
    return _parse(text, name)


def _parse(text: str, name: str):
    src = Source(name, text)
    composer = _Composer(src)
    try:
        with paused_gc():
            loader = _Loader(text)
            try:
                # What yaml.parse() yields, without its generator: get_event() returns
                # None after the end of the stream.
                root = composer.run(iter(loader.get_event, None))
            finally:
                loader.dispose()
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, src) from None
    except yaml.reader.ReaderError as exc:
        before = text[: exc.position]
        line = before.count("\n") + 1
        col = len(before) - (before.rfind("\n") + 1) + 1
        char = exc.character
        code = ord(char) if isinstance(char, str) else char
        shown = f"U+{code:04X}" if isinstance(code, int) else repr(char)
        raise SpecError(f"YAML syntax: character {shown} is not allowed in a spec", src.at(line, col)) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"YAML syntax: {exc}", src.at(1, 1)) from None
    if root is None and not composer.done:
        raise SpecError("the spec is empty", src.at(1, 1), hint="a spec needs at least `input:` and `layers:`")
    return root


def load_yaml_file(path: str | os.PathLike):
    name = os.fspath(path)
    try:
        _check_size(os.stat(name).st_size, name)
        with open(name, encoding="utf-8") as handle:
            text = handle.read()
    except UnicodeDecodeError as exc:
        raise SpecError(f"not UTF-8 text: {exc.reason}", Location(name, 1, 1)) from None
    except OSError as exc:
        raise SpecError(f"cannot read spec: {exc.strerror}", Location(name, 1, 1)) from None
    return _parse(text, name)
