"""Drafting the data contract from a file: the guesses, the errors, and a pipeline run on the drafted contract.

The files are made from data sets scikit-learn ships (tumours, wines, diabetes progression),
with the messy column names, text column and missing values real exports have.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn import datasets

from {{ cookiecutter.package_name }} import contract as data_contract
from {{ cookiecutter.package_name }} import contract_draft, readme_request

PROJECT_DIR = Path(__file__).resolve().parents[1]
PACKAGE = contract_draft.__name__.split(".")[0]
LABELS = {"binary": "Diagnosis", "multiclass": "Cultivar", "regression": "Progression"}
LOADERS = {
    "binary": datasets.load_breast_cancer,
    "multiclass": datasets.load_wine,
    "regression": datasets.load_diabetes,
}


def messy_frame(task: str) -> pd.DataFrame:
    data = LOADERS[task](as_frame=True)
    frame = data.data.iloc[:, :6].copy()
    # Names as exports spell them: spaces, units in brackets, dots.
    frame.columns = [f"{c.title()} (Unit {i})" if i % 2 else c.replace(" ", ".") for i, c in enumerate(frame.columns)]
    rng = np.random.default_rng(0)
    frame.insert(0, "Record ID", [f"R-{n:05d}" for n in range(len(frame))])
    frame["Site"] = rng.choice(["North", "south", "EAST"], size=len(frame))
    frame["Visit Date"] = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 300, len(frame)), unit="D")
    frame["Visit Date"] = frame["Visit Date"].dt.strftime("%Y-%m-%d")
    for column in frame.columns[2:4]:
        frame.loc[rng.random(len(frame)) < 0.05, column] = np.nan
    if task == "binary":
        frame[LABELS[task]] = np.where(data.target == 1, "Benign", "Malignant")
    elif task == "multiclass":
        frame[LABELS[task]] = data.target
    else:
        frame[LABELS[task]] = data.target.astype(float)
    return frame


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("files")
    paths = {}
    for task in LABELS:
        paths[task] = directory / f"{task} export.csv"
        messy_frame(task).to_csv(paths[task], index=False)
    return paths


def draft_file(path: Path, tmp_path: Path, *options: str) -> tuple[int, Path]:
    output = tmp_path / "drafted.yaml"
    code = contract_draft.main([str(path), "--output", str(output), *options])
    return code, output


@pytest.mark.parametrize("task", list(LABELS))
def test_the_draft_loads_and_guesses_the_task_id_types_and_label(files, tmp_path, task, capsys):
    code, output = draft_file(files[task], tmp_path, "--label", LABELS[task])
    assert code == 0
    contract = data_contract.load_file(output)

    assert contract.task == task
    assert contract.id_column == "record_id"
    assert contract.main.name == f"{task}_export"
    columns = {column.safe_name: column for column in contract.main.columns}
    assert columns["record_id"].nullable is False
    assert columns["visit_date"].type == "date"
    assert columns["site"].values == ("east", "north", "south")
    assert columns["site"].case == "lower"
    numeric = [name for name, column in columns.items() if column.is_numeric and name != contract.label.column]
    assert len(numeric) == 6
    # Only the two columns given gaps may be missing.
    assert sorted(name for name in numeric if columns[name].nullable) == sorted(numeric[1:3])
    assert set(contract.feature_names) == set(numeric) | {"site"}
    printed = capsys.readouterr().out
    for column in contract.main.columns:
        assert column.name in printed
        assert column.safe_name in printed


def test_ranges_hold_every_observed_value_with_a_margin(files, tmp_path):
    frame = messy_frame("binary")
    _, output = draft_file(files["binary"], tmp_path, "--label", "Diagnosis")
    contract = data_contract.load_file(output)
    for column in contract.main.columns:
        if not column.is_numeric:
            continue
        observed = frame[column.name].dropna()
        assert column.min <= observed.min()
        assert column.max > observed.max()
        assert column.min >= 0  # nothing observed was negative
        assert column.on_violation == "null"
    dates = contract.main.column("visit_date")
    assert dates.min < frame["Visit Date"].min()
    assert dates.max > frame["Visit Date"].max()


def test_a_binary_label_gets_its_classes_and_a_positive_class(files, tmp_path):
    _, output = draft_file(files["binary"], tmp_path, "--label", "Diagnosis")
    contract = data_contract.load_file(output)
    assert contract.label.classes == ("benign", "malignant")
    assert contract.label.positive_class == "malignant"  # the rarer class: no name says positive


def test_a_positive_name_wins_over_the_rarer_class(tmp_path):
    path = tmp_path / "answers.csv"
    pd.DataFrame({"ref": range(40), "x": range(40), "Answer": ["yes"] * 30 + ["no"] * 10}).to_csv(path, index=False)
    _, output = draft_file(path, tmp_path, "--label", "Answer")
    assert data_contract.load_file(output).label.positive_class == "yes"


def test_a_whole_number_label_with_few_values_is_classes_of_that_type(files, tmp_path):
    _, output = draft_file(files["multiclass"], tmp_path, "--label", "Cultivar")
    contract = data_contract.load_file(output)
    assert contract.label.classes == (0, 1, 2)
    assert contract.label_column.type == "integer"


def test_a_given_task_wins_over_the_guess(files, tmp_path):
    _, output = draft_file(files["multiclass"], tmp_path, "--label", "Cultivar", "--task", "regression")
    assert data_contract.load_file(output).task == "regression"


def test_text_with_leading_zeros_and_huge_numbers_are_not_integers(tmp_path):
    path = tmp_path / "codes.csv"
    frame = pd.DataFrame(
        {
            "Account No": [f"{n:03d}" for n in range(30)],
            "Big": [str(10**12 + n) for n in range(30)],
            "Flag": [1, 0] * 15,
        }
    )
    frame.to_csv(path, index=False)
    _, output = draft_file(path, tmp_path, "--label", "Flag")
    columns = {c.safe_name: c for c in data_contract.load_file(output).main.columns}
    assert columns["account_no"].type == "string"
    assert columns["big"].type == "double"
    assert data_contract.load_file(output).id_column == "account_no"


def test_a_parquet_file_gives_the_same_guesses_as_its_csv(files, tmp_path):
    frame = messy_frame("binary").assign(**{"Visit Date": lambda f: pd.to_datetime(f["Visit Date"]).dt.date})
    parquet = tmp_path / "binary export.parquet"
    frame.to_parquet(parquet, index=False)
    _, from_csv = draft_file(files["binary"], tmp_path / "csv", "--label", "Diagnosis")
    _, from_parquet = draft_file(parquet, tmp_path / "parquet", "--label", "Diagnosis")

    csv_contract, parquet_contract = data_contract.load_file(from_csv), data_contract.load_file(from_parquet)
    assert parquet_contract.main.format == "parquet"
    assert parquet_contract.main.columns == csv_contract.main.columns
    assert parquet_contract.label == csv_contract.label


# ---------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--label", "Outcome"], "LABEL='Outcome' is not a column of the file; its columns: Record ID,"),
        (["--label", "Diagnosis", "--task", "regression"], "a regression label must be a number; found e.g."),
        (["--label", "Diagnosis", "--task", "multiclass"], "a multiclass label has three classes or more, found 2"),
        (["--label", "Site", "--task", "binary"], "a binary label has two classes, found 3; give TASK=multiclass"),
        (["--label", "Visit Date"], "holds dates: a label is a class or a number"),
        (["--label", "Diagnosis", "--id", "Site"], "ID='Site': "),
    ],
)
def test_a_wrong_option_is_one_error_line_and_writes_nothing(files, tmp_path, options, message, capsys):
    code, output = draft_file(files["binary"], tmp_path, *options)
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ERROR: ")]
    assert code == 1
    assert len(errors) == 1
    assert message in errors[0]
    assert not output.exists()


def test_without_an_id_the_error_asks_for_one(tmp_path, capsys):
    path = tmp_path / "no id.csv"
    messy_frame("regression").drop(columns=["Record ID"]).to_csv(path, index=False)
    code, output = draft_file(path, tmp_path, "--label", "Progression")
    assert code == 1
    error = capsys.readouterr().err
    assert "no id column found: no unique, never-missing column is named like an id; give ID=column" in error
    assert not output.exists()


def test_an_id_can_be_named_when_its_name_does_not_say_so(tmp_path):
    path = tmp_path / "named.csv"
    frame = messy_frame("regression").rename(columns={"Record ID": "Patient"})
    frame.to_csv(path, index=False)
    code, output = draft_file(path, tmp_path, "--label", "Progression", "--id", "Patient")
    assert code == 0
    assert data_contract.load_file(output).id_column == "patient"


def test_an_existing_file_is_kept_unless_forced(files, tmp_path, capsys):
    output = tmp_path / "drafted.yaml"
    output.write_text("# my own edits\n", encoding="utf-8")

    assert contract_draft.main([str(files["binary"]), "--label", "Diagnosis", "--output", str(output)]) == 1
    assert "FORCE=1 replaces it" in capsys.readouterr().err
    assert output.read_text(encoding="utf-8") == "# my own edits\n"

    assert contract_draft.main([str(files["binary"]), "--label", "Diagnosis", "--output", str(output), "--force"]) == 0
    assert data_contract.load_file(output).task == "binary"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["drafted.yaml"]  # no temporary file left


def test_a_missing_file_is_named(tmp_path, capsys):
    code, _ = draft_file(tmp_path / "nothing.csv", tmp_path, "--label", "x")
    assert code == 1
    assert f"{tmp_path / 'nothing.csv'}: no such file" in capsys.readouterr().err


# ---------------------------------------------------------------------- the README's request example


def readme_example(readme: Path) -> dict:
    """The JSON body of the README's curl example."""
    block = readme_request.REQUEST_EXAMPLE.search(readme.read_text(encoding="utf-8")).group(0)
    return json.loads(re.search(r"--data '([^']*)'", block).group(1))


@pytest.fixture
def own_project(tmp_path, monkeypatch) -> tuple[Path, Path]:
    """A package directory whose contract the draft replaces, and a copy of the project's README."""
    package = tmp_path / "src" / PACKAGE
    package.mkdir(parents=True)
    monkeypatch.setattr(data_contract, "package_dir", lambda: package)
    readme = tmp_path / "README.md"
    shutil.copyfile(PROJECT_DIR / "README.md", readme)
    return package / data_contract.CONTRACT_FILE, readme


@pytest.mark.parametrize("task", list(LABELS))
def test_drafting_the_projects_contract_rewrites_the_readme_example_from_a_row(files, own_project, task, capsys):
    contract_file, readme = own_project
    before = readme.read_text(encoding="utf-8")
    assert contract_draft.main([str(files[task]), "--label", LABELS[task], "--readme", str(readme)]) == 0
    assert f"Rewrote the request example of {readme}" in capsys.readouterr().out

    drafted = data_contract.load_file(contract_file)
    body = readme_example(readme)
    assert list(body) == list(drafted.feature_names)
    row = pd.read_csv(files[task], float_precision="round_trip").dropna().iloc[0]
    columns = {column.safe_name: column for column in drafted.main.columns}
    assert body == {name: row[columns[name].name] for name in body}
    assert all(isinstance(body[name], float | int) for name in body if columns[name].is_numeric)
    # Only the example changed.
    after = readme.read_text(encoding="utf-8")
    outside = readme_request.REQUEST_EXAMPLE.sub("", before)
    assert readme_request.REQUEST_EXAMPLE.sub("", after) == outside
    assert readme_request.answer(drafted) in after


def test_a_draft_written_elsewhere_leaves_the_readme_alone(files, own_project, tmp_path):
    _, readme = own_project
    before = readme.read_text(encoding="utf-8")
    options = ["--label", "Diagnosis", "--readme", str(readme), "--output", str(tmp_path / "elsewhere.yaml")]
    assert contract_draft.main([str(files["binary"]), *options]) == 0
    assert readme.read_text(encoding="utf-8") == before


def test_a_readme_without_the_markers_is_left_as_it_was(files, own_project, capsys):
    _, readme = own_project
    readme.write_text("# My project\n\nOur own words.\n", encoding="utf-8")
    assert contract_draft.main([str(files["binary"]), "--label", "Diagnosis", "--readme", str(readme)]) == 0
    assert "has no request example between" in capsys.readouterr().out
    assert readme.read_text(encoding="utf-8") == "# My project\n\nOur own words.\n"


# ---------------------------------------------------------------------- a pipeline run on the draft


def project_copy(root: Path, contract_file: Path) -> Path:
    """The project's code with the drafted contract in place of its own.

    The quality gate is lowered: how well a model can learn these few columns is the data's
    business (the diabetes columns hold an R2 of about 0.3); that the pipeline runs on the
    draft is this test's.
    """
    project = root / "project"
    shutil.copytree(PROJECT_DIR / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(PROJECT_DIR / "production", project / "production", ignore=shutil.ignore_patterns("dist"))
    shutil.copyfile(contract_file, project / "src" / PACKAGE / data_contract.CONTRACT_FILE)
    base = project / "production" / "pipelines_code" / "config" / "base.yaml"
    settings = yaml.safe_load(base.read_text(encoding="utf-8"))
    settings["evaluation"][data_contract.load_file(contract_file).task]["threshold"] = 0.1
    base.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return project


def run_locally(project: Path, use_type: str, date: str, raw: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", f"{PACKAGE}.local_runner", "--use-type", use_type, "--execution-date", date]
    command += ["--work-dir", str(project / "build" / "local"), "--raw", str(raw)]
    environment = {**os.environ, "PYTHONPATH": str(project / "src")}
    return subprocess.run(command, cwd=project, env=environment, capture_output=True, text=True, check=False)


# Three whole local runs would cost minutes in every test run: the project's own task is run
# here, the template's tests run each task in a project of that task.
@pytest.mark.spark
@pytest.mark.parametrize("task", [data_contract.load().task])
def test_the_pipeline_trains_and_predicts_on_the_file_it_was_drafted_from(files, tmp_path, task):
    code, output = draft_file(files[task], tmp_path, "--label", LABELS[task])
    assert code == 0
    project = project_copy(tmp_path, output)
    original = files[task].read_bytes()
    new_rows = tmp_path / "new rows.csv"
    pd.read_csv(files[task]).drop(columns=[LABELS[task]]).head(50).to_csv(new_rows, index=False)

    train = run_locally(project, "train", "2024-06-01", files[task])
    assert train.returncode == 0, f"{train.stdout}\n{train.stderr}"
    predict = run_locally(project, "predict", "2024-06-02", new_rows)
    assert predict.returncode == 0, f"{predict.stdout}\n{predict.stderr}"

    predictions = pd.read_parquet(next((project / "build" / "local").rglob("predictions/2024-06-02")))
    assert sorted(predictions["record_id"]) == sorted(pd.read_csv(new_rows)["Record ID"])
    assert files[task].read_bytes() == original  # the run copied the file, and left it as it was
