"""Draft the data contract from a real file, and show what was guessed.

    make contract CSV=path/to/data.csv LABEL="Churned" [TASK=binary|multiclass|regression] [ID=column]
        [OUT=path] [FORCE=1]

    python -m {{ cookiecutter.package_name }}.contract_draft path/to/data.csv --label Churned

Reads the file (CSV or Parquet) and guesses, per column: its type (integer, double, date
or string, from the text of every value), whether it may be missing (any value is), its
categories (text with at most DISTINCT_CATEGORIES distinct values, fewer than half the
rows) and its observed range (numbers and dates, widened: see RANGE_NOTE). The id column
is the given one, or the unique, never-missing column whose name looks like an id. The
task, unless given: a text label or a whole-number label with few distinct values is a
classification (binary with two classes, else multiclass), any other number a regression;
a binary label's positive class is the one named like 1, yes, true or positive, else the
rarer one.

The draft is checked as every step checks the contract before it is written (to the
project's ``data_contract.yaml`` unless ``--output`` says otherwise), all at once. An
existing file is only replaced with ``--force``, or when git holds it unchanged (then
``git diff`` shows what the draft changed). Review the draft: the guesses are a start.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from {{ cookiecutter.package_name }} import contract as data_contract
from {{ cookiecutter.package_name }} import readme_request
from {{ cookiecutter.package_name }}.contract import ContractError, safe_name
from {{ cookiecutter.package_name }}.errors import StepError
from {{ cookiecutter.package_name }}.files import write_text_atomically

DISTINCT_CATEGORIES = 20  # at most this many distinct values...
CATEGORY_SHARE = 0.5  # ...and fewer than this share of the rows: a list of categories
LABEL_CLASSES = 20  # a whole-number label with at most this many distinct values has classes
RANGE_MARGIN = 0.1  # observed ranges are widened by this share of their width on each side
DATE_MARGIN_DAYS = 366  # and dates by at least this
INT32_MAX = 2**31 - 1  # Spark's INT
POSITIVE_NAMES = ("1", "yes", "y", "true", "t", "positive", "pos")
ID_NAME = re.compile(r"(^|_)(id|key|ref|reference|uuid|guid|number|no)$|id$")
INTEGER_TEXT = re.compile(r"[+-]?\d+")
DOUBLE_TEXT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(nan|inf|infinity)", re.IGNORECASE)
DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")
RANGE_NOTE = (
    "Ranges (min/max) are the values seen in the file, widened by "
    f"{RANGE_MARGIN:.0%} of their width on each side (dates by at least {DATE_MARGIN_DAYS} days; never below 0 "
    "when nothing was). A value outside them, or outside a list of values, becomes missing (on_violation: null) "
    "and is counted in the ETL's log, so that new data a little outside what this file holds is not refused. "
    "Set on_violation: fail where a value out of range means broken data."
)


@dataclass(frozen=True)
class Guess:
    """What the file says about one column."""

    name: str
    safe_name: str
    type: str
    nullable: bool
    values: tuple[Any, ...] = ()
    min: Any = None
    max: Any = None
    distinct: int = 0

    def shown_rule(self) -> str:
        if self.values:
            return ", ".join(str(value) for value in self.values)
        if self.min is not None or self.max is not None:
            return f"{self.min} to {self.max}"
        return ""


@dataclass(frozen=True)
class Draft:
    source: str
    format: str
    encoding: str
    rows: int
    columns: tuple[Guess, ...]
    id_column: Guess
    label: Guess
    task: str
    positive_class: Any = None
    class_counts: tuple[tuple[Any, int], ...] = ()  # classification: rows of each class
    example: dict[str, Any] | None = None  # one row's model inputs by safe name, for the README


# ---------------------------------------------------------------------- reading


def read_file(path: Path, encoding: str) -> tuple[pd.DataFrame, str]:
    """Every column as text (what a CSV file holds), and the file's format."""
    if not path.is_file():
        raise StepError(f"{path}: no such file; give CSV=path/to/your.csv (or a .parquet file)")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        return typed_parquet_as_text(table.to_pandas()), "parquet"
    if suffix != ".csv":
        raise StepError(f"{path}: not a .csv or .parquet file; the ETL reads those two formats")
    try:
        frame = pd.read_csv(path, dtype=str, encoding=encoding, skipinitialspace=True)
    except UnicodeDecodeError as error:
        raise StepError(
            f"{path}: not {encoding} text ({error.reason} at byte {error.start}); give its encoding (ENCODING=latin-1)"
        ) from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as error:
        raise StepError(f"{path}: not a readable CSV file ({' '.join(str(error).split())})") from None
    return frame.apply(lambda column: column.str.strip().replace("", None)), "csv"


def typed_parquet_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Parquet columns as the text a CSV file would hold: dates as YYYY-MM-DD, whole floats as floats."""
    converted = {}
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_datetime64_any_dtype(column):
            converted[name] = column.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_float_dtype(column):
            converted[name] = column.map(lambda value: None if pd.isna(value) else repr(float(value)))
        elif len(column.dropna()) and isinstance(column.dropna().iloc[0], datetime.date):
            converted[name] = column.map(lambda value: None if pd.isna(value) else value.isoformat())
        else:
            converted[name] = column.map(lambda value: None if pd.isna(value) else str(value))
    return pd.DataFrame(converted, columns=frame.columns)


# ---------------------------------------------------------------------- guessing


def column_type(values: pd.Series) -> str:
    """The type every present value fits, from the text: integer, double, date, else string."""
    present = values.dropna()
    if present.empty:
        return "string"
    if present.str.fullmatch(INTEGER_TEXT.pattern).all():
        # Leading zeros (postcodes, account codes) are text; so are numbers too large for Spark's INT.
        if present.str.fullmatch(r"[+-]?0\d+").any():
            return "string"
        return "integer" if present.astype("int64").abs().max() <= INT32_MAX else "double"
    if present.str.fullmatch(DOUBLE_TEXT.pattern).all():
        return "double"
    if present.str.fullmatch(DATE_TEXT.pattern).all() and pd.to_datetime(present, errors="coerce").notna().all():
        return "date"
    return "string"


def guess_column(name: str, values: pd.Series, safe: str, categories: bool = True) -> Guess:
    kind = column_type(values)
    present = values.dropna()
    nullable = bool(values.isna().any())
    distinct = int(present.nunique())
    if kind == "string":
        lowered = present.str.lower()
        few = lowered.nunique() <= DISTINCT_CATEGORIES and lowered.nunique() < CATEGORY_SHARE * max(len(present), 1)
        listed = tuple(sorted(lowered.unique())) if categories and few else ()
        return Guess(name, safe, kind, nullable, listed, distinct=distinct)
    if kind == "date":
        low, high = widened_dates(pd.to_datetime(present))
        return Guess(name, safe, kind, nullable, min=low, max=high, distinct=distinct)
    numbers = present.astype(float)
    low, high = widened_numbers(numbers.min(), numbers.max(), kind)
    return Guess(name, safe, kind, nullable, min=low, max=high, distinct=distinct)


def widened_numbers(low: float, high: float, kind: str) -> tuple[float | int, float | int]:
    margin = RANGE_MARGIN * (high - low) or RANGE_MARGIN * abs(high) or 1.0
    wide_low = max(0.0, low - margin) if low >= 0 else low - margin
    wide_high = high + margin
    if kind == "integer":
        return math.floor(wide_low), math.ceil(wide_high)
    digits = max(0, 2 - math.floor(math.log10(margin))) if margin > 0 else 2
    return math.floor(wide_low * 10**digits) / 10**digits, math.ceil(wide_high * 10**digits) / 10**digits


def widened_dates(dates: pd.Series) -> tuple[str, str]:
    low, high = dates.min(), dates.max()
    margin = max(pd.Timedelta(days=DATE_MARGIN_DAYS), (high - low) * RANGE_MARGIN)
    return (low - margin).strftime("%Y-%m-%d"), (high + margin).strftime("%Y-%m-%d")


def safe_names(names: list[str]) -> list[str]:
    """Each column's safe name; a second column with the same one gets ``_2`` (and so on)."""
    seen: dict[str, int] = {}
    result = []
    for name in names:
        base = safe_name(name)
        seen[base] = seen.get(base, 0) + 1
        result.append(base if seen[base] == 1 else f"{base}_{seen[base]}")
    return result


def find_column(frame: pd.DataFrame, wanted: str, option: str) -> str:
    """The file's name of a column given by its name or its safe name."""
    for name in frame.columns:
        if wanted in (name, safe_name(name)):
            return name
    columns = ", ".join(map(str, frame.columns))
    raise StepError(f"{option}={wanted!r} is not a column of the file; its columns: {columns}")


def id_column(frame: pd.DataFrame, given: str | None, label: str) -> str:
    if given:
        name = find_column(frame, given, "ID")
        values = frame[name]
        if values.isna().any() or not values.is_unique:
            missing, repeated = int(values.isna().sum()), int(values.duplicated().sum())
            problem = f"{missing} missing" if missing else f"{repeated} repeated"
            raise StepError(f"ID={name!r}: {problem} value(s); an id names one row each; give another ID=column")
        return name
    unique = [name for name in frame.columns if name != label and frame[name].notna().all() and frame[name].is_unique]
    named = [name for name in unique if ID_NAME.search(safe_name(name))]
    if named:
        return named[0]
    hint = f" (unique columns: {', '.join(unique)})" if unique else "; the file has no unique column: add one"
    raise StepError(f"no id column found: no unique, never-missing column is named like an id; give ID=column{hint}")


def guess_task(label: Guess, given: str | None) -> str:
    if given:
        return given
    if label.type == "string":
        return "binary" if label.distinct == 2 else "multiclass"
    if label.type == "integer" and label.distinct <= LABEL_CLASSES:
        return "binary" if label.distinct == 2 else "multiclass"
    return "regression"


def label_guess(name: str, values: pd.Series, safe: str, task_given: str | None) -> tuple[Guess, str]:
    """The label's column and the task; a classification label lists its classes as values."""
    guess = guess_column(name, values, safe, categories=False)
    if guess.type == "date":
        raise StepError(f"LABEL={name!r} holds dates: a label is a class or a number")
    task = guess_task(guess, task_given)
    present = values.dropna()
    if task == "regression":
        if guess.type not in ("integer", "double"):
            raise StepError(f"LABEL={name!r}: a regression label must be a number; found e.g. {present.iloc[0]!r}")
        return guess, task
    classes = sorted(present.str.lower().unique()) if guess.type == "string" else sorted(present.astype(float).unique())
    if guess.type != "string":
        classes = [int(value) if float(value).is_integer() else value for value in classes]
    if len(classes) < 2:
        raise StepError(f"LABEL={name!r} holds one class only ({classes[0]!r}): a model needs two or more")
    if task == "binary" and len(classes) != 2:
        raise StepError(f"LABEL={name!r}: a binary label has two classes, found {len(classes)}; give TASK=multiclass")
    if task == "multiclass" and len(classes) < 3:
        raise StepError(f"LABEL={name!r}: a multiclass label has three classes or more, found 2; give TASK=binary")
    label = Guess(name, safe, guess.type, guess.nullable, tuple(classes), distinct=len(classes))
    return label, task


def class_counts(label: Guess, values: pd.Series) -> tuple[tuple[Any, int], ...]:
    """Rows of each class, in the order of the label's values."""
    present = values.dropna()
    classes = present.str.lower() if label.type == "string" else present.astype(float).astype(int)
    counts = classes.value_counts()
    return tuple((value, int(counts.get(value, 0))) for value in label.values)


def positive_class(label: Guess, values: pd.Series) -> Any:
    """The class named like a positive answer, else the rarer one (the later one of a tie)."""
    for value in label.values:
        if str(value).lower() in POSITIVE_NAMES:
            return value
    counts = class_counts(label, values)
    return min(reversed(counts), key=lambda item: item[1])[0]


def draft(
    path: Path, label: str, task: str | None = None, id_name: str | None = None, encoding: str = "utf-8"
) -> Draft:
    frame, file_format = read_file(path, encoding)
    if frame.empty:
        raise StepError(f"{path}: no rows; a contract is drafted from data")
    label_name = find_column(frame, label, "LABEL")
    identifier = id_column(frame, id_name, label_name)
    safe = dict(zip(frame.columns, safe_names(list(frame.columns)), strict=True))
    columns = []
    for name in frame.columns:
        if name == label_name:
            label_column, task = label_guess(name, frame[name], safe[name], task)
            columns.append(label_column)
        elif name == identifier:
            kind = column_type(frame[name])
            columns.append(Guess(name, safe[name], "string" if kind in ("date", "double") else kind, False))
        else:
            columns.append(guess_column(name, frame[name], safe[name]))
    by_name = {guess.name: guess for guess in columns}
    positive = positive_class(by_name[label_name], frame[label_name]) if task == "binary" else None
    counts = class_counts(by_name[label_name], frame[label_name]) if task != "regression" else ()
    return Draft(
        source=safe_name(path.stem),
        format=file_format,
        encoding=encoding,
        rows=len(frame),
        columns=tuple(columns),
        id_column=by_name[identifier],
        label=by_name[label_name],
        task=task,
        positive_class=positive,
        class_counts=counts,
        example=example_row(frame, columns, (identifier, label_name)),
    )


def example_row(frame: pd.DataFrame, columns: list[Guess], not_inputs: tuple[str, ...]) -> dict[str, Any] | None:
    """The model inputs of the first row that has them all (and no quote), typed as the contract says."""
    inputs = [guess for guess in columns if guess.name not in not_inputs and guess.type != "date"]
    typed = {"integer": int, "double": float, "string": str}
    for _, row in frame[[guess.name for guess in inputs]].iterrows():
        if row.notna().all() and not any("'" in str(value) for value in row):
            return {guess.safe_name: typed[guess.type](row[guess.name]) for guess in inputs}
    return None


# ---------------------------------------------------------------------- writing


def scalar(value: Any) -> str:
    """A YAML flow scalar: JSON's spelling is valid YAML, and quotes every text (``"yes"`` stays text)."""
    return json.dumps(value, ensure_ascii=False)


def column_yaml(guess: Guess, draft: Draft) -> str:
    fields = {"name": guess.name, "type": guess.type}
    if guess.safe_name != safe_name(guess.name):
        fields["safe_name"] = guess.safe_name
    fields["nullable"] = guess.nullable
    if guess.values:
        fields["values"] = list(guess.values)
        if guess.type == "string":
            fields["case"] = "lower"
    if guess.min is not None:
        fields["min"], fields["max"] = guess.min, guess.max
    if guess is not draft.id_column and (guess.values or guess.min is not None):
        fields["on_violation"] = "null"
    role = {draft.id_column.name: "the id", draft.label.name: "the label (training data only)"}.get(guess.name)
    if role is None and guess.type == "date":
        role = "a date: no model input as it is; derive a number in features"
    if role:
        fields["description"] = role.capitalize()
    return "      - {" + ", ".join(f"{key}: {scalar(value)}" for key, value in fields.items()) + "}"


def contract_yaml(draft: Draft, path: Path) -> str:
    label_lines = [f"  column: {scalar(draft.label.name)}"]
    if draft.task == "binary":
        label_lines.append(f"  positive_class: {scalar(draft.positive_class)}")
    header = [
        f"# The data contract, drafted by `make contract` from {path.name} ({draft.rows} rows). Review it:",
        "# every line below is a guess from that file. docs/bring_your_own_data.md tells the whole story.",
        "#",
        *wrapped(RANGE_NOTE),
        "#",
        "# Text columns with few distinct values list them (values) and compare them in lower case.",
        "# No `features` key: every column but the id, the label and the dates is a model input, as it is.",
        '# List them to derive new ones, e.g. {name: month, type: integer, expression: "month(`some_date`)"}.',
    ]
    lines = [
        *header,
        f"description: {scalar(f'Drafted from {path.name}; describe the data and what the model predicts.')}",
        f"task: {draft.task}",
        f"id: {scalar(draft.id_column.name)}",
        "label:",
        *label_lines,
        "",
        "sources:",
        f"  - name: {draft.source}",
        f"    format: {draft.format}",
        f"    encoding: {draft.encoding}",
        "    columns:",
        *(column_yaml(guess, draft) for guess in draft.columns),
    ]
    return "\n".join(lines) + "\n"


def wrapped(text: str, width: int = 96) -> list[str]:
    lines, line = [], "#"
    for word in text.split():
        if len(line) + 1 + len(word) > width:
            lines.append(line)
            line = "#"
        line += f" {word}"
    return [*lines, line]


def checked(text: str, path: Path) -> data_contract.Contract:
    """The draft as every step will read it; a ContractError here is a bug of the drafting."""
    import yaml

    return data_contract.parse(yaml.safe_load(text), str(path))


def safe_to_replace(path: Path) -> bool:
    """Whether git holds ``path`` exactly as it is, so that replacing it loses nothing."""
    try:
        tracked = subprocess.run(
            ["git", "ls-files", "--error-unmatch", path.name], cwd=path.parent, capture_output=True, check=False
        )
        unchanged = subprocess.run(
            ["git", "diff", "--quiet", "HEAD", "--", path.name], cwd=path.parent, capture_output=True, check=False
        )
    except OSError:
        return False
    return tracked.returncode == 0 and unchanged.returncode == 0


def summary(draft: Draft, output: Path) -> str:
    rows = [("column", "safe name", "type", "nullable", "values / range", "role")]
    for guess in draft.columns:
        role = {draft.id_column.name: "id", draft.label.name: "label"}.get(guess.name)
        role = role or ("(date: not an input)" if guess.type == "date" else "feature")
        nullable = "yes" if guess.nullable else "no"
        rows.append((guess.name, guess.safe_name, guess.type, nullable, guess.shown_rule(), role))
    widths = [min(40, max(len(row[i]) for row in rows)) for i in range(len(rows[0]))]
    table = ["  " + "  ".join(cell[:40].ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    task = draft.task + (f", positive class {draft.positive_class!r}" if draft.task == "binary" else "")
    lines = [
        f"Drafted {output} from {draft.rows} rows: source {draft.source} ({draft.format}), task {task}, "
        f"id {draft.id_column.name!r}, label {draft.label.name!r}",
        *table,
        *warnings(draft),
        "Review the file, then run: make run-local USE_TYPE=train RAW=<your file>",
    ]
    return "\n".join(lines)


def warnings(draft: Draft) -> list[str]:
    """What the contract allows but a training run on this file would refuse."""
    found = []
    if draft.rows < data_contract.MIN_ROWS:
        found.append(f"warning: {draft.rows} rows; a training run needs at least {data_contract.MIN_ROWS}")
    # The test part of a stratified 80/20 split holds a fifth of each class.
    needed = 5 * data_contract.MIN_ROWS_PER_CLASS
    found += [
        f"warning: class {value!r} has {count} rows; a training run needs about {needed} of each class, "
        f"so that the 80/20 split leaves {data_contract.MIN_ROWS_PER_CLASS} of it in the test part"
        for value, count in draft.class_counts
        if count < needed
    ]
    return found


# ---------------------------------------------------------------------- command line


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m {{ cookiecutter.package_name }}.contract_draft",
        description="Draft the data contract from a CSV or Parquet file and print what was guessed.",
    )
    parser.add_argument("file", type=Path, help="a CSV or Parquet file of your data, with its label")
    parser.add_argument("--label", required=True, help="the column the model predicts (its name in the file)")
    parser.add_argument("--task", choices=data_contract.TASKS, help="default: guessed from the label's values")
    parser.add_argument("--id", dest="id_name", help="the column naming each row (default: guessed)")
    parser.add_argument("--encoding", default="utf-8", help="of a CSV file (default: utf-8)")
    parser.add_argument(
        "--output", type=Path, default=data_contract.package_dir() / data_contract.CONTRACT_FILE, help="the YAML file"
    )
    parser.add_argument("--force", action="store_true", help="replace the output file even if git does not hold it")
    parser.add_argument(
        "--readme",
        type=Path,
        default=data_contract.package_dir().parents[1] / "README.md",
        help="whose request example is rewritten from a row of the file, when the draft is the project's contract",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        drafted = draft(args.file, args.label, args.task, args.id_name, args.encoding)
        text = contract_yaml(drafted, args.file)
        checked(text, args.output)
        if args.output.exists() and not args.force and not safe_to_replace(args.output):
            raise StepError(
                f"{args.output} exists and git does not hold it as it is; FORCE=1 replaces it, OUT=path writes apart"
            )
        write_text_atomically(text, args.output)
    except (StepError, ContractError) as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    print(summary(drafted, args.output))
    if is_projects_contract(args.output) and drafted.example is not None:
        print(readme_request.refresh(args.readme, checked(text, args.output), drafted.example))
    return 0


def is_projects_contract(path: Path) -> bool:
    """Whether ``path`` is the contract every step reads (OUT=elsewhere leaves the README alone)."""
    return path.resolve() == (data_contract.package_dir() / data_contract.CONTRACT_FILE).resolve()


if __name__ == "__main__":
    sys.exit(main())
