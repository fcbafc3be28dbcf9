"""Run a written suite with lm-evaluation-harness: find lm-eval, check task names, run, record lineage.

lm-eval is found in the running environment (this interpreter, which need not be on PATH),
else in the python named by `LM_EVAL_PYTHON`, else through an `lm_eval` script on PATH (its
shebang names the interpreter). It always runs as a subprocess: `python -m lm_eval ...`.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from factory import settings
from factory.builds.files import write_text_atomic
from factory.errors import InputError, MissingDependency
from factory.evaluate.lm_eval_tasks import EvalConfig

# prints the names of lm-eval's own tasks and groups (indexing them takes seconds: cached below)
LIST_TASKS = (
    "import json\n"
    "from lm_eval.tasks import TaskManager\n"
    "tm = TaskManager()\n"
    "print(json.dumps(sorted(set(tm.all_tasks) | set(tm.all_groups))))\n"
)
# what identifies an lm-eval installation's task set: its version and its tasks folder
IDENTIFY = (
    "import importlib.metadata as m, importlib.util as u, json, os\n"
    "folder = os.path.join(u.find_spec('lm_eval').submodule_search_locations[0], 'tasks')\n"
    "print(json.dumps([m.version('lm_eval'), folder, os.stat(folder).st_mtime_ns]))\n"
)


@dataclass(frozen=True)
class LmEval:
    python: str  # an interpreter that can `import lm_eval`
    how: str  # how it was found, for messages


def _has_lm_eval(python: str) -> bool:
    try:
        done = subprocess.run([python, "-c", "import lm_eval"], capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _shebang_python(script: str) -> str | None:
    try:
        first = Path(script).read_bytes().split(b"\n", 1)[0].decode()
    except (OSError, UnicodeDecodeError):
        return None
    if not first.startswith("#!"):
        return None
    words = first[2:].split()
    return words[0] if words and "python" in Path(words[0]).name else None


def find_lm_eval() -> LmEval:
    """The interpreter to run lm-eval with; a one-line error when there is none."""
    named = os.environ.get("LM_EVAL_PYTHON")
    if named:
        if not _has_lm_eval(named):
            raise InputError(
                f"LM_EVAL_PYTHON={named} cannot import lm_eval: point it at a python with lm-eval installed"
            )
        return LmEval(named, "LM_EVAL_PYTHON")
    if importlib.util.find_spec("lm_eval") is not None:
        return LmEval(sys.executable, "this environment")
    script = shutil.which("lm_eval")
    python = _shebang_python(script) if script else None
    if python and _has_lm_eval(python):
        return LmEval(python, f"{script} on PATH")
    raise MissingDependency("lm_eval", "lm-eval", "factory eval")


def _run_python(lm_eval: LmEval, code: str, what: str) -> str:
    done = subprocess.run([lm_eval.python, "-c", code], capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise InputError(f"lm-eval ({lm_eval.python}) could not {what}: {tail}")
    return done.stdout.strip().splitlines()[-1]


def default_tasks(lm_eval: LmEval) -> set[str]:
    """lm-eval's own task and group names, cached under FACTORY_HOME per installation."""
    identity = _run_python(lm_eval, IDENTIFY, "be found")
    key = hashlib.sha256(f"{lm_eval.python}\n{identity}".encode()).hexdigest()[:16]
    cache = settings.factory_home() / "cache" / "lm-eval-tasks" / f"{key}.json"
    if cache.is_file():
        try:
            return set(json.loads(cache.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError):
            pass  # rebuilt below
    names = json.loads(_run_python(lm_eval, LIST_TASKS, "index its tasks"))
    cache.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(cache, json.dumps(names))  # a killed run leaves no half index
    return set(names)


def unknown_tasks_line(unknown: list[str], known: set[str]) -> str:
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
        parts.append(f"{name} (did you mean {close[0]}?)" if close else name)
    return (
        f"lm-eval does not know {len(unknown)} task(s): {', '.join(parts)}; "
        "define them as dataset tasks in the spec (see eval/README.md) or check the spelling"
    )


def check_task_names(lm_eval: LmEval, result: EvalConfig) -> None:
    """Every task of the suite is a task or group lm-eval's TaskManager knows, before anything runs."""
    # the generated task files and the suite group are ours; the rest must be lm-eval's own
    known = default_tasks(lm_eval) | {t.name for t in result.tasks} | {result.spec.name}
    unknown = [name for name in result.task_names if name not in known]
    if unknown:
        raise InputError(unknown_tasks_line(unknown, known))


def newest_results(output: Path, since: float) -> list[Path]:
    """Results files lm-eval wrote under `output` after `since` (it names the model subfolder)."""
    if not output.is_dir():
        return []
    return sorted(p for p in output.rglob("results_*.json") if p.stat().st_mtime >= since)


def run_lineage(result: EvalConfig, runs: list[dict], spec_path: Path | None = None) -> dict:
    """The suite's lineage plus, per task, the version and few-shot count lm-eval reported."""
    lineage = result.lineage(spec_path)["factory_lineage"]
    reported: dict[str, dict] = {}
    for run in runs:
        for file in run["results_files"]:
            data = json.loads(Path(file).read_text(encoding="utf-8"))
            for task in data.get("results", {}):
                reported[task] = {
                    "version": (data.get("versions") or {}).get(task),
                    "n_shot": (data.get("n-shot") or {}).get(task),
                    "results_file": file,
                }
    for task in lineage["tasks"]:
        task["reported"] = reported.get(task["task"])
    lineage["runs"] = runs
    return {"factory_lineage": lineage}


def run(
    lm_eval: LmEval,
    result: EvalConfig,
    spec_path: Path | None = None,
    echo: Callable[[str], None] = print,
) -> int:
    """Run every command (one per few-shot count); stop at the first failure; write lineage.json."""
    import time

    output = Path(result.commands[0][result.commands[0].index("--output_path") + 1])
    runs: list[dict] = []
    code = 0
    for argv in result.commands:
        echo(f"running ({lm_eval.how}): {' '.join(argv)}")
        started = time.time() - 1
        code = subprocess.run(argv).returncode
        runs.append(
            {
                "command": argv,
                "returncode": code,
                "results_files": [str(p) for p in newest_results(output, started)],
            }
        )
        if code != 0:
            break
    path = result.out_dir / "lineage.json"
    path.write_text(
        json.dumps(run_lineage(result, runs, spec_path), indent=1) + "\n", encoding="utf-8"
    )
    echo(f"lineage: {path}")
    return code
