"""The data contract's loader: the project's file loads, and every mistake is one error naming its key."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml

from {{ cookiecutter.package_name }} import contract as data_contract
from {{ cookiecutter.package_name }}.contract import ContractError

BASE: dict[str, Any] = {
    "task": "binary",
    "id": "Row ID",
    "label": {"column": "Outcome", "positive_class": "yes"},
    "sources": [
        {
            "name": "main_table",
            "columns": [
                {"name": "Row ID", "type": "string", "nullable": False},
                {"name": "Amount (EUR)", "type": "double", "min": 0},
                {"name": "Group Key", "type": "string"},
                {"name": "Seen On", "type": "date"},
                {"name": "Outcome", "type": "string", "values": ["yes", "no"]},
            ],
        },
        {
            "name": "groups",
            "join": {"key": "group_key"},
            "columns": [{"name": "Group Key", "type": "string"}, {"name": "Size", "type": "integer"}],
        },
    ],
}


def changed(edit) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    edit(data)
    return data


def parse(data: Any) -> data_contract.Contract:
    return data_contract.parse(data, "contract.yaml")


def test_the_projects_contract_loads_and_its_checksum_is_of_the_file():
    path = data_contract.package_dir() / data_contract.CONTRACT_FILE
    loaded = data_contract.load_file(path)
    assert loaded.task in data_contract.TASKS
    assert loaded.label.column in {column.safe_name for column in loaded.main.columns}
    assert len(loaded.checksum) == 64
    assert data_contract.load() == loaded


def test_a_valid_contract_gets_safe_names_default_features_and_the_main_key():
    contract = parse(BASE)
    assert contract.id_column == "row_id"
    assert contract.main.primary_key == "row_id"
    assert [c.safe_name for c in contract.main.columns] == ["row_id", "amount_eur", "group_key", "seen_on", "outcome"]
    # Not the id, the label, the join key or a date.
    assert contract.feature_names == ("amount_eur", "size")
    assert contract.label.classes == ("yes", "no")


def test_the_shipped_json_loads_to_the_same_contract(tmp_path):
    path = tmp_path / "data_contract.yaml"
    path.write_text(yaml.safe_dump(BASE), encoding="utf-8")
    shipped = json.loads(data_contract.shipped_json(path))
    assert data_contract.parse(shipped["contract"], "shipped", shipped["checksum"]) == data_contract.load_file(path)


@pytest.mark.parametrize(
    ("edit", "key", "problem"),
    [
        (lambda d: d.update(target="x"), "target", "unknown key"),
        (lambda d: d.pop("task"), "task", "is required"),
        (lambda d: d.update(task="ranking"), "task", "'ranking' is not one of binary, multiclass, regression"),
        (lambda d: d["label"].pop("positive_class"), "label.positive_class", "is required for a binary task"),
        (lambda d: d["label"].update(positive_class="maybe"), "label.positive_class", "is not one of the classes"),
        (lambda d: d["label"].update(column="Nothing"), "label.column", "'Nothing' is not a column of main_table"),
        (lambda d: d.update(id="Outcome"), "label.column", "is the id column"),
        (lambda d: d.update(sources=[]), "sources", "expected a list of at least one source"),
        (lambda d: d["sources"][0].update(name="Main Table"), "sources[0].name", "must be lower-case letters"),
        (lambda d: d["sources"][0].update(format="xlsx"), "sources[0].format", "'xlsx' is not one of csv, parquet"),
        (lambda d: d["sources"][0].update(encoding="klingon"), "sources[0].encoding", "not an encoding Python knows"),
        (lambda d: d["sources"][0]["columns"][1].update(type="float"), "sources[0].columns[1].type", "'float'"),
        (lambda d: d["sources"][0]["columns"][1].update(min="low"), "sources[0].columns[1].min", "expected a number"),
        (lambda d: d["sources"][0]["columns"][1].update(max=-1), "sources[0].columns[1].min", "is above max -1"),
        (lambda d: d["sources"][0]["columns"][1].update(nullable="no"), "sources[0].columns[1].nullable", "true or"),
        (lambda d: d["sources"][0]["columns"][1].update(case="lower"), "sources[0].columns[1].case", "text columns"),
        (lambda d: d["sources"][0]["columns"][2].update(min=1), "sources[0].columns[2].min", "take values, not a"),
        (lambda d: d["sources"][0]["columns"][3].update(min="2024/01/01"), "sources[0].columns[3].min", "YYYY-MM-DD"),
        (lambda d: d["sources"][0]["columns"][1].update(on_violation="warn"), "columns[1].on_violation", "'warn'"),
        (lambda d: d["sources"][0]["columns"][1].update(colour="red"), "sources[0].columns[1].colour", "unknown key"),
        (
            lambda d: d["sources"][0]["columns"].append({"name": "Amount-EUR", "type": "double"}),
            "sources[0].columns",
            "safe name 'amount_eur' appears twice",
        ),
        (lambda d: d["sources"][0].update(join={"key": "row_id"}), "sources[0].join", "the first source"),
        (lambda d: d["sources"][1].pop("join"), "sources[1].join", "is required"),
        (lambda d: d["sources"][1]["join"].update(key="size"), "sources[1].join.key", "must be a column of"),
        (lambda d: d["sources"][1]["join"].update(how="outer"), "sources[1].join.how", "'outer' is not one of"),
        (lambda d: d["sources"][1]["join"].update(max_unmatched_share=2), "max_unmatched_share", "from 0 to 1"),
        (
            lambda d: d["sources"][1]["columns"].append({"name": "Amount (EUR)", "type": "double"}),
            "sources.groups.columns",
            "'amount_eur' is also a column of main_table",
        ),
        (lambda d: d["sources"][1].update(name="main_table"), "sources", "source name 'main_table' appears twice"),
        (lambda d: d["sources"][0].update(primary_key="Amount (EUR)"), "sources[0].primary_key", "must be the id"),
        (lambda d: d.update(features=[{"name": "seen_on"}]), "features[0].type", "a date is no model input"),
        (lambda d: d.update(features=[{"name": "ratio"}]), "features[0].expression", "is required"),
        (lambda d: d.update(features=[{"name": "r", "expression": "1"}]), "features[0].type", "is required"),
        (lambda d: d.update(features=[{"name": "Ratio", "type": "double"}]), "features[0].name", "must be lower"),
        (lambda d: d.update(features=[{"name": "size"}, {"name": "size"}]), "features", "feature 'size' appears twice"),
        (lambda d: d.update(features=[{"name": "row_id"}]), "features.row_id", "named like the id or the label"),
        (lambda d: d.update(features=[]), "features", "expected a list of at least one feature"),
        (lambda d: d.update(sample_generator=""), "sample_generator", "expected text"),
    ],
)
def test_each_mistake_names_the_file_and_the_key(edit, key, problem):
    with pytest.raises(ContractError) as error:
        parse(changed(edit))
    message = str(error.value)
    assert message.startswith("contract.yaml: "), message
    assert key in message, message
    assert problem in message, message


@pytest.mark.parametrize(
    ("task", "label", "key", "problem"),
    [
        ("regression", {"column": "Outcome"}, "label.column", "a regression label must be a number"),
        ("regression", {"column": "Amount (EUR)", "positive_class": 1}, "label.positive_class", "has no classes"),
        ("multiclass", {"column": "Outcome", "positive_class": "yes"}, "label.positive_class", "binary task only"),
        ("multiclass", {"column": "Outcome"}, "label.classes", "three classes or more"),
        ("binary", {"column": "Outcome", "positive_class": "a", "classes": ["a", "b", "c"]}, "label.classes", "two"),
    ],
)
def test_the_label_must_fit_the_task(task, label, key, problem):
    with pytest.raises(ContractError, match=rf"contract\.yaml: {key}: .*{problem}"):
        parse(changed(lambda d: d.update(task=task, label=label)))


def test_a_file_that_is_not_yaml_or_missing_is_named(tmp_path):
    broken = tmp_path / "data_contract.yaml"
    broken.write_text("task: [binary\n", encoding="utf-8")
    with pytest.raises(ContractError, match=rf"{broken}: not valid YAML"):
        data_contract.load_file(broken)
    with pytest.raises(ContractError, match=r"no data contract here; `make contract CSV=\.\.\. LABEL=\.\.\.`"):
        data_contract.load_file(tmp_path / "nothing.yaml")


def test_safe_names_are_lower_case_words_joined_by_underscores():
    assert data_contract.safe_name("Monthly Spend (EUR)") == "monthly_spend_eur"
    assert data_contract.safe_name(" Tenure.Months ") == "tenure_months"
    assert data_contract.safe_name("2nd Choice") == "c_2nd_choice"
    assert data_contract.safe_name("%%") == "column"
