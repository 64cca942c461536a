"""Generated projects at work: their own test suites, and a table of someone else's.

1. The generated suite passes for the most different combination of each starter. The
   default project's suite runs in CI through gitlab-ci-local (tests/test_gitlab_ci.py);
   these cover the other end: other region and partition, no model registry, a proprietary
   license, automatic production deploys, punctuated names, and for the single-table
   starter another task. Each suite runs the way a user does after activating the
   project's virtualenv: `python -m pytest` in the project.
2. Bring your own data: a freshly rendered single-table project is handed a CSV made from a
   dataset scikit-learn ships, one per task, with the mess real exports have (spaces,
   capitals and dots in column names, a text column, missing values, text labels).
   `make contract` drafts the data contract from it, `make run-local` trains on it and
   scores the same rows without their label. The project of the most different
   single-table combination is one of them: its suite runs once, after its own table
   replaced the starter's, so it also shows that a project's own tests pass as they are
   against a drafted contract (`make test`, unedited).

Every generated project runs on the interpreter running these tests: `make test` runs
inside the template's build/venv, which holds every dependency a generated project pins,
installed once.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml
from sklearn import datasets

from combinations import MOST_DIFFERENT
from template import render

# Generous: the suite starts Spark and builds pipeline definitions; a hang must still end.
SUITE_TIMEOUT_SECONDS = 3600
STEP_TIMEOUT_SECONDS = 1800
PREDICT_DATE = "2026-01-15"
ID_COLUMN = "Sample ID"
TEXT_COLUMN = "Site Region"
TEXT_VALUES = ("North", "South", "East", "West")
# Rows whose values of the first two features and of the text column are left empty.
MISSING_ROWS = (3, 17, 42, 101)


def activated_venv_environment(project_python: str) -> dict[str, str]:
    """This process's environment as an activated virtualenv would set it, minus pytest's own variables."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    environment["PATH"] = os.pathsep.join([str(Path(project_python).parent), environment.get("PATH", "")])
    return environment


def run_in(project: Path, command: list[str], project_python: str, timeout: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=project,
        env=activated_venv_environment(project_python),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def outcome(project: Path, command: list[str], result: subprocess.CompletedProcess[str]) -> str:
    return (
        f"{project.name}: {' '.join(command)} exited {result.returncode}\n"
        f"{result.stdout[-8000:]}\n{result.stderr[-4000:]}"
    )


# The most different single-table project runs its suite on an own table (below), once.
SINGLE_TABLE = next(combination for combination in MOST_DIFFERENT if combination.values["starter"] == "single-table")
RENDERED_AS_IS = [combination for combination in MOST_DIFFERENT if combination is not SINGLE_TABLE]


@pytest.mark.generated_suite
@pytest.mark.parametrize("combination", [pytest.param(c, id=c.id) for c in RENDERED_AS_IS])
def test_most_different_project_passes_its_own_tests(combination, tmp_path, cookiecutter_config, project_python):
    project = render(tmp_path, combination.overrides, cookiecutter_config)
    command = [project_python, "-m", "pytest", "-q"]
    result = run_in(project, command, project_python, SUITE_TIMEOUT_SECONDS)
    assert result.returncode == 0, outcome(project, command, result)


# ------------------------------------------------------------------ bring your own data


@dataclass(frozen=True)
class OwnTable:
    """A scikit-learn dataset as a team's export: what to call its label and its classes."""

    load: Callable[..., object]
    label: str
    classes: tuple[str, ...] = ()  # the text each class code becomes; empty for regression


OWN_TABLES = {
    "binary": OwnTable(datasets.load_breast_cancer, "Tumour Diagnosis", ("Malignant", "Benign")),
    "multiclass": OwnTable(datasets.load_wine, "Grape Cultivar", ("Barolo", "Grignolino", "Barbera")),
    "regression": OwnTable(datasets.load_diabetes, "Disease Progression"),
}
# What predict writes beside the id, the model version and the execution date, per task.
PREDICTION_VALUES = {
    "binary": {"probability", "predicted_class"},
    "multiclass": {"probability_barolo", "probability_grignolino", "probability_barbera", "predicted_class"},
    "regression": {"prediction"},
}
PREDICTION_KEYS = {"sample_id", "model_version", "execution_date"}


def snake_case(name: str) -> str:
    """How the project spells a column of a file in its own tables (the contract's safe name)."""
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def messy(index: int, name: str) -> str:
    """A column name as spreadsheets spell them: capitals, spaces, every other one dotted, some with a unit."""
    words = name.replace("_", " ").title()
    if index % 2:
        words = words.replace(" ", ".")
    return f"{words} (Raw)" if index % 3 == 0 else words


def own_table(table: OwnTable) -> pd.DataFrame:
    """The dataset with an id, messy names, a text column, a few holes and a text label."""
    bunch = table.load(as_frame=True)
    features = bunch.data.rename(columns={name: messy(i, name) for i, name in enumerate(bunch.data.columns)})
    frame = pd.DataFrame({ID_COLUMN: [f"S-{row:05d}" for row in range(len(features))]})
    frame = pd.concat([frame, features.reset_index(drop=True)], axis=1)
    frame[TEXT_COLUMN] = [TEXT_VALUES[row % len(TEXT_VALUES)] for row in range(len(frame))]
    for column in (*features.columns[:2], TEXT_COLUMN):
        frame.loc[list(MISSING_ROWS), column] = None
    target = bunch.target.reset_index(drop=True)
    frame[table.label] = target.map(dict(enumerate(table.classes))) if table.classes else target
    return frame


@dataclass
class OwnDataRun:
    project: Path
    table: OwnTable
    predict_rows: pd.DataFrame
    steps: dict[str, tuple[list[str], subprocess.CompletedProcess[str]]]


def own_data_commands(task: str, table: OwnTable, train_csv: Path, predict_csv: Path, python: str) -> dict:
    """What a user types, in order: draft the contract, train on the table, score the rows to score."""
    interpreter = f"PYTHON={python}"
    # A fresh render is not under git yet: FORCE=1 lets the draft replace the starter contract.
    contract = [f"CSV={train_csv}", f"LABEL={table.label}", f"TASK={task}", f"ID={ID_COLUMN}", "FORCE=1"]
    return {
        "contract": ["make", "contract", *contract, interpreter],
        "train": ["make", "run-local", "USE_TYPE=train", f"RAW={train_csv}", interpreter],
        "predict": ["make", "run-local", "USE_TYPE=predict", f"RAW={predict_csv}", f"DATE={PREDICT_DATE}", interpreter],
    }


@pytest.fixture(scope="module")
def own_data_run(tmp_path_factory, cookiecutter_config, project_python) -> Callable[[str], OwnDataRun]:
    """Per task, once: render a single-table project, hand it a table, draft its contract, train, predict.

    The steps stop at the first failure; the tests report which step failed and its output.
    """
    runs: dict[str, OwnDataRun] = {}

    def run(task: str) -> OwnDataRun:
        if task in runs:
            return runs[task]
        root = tmp_path_factory.mktemp(f"own-{task}")
        answers = SINGLE_TABLE.overrides if task == SINGLE_TABLE.values["task"] else {"starter": "single-table"}
        project = render(root, {**answers, "task": task}, cookiecutter_config)
        table = OWN_TABLES[task]
        frame = own_table(table)
        train_csv, predict_csv = root / "own_table.csv", root / "own_table_to_score.csv"
        frame.to_csv(train_csv, index=False)
        predict_rows = frame.drop(columns=[table.label])
        predict_rows.to_csv(predict_csv, index=False)
        steps = {}
        for name, command in own_data_commands(task, table, train_csv, predict_csv, project_python).items():
            steps[name] = (command, run_in(project, command, project_python, STEP_TIMEOUT_SECONDS))
            if steps[name][1].returncode != 0:
                break
        runs[task] = OwnDataRun(project, table, predict_rows, steps)
        return runs[task]

    return run


def assert_steps_passed(run: OwnDataRun, *names: str) -> None:
    for name in names:
        assert name in run.steps, f"make {name} did not run: an earlier step failed"
        command, result = run.steps[name]
        assert result.returncode == 0, outcome(run.project, command, result)


def drafted_contract(project: Path) -> dict:
    (contract_file,) = project.glob("src/*/data_contract.yaml")
    return yaml.safe_load(contract_file.read_text(encoding="utf-8"))


def predictions_of(project: Path) -> pd.DataFrame:
    """The predictions the local predict run wrote for PREDICT_DATE, wherever the S3 mirror keeps them."""
    found = [path for path in (project / "build").rglob(f"predictions/{PREDICT_DATE}") if path.is_dir()]
    assert len(found) == 1, f"expected one predictions/{PREDICT_DATE} folder under build/, found {found}"
    return pd.read_parquet(found[0])


@pytest.mark.generated_suite
@pytest.mark.parametrize("task", list(OWN_TABLES))
def test_make_contract_drafts_the_contract_of_an_own_table(own_data_run, task) -> None:
    run = own_data_run(task)
    assert_steps_passed(run, "contract")
    contract = drafted_contract(run.project)
    assert contract["task"] == task
    # A column may be referred to by the name its file uses or by its safe name.
    assert contract["label"]["column"] in (run.table.label, snake_case(run.table.label))
    assert contract["id"] in (ID_COLUMN, snake_case(ID_COLUMN))
    (source,) = contract["sources"]
    declared = {column["name"] for column in source["columns"]}
    assert declared == set(run.predict_rows.columns) | {run.table.label}


@pytest.mark.generated_suite
@pytest.mark.parametrize("task", list(OWN_TABLES))
def test_an_own_table_trains_and_every_row_is_scored(own_data_run, task) -> None:
    run = own_data_run(task)
    assert_steps_passed(run, "contract", "train", "predict")
    predictions = predictions_of(run.project)

    assert set(predictions.columns) == PREDICTION_KEYS | PREDICTION_VALUES[task]
    assert sorted(predictions[snake_case(ID_COLUMN)]) == sorted(run.predict_rows[ID_COLUMN])
    assert (predictions["execution_date"].astype(str) == PREDICT_DATE).all()
    if task == "regression":
        assert predictions["prediction"].map(math.isfinite).all()
        assert predictions["prediction"].nunique() > 1
    else:
        # The drafted contract may compare text in lower case: a class is the same in any case.
        # Both datasets separate their classes well, so every class is predicted for some row.
        predicted = {str(value).lower() for value in predictions["predicted_class"]}
        assert predicted == {label.lower() for label in run.table.classes}
        probabilities = predictions[sorted(PREDICTION_VALUES[task] - {"predicted_class"})]
        assert ((probabilities >= 0) & (probabilities <= 1)).all().all()
    if task == "multiclass":
        assert all(math.isclose(total, 1.0, abs_tol=1e-6) for total in probabilities.sum(axis=1))


@pytest.mark.generated_suite
def test_the_most_different_single_table_project_passes_its_own_tests_unedited_on_an_own_table(
    own_data_run, project_python
) -> None:
    run = own_data_run(SINGLE_TABLE.values["task"])
    assert_steps_passed(run, "contract", "train", "predict")
    command = ["make", "test", f"PYTHON={project_python}"]
    result = run_in(run.project, command, project_python, SUITE_TIMEOUT_SECONDS)
    assert result.returncode == 0, outcome(run.project, command, result)
