"""The folders every study shares; read at call time, so that tests can point them elsewhere."""

import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RESULTS = os.path.join(ROOT, "benchmarks", "results")  # JSON and raw artefacts (profiles, search runs)
DOCS = os.path.join(ROOT, "docs", "results")  # the pages rendered from them
SAVED = os.path.join(ROOT, "saved")  # git-ignored: prepared data, checkpoints, kept runs
DATA = os.path.join(SAVED, "data")
AMAZON = os.path.join(ROOT, "..", "shared", "data", "amazon")
