"""Errors a user can fix. The CLI prints them without a traceback and exits 2."""


class AftershockError(Exception):
    """Base of every user-fixable error: the message says what, where and how to fix it."""


class ScenarioError(AftershockError):
    """The scenario file is invalid (message carries file:line:col)."""


class EnvironmentProblem(AftershockError):
    """The machine lacks something the run needs (Java, jars, root, a free port...)."""


class ClusterError(AftershockError):
    """The cluster did not come up or did not become ready in time."""


class Interrupted(AftershockError):
    """The run was interrupted by Ctrl-C or SIGTERM; cleanup already ran."""
