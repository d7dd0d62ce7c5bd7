"""The benchmark studies, importable by the tests as ``benchmarks.<study>``.

Run as ``python benchmarks/<study>.py``, a study finds its shared modules as the top-level names ``harness`` and
``synthetic`` (the script's own folder is on sys.path). Imported through this package they would not be: the names
are registered here once, so both ways load one module each."""

import importlib
import sys

for _name in ("harness", "synthetic", "transfer", "transfer_curve_report"):
    sys.modules.setdefault(_name, importlib.import_module(f".{_name}", __name__))
