"""`factory eval report`: lm-eval results files -> tables; newest result wins, metric per task, copies, NaN."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.helpers import one_error_line, run_cli

from factory.errors import InputError
from factory.evaluate import report
from factory.train.specfile import read_spec

REPO = Path(__file__).resolve().parents[2]
SPEC = """\
name: tiny-report
metrics:
  default: ["acc,none", "exact_match,strict_match"]
  tasks:
    mgsm_native_cot_eu: ["exact_match,flexible-extract"]
tables:
  - {name: eu, title: Basque, file: table-eu, tasks: [arc_eu, mgsm_native_cot_eu, eus_exams_eu]}
  - {name: en, title: English, file: table-en, tasks: [arc]}
categories:
  knowledge: [arc_eu, eus_exams_eu, arc]
  math: [mgsm_native_cot_eu]
rows:
  - {label: "BASE", latex: 'B\\textsubscript{\\,EN}', results: org__base}
  - {label: "API", results: api-model}
  - {label: "BASE I_{EN}", copy_of: "BASE"}
"""


def results_file(folder: Path, stamp: str, results: dict, versions: dict | None = None) -> Path:
    """A results file as lm-eval writes it: <output_path>/<model>/results_<start time>.json."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"results_{stamp}.json"
    body = {
        "results": {t: {"alias": t, **m} for t, m in results.items()},
        "versions": versions or {t: 1.0 for t in results},
        "n-shot": {t: 5 for t in results},
        "date": 0,
    }
    path.write_text(json.dumps(body))
    return path


@pytest.fixture
def results(tmp_path) -> Path:
    root = tmp_path / "results"
    base, api = root / "org__base", root / "api-model"
    # an older run of arc_eu that a newer file replaces: the newer value must win
    results_file(
        base, "2024-10-18T10-00-00.000001", {"arc_eu": {"acc,none": 0.10, "acc_norm,none": 0.9}}
    )
    results_file(
        base, "2024-10-19T09-00-00.000001", {"arc_eu": {"acc,none": 0.4321, "acc_norm,none": 0.5}}
    )
    results_file(
        base,
        "2024-10-18T11-00-00.000001",
        {
            "mgsm_native_cot_eu": {
                "exact_match,strict-match": 0.1,
                "exact_match,flexible-extract": 0.264,
            },
            "eus_exams_eu": {"acc,none": 0.5},
            "arc": {"acc,none": 0.75},
        },
    )
    # the API model: scored by generation (exact_match), and one task with no metric at all
    results_file(
        api,
        "2025-05-09T18-18-49.859573",
        {
            "arc_eu": {"exact_match,strict_match": 0.9},
            "eus_exams_eu": {},
            "mgsm_native_cot_eu": {
                "exact_match,flexible-extract": 0.8,
                "exact_match,strict-match": 0.7,
            },
        },
    )
    (api / "results_broken.json").write_text("{not json")
    return root


def spec_file(tmp_path, text=SPEC) -> Path:
    path = tmp_path / "tables.yaml"
    path.write_text(text)
    return path


def test_tables_newest_result_metric_choice_copies_and_missing(tmp_path, results):
    spec = read_spec(spec_file(tmp_path), report.TableSpec, "table spec")
    collected = report.collect([results])
    assert collected.skipped == [
        {"file": "api-model/results_broken.json", "reason": collected.skipped[0]["reason"]}
    ]
    assert collected.skipped[0]["reason"].startswith("unreadable JSON")
    eu, en = report.build(spec, collected)
    assert report.to_latex(eu) == (
        "\\begin{tabular}{lrrrr}\n\\toprule\n"
        "task & arc_eu & mgsm_native_cot_eu & eus_exams_eu & mean \\\\\n\\midrule\n"
        "B\\textsubscript{\\,EN} & 43.21 & 26.40 & 50.00 & 39.87 \\\\\n"
        "API & 90.00 & 80.00 & NaN & 85.00 \\\\\n"
        "BASE I_{EN} & 43.21 & 26.40 & 50.00 & 39.87 \\\\\n"
        "\\bottomrule\n\\end{tabular}\n"
    )
    assert report.to_markdown(en).splitlines()[2:] == [
        "| BASE | 75.00 | 75.00 |",
        "| API | – | – |",
        "| BASE I_{EN} (= BASE) | 75.00 | 75.00 |",
    ]
    assert report.to_csv(eu).splitlines()[2] == "API,api-model,,90.00,80.00,,85.00"
    rows = report.to_json(eu)["rows"]
    assert rows[0]["metrics"] == {
        "arc_eu": "acc,none",
        "mgsm_native_cot_eu": "exact_match,flexible-extract",
        "eus_exams_eu": "acc,none",
    }
    assert rows[1]["values"]["eus_exams_eu"] is None and rows[2]["copy_of"] == "BASE"
    categories = report.category_table(spec, eu)
    assert categories.columns == ["knowledge", "math", "mean"]
    assert [round(v, 4) for v in categories.values(categories.rows[0])] == [46.605, 26.4, 36.5025]


def test_mean_uses_unrounded_values(tmp_path):
    root = tmp_path / "r"
    results_file(
        root / "m",
        "2024-01-01T00-00-00.0",
        {"a": {"acc,none": 0.00004}, "b": {"acc,none": 0.00004}, "c": {"acc,none": 0.00004}},
    )
    spec = report.TableSpec(
        name="x", tables=[report.TableDef(name="t", file="t", tasks=["a", "b", "c"])]
    )
    [table] = report.build(spec, report.collect([root]))
    # each cell rounds to 0.00, their mean (0.004) too; a mean of rounded cells could not tell
    assert report.to_latex(table).splitlines()[4] == "m & 0.00 & 0.00 & 0.00 & 0.00 \\\\"
    assert table.rows[0]["mean"] == pytest.approx(0.004)


def test_rows_naming_absent_folders_and_bad_specs(tmp_path, results):
    spec = read_spec(
        spec_file(tmp_path, SPEC.replace("org__base", "org__typo")), report.TableSpec, "t"
    )
    with pytest.raises(
        InputError, match=r"no input has: org__typo \(found: api-model, org__base\)"
    ):
        report.build(spec, report.collect([results]))
    bad = SPEC.replace('copy_of: "BASE"', 'copy_of: "NOPE"')
    with pytest.raises(Exception, match="copy_of 'NOPE' is not a row"):
        read_spec(spec_file(tmp_path, bad), report.TableSpec, "table spec")


def test_cli_writes_every_format_lineage_and_publishes(tmp_path, results, factory_home):
    out = tmp_path / "tables"
    done = run_cli(
        "eval",
        "report",
        str(results),
        "--spec",
        str(spec_file(tmp_path)),
        "--out",
        str(out),
        "--publish",
        "latxa/tiny-tables@v1",
        home=factory_home,
    )
    assert done.returncode == 0, done.stderr
    assert "skipped api-model/results_broken.json: unreadable JSON" in done.stdout
    names = sorted(p.name for p in out.iterdir())
    for stem in ("table-eu", "table-en", "table-eu-categories", "table-en-categories"):
        assert {f"{stem}.{ext}" for ext in ("md", "csv", "json", "tex")} <= set(names)
    lineage = json.loads((out / "lineage.json").read_text())
    arc = next(c for c in lineage["cells"] if (c["results"], c["task"]) == ("org__base", "arc_eu"))
    assert arc["file"] == "org__base/results_2024-10-19T09-00-00.000001.json"
    assert len(lineage["inputs"]) == 4 and all(len(i["sha256"]) == 64 for i in lineage["inputs"])
    from factory.store.git import GitStore

    folder = GitStore().snapshot("latxa/tiny-tables", GitStore().resolve("latxa/tiny-tables", "v1"))
    assert (folder / "tables" / "table-eu.tex").read_text() == (out / "table-eu.tex").read_text()
    assert "lm-evaluation-harness" in (folder / "README.md").read_text()


def test_cli_user_errors_are_one_line(tmp_path, factory_home):
    line = one_error_line(run_cli("eval", "report", str(tmp_path / "absent"), home=factory_home))
    assert (
        line
        == f"error: results path {tmp_path / 'absent'} does not exist (give lm-eval results files or folders)"
    )
    (tmp_path / "empty").mkdir()
    assert "no lm-eval results files" in one_error_line(
        run_cli("eval", "report", str(tmp_path / "empty"), home=factory_home)
    )


def test_paper_tables_from_the_real_results(shared_data):
    """Every cell of benchmark-full-{eu,en,es}.tex, to two decimals, and the .tex files byte for byte."""
    folder = shared_data / "latxa-instruct-eval"
    if not folder.is_dir():
        pytest.skip("latxa-instruct-eval is not in the shared data")
    spec = read_spec(REPO / "eval" / "latxa_instruct_tables.yaml", report.TableSpec, "table spec")
    tables = report.build(spec, report.collect([folder / "results"]))
    cells = 0
    for table in tables:
        expected = json.loads((folder / "tables" / f"expected_{table.name}.json").read_text())
        assert table.columns == expected["columns"]
        assert [r["label"] for r in table.rows] == expected["row_order"]
        for row in table.rows:
            for column, value in zip(table.columns, table.values(row)):
                want = expected["rows"][row["label"]][column]
                want = "NaN" if want is None or want != want else f"{want:.2f}"
                assert report.fmt(value, "NaN") == want, (table.name, row["label"], column)
                cells += 1
        tex = (folder / "tables" / f"benchmark-full-{table.name}.tex").read_text()
        assert report.to_latex(table) == tex
    assert cells == 840
