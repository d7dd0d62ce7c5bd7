"""Results files: one locked read-change-write, since runs split across processes finish at any time."""

import fcntl
import json
import os


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def update(path, change):
    """Write ``change(what the file holds, or None)`` to ``path`` under an fcntl lock beside it; returns it.
    The new content goes to a temporary file first: a killed run never leaves half a file."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = change(load(path) if os.path.isfile(path) else None)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)
        os.replace(path + ".tmp", path)
    return result


def merge_rows(old, new, key):
    """``old`` rows with each of ``new`` in place of the old row of the same ``key(row)`` (where it stood, so that a
    page keeps its order), the others added at the end; of rows of one key in ``new``, the last counts. A command
    that ran some variants, seeds or datasets replaces those rows and keeps every other one."""
    fresh = {key(r): r for r in new}
    out, placed = [], set()
    for row in old or []:
        k = key(row)
        if k not in fresh:
            out.append(row)
        elif k not in placed:
            out.append(fresh[k])
            placed.add(k)
    return out + [r for k, r in fresh.items() if k not in placed]
