"""Extension points outside this package: a broker, fault, checker or reporter in another installed
package registers itself when its entry point (`aftershock.brokers`, `aftershock.faults`,
`aftershock.checkers`, `aftershock.reporters`) is loaded, as the built-in ones do on import."""

from __future__ import annotations

import logging
from importlib.metadata import entry_points

from harness.errors import EnvironmentProblem

log = logging.getLogger("aftershock")
_loaded: set[str] = set()


def load_entry_points(group: str) -> None:
    """Import every module the installed distributions name under `group`, once per process; a
    module that fails to import is an environment problem that names it, never skipped."""
    if group in _loaded:
        return
    _loaded.add(group)
    for point in entry_points(group=group):
        try:
            point.load()
        except Exception as exc:  # noqa: BLE001 - any import error of a third-party plugin is reported the same way
            raise EnvironmentProblem(f"the {group} plugin {point.name!r} ({point.value}) failed to load:"
                                     f" {type(exc).__name__}: {exc}; fix or uninstall its package") from exc
        log.info("loaded %s plugin %s (%s)", group, point.name, point.value)
