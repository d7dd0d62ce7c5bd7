"""The benchmark studies, importable by the tests as ``benchmarks.<study>``.

Run as ``python benchmarks/<study>.py``, a study finds the harness as the top-level name ``harness`` (the
script's own folder is on sys.path). Imported through this package it would not: the name is registered here
once, so both ways load one harness."""

import importlib
import sys

sys.modules.setdefault("harness", importlib.import_module(".harness", __name__))
