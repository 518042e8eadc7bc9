"""Each worker's resident memory over the run, and whether it keeps growing once warm.

A worker's RSS rises while it warms up (caches, pools, the allocator's arenas) and then levels
off; a leak keeps it rising. So the verdict reads only the second half of the run: the
least-squares slope of its samples, in MiB per minute.
"""

import asyncio
import statistics
import time
from dataclasses import dataclass, field

from bench.extras import rss_kib

KIB_PER_MIB = 1024


@dataclass
class WorkerMemory:
    pid: int
    # (seconds since the load started, RSS in KiB); the first is taken before any load.
    samples: list[tuple[float, int]] = field(default_factory=list)
    exited_at: float | None = None

    def second_half(self) -> list[tuple[float, int]]:
        end = self.samples[-1][0]
        return [sample for sample in self.samples if sample[0] >= end / 2]

    @property
    def start_mib(self) -> float:
        return self.samples[0][1] / KIB_PER_MIB

    @property
    def middle_mib(self) -> float:
        return self.second_half()[0][1] / KIB_PER_MIB

    @property
    def end_mib(self) -> float:
        return self.samples[-1][1] / KIB_PER_MIB

    @property
    def peak_mib(self) -> float:
        return max(kib for _, kib in self.samples) / KIB_PER_MIB

    @property
    def slope_mib_per_minute(self) -> float:
        """The trend over the second half; 0 when it holds fewer than three samples."""
        half = self.second_half()
        if len(half) < 3:
            return 0.0
        fit = statistics.linear_regression([t for t, _ in half], [kib for _, kib in half])
        return fit.slope * 60 / KIB_PER_MIB


class MemorySampler:
    """Reads each worker's VmRSS every `interval` seconds while the load runs."""

    def __init__(self, pids: list[int], interval_seconds: float) -> None:
        self.workers = [WorkerMemory(pid) for pid in pids]
        self.interval_seconds = interval_seconds
        self._started = time.monotonic()

    def sample(self) -> None:
        elapsed = time.monotonic() - self._started
        for worker in self.workers:
            if worker.exited_at is not None:
                continue
            try:
                worker.samples.append((elapsed, rss_kib(worker.pid)))
            except (OSError, RuntimeError):  # gone, or a zombie without VmRSS
                worker.exited_at = elapsed

    def start(self) -> None:
        """Time zero: the load starts now; the sample before it is the baseline."""
        self._started = time.monotonic()
        self.sample()

    async def run(self, until: float) -> None:
        while (left := until - time.monotonic()) > 0:
            await asyncio.sleep(min(self.interval_seconds, left))
            self.sample()

    @property
    def exited(self) -> list[WorkerMemory]:
        return [worker for worker in self.workers if worker.exited_at is not None]


def memory_table(workers: list[WorkerMemory]) -> str:
    header = (
        f"{'worker':>6} {'pid':>8} {'start MiB':>10} {'middle MiB':>11} {'end MiB':>8}"
        f" {'peak MiB':>9} {'2nd half +MiB':>14} {'2nd half MiB/min':>17}"
    )
    lines = [header, "-" * len(header)]
    for number, worker in enumerate(workers, start=1):
        lines.append(
            f"{number:>6} {worker.pid:>8} {worker.start_mib:>10.1f} {worker.middle_mib:>11.1f}"
            f" {worker.end_mib:>8.1f} {worker.peak_mib:>9.1f}"
            f" {worker.end_mib - worker.middle_mib:>+14.1f}"
            f" {worker.slope_mib_per_minute:>+17.2f}"
            + (f"  exited at {worker.exited_at:.0f} s" if worker.exited_at is not None else "")
        )
    return "\n".join(lines)
