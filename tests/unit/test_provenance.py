"""A result records which harness judged it (version, commit, Python) and the real version of the
Toxiproxy server that ran (stamped in at build time; a plain `go install` says "git")."""

from __future__ import annotations

import subprocess
from types import SimpleNamespace

from harness.paths import REPO
from harness.provenance import harness_versions
from harness.services.toxiproxy import ToxiproxyClient, toxiproxy_binary


def test_the_harness_names_its_version_and_the_commit_it_ran_from() -> None:
    seen = harness_versions()
    assert seen["aftershock"] == "0.1.0"
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    assert seen["aftershock-commit"].removesuffix("-dirty") == head
    assert seen["python"].count(".") == 2


def test_toxiproxys_version_is_read_from_its_json_answer() -> None:
    client = ToxiproxyClient("http://x")
    client.http = SimpleNamespace(get=lambda url, timeout: SimpleNamespace(text='{"version": "2.12.0"}\n'))
    assert client.version() == "2.12.0"
    client.http = SimpleNamespace(get=lambda url, timeout: SimpleNamespace(text="1.2.1"))   # 1.x: plain text
    assert client.version() == "1.2.1"


def test_the_installed_toxiproxy_reports_its_release_not_git() -> None:
    from harness.services.toxiproxy import TOXIPROXY_VERSION

    said = subprocess.run([str(toxiproxy_binary()), "-version"], capture_output=True, text=True, timeout=30)
    assert f"version {TOXIPROXY_VERSION}" in said.stdout + said.stderr, said.stdout + said.stderr
