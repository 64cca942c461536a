"""Run the generated project's local runner and watch each step: its time and its peak memory.

The runner announces every step on its own line (``[2/5] PreprocessTrain (processing, ...``)
and closes it with ``[2/5] PreprocessTrain done in 12.3 s``. While a step runs, a thread
samples the resident memory of all the runner's subprocesses together (for the Spark ETL:
spark-submit, the JVM and the Python driver), so a step's peak is what a machine running
it must hold.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from measure import BenchError, failure_message

SAMPLE_SECONDS = 0.1
STEP_STARTS = re.compile(r"^\[\d+/\d+\] (?P<step>\w+) \(")
STEP_ENDS = re.compile(r"^\[\d+/\d+\] (?P<step>\w+) done in (?P<seconds>[0-9.]+) s")
MB = 1024 * 1024


@dataclass
class StepFigures:
    seconds: float = 0.0  # as the runner reports it
    peak_rss_mb: float = 0.0  # all the step's processes together, sampled


@dataclass
class MonitoredRun:
    seconds: float
    steps: dict[str, StepFigures] = field(default_factory=dict)


class MemorySampler(threading.Thread):
    """Samples the summed RSS of a process's descendants, charging it to the current step."""

    def __init__(self, pid: int, steps: dict[str, StepFigures]) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.steps = steps
        self.current: str | None = None
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(SAMPLE_SECONDS):
            step = self.current
            if step is not None:
                figures = self.steps[step]
                figures.peak_rss_mb = max(figures.peak_rss_mb, self.descendants_rss() / MB)

    def descendants_rss(self) -> int:
        total = 0
        try:
            children = self.root.children(recursive=True)
        except psutil.Error:
            return 0
        for child in children:
            try:
                total += child.memory_info().rss
            except psutil.Error:  # it ended between listing and reading
                continue
        return total


def follow(line: str, sampler: MemorySampler) -> None:
    """Move the sampler to the step a line of the runner's output starts or ends."""
    ended = STEP_ENDS.match(line)
    if ended:
        sampler.steps[ended["step"]].seconds = float(ended["seconds"])
        sampler.current = None
        return
    started = STEP_STARTS.match(line)
    if started:
        sampler.steps.setdefault(started["step"], StepFigures())
        sampler.current = started["step"]


def run_monitored(command: list[str], log: Path, env: dict[str, str], cwd: Path) -> MonitoredRun:
    """Run the local runner with its output in ``log``; raise BenchError if it fails."""
    log.parent.mkdir(parents=True, exist_ok=True)
    steps: dict[str, StepFigures] = {}
    started = time.perf_counter()
    with log.open("w", encoding="utf-8") as output:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=cwd
        )
        sampler = MemorySampler(process.pid, steps)
        sampler.start()
        for line in process.stdout:
            output.write(line)
            follow(line, sampler)
        returncode = process.wait()
        sampler.stopped.set()
        sampler.join()
    seconds = time.perf_counter() - started
    if returncode != 0:
        raise BenchError(failure_message(command, returncode, log))
    if not steps:
        raise BenchError(f"no step lines found in {log}: has the local runner's output changed?")
    return MonitoredRun(seconds, steps)
