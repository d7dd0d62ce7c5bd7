"""Per-stage wall time, lines per second and peak resident memory, recorded into stats.json."""

import resource
import time

from tqdm import tqdm


def _peak_rss_mb():
    """Peak resident set size since the last reset (Linux VmHWM), else since the process began."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak():
    """Start a new peak-memory window (Linux >= 4.0); elsewhere peaks stay cumulative."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:
        pass


class Stages:
    """``with stages("name", lines=True) as meter: meter.update(n)`` times a stage and records
    its seconds, its peak memory and, for streaming stages, lines and lines per second."""

    def __init__(self, progress=True):
        self.progress, self.records = progress, {}

    def __call__(self, name, lines=False):
        return _Stage(self, name, lines)


class _Stage:
    def __init__(self, owner, name, lines):
        self.owner, self.name, self.count = owner, name, 0
        self.bar = tqdm(desc=name, unit=" lines", unit_scale=True, mininterval=2.0,
                        disable=not owner.progress) if lines else None

    def update(self, n):
        self.count += n
        self.bar.update(n)

    def __enter__(self):
        _reset_peak()
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        seconds = time.perf_counter() - self.start
        record = {"seconds": round(seconds, 2), "peak_rss_mb": round(_peak_rss_mb(), 1)}
        if self.bar is not None:
            self.bar.close()
            record.update(lines=self.count, lines_per_second=round(self.count / max(seconds, 1e-9)))
        self.owner.records[self.name] = record
        return False
