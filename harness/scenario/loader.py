"""YAML -> Scenario, with every error pointing at file:line:column and saying how to fix it.

Validation is total: whatever the file holds (binary, control characters, huge numbers, deep
nesting, alias bombs), the result is a Scenario or a ScenarioError whose every line starts with
`file:line:col: `, within a bounded time and memory.
"""

from __future__ import annotations

import datetime
import math
import re
import warnings
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar

from harness.errors import ScenarioError
from harness.scenario.located import LocatedValueError
from harness.scenario.model import COMPOSE_PROJECT, Scenario
from harness.scenario.strict import NAME

MAX_BYTES = 256_000
"""The largest scenario file read (a shipped scenario is 1-2 KB, MAX_FAULTS faults about 60 KB): the
YAML parser takes about 7 s per MB, so a larger file is refused unread."""
MAX_DEPTH = 32
"""How deep mappings and lists may nest (a scenario needs 4 or 5 levels)."""
MAX_FLOW_DEPTH = 200
# Brackets nested deeper than this are refused before parsing: the parser's time grows with the
# square of the depth (3000 levels: 4 s).
MAX_VALUES = 20_000
"""How many values the file may hold once aliases are expanded: a YAML alias bomb stops here."""
MAX_INT = 2**63 - 1
# Characters YAML cannot carry raw, plus the line separators that would make line numbers disagree.
_RAW_FORBIDDEN = re.compile("[^\t\n\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\u2028\u2029]")
# Control characters (tab and newline aside) and lone surrogates, in values written with escapes.
_VALUE_FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029]")
_KEY_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029]")
_LONG_INT = re.compile(r"[0-9_]{4000,}")
# The names pydantic gives a union's members in an error's location (none is a key of the file).
_UNION_MEMBER = re.compile(r"^(function-(before|after|wrap|plain)\[.*\]|int|float|str|bool|Bound|"
                           r"number|bound|(list|dict|constrained-\w+)\[.*\])$")


def load_scenario(path: Path | str, overrides: dict[str, Any] | None = None) -> Scenario:
    """`overrides` (top-level keys, e.g. runtime from the command line) are validated with the rest:
    a fault the new runtime cannot inject is reported at its line in the file."""
    path = Path(path)
    source = one_line(str(path))
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(f"{source}:1:1: cannot read the scenario: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise ScenarioError(_too_large(source))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ScenarioError(f"{source}:{line}:{col}: the file is not UTF-8 text (byte 0x{data[exc.start]:02x}):"
                            " save it as UTF-8") from None
    return parse_scenario(text, source, overrides)


def parse_scenario(text: str, source: str = "<scenario>", overrides: dict[str, Any] | None = None) -> Scenario:
    source = one_line(source)
    if len(text) > MAX_BYTES:
        raise ScenarioError(_too_large(source))
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    bad = _RAW_FORBIDDEN.search(text)
    if bad:
        line, col = _line_col(text, bad.start())
        raise ScenarioError(f"{source}:{line}:{col}: character U+{ord(bad.group()):04X} is not allowed in a"
                            " scenario (control characters and binary data cannot be YAML): remove it")
    deep = _flow_too_deep(text)
    if deep is not None:
        line, col = _line_col(text, deep)
        raise ScenarioError(f"{source}:{line}:{col}: brackets nested more than {MAX_FLOW_DEPTH} levels deep:"
                            " a scenario needs a few levels of mappings and lists")
    data = _parse_yaml(text, source)
    if not isinstance(data, CommentedMap):
        raise ScenarioError(f"{source}:1:1: a scenario is a mapping with name:, target:, load: ... (see README)")
    plain = _Plain(source).convert(data, (), 0)
    try:
        return Scenario.model_validate({**plain, **(overrides or {})})
    except ValidationError as exc:
        lines = [_describe(error, data, source) for error in exc.errors()]
        raise ScenarioError("\n".join(dict.fromkeys(lines))) from None


def locate(path: Path | str, loc: tuple[str | int, ...], message: str) -> str:
    """`file:line:col: key: message` for a scenario already loaded from `path` (advice about it)."""
    return locate_in(Path(path).read_text(encoding="utf-8"), str(path), loc, message)


def locate_in(text: str, source: str, loc: tuple[str | int, ...], message: str) -> str:
    source = one_line(source)
    data = _parse_yaml(text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n"), source)
    line, col, found = _position(data, loc)
    path = ".".join(str(p) for p in found) or "(top level)"
    return f"{source}:{line}:{col}: {one_line(path)}: {one_line(message)}"


def _too_large(source: str) -> str:
    return (f"{source}:1:1: the file is larger than {MAX_BYTES // 1000} KB: a scenario is a few KB of YAML;"
            " is this the right file?")


def one_line(text: str) -> str:
    """Control characters and line breaks written as escapes, so one message stays one line."""
    return _KEY_FORBIDDEN.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _parse_yaml(text: str, source: str) -> Any:
    """The ruamel tree; any failure of the parser (it also raises plain ValueError and
    RecursionError on some input) is reported at the place it names, or where it must be."""
    yaml = YAML(typ="rt")
    try:
        with warnings.catch_warnings():  # ruamel warns (on stderr, over several lines) of reused anchors
            warnings.simplefilter("ignore")
            return yaml.load(text)
    except RecursionError:
        line, col = _too_deep(text)
        raise ScenarioError(f"{source}:{line}:{col}: nested more than {MAX_DEPTH} levels deep:"
                            " a scenario needs a few levels of mappings and lists") from None
    except Exception as exc:  # noqa: BLE001 - whatever the parser refuses is the file's fault
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        position = getattr(exc, "position", None)
        if mark is not None:
            line, col = mark.line + 1, mark.column + 1
        elif isinstance(position, int):
            line, col = _line_col(text, position)
        elif long_int := _LONG_INT.search(text):
            line, col = _line_col(text, long_int.start())
        else:
            line, col = 1, 1
        what = getattr(exc, "problem", None) or getattr(exc, "context", None) or str(exc).split("\n")[0]
        raise ScenarioError(f"{source}:{line}:{col}: invalid YAML: {one_line(str(what))}") from None


def _flow_too_deep(text: str) -> int | None:
    """The offset where `[` and `{` first nest deeper than MAX_FLOW_DEPTH; None if they never do.
    Quotes and comments are not told apart: no scenario holds 200 unclosed brackets in a string,
    and a scan that tracked quotes could be led past the brackets by one stray quote."""
    if text.count("[") + text.count("{") <= MAX_FLOW_DEPTH:
        return None
    depth = 0
    for match in re.finditer(r"[\[\]{}]", text):
        depth = depth + 1 if match.group() in "[{" else max(depth - 1, 0)
        if depth > MAX_FLOW_DEPTH:
            return match.start()
    return None


def _too_deep(text: str) -> tuple[int, int]:
    """Where the nesting first goes deeper than MAX_DEPTH, from the parser's events (which, unlike
    the composer, do not recurse)."""
    depth = 0
    try:
        for event in YAML(typ="rt").parse(text):
            name = type(event).__name__
            if name in ("MappingStartEvent", "SequenceStartEvent"):
                depth += 1
                if depth > MAX_DEPTH:
                    return event.start_mark.line + 1, event.start_mark.column + 1
            elif name in ("MappingEndEvent", "SequenceEndEvent"):
                depth -= 1
    except Exception:  # noqa: BLE001 - only a position is wanted here
        pass
    return 1, 1


class _Plain:
    """ruamel's tree as plain dicts, lists and scalars, refusing at its line what no scenario holds:
    non-finite or out-of-range numbers, control characters, binary, dates, too deep or too many values."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.values = 0

    def convert(self, node: Any, path: tuple[Any, ...], depth: int, where: tuple[int, int] = (1, 1)) -> Any:
        self.values += 1
        if self.values > MAX_VALUES:
            self._refuse(where, path, f"more than {MAX_VALUES} values, aliases expanded (an alias bomb?):"
                                      " a scenario holds a few hundred")
        if isinstance(node, dict):
            if depth >= MAX_DEPTH:
                self._refuse(where, path, f"nested more than {MAX_DEPTH} levels deep")
            out = {}
            for key, value in node.items():
                key_where = _key_position(node, key, where)
                name = self._key(key, path, key_where)
                out[name] = self.convert(value, path + (name,), depth + 1, _value_position(node, key, key_where))
            return out
        if isinstance(node, list):
            if depth >= MAX_DEPTH:
                self._refuse(where, path, f"nested more than {MAX_DEPTH} levels deep")
            return [self.convert(value, path + (i,), depth + 1, _item_position(node, i, where))
                    for i, value in enumerate(node)]
        return self._scalar(node, path, where)

    def _key(self, key: Any, path: tuple[Any, ...], where: tuple[int, int]) -> Any:
        if isinstance(key, (bool, int, float)) and not isinstance(key, str):
            self._scalar(key, path + (str(key),), where)
            return key
        if key is None or not isinstance(key, str):
            self._refuse(where, path, "a key must be a plain word (this one is "
                                      f"{'empty' if key is None else 'a ' + type(key).__name__})")
        key = str(key)
        bad = _KEY_FORBIDDEN.search(key)
        if bad:
            self._refuse(where, path + (one_line(key),),
                         f"the key holds character U+{ord(bad.group()):04X} (a control"
                                                          " character): remove it")
        return key

    def _scalar(self, value: Any, path: tuple[Any, ...], where: tuple[int, int]) -> Any:
        if value is None:
            return None
        if isinstance(value, bool) or type(value).__name__ == "ScalarBoolean":
            return bool(value)
        if isinstance(value, int):
            if abs(value) > MAX_INT:
                self._refuse(where, path, f"{str(value)[:12]}... is too large a number: at most {MAX_INT}")
            return int(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                self._refuse(where, path, f"{value} is not a finite number: write a number (NaN and"
                                          " infinity compare false with everything, so nothing could be checked)")
            return float(value)
        if isinstance(value, str):
            bad = _VALUE_FORBIDDEN.search(value)
            if bad:
                self._refuse(where, path, f"character U+{ord(bad.group()):04X} (a control character or an"
                                          " unpaired surrogate) is not allowed: remove it")
            return str(value)
        if isinstance(value, TaggedScalar):
            tag = value.tag.value if hasattr(value.tag, "value") else value.tag
            self._refuse(where, path, f"unknown tag {one_line(str(tag))}: remove it (scenarios use plain YAML values)")
        if isinstance(value, (bytes, bytearray)):
            self._refuse(where, path, "binary data (!!binary) is not a scenario value")
        if isinstance(value, (datetime.date, datetime.datetime)):
            self._refuse(where, path, "YAML read this as a date or time: quote it if it is text")
        self._refuse(where, path, f"a YAML {type(value).__name__} is not a scenario value: write a mapping,"
                                  " a list, a number or text")

    def _refuse(self, where: tuple[int, int], path: tuple[Any, ...], message: str) -> None:
        shown = ".".join(str(p) for p in path) or "(top level)"
        raise ScenarioError(f"{self.source}:{where[0]}:{where[1]}: {one_line(shown)}: {one_line(message)}")


def _safe_lc(getter: Any, arg: Any, fallback: tuple[int, int]) -> tuple[int, int]:
    """A 1-based position from ruamel's line/col data; merged keys (`<<:`) have none of their own."""
    try:
        line, col = getter(arg)
        return line + 1, col + 1
    except Exception:  # noqa: BLE001 - KeyError for merged keys, TypeError for missing data
        return fallback


def _key_position(node: Any, key: Any, fallback: tuple[int, int]) -> tuple[int, int]:
    lc = getattr(node, "lc", None)
    return _safe_lc(lc.key, key, fallback) if lc is not None else fallback


def _value_position(node: Any, key: Any, fallback: tuple[int, int]) -> tuple[int, int]:
    lc = getattr(node, "lc", None)
    return _safe_lc(lc.value, key, fallback) if lc is not None else fallback


def _item_position(node: Any, index: int, fallback: tuple[int, int]) -> tuple[int, int]:
    lc = getattr(node, "lc", None)
    return _safe_lc(lc.item, index, fallback) if lc is not None else fallback


def _describe(error: Any, root: CommentedMap, source: str) -> str:
    loc = tuple(error["loc"])
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, LocatedValueError):
        loc = loc + cause.loc
        message = str(cause)
    else:
        message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "string_pattern_mismatch" and isinstance(error.get("input"), str):
        shown = error["input"] if len(error["input"]) <= 60 else error["input"][:60] + "..."
        hint = _PATTERN_HINTS.get(error["ctx"]["pattern"])
        message = f"{shown!r} does not match {error['ctx']['pattern']}" + (f": {hint}" if hint else "")
    if error["type"] == "union_tag_invalid":
        key = str(error["ctx"]["discriminator"]).strip("'")
        loc = loc + (key,)
        message = f"unknown {key} {error['ctx']['tag']!r}: use one of {error['ctx']['expected_tags']}"
    elif error["type"] == "union_tag_not_found":
        key = str(error["ctx"]["discriminator"]).strip("'")
        message = f"missing required key {key!r}"
    if error["type"] == "extra_forbidden":
        message = f"unknown key {loc[-1]!r}: check its spelling or remove it"
    elif error["type"] == "missing":
        message = f"missing required key {loc[-1]!r}"
    line, col, found = _position(root, loc)
    # Show the keys as written: pydantic's union tags ('kafka') are not in the file.
    rest = loc[len(loc) - loc[::-1].index(found[-1]):] if found else loc
    rest = tuple(part for part in rest if not (isinstance(part, str) and _UNION_MEMBER.match(part)))
    path = ".".join(str(p) for p in found + rest) or "(top level)"
    return f"{source}:{line}:{col}: {one_line(path)}: {one_line(message)}"


_PATTERN_HINTS = {
    NAME: "use letters, digits, '.', '_' and '-' (not starting with '-')",
    COMPOSE_PROJECT: "use lower-case letters, digits, '_' and '-', as docker-compose names projects",
}


def _position(root: Any, loc: tuple[Any, ...]) -> tuple[int, int, tuple[Any, ...]]:
    """Walk the ruamel tree along a pydantic location: (line, col, keys found in the file).
    Keys absent from the file (union tags such as 'kafka', missing keys) are stepped over."""
    node, line, col, found = root, 1, 1, []
    for key in loc:
        if isinstance(node, CommentedMap) and _has(node, key):
            line, col = _key_position(node, key, (line, col))
        elif isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
            line, col = _item_position(node, key, (line, col))
        else:
            continue
        node = node[key]
        found.append(key)
    return line, col, tuple(found)


def _has(node: CommentedMap, key: Any) -> bool:
    try:
        return key in node
    except TypeError:  # an unhashable location part
        return False
