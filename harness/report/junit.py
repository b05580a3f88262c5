"""JUnit XML: one test case per scenario run, its expectations as the assertions, so CI systems
(GitHub, GitLab, Jenkins) show a failed expectation natively."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path

from harness.results import COUNTS, RunResult

# What XML 1.0 cannot carry at all, even escaped (most control characters, lone surrogates, U+FFFE/FFFF).
_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """`text` with every character XML cannot hold replaced by U+FFFD, so the file always parses."""
    return _XML_INVALID.sub("\ufffd", text)


def _make_safe(root: ET.Element) -> None:
    for element in root.iter():
        element.attrib = {xml_safe(str(k)): xml_safe(str(v)) for k, v in element.attrib.items()}
        if element.text is not None:
            element.text = xml_safe(element.text)
        if element.tail is not None:
            element.tail = xml_safe(element.tail)


def expectation_table(result: RunResult) -> str:
    """The expectations as aligned text: the failure message CI shows."""
    rows = [("figure", "expected", "actual", "ok")]
    for e in result.verdict.expectations:
        rows.append((e.name, e.expected, "-" if e.actual is None else f"{e.actual:g}",
                     {True: "yes", False: "NO", None: "unknown"}[e.ok]))
    widths = [max(len(str(row[i])) for row in rows) for i in range(4)]
    return "\n".join("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def _case(result: RunResult) -> ET.Element:
    case = ET.Element("testcase", {
        "classname": f"aftershock.{result.scenario}",
        "name": f"{result.scenario}[{result.variant}]" if result.variant else result.scenario,
        "time": f"{result.duration_s:.1f}", "assertions": str(len(result.verdict.expectations))})
    props = ET.SubElement(case, "properties")
    variant = (("variant", result.variant), ("variant.why", result.variant_why)) if result.variant else ()
    for name, value in (*variant, ("seed", result.seed), ("run_id", result.run_id), ("out_dir", result.out_dir),
                        *((f"version.{k}", v) for k, v in sorted(result.versions.items()))):
        ET.SubElement(props, "property", {"name": name, "value": str(value)})
    verdict = result.verdict.verdict
    if verdict == "fail":
        failed = [e.name for e in result.verdict.expectations if e.ok is not True]
        node = ET.SubElement(case, "failure", {"type": "ExpectationFailed",
                                               "message": f"expectation(s) not met: {', '.join(failed)}"})
        node.text = expectation_table(result)
    elif verdict == "error":
        node = ET.SubElement(case, "error", {"type": "RunError", "message": result.error or "the run failed"})
        node.text = result.error or ""
    elif verdict == "inconclusive":   # neither passed nor failed: it proved nothing (CLI exit 3)
        missed = [e.name for e in result.verdict.expectations if e.ok is False]
        node = ET.SubElement(case, "skipped", {"type": "Inconclusive",
                                               "message": f"inconclusive: {', '.join(missed)} not met"})
        node.text = expectation_table(result)
    out = ET.SubElement(case, "system-out")
    counts = ", ".join(f"{name} {result.metrics.get(name)}" for name in COUNTS)
    out.text = f"{result.description.strip()}\n{counts}\nreport: {Path(result.out_dir) / 'results.json'}\n"
    return case


def junit_xml(results: Iterable[RunResult], suite: str = "aftershock") -> ET.ElementTree:
    results = list(results)
    verdicts = [r.verdict.verdict for r in results]
    attrs = {"name": suite, "tests": str(len(results)), "failures": str(verdicts.count("fail")),
             "errors": str(verdicts.count("error")), "skipped": str(verdicts.count("inconclusive")),
             "time": f"{sum(r.duration_s for r in results):.1f}",
             "timestamp": results[0].started if results else ""}
    root = ET.Element("testsuites", {k: v for k, v in attrs.items() if k != "timestamp"})
    suite_el = ET.SubElement(root, "testsuite", attrs)
    for result in results:
        suite_el.append(_case(result))
    _make_safe(root)
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(results: Iterable[RunResult], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    junit_xml(results).write(path, encoding="utf-8", xml_declaration=True)
    return path
