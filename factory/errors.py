"""Every error a user can fix, in one module.

`factory.cli.main` prints a `FactoryError` as one line on stderr and exits with status 2;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class FactoryError(Exception):
    """Base class of the errors a user can fix; `str(error)` is the one line shown."""

    exit_code = 2  # a user error; a build that failed while running exits 1 (`TaskFailed`)


# RECIPE ERRORS


class RecipeError(FactoryError, ValueError):
    """A recipe (file, field or override) is wrong.

    `problems` holds one line per problem; `str()` joins them.
    """

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))

    def __reduce__(self):
        # rebuilt from `problems` when it crosses a process boundary (datatrove worker -> build)
        return type(self), (self.problems,)


# INPUT ERRORS


class InputError(FactoryError, ValueError):
    """An input file, folder or dataset reference cannot be read."""


# STORE ERRORS


class StoreError(FactoryError):
    """The dataset store (local git store or the Hub) refused or failed an operation."""


class RepoNotFound(StoreError, LookupError):
    """A dataset repository does not exist in the store."""


class RevisionNotFound(StoreError, LookupError):
    """A revision (tag, branch or commit) does not exist in a repository."""


class CredentialsError(StoreError):
    """A write to the Hub was asked for but no token is set."""


# ENGINE ERRORS


class MissingDependency(FactoryError, ImportError):
    """An optional dependency (an engine, a scorer) is not installed."""

    def __init__(self, module: str, package: str, used_by: str):
        self.module, self.package, self.used_by = module, package, used_by
        super().__init__(
            f"{used_by} needs the Python module `{module}`, which is not installed: "
            f"pip install {package}"
        )

    def __reduce__(self):
        # pickle's default rebuilds from the message alone, which this __init__ cannot take: a
        # worker task raising it would leave the multiprocessing pool waiting forever
        return type(self), (self.module, self.package, self.used_by)


class EngineError(FactoryError):
    """A generation engine was misconfigured or cannot serve the request."""


class BuildError(FactoryError):
    """A build stage failed for a reason the user can act on."""


class TaskFailed(BuildError):
    """A stage task raised while running: a build failure (exit 1), not a recipe error.

    The line names the stage, the rank and the task's log file.
    """

    exit_code = 1


class DataCheckFailed(BuildError):
    """What a build made does not add up (row counts, checksums, quarantined sources): exit 1."""

    exit_code = 1


class Interrupted(FactoryError):
    """Ctrl-C: the build stops; what finished is kept and verified on the next run."""

    exit_code = 130

    def __init__(self, message: str = ""):
        super().__init__(
            message
            or "interrupted; finished tasks are kept and checked: rerun the same command to resume"
        )


class ClusterError(FactoryError):
    """A Ray or Slurm cluster cannot run a stage as asked (unreachable, or no node fits the request)."""
