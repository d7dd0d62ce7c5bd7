"""The benchmark harness: what every study shares, so that each study is a table of variants and a renderer.

- ``paths``: where data is read and results are written;
- ``stamp``: the date, machine and command a run records; ``machine``/``describe``: the machine, one way;
- ``mean_sd``/``mean_sd_text``: mean and sample standard deviation over seeds, one way;
- ``update``/``load``: results files read and written under one lock;
- ``table``/``publish``: markdown tables, and the pages written to docs/results/;
- ``fit``/``trial``/``child``: a trial in process, as ``python -m recbole_srt``, or a measured child process;
- ``prepare``: the Amazon datasets, converted once with dataset_prep.
"""

from . import paths
from .data import prepare
from .pages import publish, rendered, table
from .results import load, update
from .seeds import mean_sd, mean_sd_text
from .stamp import command_line, describe, literal, machine, parse_count, stamp
from .trial import child, fit, trial

__all__ = ["paths", "prepare", "publish", "rendered", "table", "load", "update", "mean_sd", "mean_sd_text", "command_line",
           "describe", "literal", "machine", "parse_count", "stamp", "child", "fit", "trial"]
