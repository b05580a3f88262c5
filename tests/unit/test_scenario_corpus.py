"""Validation is total (issue 13 point 1): a seeded corpus of mutants of every shipped scenario
(wrong types, missing and unknown keys, extreme and non-finite numbers, odd unicode, bad selectors,
structural damage: truncation, tabs, deep nesting, anchors and merge keys, alias bombs, binary)
gives, for each mutant, a Scenario that plans, or a ScenarioError whose every line is located;
never another exception, never a hang.

AFTERSHOCK_CORPUS_PER_SCENARIO sets the mutants per scenario (default 1000, as the issue asks:
17,000 in all, about 36 s over 2 cores; a smaller number for a quick look while editing).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import re
import signal
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from harness.advice import advise
from harness.errors import ScenarioError
from harness.plan import plan
from harness.scenario.loader import load_scenario, parse_scenario

REPO = Path(__file__).parents[2]
SCENARIOS = sorted((REPO / "scenarios").glob("*.yaml"))
PER_SCENARIO = int(os.environ.get("AFTERSHOCK_CORPUS_PER_SCENARIO", "1000"))
TIME_LIMIT_S = 5          # per mutant: loading and planning
CLI_SAMPLE = 20
SOURCE = "mutant.yaml"
LOCATED = re.compile(rf"^{re.escape(SOURCE)}:\d+:\d+: ")

ODD_TEXT = ["", " ", "é", "𝕏", "\u202e", "\ufeff", "\u00a0", "日本", "[/]", "[bold]x[/]", "\\", "\"", "'", ":", "-x",
            "--help", "a" * 300, "\\x00", "\\e", "\t", "\n", "\u2028", "${HOME}", "$(id)", "<x>&amp;", "\\n"]
NUMBERS = [0, -1, 1, 2**31, 2**63, 2**64, -(2**63) - 1, 10**30, 0.5, -0.5, 1e308, -1e308, 1e-300, 3.7, 999]
NON_FINITE = [".nan", ".NaN", ".inf", "-.inf", "+.inf", "1e999", "-1e999", "nan", "inf", "'nan'", "'-inf'"]
SELECTORS = ["leader(nosuch, 0)", "leader(orders, 999)", "leader(orders)", "leader(orders, -1)", "node(0)",
             "node(99)", "node(1.5)", "consumer(9)", "consumer(0)", "leader([/], 0)", "relay", "controller",
             "random", "leader(orders, 0", "node(1))", "node(" + "9" * 50 + ")", "client|client",
             "node(1)|node(1)", "client|node(1)", "producer->any", "consumer(1)->leader(orders, 0)",
             "client->inventory", "x->y", "->", "|", "leader(__consumer_offsets, 0)", "leader(amq.x)"]
DURATIONS = ["0", "0s", "-5s", "5 s", "1e3s", "99999h", "720h", "721h", "1ms", "0.0001ms", "5sec", "1h1m", "5.5.5s"]
EXTRA_KEYS = ["nodez", "prodcer", "kind", "at", "<<", "1", "true", "null", "~", "", "[/]", "a.b.c",
              "listeners", "advertised.listeners", "log.dirs", "listeners.tcp.default", "compose_project"]


@dataclass
class Outcome:
    accepted: int = 0
    refused: int = 0
    failures: list[str] = field(default_factory=list)
    refused_examples: list[tuple[str, str]] = field(default_factory=list)


class Hang(Exception):
    pass


def _on_alarm(signum: int, frame: Any) -> None:
    raise Hang()


# -- mutation operators ----------------------------------------------------------------------
def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, prefix + (i,))
    return out


def _get(node: Any, path: tuple) -> Any:
    for part in path:
        node = node[part]
    return node


def _random_value(rng: random.Random) -> Any:
    pool = rng.choice(["number", "text", "selector", "duration", "structure", "bool"])
    if pool == "number":
        return rng.choice(NUMBERS)
    if pool == "text":
        return rng.choice(ODD_TEXT)
    if pool == "selector":
        return rng.choice(SELECTORS)
    if pool == "duration":
        return rng.choice(DURATIONS)
    if pool == "bool":
        return rng.choice([True, False, None])
    return rng.choice([[], {}, [1], {"min": -1}, {"max": -1}, {"min": 0}, [[1, 2]], {"a": {"b": {"c": 1}}}])


def mutate_data(data: dict, rng: random.Random) -> dict:
    data = json.loads(json.dumps(data))
    for _ in range(rng.randint(1, 3)):
        paths = _paths(data)[1:]
        if not paths:
            break
        path = rng.choice(paths)
        parent, last = _get(data, path[:-1]), path[-1]
        op = rng.random()
        if op < 0.2:
            del parent[last]                                   # a missing key or item
        elif op < 0.35 and isinstance(parent, dict):
            parent[rng.choice(EXTRA_KEYS)] = _random_value(rng)  # an unknown (or owned) key
        elif op < 0.45 and isinstance(parent, list):
            parent.extend([parent[last]] * rng.randint(1, 50))   # many copies
        else:
            parent[last] = _random_value(rng)                  # a wrong type or an extreme value
    return data


def _replace_token(text: str, rng: random.Random, pattern: str, choices: list[str]) -> str:
    spots = list(re.finditer(pattern, text))
    if not spots:
        return text
    spot = rng.choice(spots)
    return text[:spot.start()] + rng.choice(choices) + text[spot.end():]


def _nest(rng: random.Random) -> str:
    depth = rng.choice([10, 40, 200, 600, 3000])
    flow = rng.random() < 0.5
    if flow:
        return "[" * depth + "]" * depth
    return "".join(f"\n{'  ' * (i + 2)}k{i}:" for i in range(min(depth, 300))) + " 1"


def _alias_bomb(rng: random.Random) -> str:
    levels = rng.randint(3, 12)
    lines = ["b0: &b0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"b{i}: &b{i} [" + ", ".join([f"*b{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def mutate_text(text: str, rng: random.Random) -> str:
    op = rng.randrange(12)
    lines = text.splitlines(keepends=True)
    if op == 0:
        return text[:rng.randrange(len(text) + 1)]                                  # truncation
    if op == 1:
        i = rng.randrange(len(lines))
        lines[i] = "\t" * rng.randint(1, 3) + lines[i]                               # tabs
        return "".join(lines)
    if op == 2:
        i = rng.randrange(len(lines))
        return "".join(lines[:i] + lines[i + 1:] if rng.random() < 0.5 else lines[:i] + [lines[i]] * 2 + lines[i:])
    if op == 3:
        at = rng.randrange(len(text) + 1)
        insert = rng.choice(["\x00", "\x1b", "\x07", "\x85", "\u2028", "\ud800", "\ufffe", "\x7f", "é", "\u202e",
                             "{", "}", "[", "]", ":", "&a ", "*a", "!!binary ", "? ", "- ", "#", "'", '"', "\\"])
        return text[:at] + insert + text[at:]
    if op == 4:
        return _replace_token(text, rng, r"(?<=: )-?\d+(\.\d+)?(ms|s|m|h)?\b",
                              NON_FINITE + ["9" * rng.choice([20, 400, 5000])])
    if op == 5:
        return _replace_token(text, rng, r"(?<=: )[^\s{},\[\]#]+", [_nest(rng)])                # deep nesting
    if op == 6:
        return _alias_bomb(rng) + text                                              # billion laughs
    if op == 7:                                                                     # anchors and merge keys
        anchored = "defaults: &d {kind: kafka, nodes: 3, nodez: 1}\n" if rng.random() < 0.5 else "x: &d {}\n"
        return anchored + re.sub(r"^target:\s*\n", "target:\n  <<: *d\n", text, count=1, flags=re.M)
    if op == 8:
        return _replace_token(text, rng, r"target: \"?[a-z]+\([^)\n]*\)\"?|link: \S+|between: \S+",
                              [f"target: \"{s}\"" for s in SELECTORS] + [f"link: \"{s}\"" for s in SELECTORS]
                              + [f"between: \"{s}\"" for s in SELECTORS])
    if op == 9:
        return _replace_token(text, rng, r"(?<=: )\d+(ms|s|m|h)\b", DURATIONS + NON_FINITE)
    if op == 10:
        i = rng.randrange(len(lines))
        return "".join(lines[:i] + ["  " * rng.randint(0, 4) + f"{rng.choice(EXTRA_KEYS)}: {rng.choice(ODD_TEXT)!r}\n"]
                       + lines[i:])
    return "".join(rng.sample(lines, len(lines)))                                     # shuffled lines


def mutants(path: Path, count: int, seed: int) -> list[str | bytes]:
    rng = random.Random(f"{seed}:{path.name}")
    text = path.read_text()
    data = YAML(typ="safe").load(text)
    out: list[str | bytes] = []
    for _ in range(count):
        kind = rng.random()
        if kind < 0.45:
            out.append(json.dumps(mutate_data(data, rng), ensure_ascii=rng.random() < 0.5))
        elif kind < 0.95:
            mutant = text
            for _ in range(rng.randint(1, 2)):
                mutant = mutate_text(mutant, rng)
            out.append(mutant)
        else:                                                                        # binary damage
            raw = bytearray(text.encode())
            for _ in range(rng.randint(1, 20)):
                raw[rng.randrange(len(raw))] = rng.randrange(256)
            out.append(bytes(raw))
    return out


ADVISED_EVERY = 25   # every 25th accepted mutant also gets validation's advice (all of them: 2-3x the time)


# -- the check ---------------------------------------------------------------------------------
def check_mutant(mutant: str | bytes, tmp: Path, outcome: Outcome) -> None:
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(TIME_LIMIT_S)
    try:
        if isinstance(mutant, bytes):
            file = tmp / SOURCE
            file.write_bytes(mutant)
            scenario = load_scenario(file)
        else:
            scenario = parse_scenario(mutant, SOURCE)
        plan(scenario)
        if outcome.accepted % ADVISED_EVERY == 0:   # advice plans each variant again: a sample keeps it cheap
            advise(scenario)   # never fails an accepted file
        scenario.model_dump(mode="json")
        outcome.accepted += 1
    except ScenarioError as exc:
        message = str(exc).replace(str(tmp) + "/", "")
        lines = message.splitlines()
        if not lines or not all(LOCATED.match(line) for line in lines):
            outcome.failures.append(f"unlocated refusal {message!r} of {mutant!r}"[:2000])
        else:
            outcome.refused += 1
            if len(outcome.refused_examples) < 200:
                outcome.refused_examples.append((mutant, message))
    except Hang:
        outcome.failures.append(f"no answer within {TIME_LIMIT_S}s for {mutant!r}"[:2000])
    except BaseException as exc:  # noqa: BLE001 - the point: nothing else may come out
        outcome.failures.append(f"{type(exc).__name__} for {mutant!r}:\n{traceback.format_exc()}"[-3000:])
    finally:
        signal.alarm(0)


def _check_scenario(job: tuple[Path, Path]) -> tuple[Outcome, int]:
    """One scenario's mutants, checked in a worker process (the alarm needs each worker's main thread)."""
    path, tmp = job
    outcome = Outcome()
    mutated = mutants(path, PER_SCENARIO, seed=13)
    work = tmp / path.stem
    work.mkdir()
    for mutant in mutated:
        check_mutant(mutant, work, outcome)
    outcome.failures = [failure.replace(str(work) + "/", "") for failure in outcome.failures]
    return outcome, len(mutated)


@pytest.fixture(scope="module")
def corpus_outcome(tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    """Every scenario's mutants, one scenario per task over a process per core: parsing is pure
    Python and the corpus is large, so this halves the suite's longest unit test on two cores."""
    tmp = tmp_path_factory.mktemp("corpus")
    outcome = Outcome()
    started = time.monotonic()
    total = 0
    with multiprocessing.get_context("fork").Pool(os.cpu_count() or 1) as pool:
        for part, count in pool.imap(_check_scenario, [(path, tmp) for path in SCENARIOS]):
            outcome.accepted += part.accepted
            outcome.refused += part.refused
            outcome.failures += part.failures
            outcome.refused_examples += part.refused_examples[:12]  # a spread over the scenarios for the CLI sample
            total += count
    elapsed = time.monotonic() - started
    print(f"\ncorpus: {total} mutants of {len(SCENARIOS)} scenarios: {outcome.refused} refused,"
          f" {outcome.accepted} accepted, {len(outcome.failures)} failures, {elapsed:.1f}s")
    return outcome


def test_every_mutant_of_every_shipped_scenario_is_accepted_or_refused_at_its_line(corpus_outcome: Outcome) -> None:
    assert corpus_outcome.refused + corpus_outcome.accepted == len(SCENARIOS) * PER_SCENARIO
    assert not corpus_outcome.failures, "\n\n".join(corpus_outcome.failures[:5])
    # The corpus must exercise both sides, or it tests nothing.
    assert corpus_outcome.refused > 0.5 * len(SCENARIOS) * PER_SCENARIO and corpus_outcome.accepted > 0


def test_the_corpus_is_seeded() -> None:
    assert mutants(SCENARIOS[0], 20, seed=13) == mutants(SCENARIOS[0], 20, seed=13)


def test_a_sample_of_refused_mutants_through_the_real_cli_exits_2_one_line_per_error(
        corpus_outcome: Outcome, tmp_path: Path) -> None:
    rng = random.Random(13)
    sample = rng.sample(corpus_outcome.refused_examples, min(CLI_SAMPLE, len(corpus_outcome.refused_examples)))
    assert len(sample) == CLI_SAMPLE
    for n, (mutant, message) in enumerate(sample):
        path = tmp_path / f"m{n}" / SOURCE
        path.parent.mkdir()
        # A lone surrogate cannot be UTF-8: written raw, the file is refused as not UTF-8 instead.
        path.write_bytes(mutant if isinstance(mutant, bytes) else mutant.encode("utf-8", errors="surrogatepass"))
        done = subprocess.run([sys.executable, "-m", "harness", "validate", str(path)], cwd=REPO,
                              capture_output=True, text=True, timeout=30, env={**os.environ, "COLUMNS": "80"})
        assert done.returncode == 2, (mutant, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr and done.stdout == ""
        lines = done.stderr.splitlines()
        expected = len(message.splitlines())
        assert len(lines) == expected, (message, done.stderr)
        located = re.compile(rf"^invalid {re.escape(str(path))}:\d+:\d+: ")
        assert all(located.match(line) for line in lines), done.stderr

