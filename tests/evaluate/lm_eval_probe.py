"""Load generated task YAMLs with lm-eval's own TaskManager; run with a python that has lm_eval.

usage: python lm_eval_probe.py OUT_DIR SUITE TASK[,TASK] [EXISTING_TASK,...]; prints one `LMEVAL_REPORT {json}` line.
"""

import json
import sys
import time

t = time.time()
from lm_eval.tasks import TaskManager  # noqa: E402  (timed: the import is most of the cost)

out_dir, suite = sys.argv[1], sys.argv[2]
tasks = sys.argv[3].split(",")
existing = sys.argv[4].split(",") if len(sys.argv) > 4 and sys.argv[4] else []
tm = TaskManager(include_path=out_dir)
report = {
    "groups_has_suite": suite in tm.all_groups,
    "existing_known": {n: n in tm.all_tasks or n in tm.all_groups for n in existing},
}
loaded = tm.load_task_or_group(tasks)
for name, task in loaded.items():
    docs = list(task.test_docs())
    fewshot = task.fewshot_docs()
    report[name] = {
        "rows": len(docs),
        "text": task.doc_to_text(docs[0]),
        "target": task.doc_to_target(docs[0]),
        "version": task.config.metadata.get("version"),
        "dataset_revision": task.config.metadata.get("dataset_revision"),
        "fewshot_rows": len(fewshot) if fewshot is not None else None,
        "choices": task.doc_to_choice(docs[0])
        if task.config.output_type == "multiple_choice"
        else None,
    }
report["seconds"] = round(time.time() - t, 1)
print("LMEVAL_REPORT " + json.dumps(report, ensure_ascii=False))
