"""YAML -> Scenario, with every error pointing at file:line:column and saying how to fix it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from harness.errors import ScenarioError
from harness.scenario.located import LocatedValueError
from harness.scenario.model import Scenario


def load_scenario(path: Path | str, overrides: dict[str, Any] | None = None) -> Scenario:
    """`overrides` (top-level keys, e.g. runtime from the command line) are validated with the rest:
    a fault the new runtime cannot inject is reported at its line in the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the scenario: {exc.strerror}") from None
    return parse_scenario(text, str(path), overrides)


def parse_scenario(text: str, source: str = "<scenario>", overrides: dict[str, Any] | None = None) -> Scenario:
    yaml = YAML(typ="rt")
    try:
        data = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise ScenarioError(f"{where}: invalid YAML: {exc.problem or exc.context}") from None
    if not isinstance(data, CommentedMap):
        raise ScenarioError(f"{source}:1:1: a scenario is a mapping with name:, target:, load: ... (see README)")
    try:
        return Scenario.model_validate({**_plain(data), **(overrides or {})})
    except ValidationError as exc:
        lines = [_describe(error, data, source) for error in exc.errors()]
        raise ScenarioError("\n".join(lines)) from None


def _describe(error: Any, root: CommentedMap, source: str) -> str:
    loc = tuple(error["loc"])
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, LocatedValueError):
        loc = loc + cause.loc
        message = str(cause)
    else:
        message = error["msg"].removeprefix("Value error, ")
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
    path = ".".join(str(p) for p in found + rest) or "(top level)"
    return f"{source}:{line}:{col}: {path}: {message}"


def _position(root: Any, loc: tuple[Any, ...]) -> tuple[int, int, tuple[Any, ...]]:
    """Walk the ruamel tree along a pydantic location: (line, col, keys found in the file).
    Keys absent from the file (union tags such as 'kafka', missing keys) are stepped over."""
    node, line, col, found = root, 1, 1, []
    for key in loc:
        if isinstance(node, CommentedMap) and key in node:
            line, col = node.lc.key(key)
        elif isinstance(node, CommentedSeq) and isinstance(key, int) and key < len(node):
            line, col = node.lc.item(key)
        else:
            continue
        line, col = line + 1, col + 1
        node = node[key]
        found.append(key)
    return line, col, tuple(found)


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k) if not isinstance(k, (int, float, bool)) else k: _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node
