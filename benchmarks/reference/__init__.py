"""The authors' own SRT code (mercadolibre/srt) on our data and split, beside our SRT (issue 29).

Run: python benchmarks/reference/run.py (its docstring says how). Imported as ``benchmarks.reference``,
``pages(results)`` renders docs/results/reference.md from benchmarks/results/reference.json."""

from .ref_render import pages  # noqa: F401
