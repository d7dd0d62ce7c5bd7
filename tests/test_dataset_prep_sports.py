"""The 2014 Sports_and_Outdoors and Toys_and_Games 5-cores (issue 12, Table 1) from what ../shared holds:
GRAM's user_sequence.txt (one line per user, time order) + IDGenRec's keyword item texts."""

import csv
import json
import os
import subprocess
import sys

import pytest

from conftest import SHARED

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
needs_shared = pytest.mark.skipif(not os.path.isdir(SHARED), reason=f"real Amazon data not found at {SHARED}")

CASES = {  # category: (users, items, interactions) of the 2014 5-core
    "Sports_and_Outdoors": (35598, 18357, 296337),
    "Toys_and_Games": (19412, 11924, 167597),
}


@needs_shared
@pytest.mark.parametrize("category", sorted(CASES))
def test_real_2014_5core_from_gram_sequences_and_idgenrec_texts(tmp_path, category):
    reviews = os.path.join(SHARED, category, "GRAM", "user_sequence.txt")
    meta = os.path.join(SHARED, category, "IDGenRec", "item_generative_indexing_phase_0.txt")
    # The command as a user runs it (the README's), in a fresh process.
    done = subprocess.run([sys.executable, "-m", "dataset_prep", "convert", "--reviews", reviews, "--meta", meta,
                           "--name", "amazon", "--out", str(tmp_path), "--kcore", "5", "--quiet"],
                          capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT}, timeout=300)
    assert done.returncode == 0, done.stderr
    users, items, interactions = CASES[category]
    with open(tmp_path / "amazon" / "stats.json", encoding="utf-8") as f:
        stats = json.load(f)
    assert (stats["users"], stats["items"], stats["interactions"]) == (users, items, interactions)
    assert stats["dropped_interactions"]["5-core filtering"] == 0  # the files already hold the exact 5-core
    assert stats["bad_lines"] == {}
    assert stats["items_with_title"] == items and stats["items_with_brand"] == 0
    assert stats["input_formats"] == {"reviews": "user_sequence", "meta": "id_text"}
    assert "keyword texts" in stats["text_source"] and "not the raw titles" in stats["text_source"]

    with open(tmp_path / "amazon" / "amazon.item", encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t"))[1:]
    assert len(rows) == items and all(row[1].strip() for row in rows)  # every item has a non-empty title
    # Each user's items in the .inter file are the user's line, in its order.
    with open(reviews, encoding="utf-8") as f:
        first_users = [next(f).split() for _ in range(3)]
    with open(tmp_path / "amazon" / "amazon.inter", encoding="utf-8") as f:
        next(f)
        sequences = {}
        for line in f:
            user, item, _ = line.split("\t", 2)
            sequences.setdefault(user, []).append(item)
    assert len(sequences) == users
    for user, *line_items in first_users:
        assert sequences[user] == line_items
