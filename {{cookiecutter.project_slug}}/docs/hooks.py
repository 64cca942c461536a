"""MkDocs hook: writes the pipeline reference and the data contract pages at build time.

A page marks where generated text goes with an HTML comment on its own line. From
``pipeline_spec.py``:

- ``<!-- spec:diagram -->``    the diagram from the module docstring
- ``<!-- spec:parameters -->`` a table of the pipeline parameters
- ``<!-- spec:steps -->``      one section per step: inputs, outputs and the exact command

From ``data_contract.yaml`` (read afresh on every build, so ``mkdocs serve`` shows an edit):

- ``<!-- contract:summary -->``  task, id, label and what predictions hold
- ``<!-- contract:sources -->``  one table per source (its columns and their rules), and the joins
- ``<!-- contract:features -->`` a table of the model's inputs
- ``<!-- contract:minimum-rows -->`` the smallest training data the steps accept

Both are plain data (dataclasses only), so loading them needs no AWS and no Spark.

The home page includes README.md here rather than through pymdownx.snippets, to point the
README's links into ``docs/`` at the pages they name.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

PACKAGE = "{{ cookiecutter.package_name }}"
HOME_SNIPPET = '--8<-- "README.md"'  # docs/index.md: the home page is the README


def load_spec(project_root: Path) -> ModuleType:
    """Import ``src/<package>/pipeline_spec.py`` by path; the package need not be installed."""
    path = project_root / "src" / PACKAGE / "pipeline_spec.py"
    name = f"_docs_{PACKAGE}_pipeline_spec"
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise FileNotFoundError(f"{path}: cannot load the pipeline description")
    module = importlib.util.module_from_spec(module_spec)
    # dataclasses resolve annotations through sys.modules, so register before executing.
    sys.modules[name] = module
    module_spec.loader.exec_module(module)
    return module


def diagram(spec: ModuleType) -> str:
    """The indented block that follows the ``::`` line of the module docstring."""
    lines = spec.__doc__.splitlines()
    start = lines.index("::") + 1
    block: list[str] = []
    for line in lines[start:]:
        if line and not line.startswith(" "):
            break
        block.append(line)
    text = "\n".join(line[4:] for line in block).strip("\n")
    return f"```text\n{text}\n```"


def token(value: Any, spec: ModuleType) -> str:
    """How an argument or location reads in the docs: ``<Param>``, ``[setting]``, ``<execution id>``, paths.

    ``<date>`` is ExecutionDate as the ETL resolved it: the parameter, or the start day when it is empty.
    """
    if isinstance(value, spec.Param):
        return f"<{value.name}>"
    if isinstance(value, spec.Setting):
        return f"[{value.path}]"
    if isinstance(value, spec.ExecutionId):
        return "<execution id>"
    if isinstance(value, spec.ExecutionStart):
        return "<execution start>"
    if isinstance(value, spec.RunDate):
        return "<date>"
    if isinstance(value, spec.Uri):
        return "".join(token(part, spec) for part in value.parts)
    if isinstance(value, spec.InputPath):
        return f"/opt/ml/processing/input/{value.channel}"
    if isinstance(value, spec.OutputPath):
        return f"/opt/ml/processing/output/{value.channel}"
    return str(value)


def parameters_table(spec: ModuleType) -> str:
    rows = ["| Parameter | Type | Default | Meaning |", "|---|---|---|---|"]
    for parameter in spec.PIPELINE.parameters:
        default = f"`{token(parameter.default, spec)}`" if parameter.default != "" else "required"
        meaning = parameter.description.replace("|", "\\|").replace("<", "&lt;")
        if parameter.allowed:
            meaning += f" (one of: {', '.join(parameter.allowed)})"
        rows.append(f"| `{parameter.name}` | {parameter.type} | {default} | {meaning} |")
    return "\n".join(rows)


def command(step: Any, spec: ModuleType) -> str:
    """The command line SageMaker (and the local runner) give the step script."""
    parts = [step.script]
    for option, value in step.arguments.items():
        parts.append(f"{option} {token(value, spec)}")
    for name, value in step.hyperparameters.items():
        parts.append(f"--{name} {token(value, spec)}")
    return " \\\n    ".join(parts)


def location(where: Any, spec: ModuleType) -> str:
    if isinstance(where, spec.StepOutput):
        return f"output `{where.channel}` of {where.step}"
    return f"`{token(where, spec)}`"


# What each kind of job does with its channels, beyond the table.
KIND_NOTES = {
    "spark": "Spark reads and writes S3 (locally: folders) directly, through the arguments below.",
    "processing": "SageMaker copies each input to `/opt/ml/processing/input/<channel>` before the script "
    "starts, and uploads `/opt/ml/processing/output/<channel>` when it ends.",
    "training": "Inputs arrive as `SM_CHANNEL_<CHANNEL>` folders; the script saves the model to `SM_MODEL_DIR`, "
    "which SageMaker uploads as `model.tar.gz`. Hyperparameters arrive as command-line options.",
}


def step_section(step: Any, spec: ModuleType) -> str:
    lines = [
        f"### {step.name}",
        "",
        step.description,
        "",
        f"Runs `production/code/{step.script}` as a **{step.kind}** job, branch **{step.branch}**. "
        + KIND_NOTES[step.kind],
        "",
    ]
    channels = [("input", name, source) for name, source in step.inputs.items()]
    channels += [("output", name, location) for name, location in step.outputs.items()]
    if channels:
        lines += ["| Channel | Direction | Location |", "|---|---|---|"]
        lines += [f"| `{name}` | {direction} | {location(where, spec)} |" for direction, name, where in channels]
        lines.append("")
    lines += ["```text", command(step, spec), "```", ""]
    return "\n".join(lines)


def quality_gate(spec: ModuleType) -> str:
    gate = spec.PIPELINE.quality_gate
    return (
        f"### {gate.name}\n\n"
        f"Reads `metrics.{token(gate.metric, spec)}` from the property file `{gate.property_file}` "
        f"of {gate.step}. If it passes the threshold `{token(gate.threshold, spec)}` (`{token(gate.direction, spec)}`: "
        "at least the threshold for a score such as ROC AUC, at most it for an error such as RMSE), the promote "
        f"branch runs; otherwise the execution fails at `{gate.fail_step_name}`. The data contract's task picks "
        "the metric and threshold in force from the configuration.\n"
    )


def steps_sections(spec: ModuleType) -> str:
    sections = [step_section(step, spec) for step in spec.PIPELINE.steps]
    sections.append(quality_gate(spec))
    return "\n".join(sections)


# ---------------------------------------------------------------------- the data contract


def load_contract(project_root: Path) -> tuple[Any, ModuleType]:
    """The contract file of ``src/<package>/`` and the schema module, imported from src/ (no install needed)."""
    source_dir = str(project_root / "src")
    if source_dir not in sys.path:
        sys.path.insert(0, source_dir)
    contract_module = importlib.import_module(f"{PACKAGE}.contract")
    schema = importlib.import_module(f"{PACKAGE}.schema")
    # load_file, not the cached load(): a rebuild under `mkdocs serve` shows the edited file.
    path = project_root / "src" / PACKAGE / contract_module.CONTRACT_FILE
    return contract_module.load_file(path), schema


def cell(value: Any) -> str:
    """Text that stays inside one table cell."""
    return str(value).replace("|", "\\|").replace("<", "&lt;").replace("\n", " ")


def code(value: Any) -> str:
    """Inline code in a table cell, even of text holding backticks. Markdown escapes its HTML itself,
    and a pipe inside a code span does not end the cell."""
    text = str(value).replace("\n", " ")
    fence = "`" * (max(map(len, re.findall("`+", text)), default=0) + 1)
    padding = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{padding}{text}{padding}{fence}"


def allowed(column: Any) -> str:
    """A column's rule on its values: the allowed values, a range, or none."""
    if column.values:
        case = {"lower": " (compared in lower case)", "upper": " (compared in upper case)"}.get(column.case, "")
        return ", ".join(code(value) for value in column.values) + case
    return value_range(column.min, column.max) or "any"


def violation_policy(column: Any) -> str:
    """The policy, where the column has a rule to break; a value of the wrong type always fails."""
    has_rule = column.values or column.min is not None or column.max is not None
    return column.on_violation if has_rule else "-"


def value_range(minimum: Any, maximum: Any) -> str:
    if minimum is not None and maximum is not None:
        return f"{minimum} to {maximum}"
    if minimum is not None:
        return f"at least {minimum}"
    if maximum is not None:
        return f"at most {maximum}"
    return ""


def named(column: Any) -> str:
    if column.name == column.safe_name:
        return code(column.name)
    return f"{code(column.name)} (safe name {code(column.safe_name)})"


def contract_summary(contract: Any, schema: ModuleType) -> str:
    label = contract.label_column
    rows = [
        "| | |",
        "|---|---|",
        f"| Task | **{contract.task}** |",
        f"| Id | {named(contract.main.column(contract.id_column))}: one row per id in {code(contract.main.name)} |",
        f"| Label | {named(label)}, {label.type} |",
    ]
    if contract.task == "binary":
        rows.append(f"| Positive class | {code(contract.label.positive_class)}: the class whose probability is given |")
    if contract.label.classes:
        rows.append(f"| Classes | {', '.join(code(value) for value in contract.label.classes)} |")
    outputs = schema.prediction_columns(contract.label.classes, of=contract)
    rows.append(f"| Predictions | {', '.join(code(column.safe_name) for column in outputs)} |")
    description = f"{contract.description}\n\n" if contract.description else ""
    return description + "\n".join(rows)


def source_section(source: Any, contract: Any) -> str:
    role = "the main source" if source.join is None else f"joins {code(contract.main.name)}"
    lines = [
        f"### {source.name}",
        "",
        f"{source.format.upper()} files, encoding {code(source.encoding)}, {role}"
        + (f", primary key {code(source.primary_key)}" if source.primary_key else "")
        + f". Its files go in a folder `{source.name}/` of the raw data.",
        "",
        "| Column (as in the file) | Safe name | Type | Nullable | Allowed values or range | On violation "
        "| Description |",
        "|---|---|---|---|---|---|---|",
    ]
    for column in source.columns:
        lines.append(
            f"| {code(column.name)} | {code(column.safe_name)} | {column.type} | {'yes' if column.nullable else 'no'} "
            f"| {allowed(column)} | {violation_policy(column)} | {cell(column.description)} |"
        )
    return "\n".join(lines) + "\n"


def joins_table(contract: Any) -> str:
    joined = [source for source in contract.sources if source.join is not None]
    if not joined:
        return f"One source: nothing to join. Every row of {code(contract.main.name)} is one row of the feature table."
    rows = ["| Source | Key | Kind | Max unmatched share |", "|---|---|---|---|"]
    for source in joined:
        join = source.join
        rows.append(f"| {code(source.name)} | {code(join.key)} | {join.how} | {join.max_unmatched_share:.2%} |")
    return "\n".join(rows)


def sources_sections(contract: Any, schema: ModuleType) -> str:
    sections = [source_section(source, contract) for source in contract.sources]
    return "\n".join([*sections, "### Joins", "", joins_table(contract), ""])


def features_table(contract: Any, schema: ModuleType) -> str:
    rows = ["| Feature | Type | Expression | Range | Description |", "|---|---|---|---|---|"]
    for feature in contract.features:
        rows.append(
            f"| {code(feature.name)} | {feature.type} | {code(feature.expression)} "
            f"| {value_range(feature.min, feature.max) or 'any'} | {cell(feature.description)} |"
        )
    return "\n".join(rows)


def minimum_rows(contract: Any, schema: ModuleType) -> str:
    """The smallest training data the steps accept, from the constants their checks use."""
    limits = importlib.import_module(f"{PACKAGE}.contract")
    # Indented: the list nests in the page's list item that announces it.
    return (
        f"    - at least **{limits.MIN_ROWS} rows** in all (any task), to train on 80% and test on 20%;\n"
        f"    - for a classifier, at least **{limits.MIN_ROWS_PER_CLASS} rows of every class**: the split is "
        "stratified and both parts must hold every class, or the model cannot learn it and the test cannot score it."
    )


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    root = Path(config.config_file_path).parent
    if page.file.src_uri == "index.md" and HOME_SNIPPET in markdown:
        # The README's links into docs/ start at the repository root; the home page is in docs/ already.
        readme = (root / "README.md").read_text(encoding="utf-8")
        markdown = markdown.replace(HOME_SNIPPET, readme.replace("](docs/", "]("))
    if "<!-- spec:" in markdown:
        spec = load_spec(root)
        renderers = {"diagram": diagram, "parameters": parameters_table, "steps": steps_sections}
        for marker, render in renderers.items():
            markdown = markdown.replace(f"<!-- spec:{marker} -->", render(spec))
    if "<!-- contract:" in markdown:
        contract, schema = load_contract(root)
        renderers = {
            "summary": contract_summary,
            "sources": sources_sections,
            "features": features_table,
            "minimum-rows": minimum_rows,
        }
        for marker, render in renderers.items():
            markdown = markdown.replace(f"<!-- contract:{marker} -->", render(contract, schema))
    return markdown
