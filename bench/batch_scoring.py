"""Benchmark 5: predict.py's throughput against bare ``model.predict_proba`` on the same rows.

Ours: the Predict step of the local pipeline's largest predict run (benchmark 2), as the
runner timed it: a fresh Python process that loads and checks the published model, reads
the prepared rows, scores them and writes the predictions. The baseline: the same model's
``predict_proba`` on the same rows, timed alone (``bare_scoring.py``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from local_pipeline import PipelineRuns
from measure import run
from project import EXECUTION_DATE
from results import Figure

BARE_SCORING = Path(__file__).resolve().parent / "bare_scoring.py"


def measure(runs: PipelineRuns, logs: Path) -> tuple[list[Figure], dict]:
    published = runs.output_root / "models" / "latest"
    predict_set = runs.output_root / "preprocess" / "predict" / EXECUTION_DATE
    bare = run([sys.executable, str(BARE_SCORING), str(published), str(predict_set)], logs / "bare-scoring.log")
    baseline = json.loads(bare.output().strip().splitlines()[-1])
    rows, step_seconds = baseline["rows"], runs.predict.steps["Predict"].seconds
    figure = Figure(
        "5 batch scoring",
        f"predict.py step, {rows:,} rows",
        rows / step_seconds,
        "bare model.predict_proba, same rows",
        rows / baseline["seconds"],
        "rows/s",
    )
    return [figure], {"rows": rows, "predict_step_seconds": step_seconds, "predict_proba_seconds": baseline}
