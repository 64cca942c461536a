"""Time bare ``model.predict_proba`` on the rows the predict step scored (a benchmark helper).

    python bench/bare_scoring.py <published model dir> <predict set dir>

Loads ``model.joblib`` out of the published ``model.tar.gz`` and the model inputs out of
PreprocessPredict's ``predict.parquet``, then times ``predict_proba`` alone (the median of
a few calls) and prints ``{"rows": ..., "seconds": ...}``. No checks, no files written:
the floor for scoring those rows with that model.
"""

from __future__ import annotations

import io
import json
import statistics
import sys
import tarfile
import time
from pathlib import Path

import joblib
import pandas as pd

REPEATS = 3


def load_model(published: Path):
    with tarfile.open(published / "model.tar.gz", mode="r:gz") as archive:
        return joblib.load(io.BytesIO(archive.extractfile("model.joblib").read()))


def main() -> int:
    published, predict_set = Path(sys.argv[1]), Path(sys.argv[2])
    model = load_model(published)
    inputs = pd.read_parquet(predict_set / "predict.parquet", columns=list(model.feature_names_in_))
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        model.predict_proba(inputs)
        times.append(time.perf_counter() - started)
    print(json.dumps({"rows": len(inputs), "seconds": statistics.median(times), "all_seconds": times}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
