"""The benchmark harness: what every study shares, so that each study is a table of variants and a renderer.

``paths`` (folders), ``stamp``/``describe`` (date, machine, command), ``mean_sd`` (over seeds), ``update``/``load``
(results under one lock), ``merge_rows`` (a command's rows in place of the same keys' old ones),
``stamped_merge``/``runs_of``/``runs_section``/``run_column`` (rows that name the command that measured them),
``table``/``publish``/``rendered`` (pages in docs/results/), ``parser``/``run`` (the command line and its flow),
``fit``/``trial``/``child`` (a trial in process, as ``python -m recbole_srt``, or a measured child process),
``prepare`` (the Amazon datasets, converted once with dataset_prep).
"""

from . import paths
from .cli import ints, names, parser, run
from .data import prepare
from .pages import publish, rendered, table
from .results import load, merge_rows, update
from .runs import run_column, runs_of, runs_section, stamped_merge
from .seeds import mean_sd, mean_sd_text
from .stamp import command_line, count_text, describe, literal, machine, parse_count, stamp
from .trial import child, fit, trial

__all__ = ["paths", "ints", "names", "parser", "run", "prepare", "publish", "rendered", "table", "load", "merge_rows",
           "update", "run_column", "runs_of", "runs_section", "stamped_merge", "mean_sd", "mean_sd_text",
           "command_line", "count_text", "describe", "literal", "machine", "parse_count", "stamp", "child", "fit", "trial"]
