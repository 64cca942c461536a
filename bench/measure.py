"""How the benchmarks measure: subprocesses' wall time, CPU time and peak memory; medians; machine load.

Every figure is taken from a fresh subprocess, so that it includes what a user waits for
(interpreter start-up, imports, JVM start-up) and nothing the benchmark process has warmed.
"""

from __future__ import annotations

import contextlib
import os
import resource
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

LOG_TAIL_LINES = 30


class BenchError(Exception):
    """A measured command failed; the message names it and shows the end of its log."""


@dataclass(frozen=True)
class Run:
    """One finished subprocess."""

    seconds: float
    cpu_seconds: float  # user + system, its waited-for descendants included
    peak_rss_mb: float  # resident memory high-water mark of its largest process
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def run(command: list[str], log: Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> Run:
    """Run ``command`` to completion with its output in ``log``; raise BenchError if it fails.

    ``os.wait4`` gives the resource usage of this one child (and its descendants), which
    ``subprocess.run`` does not expose; the memory figure is the largest process's peak,
    e.g. the JVM of a Spark job.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as output:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
    # wait4 reaped the child: tell Popen, so that it does not wait for it again.
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise BenchError(failure_message(command, process.returncode, log))
    return Run(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, log)


def failure_message(command: list[str], returncode: int, log: Path) -> str:
    tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-LOG_TAIL_LINES:]
    return f"{' '.join(command)} failed (exit code {returncode}); end of {log}:\n" + "\n".join(tail)


def median_run(make_run: Callable[[int], Run], repeats: int) -> tuple[Run, list[float]]:
    """Repeat a measured run; return the run with the median time, and every time."""
    runs = sorted((make_run(number) for number in range(repeats)), key=lambda each: each.seconds)
    return runs[len(runs) // 2], [each.seconds for each in runs]


def median_seconds(action: Callable[[], object], repeats: int) -> tuple[float, list[float]]:
    """Median wall time of an in-process action, and every time."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times


# --------------------------------------------------------------------------- machine load


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (every process, every core)."""
    # The first line of /proc/stat: "cpu user nice system idle iowait irq softirq steal ...", in clock ticks.
    ticks = [int(value) for value in Path("/proc/stat").read_text(encoding="ascii").splitlines()[0].split()[1:9]]
    idle, iowait = ticks[3], ticks[4]
    return (sum(ticks) - idle - iowait) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU seconds of this process and of every subprocess it has waited for."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


@dataclass
class Load:
    """What else ran on the machine while a benchmark did: other processes' busy cores, on average."""

    other_cores: float = 0.0
    seconds: float = 0.0


@contextlib.contextmanager
def load_meter() -> Iterator[Load]:
    """Measure how many cores other processes kept busy during the block (0 = a quiet machine).

    The machine's busy time comes from /proc/stat; what this benchmark used (itself and the
    subprocesses it waited for) is taken off, so the rest is other users' load.
    """
    load = Load()
    busy, own, started = machine_busy_seconds(), own_cpu_seconds(), time.perf_counter()
    yield load
    load.seconds = time.perf_counter() - started
    others = (machine_busy_seconds() - busy) - (own_cpu_seconds() - own)
    load.other_cores = max(0.0, others / load.seconds) if load.seconds else 0.0
