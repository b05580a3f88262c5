"""The browser check itself must be able to fail: a page with console errors is caught."""

from __future__ import annotations

from pathlib import Path

from tests.integration.conftest import browse


def test_console_errors_are_caught(tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text("<html><body><p>x</p><script>console.error('boom'); notDefined();</script></body></html>")
    dom, console = browse(page, "negative-control.png")
    assert "<p>x</p>" in dom
    assert any("boom" in line for line in console) and any("notDefined" in line for line in console)
