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
    """``old`` rows with each of ``new`` in place of the old row of the same ``key(row)`` (or added): a command that
    ran some variants, seeds or datasets replaces those rows and keeps every other one."""
    fresh = {key(r) for r in new}
    return [r for r in (old or []) if key(r) not in fresh] + list(new)
