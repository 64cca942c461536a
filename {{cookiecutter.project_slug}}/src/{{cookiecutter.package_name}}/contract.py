"""The data contract: what the project knows about its data, read from ``data_contract.yaml``.

Every step, test and doc page reads the contract instead of naming columns itself:

* **sources**: each raw table (name, CSV or Parquet, encoding, primary key, columns with
  type, nullability, allowed values or range, and what to do with a value that breaks a rule);
  the first source is the *main* one (one row per id); every other source names how it joins;
* **features**: the model's inputs, each a Spark SQL expression over the joined sources
  (a bare column name is the simplest expression), so the ETL needs no project-specific code;
* **id** and **label**, and the **task**: ``binary`` (with its positive class), ``multiclass``
  or ``regression``.

Files come as teams have them: a column is declared with the name its file uses
(``"Monthly Spend (EUR)"``) and every step refers to it by its *safe name* (``monthly_spend_eur``),
lower-case letters, digits and underscores, derived here (or set with ``safe_name``).
Expressions, the feature table and the model use safe names.

The shipped builds of the package (the Spark zip, the step sources) carry the contract as
``data_contract.json``, the validated form of the YAML file, because SageMaker's Spark image
has no YAML parser; the source tree holds the YAML file alone. Standard library only.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from {{ cookiecutter.package_name }}.errors import StepError

CONTRACT_FILE = "data_contract.yaml"
SHIPPED_CONTRACT_FILE = "data_contract.json"

Task = Literal["binary", "multiclass", "regression"]
ColumnType = Literal["string", "integer", "double", "date"]
TASKS: tuple[Task, ...] = ("binary", "multiclass", "regression")
COLUMN_TYPES: tuple[ColumnType, ...] = ("string", "integer", "double", "date")
FORMATS = ("csv", "parquet")
JOIN_KINDS = ("left", "inner")
# What a value breaking a column's rule (range, allowed values) becomes: the run stops,
# the value becomes missing, or its row is dropped. Each is logged with a count.
VIOLATION_POLICIES = ("fail", "null", "drop")
CASES = ("keep", "lower", "upper")
# Smallest number of rows of each class (classification) or in all (regression) that a
# stratified 80/20 split leaves in both parts and a model can learn from.
MIN_ROWS_PER_CLASS = 5
MIN_ROWS = 20


class ContractError(StepError):
    """The contract file itself is wrong: the message names the file and the key."""


@dataclass(frozen=True)
class Column:
    """A column of a raw source, or of a table a step writes."""

    name: str  # as the file spells it
    type: ColumnType
    description: str = ""
    safe_name: str = ""  # how every step refers to it; derived from ``name`` when not given
    nullable: bool = True
    values: tuple[Any, ...] = ()  # allowed values (after ``case``); empty: any value
    min: float | str | None = None  # inclusive; a date is written YYYY-MM-DD
    max: float | str | None = None
    on_violation: str = "fail"
    case: str = "keep"  # text only: compare categories in lower or upper case

    @property
    def is_numeric(self) -> bool:
        return self.type in ("integer", "double")


@dataclass(frozen=True)
class Join:
    """How a source joins the main source: ``key`` names a column (safe name) both hold.

    (Not ``on``: YAML 1.1 reads a bare ``on`` as the boolean true.)
    """

    key: str
    how: str = "left"
    # Rows of the main source whose (non-empty) key has no match in this source. Up to this
    # share they are kept (left) or dropped (inner) with a count in the log; above it the ETL fails.
    max_unmatched_share: float = 0.0


@dataclass(frozen=True)
class Source:
    name: str
    columns: tuple[Column, ...]
    format: str = "csv"
    encoding: str = "utf-8"
    primary_key: str | None = None  # safe name; a key in two different rows is an error
    join: Join | None = None  # None for the main source

    def column(self, safe_name: str) -> Column:
        return next(column for column in self.columns if column.safe_name == safe_name)

    def columns_for(self, use_type: str, label: str) -> tuple[Column, ...]:
        """The columns a file of this source holds: predict data has no label."""
        return tuple(c for c in self.columns if use_type == "train" or c.safe_name != label)


@dataclass(frozen=True)
class Feature:
    """A model input: a Spark SQL expression over safe column names, cast to ``type``."""

    name: str  # a safe name
    type: ColumnType
    expression: str
    description: str = ""
    # Outside this range the feature becomes missing (imputed by the transformer), with a count.
    min: float | None = None
    max: float | None = None

    @property
    def is_categorical(self) -> bool:
        return self.type == "string"


@dataclass(frozen=True)
class Label:
    column: str  # safe name, a column of the main source
    positive_class: Any = None  # binary only
    classes: tuple[Any, ...] = ()  # classification: the classes, when declared


@dataclass(frozen=True)
class Contract:
    task: Task
    id_column: str  # safe name of the main source's primary key
    label: Label
    sources: tuple[Source, ...]
    features: tuple[Feature, ...]
    description: str = ""
    # Module (dotted path) whose ``generate(contract, use_type, rows, seed)`` makes sample data
    # for this contract; None: the generic generator of sample_data.py.
    sample_generator: str | None = None
    checksum: str = field(default="", compare=False)

    # ------------------------------------------------------------------ derived views
    @property
    def main(self) -> Source:
        return self.sources[0]

    @property
    def is_classification(self) -> bool:
        return self.task != "regression"

    @property
    def label_column(self) -> Column:
        return self.main.column(self.label.column)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(feature.name for feature in self.features)

    @property
    def categorical_features(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features if f.is_categorical)

    @property
    def numeric_features(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features if not f.is_categorical)

    def source(self, name: str) -> Source:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(f"no source {name!r}; sources are {[s.name for s in self.sources]}")

    def feature_table_columns(self, use_type: str) -> tuple[Column, ...]:
        """The ETL's output: the id, the features, and the label when training."""
        id_column = self.main.column(self.id_column)
        features = tuple(Column(f.name, f.type, f.description, safe_name=f.name) for f in self.features)
        label = (self.label_column,) if use_type == "train" else ()
        return (id_column, *features, *label)


# ---------------------------------------------------------------------- safe names


def safe_name(name: str) -> str:
    """``"Monthly Spend (EUR)"`` -> ``monthly_spend_eur``; a leading digit gains ``c_``."""
    text = re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")
    if not text:
        return "column"
    return f"c_{text}" if text[0].isdigit() else text


# ---------------------------------------------------------------------- loading


def package_dir() -> Path:
    return Path(__file__).resolve().parent


@functools.cache
def load() -> Contract:
    """The project's contract: the YAML file of the source tree, or the JSON of a shipped build."""
    shipped = resources.files(__package__).joinpath(SHIPPED_CONTRACT_FILE)
    if shipped.is_file():
        data = json.loads(shipped.read_text(encoding="utf-8"))
        return parse(data["contract"], SHIPPED_CONTRACT_FILE, data["checksum"])
    return load_file(package_dir() / CONTRACT_FILE)


def read_yaml(path: Path) -> tuple[Any, str]:
    """The parsed YAML of a contract file and the checksum of its bytes."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ContractError(f"{path}: no data contract here; `make contract CSV=... LABEL=...` drafts one") from None
    import yaml  # only the source tree reads YAML; shipped builds read the JSON form

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ContractError(f"{path}: not valid YAML ({' '.join(str(error).split())})") from None
    return data, hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_file(path: Path) -> Contract:
    """A contract file, validated; any mistake is a ContractError naming the file and the key."""
    data, checksum = read_yaml(path)
    return parse(data, str(path), checksum)


def shipped_json(path: Path) -> str:
    """What a shipped build carries instead of the YAML file: its data, checked, and its checksum."""
    data, checksum = read_yaml(path)
    parse(data, str(path), checksum)
    return json.dumps({"checksum": checksum, "contract": data}, indent=2, sort_keys=True, default=str) + "\n"


def parse(data: Any, where: str, checksum: str = "") -> Contract:
    contract = _Reader(where).contract(data)
    return Contract(**{**contract.__dict__, "checksum": checksum})


class _Reader:
    """Turns the parsed YAML into a Contract, failing on the first wrong key with its path."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, key: str, problem: str) -> ContractError:
        return ContractError(f"{self.where}: {key}: {problem}")

    def mapping(self, value: Any, key: str, allowed: Iterable[str], required: Iterable[str] = ()) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a mapping, found {type(value).__name__}")
        allowed = tuple(allowed)
        for name in value:
            if name not in allowed:
                raise self.fail(f"{key}.{name}" if key else str(name), f"unknown key; allowed: {', '.join(allowed)}")
        for name in required:
            if name not in value or value[name] in (None, ""):
                raise self.fail(f"{key}.{name}" if key else name, "is required")
        return value

    def choice(self, value: Any, key: str, choices: tuple[str, ...]) -> str:
        if value not in choices:
            raise self.fail(key, f"{value!r} is not one of {', '.join(choices)}")
        return value

    def text(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"expected text, found {value!r}")
        return value

    def number(self, value: Any, key: str, column_type: str = "double") -> float | str | None:
        if value is None:
            return None
        if column_type == "date":
            text = str(value)
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                raise self.fail(key, f"{value!r} is not a date written YYYY-MM-DD")
            return text
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"expected a number, found {value!r}")
        return value

    # ------------------------------------------------------------------ parts
    def contract(self, data: Any) -> Contract:
        top = self.mapping(
            data,
            "",
            ("description", "task", "id", "label", "sources", "features", "sample_generator"),
            ("task", "id", "label", "sources"),
        )
        task = self.choice(top["task"], "task", TASKS)
        raw_sources = top["sources"]
        if not isinstance(raw_sources, list) or not raw_sources:
            raise self.fail("sources", "expected a list of at least one source")
        sources = tuple(self.source(item, f"sources[{i}]", main=i == 0) for i, item in enumerate(raw_sources))
        self.unique((s.name for s in sources), "sources", "source name")
        main = sources[0]
        id_column = self.reference(top["id"], "id", main)
        if main.primary_key is None:
            main = Source(**{**main.__dict__, "primary_key": id_column})
            sources = (main, *sources[1:])
        elif main.primary_key != id_column:
            raise self.fail("sources[0].primary_key", f"must be the id column {id_column!r}")
        label = self.label(top["label"], task, main)
        if label.column == id_column:
            raise self.fail("label.column", "is the id column")
        for i, source in enumerate(sources[1:], start=1):
            if source.join.key not in {c.safe_name for c in main.columns} or source.join.key not in {
                c.safe_name for c in source.columns
            }:
                raise self.fail(
                    f"sources[{i}].join.key", f"{source.join.key!r} must be a column of {main.name} and {source.name}"
                )
        self.no_shared_columns(sources)
        features = self.features(top.get("features"), sources, id_column, label.column)
        for feature in features:
            if feature.name in (id_column, label.column):
                raise self.fail(f"features.{feature.name}", "a feature cannot be named like the id or the label")
        generator = top.get("sample_generator")
        if generator is not None:
            generator = self.text(generator, "sample_generator")
        return Contract(
            task=task,
            id_column=id_column,
            label=label,
            sources=sources,
            features=features,
            description=str(top.get("description") or ""),
            sample_generator=generator,
        )

    def unique(self, names: Iterable[str], key: str, what: str) -> None:
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise self.fail(key, f"{what} {name!r} appears twice")
            seen.add(name)

    def source(self, data: Any, key: str, main: bool) -> Source:
        fields = ("name", "format", "encoding", "primary_key", "columns", "join", "description")
        item = self.mapping(data, key, fields, ("name", "columns"))
        name = self.text(item["name"], f"{key}.name")
        if safe_name(name) != name:
            raise self.fail(f"{key}.name", f"{name!r} must be lower-case letters, digits and _ (a folder name)")
        columns_data = item["columns"]
        if not isinstance(columns_data, list) or not columns_data:
            raise self.fail(f"{key}.columns", "expected a list of at least one column")
        columns = tuple(self.column(c, f"{key}.columns[{i}]") for i, c in enumerate(columns_data))
        self.unique((c.name for c in columns), f"{key}.columns", "column")
        self.unique((c.safe_name for c in columns), f"{key}.columns", "safe name")
        join = None
        if main:
            if "join" in item:
                raise self.fail(f"{key}.join", "the first source is the main one: it joins nothing")
        else:
            if "join" not in item:
                raise self.fail(f"{key}.join", "is required: how does this source join the first one?")
            join = self.join(item["join"], f"{key}.join")
        source = Source(
            name=name,
            columns=columns,
            format=self.choice(item.get("format", "csv"), f"{key}.format", FORMATS),
            encoding=self.encoding(item.get("encoding", "utf-8"), f"{key}.encoding"),
            join=join,
        )
        if "primary_key" in item and item["primary_key"] is not None:
            primary_key = self.reference(item["primary_key"], f"{key}.primary_key", source)
            source = Source(**{**source.__dict__, "primary_key": primary_key})
        return source

    def encoding(self, value: Any, key: str) -> str:
        import codecs

        try:
            return codecs.lookup(self.text(value, key)).name
        except LookupError:
            raise self.fail(key, f"{value!r} is not an encoding Python knows (e.g. utf-8, latin-1)") from None

    def column(self, data: Any, key: str) -> Column:
        fields = (
            "name",
            "safe_name",
            "type",
            "description",
            "nullable",
            "values",
            "min",
            "max",
            "on_violation",
            "case",
        )
        item = self.mapping(data, key, fields, ("name", "type"))
        name = str(item["name"])
        column_type = self.choice(item["type"], f"{key}.type", COLUMN_TYPES)
        safe = item.get("safe_name") or safe_name(name)
        if safe_name(safe) != safe:
            raise self.fail(f"{key}.safe_name", f"{safe!r} must be lower-case letters, digits and _")
        values = item.get("values") or ()
        if not isinstance(values, list | tuple):
            raise self.fail(f"{key}.values", "expected a list of allowed values")
        case = self.choice(item.get("case", "keep"), f"{key}.case", CASES)
        if case != "keep" and column_type != "string":
            raise self.fail(f"{key}.case", "applies to text columns only")
        minimum = self.number(item.get("min"), f"{key}.min", column_type)
        maximum = self.number(item.get("max"), f"{key}.max", column_type)
        if (minimum is not None or maximum is not None) and column_type == "string":
            raise self.fail(f"{key}.min", "text columns take values, not a range")
        if minimum is not None and maximum is not None and minimum > maximum:
            raise self.fail(f"{key}.min", f"{minimum} is above max {maximum}")
        nullable = item.get("nullable", True)
        if not isinstance(nullable, bool):
            raise self.fail(f"{key}.nullable", f"expected true or false, found {nullable!r}")
        return Column(
            name=name,
            type=column_type,
            description=str(item.get("description") or ""),
            safe_name=safe,
            nullable=nullable,
            values=tuple(values),
            min=minimum,
            max=maximum,
            on_violation=self.choice(item.get("on_violation", "fail"), f"{key}.on_violation", VIOLATION_POLICIES),
            case=case,
        )

    def join(self, data: Any, key: str) -> Join:
        item = self.mapping(data, key, ("key", "how", "max_unmatched_share"), ("key",))
        share = item.get("max_unmatched_share", 0.0)
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0.0 <= share <= 1.0:
            raise self.fail(f"{key}.max_unmatched_share", f"expected a share from 0 to 1, found {share!r}")
        return Join(
            key=safe_name(self.text(item["key"], f"{key}.key")),
            how=self.choice(item.get("how", "left"), f"{key}.how", JOIN_KINDS),
            max_unmatched_share=float(share),
        )

    def reference(self, value: Any, key: str, source: Source) -> str:
        """A column of ``source`` named by its file name or its safe name: its safe name."""
        text = self.text(value, key)
        for column in source.columns:
            if text in (column.name, column.safe_name):
                return column.safe_name
        raise self.fail(key, f"{text!r} is not a column of {source.name}")

    def label(self, data: Any, task: str, main: Source) -> Label:
        item = self.mapping(data, "label", ("column", "positive_class", "classes"), ("column",))
        column_name = self.reference(item["column"], "label.column", main)
        column = main.column(column_name)
        classes = tuple(item.get("classes") or column.values)
        positive = item.get("positive_class")
        if task == "regression":
            if not column.is_numeric:
                raise self.fail("label.column", f"a regression label must be a number; {column.name} is {column.type}")
            if positive is not None or classes:
                raise self.fail("label.positive_class", "a regression label has no classes")
        if task == "binary":
            if positive is None:
                raise self.fail("label.positive_class", "is required for a binary task (e.g. 1 or yes)")
            if classes and len(classes) != 2:
                raise self.fail("label.classes", f"a binary label has two classes, found {len(classes)}")
            if classes and positive not in classes:
                raise self.fail("label.positive_class", f"{positive!r} is not one of the classes {list(classes)}")
        if task == "multiclass":
            if positive is not None:
                raise self.fail("label.positive_class", "applies to the binary task only")
            if classes and len(classes) < 3:
                raise self.fail("label.classes", "a multiclass label has three classes or more (else use binary)")
        return Label(column=column_name, positive_class=positive, classes=classes)

    def no_shared_columns(self, sources: tuple[Source, ...]) -> None:
        """After the join every safe name is one column: only the join key may be in two sources."""
        owner: dict[str, str] = {}
        for source in sources:
            for column in source.columns:
                if column.safe_name in owner and (source.join is None or column.safe_name != source.join.key):
                    raise self.fail(
                        f"sources.{source.name}.columns",
                        f"{column.safe_name!r} is also a column of {owner[column.safe_name]}: give one a safe_name",
                    )
                owner.setdefault(column.safe_name, source.name)

    def features(self, data: Any, sources: tuple[Source, ...], id_column: str, label: str) -> tuple[Feature, ...]:
        if data is None:
            # Not declared: every column of every source, as it is, but the id, the label and the join keys.
            keys = {id_column, label, *(s.join.key for s in sources if s.join)}
            return tuple(
                Feature(c.safe_name, c.type, f"`{c.safe_name}`", c.description)
                for s in sources
                for c in s.columns
                # A date is no model input as it is: derive a number from it (e.g. month(...)).
                if c.safe_name not in keys and c.type != "date"
            )
        if not isinstance(data, list) or not data:
            raise self.fail("features", "expected a list of at least one feature (or leave the key out: all columns)")
        known = {c.safe_name: c for s in sources for c in s.columns}
        features = []
        for i, raw in enumerate(data):
            key = f"features[{i}]"
            item = self.mapping(raw, key, ("name", "type", "expression", "description", "min", "max"), ("name",))
            name = self.text(item["name"], f"{key}.name")
            if safe_name(name) != name:
                raise self.fail(f"{key}.name", f"{name!r} must be lower-case letters, digits and _")
            if "expression" not in item and name not in known:
                raise self.fail(f"{key}.expression", f"is required: {name!r} is not a column of the sources")
            column_type = item.get("type") or (known[name].type if name in known else None)
            if column_type is None:
                raise self.fail(f"{key}.type", "is required for a derived feature")
            if column_type == "date":
                raise self.fail(
                    f"{key}.type", "a date is no model input: derive a number, e.g. month(...) or datediff(...)"
                )
            features.append(
                Feature(
                    name=name,
                    type=self.choice(column_type, f"{key}.type", COLUMN_TYPES),
                    expression=self.text(item.get("expression", f"`{name}`"), f"{key}.expression"),
                    description=str(item.get("description") or (known[name].description if name in known else "")),
                    min=self.number(item.get("min"), f"{key}.min"),
                    max=self.number(item.get("max"), f"{key}.max"),
                )
            )
        self.unique((f.name for f in features), "features", "feature")
        return tuple(features)


def class_column(value: Any) -> str:
    """The predictions' column of one class's probability: ``probability_<safe class>``."""
    return f"probability_{safe_name(str(value))}"
