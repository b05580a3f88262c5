"""The settings a Kafka release defines, read from its own jars, and a scenario's settings checked
against them: a misspelt key (`min.insync.replica`) is a located error with a did-you-mean, not a
line the broker ignores; a value of the wrong type is refused before a cluster starts.

`targets/kafka/ConfigDefs.java` prints the release's broker and topic ConfigDefs (and which broker
settings are a topic setting's cluster-wide default) as JSON. It runs once per release, when the
release is resolved, and its output is cached beside the jars: validation reads that file and never
starts a JVM itself. A release not installed yet is checked when the run resolves it.
"""

from __future__ import annotations

import difflib
import json
import math
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.errors import EnvironmentProblem
from harness.paths import REPO, cache_dir
from harness.scenario.located import LocatedValueError

PROGRAM = REPO / "targets" / "kafka" / "ConfigDefs.java"
FORMAT = 1   # bumped when the program's output changes: older cached files are rebuilt
_TIMEOUT = 120.0
_INTEGER = {"INT": (-(2**31), 2**31 - 1), "SHORT": (-(2**15), 2**15 - 1), "LONG": (-(2**63), 2**63 - 1)}


@dataclass(frozen=True)
class ConfigDefs:
    """One release's settings: name -> ConfigDef type (INT, LONG, BOOLEAN, STRING, LIST, ...)."""

    version: str
    broker: Mapping[str, str]
    topic: Mapping[str, str]
    synonyms: Mapping[str, tuple[str, ...]]   # topic setting -> the broker settings that default it

    def broker_default_of(self, topic_key: str) -> str | None:
        """The broker setting giving `topic_key` its cluster-wide default (retention.ms -> log.retention.ms)."""
        names = self.synonyms.get(topic_key, ())
        return names[0] if names else None


def path(version: str) -> Path:
    return cache_dir() / f"kafka-{version}" / "config-defs.json"


def cached(version: str) -> ConfigDefs | None:
    """The release's definitions if they were read from its jars already, else None."""
    try:
        data = json.loads(path(version).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    return ConfigDefs(version, data["broker"], data["topic"],
                      {key: tuple(names) for key, names in data["synonyms"].items()})


def ensure(version: str, classpath: str, say: Callable[[str], None] = print) -> ConfigDefs:
    """The release's definitions, read from its jars now unless they are cached."""
    found = cached(version)
    if found is not None:
        return found
    say(f"reading the settings Kafka {version} defines from its jars (first use)")
    try:
        done = subprocess.run(["java", "-cp", classpath, str(PROGRAM)], capture_output=True, text=True,
                              timeout=_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise EnvironmentProblem(f"reading Kafka {version}'s setting definitions took over {_TIMEOUT:g}s") from None
    if done.returncode != 0:
        raise EnvironmentProblem(f"could not read Kafka {version}'s setting definitions from its jars:"
                                 f" {(done.stderr or done.stdout).strip()[-600:]}")
    data = json.loads(done.stdout)
    data["format"] = FORMAT
    target = path(version)
    partial = target.with_suffix(".partial")
    partial.write_text(json.dumps(data, indent=1, sort_keys=True))
    partial.rename(target)
    found = cached(version)
    assert found is not None
    return found


def check_value(key: str, kind: str, value: object, where: tuple[str | int, ...]) -> None:
    """A value the setting's type can hold: numbers for numeric types (in range), true/false for
    booleans; strings, lists and class names as the broker will parse them."""
    if kind in _INTEGER:
        number = _as_integer(value)
        low, high = _INTEGER[kind]
        if number is None:
            raise LocatedValueError(f"{key} takes a whole number ({kind.lower()}), not {value!r}", where)
        if not low <= number <= high:
            raise LocatedValueError(f"{key} {number} is out of range for a {kind.lower()} ({low} to {high})", where)
    elif kind == "DOUBLE":
        if isinstance(value, bool) or not _is_number(value):
            raise LocatedValueError(f"{key} takes a number, not {value!r}", where)
    elif kind == "BOOLEAN":
        if not (isinstance(value, bool) or (isinstance(value, str) and value.lower() in ("true", "false"))):
            raise LocatedValueError(f"{key} takes true or false, not {value!r}", where)


def _as_integer(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return int(value.strip())
    return None


def _is_number(value: object) -> bool:
    if isinstance(value, (int, float)):
        return math.isfinite(value)
    try:
        return math.isfinite(float(str(value)))
    except ValueError:
        return False


def _suggest(key: str, names: Mapping[str, str]) -> str:
    close = difflib.get_close_matches(key, list(names), n=1, cutoff=0.75)
    return f" (did you mean {close[0]}?)" if close else ""


def check_broker_settings(defs: ConfigDefs, config: Mapping[str, object], section: tuple[str, ...]) -> None:
    """Every key one the release's brokers define, every value of its type. A topic setting given
    here is pointed at its broker-wide name (retention.ms -> log.retention.ms)."""
    def unknown(key: str) -> str:
        if key in defs.topic:
            default = defs.broker_default_of(key)
            hint = f": its broker-wide default is {default}" if default else ""
            return f"{key} is a topic setting, not a broker setting of Kafka {defs.version}{hint}"
        return f"{key} is not a setting Kafka {defs.version}'s brokers define{_suggest(key, defs.broker)}"

    _check_level(defs.broker, config, section, unknown)


def check_topic_settings(defs: ConfigDefs, config: Mapping[str, object], section: tuple[str, ...]) -> None:
    """Every key one the release's topics define, every value of its type; a broker setting given
    here is sent back to broker_config."""
    def unknown(key: str) -> str:
        if key in defs.broker:
            return f"{key} is a broker setting, not a topic setting of Kafka {defs.version}: set it in broker_config"
        return f"{key} is not a setting Kafka {defs.version}'s topics define{_suggest(key, defs.topic)}"

    _check_level(defs.topic, config, section, unknown)


def check_spec_settings(defs: ConfigDefs, broker_config: Mapping[str, object], topic_config: Mapping[str, object],
                        prefix: tuple[str, ...] = ()) -> None:
    """A Kafka target's broker_config and topic.config, each against its level's definitions."""
    check_broker_settings(defs, broker_config, (*prefix, "broker_config"))
    check_topic_settings(defs, topic_config, (*prefix, "topic", "config"))


def _check_level(names: Mapping[str, str], config: Mapping[str, object], section: tuple[str, ...],
                 unknown: Callable[[str], str]) -> None:
    for key, value in config.items():
        kind = names.get(key)
        if kind is None:
            raise LocatedValueError(unknown(key), (*section, key))
        check_value(key, kind, value, (*section, key))
