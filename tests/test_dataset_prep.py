import gzip
import json
import os
import shutil
import subprocess
import sys

import pytest

from dataset_prep.convert import convert
from dataset_prep.readers import DumpError
from dataset_prep.subsets import subsets

from conftest import SHARED

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GIFT = os.path.join(SHARED, "Gift_Cards", "AmazonSearchEngine")
BEAUTY = os.path.join(SHARED, "Beauty", "PLRec")
needs_shared = pytest.mark.skipif(not os.path.isdir(SHARED), reason=f"real Amazon data not found at {SHARED}")


def write_gz(path, lines):
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))
    return str(path)


@needs_shared
def test_real_2018_gift_cards_dumps(tmp_path):
    stats = convert(f"{GIFT}/Gift_Cards_5.json.gz", "gift", str(tmp_path), meta=f"{GIFT}/meta_Gift_Cards.json.gz",
                    progress=False)
    assert stats["stages"]["reviews"]["lines"] == 2972
    assert stats["stages"]["metadata"]["lines"] == 1547
    assert stats["dropped_interactions"]["duplicate (user, item, time)"] == 3
    assert (stats["interactions"], stats["users"], stats["items"]) == (2969, 458, 148)
    assert stats["items_with_title"] == 148 and stats["bad_lines"] == {}
    with open(tmp_path / "gift" / "gift.inter", encoding="utf-8") as f:
        assert sum(1 for _ in f) == 2969 + 1
    assert os.path.isfile(tmp_path / "gift" / "gift.spm.model")
    with pytest.raises(FileExistsError, match="--force"):
        convert(f"{GIFT}/Gift_Cards_5.json.gz", "gift", str(tmp_path), progress=False)


@needs_shared
def test_real_beauty_5core_sequence_file(tmp_path):
    stats = convert(f"{BEAUTY}/Beauty.txt", "beauty", str(tmp_path), meta=f"{BEAUTY}/item_description.csv",
                    progress=False)
    assert (stats["users"], stats["items"], stats["interactions"]) == (22363, 12101, 198502)
    assert stats["items_with_title"] == 12094 and stats["items_with_brand"] == 10003


def test_2014_2018_2023_formats(tmp_path):
    reviews_2014 = write_gz(tmp_path / "reviews_Toys.json.gz", [
        json.dumps({"reviewerID": f"U{u}", "asin": f"I{(u + k) % 4}", "overall": 4.0, "unixReviewTime": 100 + k})
        for u in range(3) for k in range(3)
    ])
    meta_2014 = write_gz(tmp_path / "meta_Toys.json.gz", [
        str({"asin": "I0", "title": "Red 'Toy' Car", "brand": "Acme", "categories": [["Toys", "Cars"], ["Gifts"]]}),
        str({"asin": "I1", "title": "Blue <b>Train</b> &amp; Track", "categories": [["Toys"]]}),
        str({"asin": "I1", "title": "duplicate row", "categories": []}),
        str({"asin": "I2", "title": "var aPageStart = (new Date()).getTime();"}),
    ])
    stats = convert(reviews_2014, "toys", str(tmp_path), meta=meta_2014, progress=False)
    assert (stats["interactions"], stats["users"], stats["items"]) == (9, 3, 4)
    assert stats["dropped_interactions"]["duplicate metadata rows (first kept)"] == 1
    with open(tmp_path / "toys" / "toys.item", encoding="utf-8") as f:
        rows = f.read().splitlines()
    assert "I0\tRed 'Toy' Car\tAcme\tToys Cars Gifts" in rows
    assert "I1\tBlue Train & Track\t\tToys" in rows
    assert any(r.startswith("I2\t\t") for r in rows)  # script junk is not a title

    csv_2018 = tmp_path / "Toys.csv"
    csv_2018.write_text("I1,U1,5.0,10\nI2,U1,4.0,11\nbroken line\nI3,U2,x,12\nI1,U2,3.0,13\n")
    stats = convert(str(csv_2018), "csv18", str(tmp_path), progress=False)
    assert (stats["interactions"], stats["users"], stats["items"]) == (3, 2, 2)
    assert sum(v["lines"] for v in stats["bad_lines"].values()) == 2
    with open(tmp_path / "csv18" / "csv18.inter", encoding="utf-8") as f:
        assert f.read().splitlines()[1] == "U1\tI1\t5\t10"  # item,user order of the 2018 CSV

    reviews_2023 = write_gz(tmp_path / "Toys.jsonl.gz", [
        json.dumps({"user_id": "A", "parent_asin": "P1", "rating": 5.0, "timestamp": 1_600_000_000_000}),
        json.dumps({"user_id": "A", "parent_asin": "P2", "rating": 4.0, "timestamp": 1_600_000_001_000}),
    ])
    meta_2023 = write_gz(tmp_path / "meta_Toys.jsonl.gz", [
        json.dumps({"parent_asin": "P1", "title": "Kite", "store": "SkyCo", "categories": ["Toys", "Outdoor"]}),
    ])
    stats = convert(reviews_2023, "toys23", str(tmp_path), meta=meta_2023, progress=False)
    assert stats["items_with_title"] == 1 and stats["items_with_brand"] == 1
    with open(tmp_path / "toys23" / "toys23.inter", encoding="utf-8") as f:
        assert f.read().splitlines()[1] == "A\tP1\t5\t1600000000"  # milliseconds -> seconds


def test_corruption_corpus_counts_bad_lines_and_keeps_good_ones(tmp_path):
    good = [json.dumps({"reviewerID": f"U{k % 3}", "asin": f"I{k}", "overall": 5, "unixReviewTime": k}) for k in range(6)]
    path = tmp_path / "reviews_Bad.json"
    with open(path, "wb") as f:
        f.write((good[0] + "\n").encode())
        f.write(b'{"reviewerID": "U9", "asin": "I9", "overall": 5, "unixRevi\n')  # truncated JSON
        f.write((good[1] + "\n" + good[2] + "\n").encode())
        f.write(b'{"reviewerID": "U9", "asin": "I9", "overall": 5, "unixReviewTime": "soon"}\n')  # wrong type
        f.write(b'{"reviewerID": 17, "asin": "I9", "overall": 5, "unixReviewTime": 3}\n')  # wrong type
        f.write(b'{"reviewerID": "U\xff\xfe", "asin": "I9", "unixReviewTime": 3}\n')  # bad bytes
        f.write(("\n".join(good[3:]) + "\n").encode())
    stats = convert(str(path), "bad", str(tmp_path), progress=False)
    assert stats["interactions"] == 6
    assert stats["bad_lines"] == {
        "reviews_Bad.json: malformed JSON": {"lines": 1, "examples": [2]},
        "reviews_Bad.json: missing or non-numeric time": {"lines": 1, "examples": [5]},
        "reviews_Bad.json: missing user or item": {"lines": 1, "examples": [6]},
        "reviews_Bad.json: not UTF-8": {"lines": 1, "examples": [7]},
    }

    data = gzip.compress(("\n".join(good * 2000) + "\n").encode())
    truncated = tmp_path / "reviews_Cut.json.gz"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(DumpError, match="corrupt or truncated"):
        convert(str(truncated), "cut", str(tmp_path), progress=False)
    assert not os.path.exists(tmp_path / "cut")
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".cut")]


def test_cli_reports_a_missing_input_as_not_found(tmp_path):
    missing = tmp_path / "nowhere" / "reviews_Toys.json.gz"
    done = subprocess.run([sys.executable, "-m", "dataset_prep", "convert", "--reviews", str(missing), "--name", "toys",
                           "--out", str(tmp_path), "--quiet"],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ROOT}, cwd=ROOT)
    assert done.returncode == 2
    assert done.stderr == f"error: --reviews: file not found: {missing}\n"
    assert os.listdir(tmp_path) == []


def test_cli_checks_every_input_path_before_any_work(tmp_path, capsys):
    from dataset_prep.cli import main

    reviews = write_gz(tmp_path / "reviews_Toys.json.gz", [
        json.dumps({"reviewerID": "U1", "asin": "I1", "overall": 4.0, "unixReviewTime": 100})])
    missing = str(tmp_path / "missing")
    convert_args = ["convert", "--reviews", reviews, "--name", "toys", "--out", str(tmp_path / "out"), "--quiet"]
    cases = [
        (convert_args + ["--meta", missing], f"--meta: file not found: {missing}"),
        (convert_args + ["--tokenizer", missing], f"--tokenizer: file not found: {missing}"),
        (convert_args + ["--exclude", missing], f"--exclude: prepared dataset not found: {missing}"),
        (convert_args + ["--exclude", str(tmp_path)], f"--exclude: file not found: {tmp_path}/{tmp_path.name}.inter"),
        (["convert", "--reviews", str(tmp_path), "--name", "toys", "--out", str(tmp_path / "out")],
         f"--reviews: a directory, not a file: {tmp_path}"),
        (["subsets", "--dataset", missing, "--sizes", "1"], f"--dataset: prepared dataset not found: {missing}"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith(f"error: {message}") and err.count("\n") == 1, (argv, err)
    assert not os.path.exists(tmp_path / "out")  # --exclude and --tokenizer fail before the reviews pass

    convert(reviews, "toys", str(tmp_path), progress=False)
    os.remove(tmp_path / "toys" / "toys.item")
    assert main(["subsets", "--dataset", str(tmp_path / "toys"), "--sizes", "1"]) == 2
    assert capsys.readouterr().err == f"error: --dataset: file not found: {tmp_path}/toys/toys.item\n"
    assert not [p for p in os.listdir(tmp_path) if p.startswith(("toys-", ".toys-"))]
    with pytest.raises(FileNotFoundError, match="--meta: file not found"):
        main(convert_args + ["--meta", missing, "--debug"])  # --debug: the exception, for a traceback


@needs_shared
def test_subsets_are_nested_and_independent_of_hash_seed(tmp_path):
    convert(f"{BEAUTY}/Beauty.txt", "beauty", str(tmp_path), meta=f"{BEAUTY}/item_description.csv", progress=False)
    outputs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"run{hash_seed}"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": ROOT}
        done = subprocess.run([sys.executable, "-m", "dataset_prep", "subsets", "--dataset", str(tmp_path / "beauty"),
                               "--sizes", "20K,50K", "--seed", "7", "--out", str(out)],
                              capture_output=True, text=True, env=env, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        outputs.append({size: (out / f"beauty-{size}" / f"beauty-{size}.inter").read_text() for size in ("20K", "50K")})
    assert outputs[0] == outputs[1]
    small = set(outputs[0]["20K"].splitlines())
    large = set(outputs[0]["50K"].splitlines())
    assert small < large
    assert 20_000 <= len(small) - 1 < 20_000 + 300  # whole users: overshoot below one long sequence
    stats = subsets(str(tmp_path / "beauty"), ["20K"], seed=8, out=str(tmp_path / "other"))
    assert (tmp_path / "other" / "beauty-20K" / "beauty-20K.inter").read_text() != outputs[0]["20K"]
    assert stats[0]["interactions"] >= 20_000


@needs_shared
def test_srt_trains_on_prepared_gift_cards_after_the_folder_moved(tmp_path):
    prepared = tmp_path / "prepared"
    convert(f"{GIFT}/Gift_Cards_5.json.gz", "gift", str(prepared), meta=f"{GIFT}/meta_Gift_Cards.json.gz",
            progress=False)
    assert 'tokenizer_path: "gift.spm.model"' in (prepared / "gift" / "gift.yaml").read_text()  # relative
    shutil.move(str(prepared / "gift"), str(tmp_path / "gift"))  # to another machine, say
    results = tmp_path / "gift.json"
    done = subprocess.run(
        [sys.executable, "run_recbole_srt.py", "--model=SRT", "--dataset=gift", f"--data_path={tmp_path}",
         "--epochs=2", "--show_progress=False", f"--checkpoint_dir={tmp_path}", f"--log_dir={tmp_path}",
         f"--tensorboard_dir={tmp_path}", f"--results_file={results}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(results.read_text())
    assert result["tokenizer"]["path"] == str(tmp_path / "gift" / "gift.spm.model")
    assert 0 <= result["test_result"]["ndcg@5"] <= 1
