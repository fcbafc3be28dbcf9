"""Mutation check of the core modules with mutmut: prints the kill ratio per module.

Not part of CI (minutes per module). For each module group below, a scratch copy of the
checkout gets a `[mutmut]` config that mutates only that group's files and runs only the
test files that cover them; mutmut (3.x) then runs each mutant against the tests that reach
the mutated function. A mutant is killed when a test fails (or times out); it survives when
every test passes. Survivors are written with their diff to `--report` so they can be
judged (equivalent or a missing test); the ones judged equivalent are listed in
`EQUIVALENT` with the reason, and the ratio is printed with and without them.

    pip install -e '.[mutation]'
    python benchmarks/mutation_check.py                      # every module group
    python benchmarks/mutation_check.py splits privacy       # some of them
    python benchmarks/mutation_check.py --max-children 1 --report mutation-survivors.md

Baseline named in the figure: the issue's goal, 85% of mutants killed per module group.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GOAL = 0.85


@dataclass(frozen=True)
class Group:
    files: tuple[str, ...]  # mutated
    tests: tuple[str, ...]  # run against each mutant


GROUPS: dict[str, Group] = {
    "stores": Group(
        ("factory/store/git.py", "factory/store/base.py"),
        ("tests/test_store_git.py", "tests/test_store_promises.py"),
    ),
    "build/resume": Group(
        ("factory/builds/files.py", "factory/builds/assemble.py", "factory/builds/seeds.py"),
        (
            "tests/test_files_durability.py",
            "tests/test_build_promises.py",
        ),
    ),
    "splits": Group(
        ("factory/corpus/splits.py",),
        ("tests/corpus/test_splits.py", "tests/corpus/test_dedup_readers.py"),
    ),
    "privacy": Group(
        ("factory/preferences/privacy.py",),
        ("tests/preferences/test_promises.py",),
    ),
    "bradley_terry": Group(
        ("factory/preferences/bradley_terry.py",),
        ("tests/preferences/test_bradley_terry.py", "tests/preferences/test_promises.py"),
    ),
    "filters": Group(
        ("factory/corpus/filters.py", "factory/corpus/features.py"),
        # the real-data tests also cover these files but take seconds each: kept out of the loop
        ("tests/corpus/test_filters.py", "tests/corpus/test_filter_promises.py"),
    ),
}

_LOST_RACE = (
    "git (2.39) words every lost compare-and-swap 'cannot lock ref ...: is at X but expected Y' "
    "or 'cannot lock ref ...: reference already exists': the 'cannot lock ref' test alone "
    "classifies them"
)
# Survivors judged equivalent by hand: (function, the mutated line as mutmut writes it) -> why no
# test can tell the mutant from the original. Keyed by content, not by mutmut's mutant number,
# which shifts whenever the function changes.
EQUIVALENT: dict[tuple[str, str], str] = {
    ("x_annotator_salt", "salt = os.environ.get(SALT_ENV, None)"): "an unset variable is refused "
    "either way (None and '' are both falsy)",
    ("x_annotator_salt", "salt = os.environ.get(SALT_ENV, )"): "an unset variable is refused "
    "either way (None and '' are both falsy)",
    **{
        ("xǁAnonymizeAnnotatorsǁrun", line): "both branches below assign record['annotator'], "
        "so an incoming value is replaced whether or not it was popped"
        for line in (
            "record.pop(None, None)",
            'record.pop("XXannotatorXX", None)',
            'record.pop("ANNOTATOR", None)',
        )
    },
    **{
        ("x__cut", line): "any value of at least 2**64 lies past every 64-bit hash"
        for line in (
            "return int(hashes[k]) if k < len(hashes) else 2 << 64",
            "return int(hashes[k]) if k < len(hashes) else 1 << 65",
        )
    },
    **{
        ("xǁSplitPlanǁrun", line): "plan.json is read back as a dict: key order changes no split"
        for line in (
            "write_text_atomic(self.plan_path, json.dumps(plan, sort_keys=None))",
            "write_text_atomic(self.plan_path, json.dumps(plan, ))",
            "write_text_atomic(self.plan_path, json.dumps(plan, sort_keys=False))",
        )
    },
    ("xǁCellsǁwins", "w = np.asarray((self.design().T @ counts.T.astype(None)).T)"): "astype(None) "
    "is float64, the same as astype(float)",
    ("xǁCellsǁwins", "return w.reshape(-2, self.n_models, self.n_models)"): "numpy reads any "
    "negative size as 'the rest'",
    ("x_fit", "chunk: int = 251,"): "the chunk bounds memory only: chunked resamples equal one "
    "draw (tested)",
    (
        "x__canonical",
        'return json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=None).encode()',
    ): "ensure_ascii=None is falsy, the same as False",
    ("x_assemble", 'digest.update(_canonical(row) + b"XX\\nXX")'): "any fixed row separator "
    "gives a hash with the same properties (rows, order, split; not layout)",
    (
        "x_write_text_atomic",
        '_write_atomic(path, path.with_name(path.name + ".TMP"), lambda h: h.write(text.encode()))',
    ): "any temporary name beside the target works",
    ("x_build_manifest", 'return (json.dumps({"files": entries}, indent=1, ) + "\\n").encode()'): (
        "entries are built from sorted(files.items()): already in key order"
    ),
    **{
        ("x__rows", line): "utf-8 is the locale's encoding here (Python coerces the C locale "
        "to UTF-8), so the default reads the same text"
        for line in (
            'with gzip.open(path, "rt", encoding=None) as handle:',
            'with gzip.open(path, "rt", ) as handle:',
        )
    },
    ("x__write_atomic", "tmp.unlink(missing_ok=False)"): "the temp is missing only when open() "
    "itself failed, which as root means a directory at the temp name: unlink refuses it either way",
    ("x_file_sha256", 'for block in iter(lambda: handle.read(1 << 21), b""):'): "the block "
    "size changes no digest",
    ("xǁStoreǁload", 'kwargs = {"name": config} if (config) or True else {}'): "name=None is "
    "load_dataset's own default: the same call",
    (
        "xǁGitStoreǁ_rev_parse",
        'repo_id, "rev-parse", "--verify", "--QUIET", f"{name}^{{commit}}", check=False',
    ): "rev-parse --verify gives the same output and status with --QUIET (git 2.39): only "
    "stderr differs, and check=False drops it",
    **{
        ("xǁGitStoreǁ_move_refs", line): _LOST_RACE
        for line in (
            '"BUT EXPECTED" in text',
            '"XXbut expectedXX" in text',
            'or "REFERENCE ALREADY EXISTS" in text',
            'or "XXreference already existsXX" in text',
        )
    },
    (
        "xǁGitStoreǁsnapshot",
        'staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".TMP-"))',
    ): "any hidden staging name beside the target works: nothing else reads or sweeps it",
    ("xǁGitStoreǁsnapshot", "shutil.rmtree(staging, ignore_errors=None)"): "the staging folder "
    "is this process's own, extracted from a git archive (owner-writable): rmtree does not fail",
}
# datatrove executors always pass `rank` and `world_size` to a step's `run`: their defaults are dead
_RUN_DEFAULTS = re.compile(r"rank: int = \d+, world_size: int = \d+")


def equivalence(mutant: str, diff: str) -> str | None:
    """Why the mutant is equivalent, when it is listed in EQUIVALENT."""
    function = mutant.rsplit(".", 1)[-1].rsplit("__mutmut_", 1)[0]
    added = [
        line[1:].strip()
        for line in diff.splitlines()
        if line.startswith("+") and not line.startswith("+++")
    ]
    for line in added:
        if (function, line) in EQUIVALENT:
            return EQUIVALENT[(function, line)]
        if function.endswith("ǁrun") and _RUN_DEFAULTS.search(line):
            return "a default of rank/world_size in run(): datatrove always passes both"
    return None


def _scratch_copy(target: Path) -> None:
    """The checkout's files (tracked and new, not ignored) without git or build outputs."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, listed):
        source = REPO / name.decode()
        if source.is_file():
            (target / name.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name.decode())


@dataclass(frozen=True)
class Planted:
    """A one-line bug breaking a documented promise, and the tests that must catch it."""

    file: str
    edits: tuple[tuple[str, str], ...]  # (original text, planted text), each found exactly once
    tests: tuple[str, ...]


# the bugs issue #17 planted by hand (and two found since), each must fail a test
PLANTED: dict[str, Planted] = {
    "split ignores the seed": Planted(
        "factory/corpus/splits.py",
        (('f"{seed}:{prio}:{file}:{rec}"', 'f"{prio}:{file}:{rec}"'),),
        ("tests/corpus/test_splits.py",),
    ),
    "plan passes no seed to the split": Planted(
        "factory/corpus/plan.py",
        (
            ("SplitKeys(split_keys, recipe.seed)", "SplitKeys(split_keys, 0)"),
            ("SplitAssign(split_plan, recipe.seed)", "SplitAssign(split_plan, 0)"),
        ),
        ("tests/corpus/test_splits.py",),
    ),
    "split_sizes rounds down": Planted(
        "factory/corpus/splits.py",
        (
            ("int(n * test + 0.5)", "int(n * test)"),
            ("int(n * validation + 0.5)", "int(n * validation)"),
        ),
        ("tests/corpus/test_splits.py",),
    ),
    "annotator hash without the salt": Planted(
        "factory/preferences/privacy.py",
        (("hmac.new(salt, username", 'hmac.new(b"", username'),),
        ("tests/preferences/test_promises.py",),
    ),
    "90% interval reported as the 95% one": Planted(
        "factory/preferences/leaderboard.py",
        (("result.interval(ci_level)", "result.interval(0.9)"),),
        ("tests/preferences/test_promises.py",),
    ),
    "side file written straight to its final name": Planted(
        "factory/builds/files.py",
        (
            ('with open(tmp, "wb") as handle:', 'with open(path, "wb") as handle:'),
            ("        os.replace(tmp, path)\n", "        pass\n"),
        ),
        ("tests/test_files_durability.py",),
    ),
    "side files never fsynced": Planted(
        "factory/builds/files.py",
        (("        os.fsync(handle.fileno())", "        pass"),),
        ("tests/test_files_durability.py",),
    ),
    "a step loses state in the dill round trip": Planted(
        "factory/corpus/splits.py",
        (
            (
                "        self.validation, self.test = validation, test\n",
                "        self.validation, self.test = validation, test\n\n"
                "    def __getstate__(self):\n"
                "        return self.__dict__ | {'test': 0.0}\n",
            ),
        ),
        ("tests/test_distributed_stages.py",),
    ),
    "unrated models drawn in the ratings plot": Planted(
        "factory/preferences/plots.py",
        (
            (
                "rated = [s for s in board.standings if s.rating is not None]",
                "rated = [s for s in board.standings]",
            ),
        ),
        ("tests/preferences/test_promises.py",),
    ),
    "shards keep the first row's columns only": Planted(
        "factory/builds/assemble.py",
        (
            (
                "table_schema = _chunk_schema(chunk)",
                "table_schema = pa.Table.from_pylist(chunk).schema",
            ),
        ),
        ("tests/test_build_promises.py",),
    ),
}


def run_planted(name: str, bug: Planted) -> bool:
    """True when at least one of the bug's tests fails on a copy with the bug planted."""
    with tempfile.TemporaryDirectory(prefix="planted-", dir=_scratch_root()) as tmp:
        workdir = Path(tmp)
        _scratch_copy(workdir)
        target = workdir / bug.file
        text = target.read_text()
        for old, new in bug.edits:
            assert text.count(old) == 1, f"{name}: {old!r} is not in {bug.file} exactly once"
            text = text.replace(old, new)
        target.write_text(text)
        env = {k: v for k, v in os.environ.items() if k != "MUTANT_UNDER_TEST"}
        env["PYTHONPATH"] = str(workdir)
        shared = _shared_data()
        if shared is not None:
            env["FACTORY_SHARED_DATA"] = str(shared)
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *bug.tests],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
        )
        return proc.returncode == 1  # tests ran and one failed (not a collection error)


def _scratch_root() -> Path:
    # under the checkout's git-ignored .factory-home/, not a shared /tmp that others clean
    scratch = REPO / ".factory-home" / "mutation"
    scratch.mkdir(parents=True, exist_ok=True)
    return scratch


def _shared_data() -> Path | None:
    """The real data folder the tests read (as tests/conftest.py finds it), for the scratch copy,
    which sits where neither `../shared` nor the git worktree can point the tests to it."""
    if os.environ.get("FACTORY_SHARED_DATA"):
        return Path(os.environ["FACTORY_SHARED_DATA"])
    common = subprocess.run(
        ["git", "rev-parse", "--path-format=absolute", "--git-common-dir"],
        cwd=REPO,
        capture_output=True,
        text=True,
    ).stdout.strip()
    for folder in (REPO.parent, Path(common).parent.parent if common else None):
        if folder is not None and (folder / "shared" / "data").is_dir():
            return folder / "shared" / "data"
    return None


def _config(group: Group, also_copy: list[str]) -> str:
    def toml_list(values) -> str:
        return "[" + ", ".join(json.dumps(v) for v in values) + "]"

    return "\n".join(
        [
            "[tool.mutmut]",
            'source_paths = ["factory"]',
            f"also_copy = {toml_list(also_copy)}",
            f"only_mutate = {toml_list(group.files)}",
            f"pytest_add_cli_args_test_selection = {toml_list(group.tests)}",
            'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-x", "-p", "no:timeout"]',
            # the suite's builds start datatrove subprocesses: give slow mutants room
            "timeout_multiplier = 5.0",
            "timeout_constant = 30.0",
            "use_git_change_detection = false",
            "",
        ]
    )


def _statuses(workdir: Path, group: Group) -> dict[str, int | None]:
    codes: dict[str, int | None] = {}
    for name in group.files:
        meta = workdir / "mutants" / (name + ".meta")
        if meta.is_file():
            codes.update(json.loads(meta.read_text())["exit_code_by_key"])
    return codes


def _show(workdir: Path, env: dict, mutant: str) -> str:
    shown = subprocess.run(
        [sys.executable, "-m", "mutmut", "show", mutant],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
    )
    return shown.stdout.strip()


def run_group(
    name: str, group: Group, max_children: int, keep: bool, sample: int | None = None
) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix=f"{name.replace('/', '-')}-", dir=_scratch_root()))
    _scratch_copy(workdir)
    pyproject = workdir / "pyproject.toml"
    # tests run inside mutants/: they need the recipes, cards and test helpers beside the code
    also_copy = sorted(p.name for p in workdir.iterdir() if p.name not in ("factory", "mutants"))
    pyproject.write_text(pyproject.read_text() + "\n" + _config(group, also_copy))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MUTANT_UNDER_TEST")}
    shared = _shared_data()
    if shared is not None:
        env["FACTORY_SHARED_DATA"] = str(shared)
    start = time.perf_counter()
    mutmut_run = [sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children)]
    names: list[str] = []
    if sample:
        # generate the mutants (and the test map) without running any, then run a seeded sample
        subprocess.run([*mutmut_run, "no-such-mutant"], cwd=workdir, env=env, capture_output=True)
        every = sorted(_statuses(workdir, group))
        names = random.Random(17).sample(every, min(sample, len(every)))
    proc = subprocess.run(
        [*mutmut_run, *names], cwd=workdir, env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    codes = _statuses(workdir, group)
    if names:
        codes = {m: codes[m] for m in names}
    killed = {m for m, c in codes.items() if c in (1, 3, 36, 24, -24, 152, 255)}
    survived = sorted(m for m, c in codes.items() if c == 0)
    other = sorted(m for m in codes if m not in killed and m not in survived)
    diffs = {m: _show(workdir, env, m) for m in survived}
    judged = {m: why for m in survived if (why := equivalence(m, diffs[m]))}
    result = {
        "module": name,
        "mutants": len(codes),
        "killed": len(killed),
        "survived": survived,
        "equivalent": judged,
        "not_run": other,
        "seconds": round(seconds, 1),
        "diffs": diffs,
        "log": proc.stdout[-3000:] + proc.stderr[-3000:] if not codes or proc.returncode else "",
    }
    if not keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        result["workdir"] = str(workdir)
    return result


def ratio(result: dict, without_equivalent: bool) -> float:
    """Killed over all mutants: one that no test reached counts as surviving."""
    total = result["mutants"]
    if without_equivalent:
        total -= len(result["equivalent"])
    return result["killed"] / total if total else 0.0


def write_report(results: list[dict], path: Path) -> None:
    lines = ["# Surviving mutants", ""]
    for result in results:
        lines.append(f"## {result['module']}")
        for mutant in result["survived"]:
            why = result["equivalent"].get(mutant, "NOT JUDGED EQUIVALENT: a missing test")
            lines += [f"### {mutant}", f"{why}", "", "```diff", result["diffs"][mutant], "```", ""]
        if result["not_run"]:
            lines.append(f"not run (no covering test, skipped or suspicious): {result['not_run']}")
        lines.append("")
    path.write_text("\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("groups", nargs="*", help=f"default: all of {', '.join(GROUPS)}")
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument("--report", type=Path, default=Path("mutation-survivors.md"))
    parser.add_argument("--keep", action="store_true", help="keep the scratch copies")
    parser.add_argument(
        "--sample", type=int, help="run a seeded sample of this many mutants per module group"
    )
    parser.add_argument(
        "--planted", action="store_true", help="only check that each planted bug fails a test"
    )
    args = parser.parse_args()
    if args.planted:
        caught = 0
        for name, bug in PLANTED.items():
            ok = run_planted(name, bug)
            caught += ok
            print(
                f"{'caught' if ok else 'MISSED':6s}  {name}  ({', '.join(bug.tests)})", flush=True
            )
        print(f"planted bugs caught: {caught}/{len(PLANTED)}")
        return 0 if caught == len(PLANTED) else 1
    names = args.groups or list(GROUPS)
    unknown = [n for n in names if n not in GROUPS]
    if unknown:
        parser.error(f"unknown module group(s) {unknown} (allowed: {', '.join(GROUPS)})")
    results = []
    for name in names:
        result = run_group(name, GROUPS[name], args.max_children, args.keep, args.sample)
        results.append(result)
        sampled = f" (sample of {args.sample})" if args.sample else ""
        print(
            f"{name + sampled:14s} mutants {result['mutants']:4d}  killed {result['killed']:4d}  "
            f"survived {len(result['survived']):3d} (equivalent {len(result['equivalent'])})  "
            f"not run {len(result['not_run']):3d}  kill ratio {ratio(result, False):6.1%}  "
            f"without equivalent {ratio(result, True):6.1%}  "
            f"vs goal {GOAL:.0%}: x{ratio(result, True) / GOAL:.2f}  ({result['seconds']:.0f}s)",
            flush=True,
        )
        if result["log"]:
            print(result["log"], file=sys.stderr)
        write_report(results, args.report)
    print(f"survivors with diffs: {args.report}")
    return 0 if all(ratio(r, True) >= GOAL for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
