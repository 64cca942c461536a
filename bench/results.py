"""The figures of a benchmark run: each one beside the baseline measured in the same run, as a ratio."""

from __future__ import annotations

import datetime
import json
import os
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Figure:
    """One measurement and its baseline. ``ratio`` is ours / baseline, whatever the unit."""

    benchmark: str  # which of the six benchmarks, e.g. "2 local pipeline"
    measure: str  # what "ours" is
    ours: float
    baseline_name: str  # what the baseline is
    baseline: float
    unit: str  # "s", "rows/s" or "MB"
    note: str = ""
    other_load_cores: float = 0.0  # cores other processes kept busy meanwhile (see measure.load_meter)

    @property
    def ratio(self) -> float:
        return self.ours / self.baseline if self.baseline else float("nan")


@dataclass
class Report:
    figures: list[Figure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)  # per-step times and the like, JSON only
    started: datetime.datetime = field(default_factory=lambda: datetime.datetime.now(datetime.UTC))
    load_average_start: tuple[float, ...] = field(default_factory=os.getloadavg)

    def add(self, figures: list[Figure], other_load_cores: float) -> None:
        for figure in figures:
            figure.other_load_cores = other_load_cores
        self.figures += figures


def formatted(value: float, unit: str) -> str:
    if unit == "rows/s":
        return f"{value:,.0f} rows/s"
    if unit == "MB":
        return f"{value:,.0f} MB"
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"


ROW_FORMAT = "{:<20} {:<44} {:>16} {:<38} {:>16} {:>7} {:>5}"
HEADER = ("benchmark", "ours", "", "baseline", "", "ratio", "load")


def cells(figure: Figure) -> tuple[str, ...]:
    """One figure as the columns of both tables."""
    return (
        figure.benchmark,
        figure.measure,
        formatted(figure.ours, figure.unit),
        figure.baseline_name,
        formatted(figure.baseline, figure.unit),
        f"{figure.ratio:.2f}",
        f"{figure.other_load_cores:.1f}",
    )


def text_table(report: Report) -> str:
    """The table printed at the end of `make bench`."""
    lines = [ROW_FORMAT.format(*HEADER)]
    lines += [ROW_FORMAT.format(*cells(figure)) for figure in report.figures]
    return "\n".join(lines + notes(report))


def markdown_table(report: Report) -> str:
    """The same table for docs/benchmarks.md and the README."""
    lines = [
        "| benchmark | ours | | baseline | | ratio | load |",
        "| --- | --- | ---: | --- | ---: | ---: | ---: |",
    ]
    lines += ["| " + " | ".join(cells(figure)) + " |" for figure in report.figures]
    return "\n".join(lines + notes(report))


def notes(report: Report) -> list[str]:
    """What a figure's row cannot say, as lines under the table (none if no figure has a note)."""
    lines = [f"* {figure.measure}: {figure.note}" for figure in report.figures if figure.note]
    return ["", *lines] if lines else []


def summary(report: Report, total_seconds: float, other_load_cores: float) -> dict[str, Any]:
    return {
        "date": report.started.isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "total_seconds": round(total_seconds, 1),
        "machine_load": {
            "load_average_start": report.load_average_start,
            "load_average_end": os.getloadavg(),
            "other_processes_cores": round(other_load_cores, 2),
        },
    }


def machine_line(report: Report, total_seconds: float, other_load_cores: float) -> str:
    return (
        f"{report.started:%Y-%m-%d}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"`make bench` took {total_seconds / 60:.1f} min while other processes kept "
        f"{other_load_cores:.1f} of the {os.cpu_count()} cores busy on average"
    )


def write(report: Report, directory: Path, total_seconds: float, other_load_cores: float) -> Path:
    """results.json (everything) and results.md (the table, ready for the docs)."""
    directory.mkdir(parents=True, exist_ok=True)
    content = {
        **summary(report, total_seconds, other_load_cores),
        "figures": [{**asdict(figure), "ratio": round(figure.ratio, 3)} for figure in report.figures],
        "details": report.details,
    }
    path = directory / "results.json"
    path.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
    markdown = f"{machine_line(report, total_seconds, other_load_cores)}\n\n{markdown_table(report)}\n"
    (directory / "results.md").write_text(markdown, encoding="utf-8")
    return path
