"""The test suite as CI runs it: `.ci/run` on a fresh clone of HEAD, timed, with its peak resident memory.

    python benchmarks/suite.py [--keep]      # clones HEAD into saved/suite/, runs .ci/run there (install included)
    python benchmarks/suite.py --render

The peak is the largest resident set of any process .ci/run waited for (getrusage of its children, as
``/usr/bin/time -v`` reports it): the pytest process. A clone of HEAD has no ../shared beside it unless one is
linked, so the Amazon tests skip; --shared links this checkout's ../shared as the clone's (CI has a copy beside it).
"""

import os
import re
import resource
import shutil
import subprocess
import sys
import time

import harness

SUMMARY = re.compile(r"^=*\s*(?P<counts>(\d+ \w+(, )?)+) in (?P<seconds>[\d.]+)s", re.M)


def measure(args):
    folder = os.path.join(harness.paths.SAVED, "suite")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    clone = os.path.join(folder, "main")
    subprocess.run(["git", "clone", "-q", harness.paths.ROOT, clone], check=True)
    head = subprocess.run(["git", "-C", clone, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    if args.shared:
        os.symlink(os.path.abspath(os.path.join(harness.paths.ROOT, "..", "shared")), os.path.join(folder, "shared"))
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    start = time.time()
    done = subprocess.run(["bash", ".ci/run"], cwd=clone, env={**env, "CI": "true"}, capture_output=True, text=True)
    wall = time.time() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    output = done.stdout + done.stderr
    summary = SUMMARY.search(output)
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return {"suite": {**harness.stamp(__file__), "commit": head, "exit_code": done.returncode,
                      "shared": bool(args.shared), "wall_seconds": round(wall, 1),
                      "pytest_seconds": float(summary["seconds"]) if summary else None,
                      "counts": summary["counts"] if summary else None, "peak_rss_gib": round(peak_kib / 2 ** 20, 2),
                      "tail": output[-1500:] if done.returncode else ""}}


def markdown(data):
    lines = ["# The test suite: time and peak memory", "",
             f"{data['date']}, {harness.describe(data['machine'])}. Command: `{data['command']}`.", "",
             "`.ci/run` on a fresh clone of the commit below (a new virtual environment, the install, then pytest), "
             "as CI runs it" + (", with ../shared beside it" if data["shared"] else ", without ../shared (the tests "
             "that need it skip)") + ". Peak memory: the largest resident set of any process it ran.", ""]
    pytest = "" if data["pytest_seconds"] is None else f"{data['pytest_seconds'] / 60:.1f}"
    lines += harness.table(["commit", "exit code", "tests", "pytest minutes", "minutes with the install",
                            "peak resident GiB"],
                           [[data["commit"], data["exit_code"], data["counts"] or "", pytest,
                             f"{data['wall_seconds'] / 60:.1f}", f"{data['peak_rss_gib']:.2f}"]])
    return "\n".join(lines + [""])


def pages(results=None):
    return harness.rendered(markdown, ["suite"], results)


def main(argv=None):
    parser = harness.parser(__doc__)
    parser.add_argument("--keep", action="store_true", help="keep the clone in saved/suite/")
    parser.add_argument("--shared", action="store_true", help="link ../shared beside the clone, as in CI")
    return harness.run(parser, argv, measure, lambda: pages())


if __name__ == "__main__":
    sys.exit(main())
