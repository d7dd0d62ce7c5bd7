"""Logging for a run: RecBole's log lines on stderr and, with ``log_dir``, in a file.

RecBole's ``init_logger`` always writes under ``./log/``; this one writes where ``log_dir``
says (``~``: nowhere), so tests and benchmarks keep the repository clean.
"""

import logging
import os
import re
import sys

from recbole.utils import get_local_time

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class _NoColor(logging.Filter):
    def filter(self, record):
        record.msg = _ANSI.sub("", str(record.msg))
        return True


def init_logging(config, main=True):
    """Returns the log file's path, or None. ``main=False`` (torchrun ranks other than 0): errors
    on stderr only, no file; rank 0 logs the run."""
    root = logging.getLogger()
    # Replace only what an earlier run added: a library user's own handlers stay.
    for handler in [h for h in root.handlers if getattr(h, "recbole_srt", False)]:
        root.removeHandler(handler)
        handler.close()
    level = logging.getLevelName(str(config["state"] or "INFO").upper())
    root.setLevel((level if isinstance(level, int) else logging.INFO) if main else logging.ERROR)
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", "%d %b %H:%M"))
    if not sys.stderr.isatty():
        console.addFilter(_NoColor())
    console.recbole_srt = True
    root.addHandler(console)
    path = None
    if config["log_dir"] and main:
        path = os.path.join(config["log_dir"], config["model"], f"{config['model']}-{config['dataset']}-{get_local_time()}-{os.getpid()}.log")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        file_handler = logging.FileHandler(path, encoding="utf-8")
        file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s"))
        file_handler.addFilter(_NoColor())
        file_handler.recbole_srt = True
        root.addHandler(file_handler)
    return path


def show_progress(config):
    """``show_progress: ~`` (the default) shows bars only on a terminal: CI logs and nohup files
    would otherwise fill with carriage-return frames."""
    value = config["show_progress"]
    return sys.stderr.isatty() if value is None else bool(value)
