"""The notebooks: committed without outputs, and they still run from top to bottom.

Each notebook runs headlessly in a fresh kernel on this interpreter, with ``src/`` on its
path (the project need not be pip-installed), on the small sample data it generates itself.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell

from {{ cookiecutter.package_name }} import quality_gate, schema
from {{ cookiecutter.package_name }}.config import load_config

ROOT = Path(__file__).resolve().parents[1]
EDA = ROOT / "exploratory" / "eda.ipynb"
EXPERIMENT = ROOT / "develop" / "experiment.ipynb"
NOTEBOOKS = sorted([*ROOT.glob("exploratory/**/*.ipynb"), *ROOT.glob("develop/**/*.ipynb")])
KERNEL = "project-python"


@pytest.fixture
def kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A Jupyter kernel of this interpreter that imports the project's package from src/."""
    spec_dir = tmp_path / "jupyter" / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "project (tests)",
        "language": "python",
        "env": {"PYTHONPATH": str(ROOT / "src")},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    # Searched before user and system kernels, so a personal "python3" kernel cannot interfere.
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return KERNEL


def execute(path: Path, kernel: str, probe: str = "") -> nbformat.NotebookNode:
    """Run every cell (plus ``probe``, appended as a last cell); a failing cell raises CellExecutionError."""
    notebook = nbformat.read(path, as_version=4)
    if probe:
        notebook.cells.append(new_code_cell(probe))
    client = NotebookClient(
        notebook, timeout=300, kernel_name=kernel, resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()
    return notebook


def outputs(notebook: nbformat.NotebookNode) -> list[dict]:
    return [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]


def figures(notebook: nbformat.NotebookNode) -> int:
    return sum("image/png" in output.get("data", {}) for output in outputs(notebook))


def printed(notebook: nbformat.NotebookNode) -> str:
    return "".join(output.get("text", "") for output in notebook.cells[-1].outputs if output.output_type == "stream")


def test_the_starting_notebooks_exist() -> None:
    assert EDA in NOTEBOOKS
    assert EXPERIMENT in NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    for number, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {number} has outputs: run `make lint` to strip them"
            assert cell.execution_count is None, f"{path.name} cell {number} has an execution count"


def test_eda_notebook_runs_and_draws(kernel: str) -> None:
    probe = (
        "import json\n"
        "print(json.dumps({'rows': len(features), 'sources': sorted(sources), "
        "'label': features[LABEL].astype(str).value_counts(normalize=True).to_dict()}))"
    )
    notebook = execute(EDA, kernel, probe=probe)
    assert figures(notebook) >= 4
    seen = json.loads(printed(notebook))
    contract = schema.contract()
    assert seen["rows"] > 1000
    assert seen["sources"] == sorted(source.name for source in contract.sources)
    shares = seen["label"]
    if contract.is_classification:
        # Every class of the label is there, none of them a rarity.
        declared = contract.label.classes or contract.label_column.values
        assert not declared or set(shares) == {str(value) for value in declared}
        assert len(shares) >= 2, shares
        assert min(shares.values()) > 0.02, shares
    else:
        assert len(shares) > 100, "a regression label of so few distinct values looks like classes"


def test_experiment_notebook_passes_the_quality_gate(kernel: str) -> None:
    gate = load_config("develop").evaluation
    probe = "import json\nprint(json.dumps({name: float(value) for name, value in pipeline_metrics.items()}))"
    notebook = execute(EXPERIMENT, kernel, probe=probe)
    metrics = json.loads(printed(notebook))
    assert quality_gate.passes(metrics[gate.metric], gate.threshold, gate.direction), (
        f"the pipeline's model scores {metrics} on the notebook's data; the gate is {gate.metric} "
        f"{gate.direction} {gate.threshold}"
    )
    assert figures(notebook) >= 2
