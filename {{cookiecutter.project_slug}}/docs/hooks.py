"""MkDocs hook: writes the pipeline reference from ``pipeline_spec.py`` at build time.

A page marks where generated text goes with an HTML comment on its own line:

- ``<!-- spec:diagram -->``    the diagram from the module docstring
- ``<!-- spec:parameters -->`` a table of the pipeline parameters
- ``<!-- spec:steps -->``      one section per step: inputs, outputs and the exact command

The spec is plain data (dataclasses only), so loading it needs no AWS and no Spark.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

PACKAGE = "{{ cookiecutter.package_name }}"


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
    """How an argument or location reads in the docs: ``<Param>``, ``[setting]``, ``<execution id>``, paths."""
    if isinstance(value, spec.Param):
        return f"<{value.name}>"
    if isinstance(value, spec.Setting):
        return f"[{value.path}]"
    if isinstance(value, spec.ExecutionId):
        return "<execution id>"
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
        f"of {gate.step}. If it is at least `{token(gate.threshold, spec)}`, the promote branch runs; "
        f"otherwise the execution fails at `{gate.fail_step_name}`.\n"
    )


def steps_sections(spec: ModuleType) -> str:
    sections = [step_section(step, spec) for step in spec.PIPELINE.steps]
    sections.append(quality_gate(spec))
    return "\n".join(sections)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if "<!-- spec:" not in markdown:
        return markdown
    spec = load_spec(Path(config.config_file_path).parent)
    renderers = {"diagram": diagram, "parameters": parameters_table, "steps": steps_sections}
    for marker, render in renderers.items():
        markdown = markdown.replace(f"<!-- spec:{marker} -->", render(spec))
    return markdown
