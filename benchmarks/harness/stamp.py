"""What a run records of itself (date, machine, command), and the values its command-line flags take."""

import ast
import os
import platform
import shlex
import sys
import time

from . import paths

VERSIONS = (("python", "Python"), ("torch", "torch"), ("numpy", "numpy"), ("pandas", "pandas"))


def machine():
    """CPU model, the cores this process may use, memory, GPU and library versions."""
    import numpy
    import pandas
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    out = {"cpu": cpu, "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
           "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30, 1),
           "python": platform.python_version(), "torch": torch.__version__, "numpy": numpy.__version__,
           "pandas": pandas.__version__, "torch_threads": torch.get_num_threads()}
    if torch.cuda.is_available():
        out["gpu"] = torch.cuda.get_device_name()
    return out


def describe(m):
    """One line for a page. Results written before the harness hold a line already: it is printed as it is."""
    if isinstance(m, str):
        return m
    text = f"{m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB" + (f", {m['gpu']}" if m.get("gpu") else "")
    text += f", {m['torch_threads']} torch threads" if "torch_threads" in m else ""
    return text + "; " + ", ".join(f"{label} {m[key]}" for key, label in VERSIONS if key in m)


def command_line(script, argv=None, drop=("--out", "--data_path", "--workdir")):
    """This run's command as a reader would type it, without the machine-specific paths."""
    words, skip = [], False
    for word in sys.argv[1:] if argv is None else argv:
        if skip or word.startswith(tuple(f"{flag}=" for flag in drop)):
            skip = False
            continue
        skip = word in drop
        if not skip:
            words.append(word)
    return shlex.join(["python", os.path.relpath(os.path.abspath(script), paths.ROOT)] + words)


def stamp(script, argv=None):
    """The date, machine and command that every results file records and every page states."""
    return {"date": time.strftime("%Y-%m-%d"), "machine": machine(), "command": command_line(script, argv)}


def literal(value):
    """A flag's value as Python reads it (1e-3, [10], True), or the string itself."""
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return value


def parse_count(text):
    """'10M' -> 10000000, '25K' -> 25000, '500' -> 500."""
    text = text.strip().upper()
    scale = {"K": 10 ** 3, "M": 10 ** 6}.get(text[-1], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def count_text(n):
    """parse_count's inverse, 10000000 -> '10M', 25000 -> '25K', 500 -> '500': one name for '1M' and '1000000'."""
    return f"{n // 10 ** 6}M" if n % 10 ** 6 == 0 else f"{n // 10 ** 3}K" if n % 10 ** 3 == 0 else str(n)
