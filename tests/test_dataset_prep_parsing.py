"""The fast 2014-metadata parser must agree with ast.literal_eval on every line it accepts."""

import ast
import json
import random

from dataset_prep.convert import convert
from dataset_prep.readers import parse_meta_object, parse_object

from test_dataset_prep import write_gz

TRICKY = ["a", '"', "'", "\\", "\n", "\t", "é", "😀", "{", "}", ":", ",", " ", "\x00", "\u2028", "related", "'related': {"]


def random_literal(rng, n):
    item = {"asin": f"A{n}"}
    for key in ("description", "title", "brand"):
        if rng.random() < 0.9:
            item[key] = "".join(rng.choice(TRICKY) for _ in range(rng.randint(0, 12)))
    if rng.random() < 0.6:
        item["related"] = {"also_bought": [f"B{k}" for k in range(rng.randint(0, 5))], "bought_together": ["C1"]}
    if rng.random() < 0.3:
        item["salesRank"] = {"Beauty": rng.randint(1, 10**6)}
    item["categories"] = [[item.get("title", "x"), "Beauty"]]
    if rng.random() < 0.2:
        item["price"] = rng.choice([1.5, -3, 10**20, 1e-7, True, None, (1, 2)])
    keys = list(item)
    rng.shuffle(keys)  # 'related' first, last or in between
    return {k: item[k] for k in keys}


def test_fast_literal_parse_matches_literal_eval():
    rng = random.Random(0)
    for n in range(5000):
        item = random_literal(rng, n)
        text = repr(item)
        expected = {k: v for k, v in ast.literal_eval(text).items() if k != "related"}
        parsed = parse_meta_object(text)
        assert {k: v for k, v in parsed.items() if k != "related"} == expected, text
        assert parse_object(text) == ast.literal_eval(text), text


def test_not_python_literals_stay_malformed():
    for text in ["{'a': nan}", "{'a': NaN}", "{'a': Infinity}", "{'a': 'x'", "{'a': __import__('os')}", "{'a' 1}"]:
        assert parse_object(text) is None, text
    assert parse_object("{'a': 1,}") == {"a": 1}
    assert parse_object('{"asin": "x", "title": "JSON"}') == {"asin": "x", "title": "JSON"}


def test_whole_store_metadata_and_item_exclusion(tmp_path):
    reviews = write_gz(tmp_path / "reviews_A.json.gz", [
        json.dumps({"reviewerID": f"U{u}", "asin": f"I{(u + k) % 3}", "overall": 4.0, "unixReviewTime": k})
        for u in range(4) for k in range(3)
    ])
    meta = write_gz(tmp_path / "metadata.json.gz", [
        repr({"asin": "X9", "title": "not in these reviews"}),
        repr({"asin": "I0", "description": "has 'asin': 'X9' inside", "title": "Zero",
              "related": {"also_bought": ["X9"]}}),
        repr({"asin": "I1", "title": "One's"}),
        repr({"asin": "I2", "title": "Two", "related": {"also_viewed": ["I0"]}, "brand": "B"}),
        "{'asin': 'I3', 'title': broken",  # names an item these reviews lack: skipped unparsed
        "{'title': 'no asin', broken",
    ])
    stats = convert(reviews, "a", str(tmp_path), meta=meta, progress=False)
    assert stats["items_with_title"] == 3 and stats["items_with_brand"] == 1
    assert stats["bad_lines"] == {"metadata.json.gz: malformed metadata line": {"lines": 1, "examples": [6]}}
    rows = (tmp_path / "a" / "a.item").read_text(encoding="utf-8").splitlines()
    assert rows[1:] == ["I0\tZero\t\t", "I1\tOne's\t\t", "I2\tTwo\tB\t"]

    others = write_gz(tmp_path / "reviews_B.json.gz", [
        json.dumps({"reviewerID": f"V{u}", "asin": f"I{u % 4}", "overall": 4.0, "unixReviewTime": u}) for u in range(8)
    ] + [json.dumps({"reviewerID": "U0", "asin": "I0", "overall": 1.0, "unixReviewTime": 1})])
    users_only = convert(others, "b", str(tmp_path), exclude=[str(tmp_path / "a")], progress=False)
    assert users_only["interactions"] == 8
    both = convert(others, "c", str(tmp_path), exclude=[str(tmp_path / "a")], exclude_items=True, progress=False)
    assert both["interactions"] == 2  # V3 and V7 bought I3, which dataset a does not have
    assert both["dropped_interactions"][f"item of excluded {tmp_path / 'a'}"] == 6


def test_category_selection_from_whole_store_dumps(tmp_path):
    reviews = write_gz(tmp_path / "item_dedup.json.gz", [
        json.dumps({"reviewerID": f"U{u}", "asin": f"I{k}", "overall": 5.0, "unixReviewTime": k})
        for u in range(3) for k in range(4)
    ])
    meta_2014 = write_gz(tmp_path / "metadata.json.gz", [
        repr({"asin": "I0", "title": "Lipstick", "categories": [["Beauty", "Makeup"], ["Gift Cards"]]}),
        repr({"asin": "I1", "title": "Tent", "categories": [["Sports & Outdoors", "Camping"]]}),
        repr({"asin": "I2", "title": "Beauty Kit", "categories": [["Toys", "Beauty"]]}),  # Beauty not top-level
        repr({"asin": "I3", "title": "Ball", "categories": [["Sports & Outdoors"]]}),
    ])
    stats = convert(reviews, "beauty", str(tmp_path), meta=meta_2014, categories=["beauty"], progress=False)
    assert (stats["interactions"], stats["items"]) == (3, 1)
    assert stats["dropped_interactions"]["item outside --category"] == 9
    stats = convert(reviews, "sports", str(tmp_path), meta=meta_2014, categories=["Sports & Outdoors", "Beauty"],
                    progress=False)
    assert stats["items"] == 3

    meta_2018 = write_gz(tmp_path / "All_Amazon_Meta.json.gz", [
        json.dumps({"asin": "I0", "title": "Lipstick", "category": ["Beauty", "Makeup"], "main_cat": "Beauty"}),
        json.dumps({"asin": "I1", "title": "Tent", "category": [], "main_cat": "Sports &amp; Outdoors"}),
    ])
    stats = convert(reviews, "sports18", str(tmp_path), meta=meta_2018, categories=["Sports & Outdoors"],
                    progress=False)
    assert stats["items"] == 1 and stats["interactions"] == 3
