"""The report's plots, drawn by matplotlib as inline SVG: throughput and latency over the run with
every fault window shaded and labelled, as Jepsen's rate and latency graphs do."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display, no GUI toolkit
matplotlib.rcParams["svg.hashsalt"] = "aftershock"  # stable element ids: a regenerated report is identical

import matplotlib.pyplot as plt  # noqa: E402 - after matplotlib.use("Agg")
from matplotlib.axes import Axes  # noqa: E402 - after matplotlib.use("Agg")

from harness.ledger.journal import FaultRecord  # noqa: E402 - after matplotlib.use("Agg")

WIDTH, HEIGHT = 10.0, 3.4
_SHADES = ("#f4a261", "#e76f51", "#2a9d8f", "#8ab17d", "#e9c46a", "#9d4edd")
_NODES = ("#577590", "#43aa8b", "#90be6d", "#9d4edd", "#277da1", "#bc4749", "#4d908e", "#f9844a", "#6d597a")


def _svg(fig: plt.Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # inline: drop the XML prolog and doctype


def shade_faults(ax: Axes, faults: Sequence[FaultRecord], end_s: float) -> None:
    """One shaded band per fault, from injection to heal (or the end), labelled at the top."""
    for i, fault in enumerate(f for f in faults if f.started_s is not None):
        start = fault.started_s or 0.0
        stop = fault.healed_s if fault.healed_s is not None and fault.healed_s > start else max(end_s, start + 0.5)
        colour = _SHADES[i % len(_SHADES)]
        ax.axvspan(start, stop, color=colour, alpha=0.18, lw=0)
        ax.axvline(start, color=colour, lw=0.8)
        ax.annotate(f"{fault.action} {fault.target}", xy=(start, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(2, -2 - 10 * (i % 3)), textcoords="offset points", fontsize=7, va="top",
                    color="#333333")


def _end(series: Sequence[dict[str, Any]], faults: Sequence[FaultRecord]) -> float:
    seconds = [float(row["second"]) + 1 for row in series]
    heals = [f.healed_s or 0.0 for f in faults]
    return max(seconds + heals + [1.0])


def throughput_svg(rates: Sequence[dict[str, Any]], faults: Sequence[FaultRecord]) -> str:
    fig, ax = plt.subplots(figsize=(WIDTH, HEIGHT))
    seconds = [row["second"] for row in rates]
    ax.step(seconds, [row["acked"] for row in rates], where="post", label="acknowledged/s", color="#264653")
    ax.step(seconds, [row["delivered"] for row in rates], where="post", label="delivered/s", color="#e76f51",
            alpha=0.8)
    shade_faults(ax, faults, _end(rates, faults))
    ax.set_xlabel("seconds after the load started")
    ax.set_ylabel("messages per second")
    ax.set_ylim(bottom=0)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    return _svg(fig)


def latency_svg(latency: Sequence[dict[str, Any]], faults: Sequence[FaultRecord]) -> str:
    fig, ax = plt.subplots(figsize=(WIDTH, HEIGHT))
    seconds = [row["second"] for row in latency]
    styles = (("produce_p50_ms", "produce p50", "#264653", "-"), ("produce_p99_ms", "produce p99", "#264653", ":"),
              ("e2e_p50_ms", "end-to-end p50", "#e76f51", "-"), ("e2e_p99_ms", "end-to-end p99", "#e76f51", ":"))
    plotted = False
    for key, label, colour, style in styles:
        points = [(s, row[key]) for s, row in zip(seconds, latency) if row.get(key) is not None and row[key] > 0]
        if points:
            ax.plot(*zip(*points), label=label, color=colour, linestyle=style, lw=1.2)
            plotted = True
    shade_faults(ax, faults, _end(latency, faults))
    if plotted:
        ax.set_yscale("log")
        ax.legend(loc="lower right", fontsize=8)
    ax.set_xlabel("seconds after the load started (by send time)")
    ax.set_ylabel("latency (ms)")
    ax.grid(alpha=0.3, which="both")
    return _svg(fig)


def lag_svg(lag: Sequence[dict[str, Any]], faults: Sequence[FaultRecord]) -> str:
    fig, ax = plt.subplots(figsize=(WIDTH, HEIGHT * 0.8))
    seconds = [row["second"] for row in lag]
    ax.step(seconds, [row["lag"] for row in lag], where="post", color="#6a4c93", label="acknowledged - delivered")
    shade_faults(ax, faults, max(seconds + [1.0]))
    ax.set_xlabel("seconds after the load started")
    ax.set_ylabel("consumer lag (messages)")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(alpha=0.3)
    return _svg(fig)


def leadership_svg(changes: Sequence[dict[str, Any]], faults: Sequence[FaultRecord], end_s: float) -> str:
    """One row per partition (and the KRaft controller): a bar per leader, coloured by node, from each
    change to the next; hatched while its in-sync set is smaller than it first was."""
    subjects = sorted({c["subject"] for c in changes}, key=lambda s: (s != "controller", s))
    nodes = sorted({c["value"] for c in changes if c["attribute"] == "leader"})
    colours = {node: _NODES[i % len(_NODES)] for i, node in enumerate(nodes)}
    fig, ax = plt.subplots(figsize=(WIDTH, max(1.6, 0.32 * len(subjects) + 0.9)))
    for row, subject in enumerate(subjects):
        mine = [c for c in changes if c["subject"] == subject]
        leaders = [(c["at_s"], c["value"]) for c in mine if c["attribute"] == "leader"]
        isrs = [(c["at_s"], len([n for n in c["value"].split(";") if n])) for c in mine if c["attribute"] == "isr"]
        whole = isrs[0][1] if isrs else 0
        for i, (at, leader) in enumerate(leaders):
            until = leaders[i + 1][0] if i + 1 < len(leaders) else end_s
            start = max(at, 0.0)
            if until > start:
                ax.broken_barh([(start, until - start)], (row - 0.35, 0.7), color=colours[leader], alpha=0.85)
        for i, (at, size) in enumerate(isrs):
            until = isrs[i + 1][0] if i + 1 < len(isrs) else end_s
            if size < whole and until > max(at, 0.0):
                ax.broken_barh([(max(at, 0.0), until - max(at, 0.0))], (row - 0.35, 0.7), facecolor="none",
                               edgecolor="#222222", hatch="///", lw=0)
    shade_faults(ax, faults, end_s)
    ax.set_yticks(range(len(subjects)), [s.removeprefix("partition:") for s in subjects], fontsize=7)
    ax.set_ylim(-0.6, len(subjects) - 0.4)
    ax.set_xlim(left=0, right=end_s)
    ax.set_xlabel("seconds after the load started")
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours[n]) for n in nodes]
    handles.append(plt.Rectangle((0, 0), 1, 1, facecolor="none", edgecolor="#222222", hatch="///"))
    ax.legend(handles, [*nodes, "in-sync set shrunk"], loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7)
    return _svg(fig)
