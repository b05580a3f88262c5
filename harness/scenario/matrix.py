"""Matrix and repeat: one scenario file, many runs.

`matrix:` maps settings, written as dotted paths (`producer.acks`,
`target.broker_config.min.insync.replicas`), to the values to try; every combination is a
variant, validated like a scenario of its own. `--repeat N` runs each variant N times with seeds
derived from the scenario's own, so a flaw that shows only sometimes gets a pass rate.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from harness.scenario.located import LocatedValueError


@dataclass(frozen=True)
class Variant:
    label: str                 # "producer.acks=1, min.insync.replicas=2"; "" without a matrix
    settings: dict[str, Any]
    scenario: Any              # harness.scenario.model.Scenario
    repeat: int = 0            # 0-based run number of this variant
    why: str = ""              # why its expectations differ from the scenario's (matrix_expect), if they do

    @property
    def slug(self) -> str:
        """A directory name for this run."""
        parts = [f"{_setting_name(key)}-{value}" for key, value in self.settings.items()]
        if self.repeat:
            parts.append(f"run{self.repeat + 1}")
        return re.sub(r"[^A-Za-z0-9._-]+", "-", "_".join(parts)) or "run"


def _setting_name(path: str) -> str:
    """The last model field and whatever free-form key follows it (broker_config's dotted names)."""
    for prefix in ("target.broker_config.", "broker_config."):
        if path.startswith(prefix):
            return path[len(prefix):]
    return path.rsplit(".", 1)[-1]


def derive_seed(seed: int, repeat: int) -> int:
    """The first run keeps the scenario's seed; later runs get seeds that depend only on it and the run number."""
    if repeat == 0:
        return seed
    return int(hashlib.sha256(f"{seed}/{repeat}".encode()).hexdigest()[:8], 16)


def _model_of(annotation: Any, node: dict[str, Any]) -> type[BaseModel] | None:
    """The model class a field holds, picking a tagged union's member by the data's `kind`."""
    for candidate in _flatten(annotation):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            kind = candidate.model_fields.get("kind")
            if kind is None or node.get("kind") in typing.get_args(kind.annotation):
                return candidate
    return None


def _flatten(annotation: Any) -> list[Any]:
    args = typing.get_args(annotation)
    if not args:
        return [annotation]
    return [leaf for arg in args for leaf in _flatten(arg)]


def set_setting(data: dict[str, Any], path: str, value: Any, model: type[BaseModel]) -> None:
    """Sets a dotted setting in scenario data, walking the model so that a free-form mapping
    (broker_config) takes the rest of the path as one key."""
    segments = path.split(".")
    node: dict[str, Any] = data
    current: type[BaseModel] | None = model
    for i, segment in enumerate(segments):
        if current is None:  # inside a free-form mapping
            node[".".join(segments[i:])] = value
            return
        field = current.model_fields.get(segment)
        if field is None:
            raise LocatedValueError(f"{path}: no setting {segment!r} there (known: {', '.join(current.model_fields)})",
                                    (path,))
        if i == len(segments) - 1:
            node[segment] = value
            return
        child = node.get(segment)
        if not isinstance(child, dict):
            child = {}
            node[segment] = child
        current = _model_of(field.annotation, child)
        node = child
        if current is None and not _is_mapping(field.annotation):
            raise LocatedValueError(f"{path}: {segment!r} is a single value, it has no {segments[i + 1]!r}", (path,))


def _is_mapping(annotation: Any) -> bool:
    return any(typing.get_origin(a) is dict or a is dict for a in [annotation, *_flatten(annotation)])


def variants(scenario: Any, repeat: int = 1) -> list[Variant]:
    """Every combination of the matrix (in the order written), each run `repeat` times."""
    model = type(scenario)
    base = scenario.model_dump(mode="json", exclude={"matrix", "matrix_expect"})
    keys = list(scenario.matrix)
    combos = list(itertools.product(*(scenario.matrix[k] for k in keys))) if keys else [()]
    out = []
    for combo in combos:
        data = _copy(base)
        settings = dict(zip(keys, combo))
        for key, value in settings.items():
            set_setting(data, key, value, model)
        matching = [o for o in scenario.matrix_expect if all(settings.get(k) == v for k, v in o.when.items())]
        for override in matching:   # later entries win
            data["expect"] = {**data["expect"], **override.model_dump(mode="json")["expect"]}
        why = "; ".join(o.why for o in matching if o.why)
        try:
            variant = model.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            cause = (first.get("ctx") or {}).get("error")
            loc = tuple(first["loc"]) + (cause.loc if isinstance(cause, LocatedValueError) else ())
            where = ".".join(str(p) for p in _written(data, loc))
            label = ", ".join(f"{k}={v}" for k, v in settings.items())
            what = str(cause) if isinstance(cause, LocatedValueError) else first["msg"].removeprefix("Value error, ")
            raise LocatedValueError(f"variant {label or '(base)'}: {where}: {what}",
                                    (keys[0],) if keys else ()) from None
        label = ", ".join(f"{_setting_name(k)}={v}" for k, v in settings.items())
        for n in range(repeat):
            seeded = variant.model_copy(update={"seed": derive_seed(variant.seed, n)})
            out.append(Variant(label, settings, seeded, n, why))
    return out


def _written(data: Any, loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """A validation error's location as the keys a scenario writes: a step that is not a key of the
    data there (pydantic's union tag, such as a broker's kind) is left out, unless it is the last
    (a missing key is named)."""
    kept: list[Any] = []
    node = data
    for i, part in enumerate(loc):
        if isinstance(node, dict) and part not in node and i < len(loc) - 1:
            continue
        kept.append(part)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None
    return tuple(kept)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
