"""Logging for a run: RecBole's log lines on stderr and, with ``log_dir``, in a file.

RecBole's ``init_logger`` always writes under ``./log/``; this one writes where ``log_dir``
says (``~``: nowhere), so tests and benchmarks keep the repository clean.
"""

import logging
import os
import re
import sys
from time import time

from recbole.utils import get_local_time

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# ``logger.info(config, extra=FILE_ONLY)``: the long dumps (config, model) go to the log file, not the console.
FILE_ONLY = {"file_only": True}


class _NoColor(logging.Filter):
    def filter(self, record):
        record.msg = _ANSI.sub("", str(record.msg))
        return True


class _NotFileOnly(logging.Filter):
    def filter(self, record):
        return not getattr(record, "file_only", False)


def init_logging(config, main=True, verbose=False):
    """Returns the log file's path, or None. ``main=False`` (torchrun ranks other than 0): errors
    on stderr only, no file; rank 0 logs the run. ``verbose``: the FILE_ONLY dumps on the console too."""
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
    if not verbose:
        console.addFilter(_NotFileOnly())
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
    would otherwise fill with carriage-return frames (they get :func:`progress_lines` instead)."""
    value = config["show_progress"]
    return sys.stderr.isatty() if value is None else bool(value)


def progress_lines(config):
    """Off a terminal with ``show_progress: ~``: a log line now and then in place of the bar."""
    return config["show_progress"] is None and not sys.stderr.isatty()


def progress_log(batches, desc, every_share=0.1, every_seconds=60.0, logger=None):
    """Iterate ``batches`` and log one line per ``every_share`` of them, or after ``every_seconds`` without one:
    ``Train     3: 40% (8/19 batches), 12 s, about 18 s left``."""
    logger = logger or logging.getLogger()
    total = len(batches)
    start = last = time()
    next_share = every_share
    for k, batch in enumerate(batches, 1):
        yield batch
        now = time()
        if k == total or k / total + 1e-9 >= next_share or now - last >= every_seconds:
            while next_share <= k / total + 1e-9:
                next_share += every_share
            last = now
            left = (now - start) / k * (total - k)
            logger.info(f"{desc}: {100 * k // total}% ({k}/{total} batches), {now - start:.0f} s"
                        + (f", about {left:.0f} s left" if k < total else ""))
