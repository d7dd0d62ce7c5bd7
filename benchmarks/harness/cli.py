"""The command line every study shares: its docstring as help, --quick and --render, comma lists checked by name,
and the one flow (measure unless --render, write the results under the lock, render the pages)."""

import argparse
import os

from . import paths
from .pages import publish
from .results import update


def parser(doc, quick=None):
    """A study's parser; ``quick`` is the help of its --quick (none: no --quick)."""
    out = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    if quick:
        out.add_argument("--quick", action="store_true", help=quick)
    out.add_argument("--render", action="store_true", help="only write the pages again from the JSON")
    return out


def names(text, known, flag):
    """The comma-separated names of ``text``, each one of ``known``: an unknown one stops the run, named."""
    chosen = [name.strip() for name in text.split(",") if name.strip()]
    for name in chosen:
        if name not in known:
            raise SystemExit(f"{flag}: unknown '{name}'; choose from {', '.join(known)}")
    return chosen


def ints(text, flag):
    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise SystemExit(f"{flag}: expected comma-separated integers, got '{text}'") from None


def run(parser, argv, measure, pages):
    """``measure(args)`` -> {results name: result, or a function of the file's content}, written to
    benchmarks/results/<name>.json (skipped with --render); then every page of the study."""
    from recbole_srt.trials import trials_stop_with_the_runner

    args = parser.parse_args(argv)
    with trials_stop_with_the_runner():  # a stopped study stops the run it was waiting for
        measured = {} if args.render else measure(args)
    for name, result in measured.items():
        update(os.path.join(paths.RESULTS, name + ".json"), result if callable(result) else lambda old, r=result: r)
    print(*publish(pages()), sep="\n")
    return 0
