"""Wall and CPU time of each phase of a playbook run, phases that nest counted exclusively.

A run's phases nest: detection happens when matching first asks for the signals, and reading
the store's inputs happens inside detection. Each phase is credited only with the time spent
outside the phases it contains, so the phases of a run add up to its end-to-end time.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


def _now() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


@dataclass
class PhaseClock:
    wall: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    """Seconds of elapsed time per phase."""
    cpu: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    """Seconds of CPU time of the process per phase (all its threads: the engine's too)."""
    _open: list[tuple[str, float, float]] = field(default_factory=list)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        self._pause()
        self._open.append((name, *_now()))
        try:
            yield
        finally:
            self._pause()
            self._open.pop()
            if self._open:
                self._open[-1] = (self._open[-1][0], *_now())

    def _pause(self) -> None:
        """Credit the innermost open phase with the time since it last resumed."""
        if not self._open:
            return
        name, wall, cpu = self._open[-1]
        now_wall, now_cpu = _now()
        self.wall[name] += now_wall - wall
        self.cpu[name] += now_cpu - cpu
        self._open[-1] = (name, now_wall, now_cpu)
