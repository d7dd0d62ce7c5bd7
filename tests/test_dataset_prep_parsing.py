"""The fast 2014-metadata parser must agree with ast.literal_eval on every line it accepts."""

import ast
import json
import random

import pytest

from dataset_prep.convert import convert
from dataset_prep.readers import (META_FORMATS, BadLines, DumpError, detect_meta_format, detect_review_format,
                                  parse_meta_object, parse_object, read_meta)

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


def write_text(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_one_line_per_user_sequences_and_keyword_item_texts(tmp_path):
    # GRAM's user_sequence.txt: 'user item item ...' in time order; IDGenRec's item_generative_indexing_phase_0.txt:
    # 'ASIN text' keyword texts. The first user has a single item, so the first line alone looks like a pair.
    reviews = write_text(tmp_path / "user_sequence.txt", "U1 B3\nU2 B1 B2 B3\nU3 B2 B1\nU4\n")
    meta = write_text(tmp_path / "item_generative_indexing_phase_0.txt",
                      "B1 tipton polymer gun cleaning picks\nB2 jump rope olympic style\nB9 not reviewed\nB3\n"
                      "B2 duplicate row\n")
    assert detect_review_format(reviews) == "user_sequence"
    assert detect_meta_format(meta) == "id_text"
    stats = convert(reviews, "seq", str(tmp_path), meta=meta, progress=False)
    assert (stats["users"], stats["items"], stats["interactions"]) == (3, 3, 6)
    assert stats["items_with_title"] == 2 and stats["items_with_brand"] == 0
    assert stats["input_formats"] == {"reviews": "user_sequence", "meta": "id_text"}
    assert stats["text_source"] == META_FORMATS["id_text"] and "not the raw titles" in stats["text_source"]
    assert stats["dropped_interactions"]["duplicate metadata rows (first kept)"] == 1
    assert stats["bad_lines"] == {
        "item_generative_indexing_phase_0.txt: item id without text": {"lines": 1, "examples": [4]},
        "user_sequence.txt: user without items": {"lines": 1, "examples": [4]},
    }
    inter = (tmp_path / "seq" / "seq.inter").read_text(encoding="utf-8").splitlines()
    # timestamps are positions in the file: items keep their order within a user
    assert inter[1:] == ["U1\tB3\t0\t1", "U2\tB1\t0\t2", "U2\tB2\t0\t3", "U2\tB3\t0\t4", "U3\tB2\t0\t5", "U3\tB1\t0\t6"]
    items = (tmp_path / "seq" / "seq.item").read_text(encoding="utf-8").splitlines()
    assert items[1:] == ["B3\t\t\t", "B1\ttipton polymer gun cleaning picks\t\t", "B2\tjump rope olympic style\t\t"]
    assert "# Item texts: keyword texts" in (tmp_path / "seq" / "seq.yaml").read_text(encoding="utf-8")

    with pytest.raises(ValueError, match="--category needs metadata with categories"):
        convert(reviews, "cat", str(tmp_path), meta=meta, categories=["Sports"], progress=False)
    gz = write_gz(tmp_path / "texts.txt.gz", ["B1 gun picks"])  # gz, like every other input
    assert detect_meta_format(gz) == "id_text"
    assert list(read_meta(gz, BadLines())) == [("B1", "gun picks", "", [], set())]


def test_format_detection_does_not_misfire(tmp_path):
    review_line = {"reviewerID": "U1", "asin": "I1", "overall": 4.0, "unixReviewTime": 100}
    reviews = {
        write_gz(tmp_path / "reviews_Toys.json.gz", [json.dumps(review_line)]): "json",
        write_gz(tmp_path / "Toys.jsonl.gz",
                 [json.dumps({"user_id": "A", "parent_asin": "P", "timestamp": 1})]): "json",
        write_text(tmp_path / "ratings_Toys.csv", "U1,I1,5.0,10\nU1,I2,4.0,11\n"): "csv_user_item",
        write_text(tmp_path / "Toys.csv", "I1,U1,5.0,10\n"): "csv_item_user",
        write_text(tmp_path / "Beauty.txt", "1 1\n1 2\n2 1\n2 3\n"): "sequence",  # SASRec pairs
        write_text(tmp_path / "distinct.txt", "1 1\n2 1\n3 2\n"): "sequence",  # pairs, every user once
        write_text(tmp_path / "tabs.txt", "1\t1\n1\t2\n"): "sequence",
    }
    for path, fmt in reviews.items():
        assert detect_review_format(path) == fmt, path
    # A pair file with a wider line is still a pair file: the line is a bad line, as before.
    pairs = write_text(tmp_path / "pairs.txt", "U1 I1\nU1 I2\nU1 I3 I4\nU2 I1\n")
    assert detect_review_format(pairs) == "sequence"
    stats = convert(pairs, "pairs", str(tmp_path), progress=False)
    assert stats["interactions"] == 3 and stats["bad_lines"] == {
        "pairs.txt: not a 'user item' pair": {"lines": 1, "examples": [3]}}

    refused = {
        write_text(tmp_path / "columns.txt", "U1 I1 1400000000\nU1 I2 1400000001\nU2 I1 1400000002\n"): "rating/time",
        write_text(tmp_path / "prepared.inter", "user_id:token\titem_id:token\nU1\tI1\n"): "not a known",
        write_text(tmp_path / "one_column.txt", "U1\nU2\n"): "not a known",
        write_text(tmp_path / "empty.txt", "\n"): "not a known",
    }
    for path, message in refused.items():
        with pytest.raises(DumpError, match=message):
            detect_review_format(path)

    metas = {
        write_gz(tmp_path / "meta_Toys.json.gz", [repr({"asin": "I1", "title": "Car", "related": {}})]): "json",
        write_gz(tmp_path / "meta_Toys18.json.gz", [json.dumps({"asin": "I1", "title": "Car"})]): "json",
        write_text(tmp_path / "toys.item", "item_id:token\ttitle:token\nI1\tCar\n"): "item_table",
        write_text(tmp_path / "ids.item", "item_id:token\nI1\n"): "item_table",  # one column, no tab
        write_text(tmp_path / "bad.item", "asin\ttitle\nI1\tCar\n"): "item_table",  # an error there, as before
        write_text(tmp_path / "texts.txt", "B0048KGFHU tipton polymer gun cleaning picks\n"): "id_text",
    }
    for path, fmt in metas.items():
        assert detect_meta_format(path) == fmt, path
    with pytest.raises(DumpError, match="without an item_id column"):
        list(read_meta(str(tmp_path / "bad.item"), BadLines()))
    assert list(read_meta(str(tmp_path / "toys.item"), BadLines())) == [("I1", "Car", "", [], set())]
