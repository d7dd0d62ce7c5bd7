"""Every study's pages again from benchmarks/results/, and docs/results/index.md listing them.

    python benchmarks/render.py [--out DIR]     # default docs/results

tests/test_results_pages.py renders them into a temporary folder to check that the committed pages match their JSON.
"""

import argparse
import importlib

import harness

STUDIES = ("table1", "transfer", "transfer_curve", "feedback", "backbones_and_laws", "eval_speed", "throughput",
           "ddp_overhead", "large_corpus", "apen_speed", "search_pruning", "suite", "reference", "encoders")


def studies():
    """The study modules; imported as benchmarks.<study> when this module is (the tests), by their names when run."""
    return {name: importlib.import_module(f"{__package__}.{name}" if __package__ else name) for name in STUDIES}


def index(by_study):
    """One line per page: its file and its own title, under the study's first docstring line."""
    lines = ["# Results", "", "Every page here is rendered from the JSON in `benchmarks/results/` by "
             "`python benchmarks/render.py` (or a study's own `--render`); `tests/test_results_pages.py` checks that "
             "none is stale. Each page states the date, machine and command of its runs.", ""]
    for name, (module, pages) in by_study.items():
        if pages:
            where = f"benchmarks/{name}/" if hasattr(module, "__path__") else f"benchmarks/{name}.py"  # a package
            lines += [f"## `{where}`: {' '.join(module.__doc__.split(chr(10) * 2)[0].split())}", ""]
            lines += [f"- [{page}]({page}.md): {text.splitlines()[0].lstrip('# ')}" for page, text in pages.items()]
            lines.append("")
    lines += ["The scaling toolkit's mini-sweep on Beauty (figures and fitted laws): `docs/scaling/`.", ""]
    return "\n".join(lines)


def pages(results=None):
    """{page name: markdown} of every study, and the index."""
    by_study = {name: (module, module.pages(results)) for name, module in studies().items()}
    out = {page: text for _, pages in by_study.values() for page, text in pages.items()}
    return {**out, "index": index(by_study)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=None, help="folder of the pages (default docs/results)")
    args = parser.parse_args(argv)
    print(*harness.publish(pages(), args.out), sep="\n")


if __name__ == "__main__":
    main()
