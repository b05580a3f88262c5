"""Which bounds on a figure can decide anything: a bound that no run can meet, or that every run
meets, would make the verdict say nothing, so it is refused before the run.

The domains follow the checkers (harness/check): every figure is a count of messages, faults or
events (a whole number from 0) or a time in milliseconds (from 0), except the consumer lag, which
is acknowledged minus delivered and goes negative when messages whose send was never acknowledged
are delivered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

from harness.scenario.located import LocatedValueError
from harness.scenario.sections import Bound, ExpectBound

SIGNED_COUNTS = ("max_consumer_lag", "final_consumer_lag")


@dataclass(frozen=True)
class Domain:
    low: float | None    # None: unbounded
    high: float | None
    whole: bool          # only whole numbers occur

    def describe(self) -> str:
        kind = "a whole number" if self.whole else "a number"
        if self.low is None and self.high is None:
            return kind
        if self.high is None:
            return f"{kind} from {self.low:g}"
        return f"{kind} from {self.low:g} to {self.high:g}"


def domain_of(metric: str) -> Domain:
    if metric.endswith("_ms"):
        return Domain(0.0, None, False)
    if metric in SIGNED_COUNTS:
        return Domain(None, None, True)
    return Domain(0.0, None, True)


def check_expectation(metric: str, exact: float | None, low: float | None, high: float | None) -> None:
    """Raises LocatedValueError (at the bound) if the expectation can never pass or never fail."""
    domain = domain_of(metric)
    never_passes = f"can never pass: {metric} is {domain.describe()}"
    if exact is not None:
        outside = (domain.low is not None and exact < domain.low) or (domain.high is not None and exact > domain.high)
        if outside or (domain.whole and not float(exact).is_integer()):
            raise LocatedValueError(f"{metric}: {exact:g} {never_passes}", ())
        return
    if high is not None and domain.low is not None and high < domain.low:
        raise LocatedValueError(f"max {high:g} {never_passes}", ("max",))
    if low is not None and domain.high is not None and low > domain.high:
        raise LocatedValueError(f"min {low:g} {never_passes}", ("min",))
    if domain.whole and low is not None and high is not None and math.ceil(low) > math.floor(high):
        raise LocatedValueError(f"{low:g}..{high:g} holds no whole number: {never_passes}", ("min",))
    floor_met = low is None or (domain.low is not None and low <= domain.low)
    ceiling_met = high is None or (domain.high is not None and high >= domain.high)
    if floor_met and ceiling_met:
        which = ("min", low) if low is not None else ("max", high)
        raise LocatedValueError(f"{which[0]} {which[1]:g} holds for every run ({metric} is {domain.describe()}),"
                                " so it can never fail: tighten it or remove it", (which[0],))


def _no_booleans(value: object) -> object:
    if isinstance(value, dict):
        for name, bound in value.items():
            if isinstance(bound, bool):
                raise LocatedValueError(f"{bound!r} is not a bound: write a number, or {{min: N}} / {{max: N}}",
                                        (name,))
    return value


def _known_metrics(value: dict[str, Any]) -> dict[str, Any]:
    """Every figure named is one a checker reports, and every bound can decide something."""
    from harness.check import METRICS

    unknown = sorted(set(value) - set(METRICS))
    if unknown:
        raise ValueError(f"unknown figure(s) {', '.join(unknown)}: expect takes {', '.join(METRICS)}")
    for name, bound in value.items():
        try:
            if isinstance(bound, Bound):
                check_expectation(name, None, bound.min, bound.max)
            else:
                check_expectation(name, bound, None, None)
        except LocatedValueError as exc:
            raise LocatedValueError(str(exc), (name, *exc.loc)) from None
    return value


Expectations = Annotated[dict[str, ExpectBound], BeforeValidator(_no_booleans), AfterValidator(_known_metrics)]
"""`expect:` (and a variant's own): figure -> a number it must equal, or {min, max}."""
