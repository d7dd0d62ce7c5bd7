"""Nothing lost, nothing unexplained: results files are new per run and never overwritten, a shared tokenizer cache
is published once, and what a run silently drops or cannot read is said (warnings, results notes, console)."""

import json
import logging
import os

import pytest

from recbole_srt.__main__ import main
from recbole_srt.results import check_results_file, write_results

from test_bad_inputs import TINY, inter_lines, item_lines, merged, write_tiny


class Config(dict):
    pass


def config(tmp_path, **overrides):
    return Config({"results_file": None, "overwrite_results": False, "checkpoint_dir": str(tmp_path / "saved"),
                   "model": "SRT", "dataset": "tiny", **overrides})


def test_runs_in_the_same_second_write_their_own_results(tmp_path, monkeypatch):
    import recbole_srt.results as results

    monkeypatch.setattr(results, "get_local_time", lambda: "Jan-01-2027_00-00-00")
    first = write_results(config(tmp_path), {"run": 1})
    second = write_results(config(tmp_path), {"run": 2})
    assert first != second and first.endswith(f"SRT-tiny-Jan-01-2027_00-00-00-{os.getpid()}.json")
    assert [json.load(open(p))["run"] for p in (first, second)] == [1, 2]
    assert sorted(os.listdir(tmp_path / "saved")) == sorted(os.path.basename(p) for p in (first, second))


def test_an_explicit_results_file_is_never_overwritten_unless_asked(tmp_path, caplog):
    path = str(tmp_path / "r.json")
    chosen = config(tmp_path, results_file=path)
    check_results_file(chosen)  # free before the run ...
    with open(path, "w") as f:  # ... taken by another run while this one trained
        f.write('{"other": true}')
    with caplog.at_level(logging.WARNING):
        written = write_results(chosen, {"run": 1})
    assert written == str(tmp_path / f"r-{os.getpid()}.json") and "created by another run" in caplog.text
    assert json.load(open(path)) == {"other": True} and json.load(open(written)) == {"run": 1}
    with pytest.raises(ValueError, match="exists; choose another name or set overwrite_results: True"):
        check_results_file(chosen)
    replacing = config(tmp_path, results_file=path, overwrite_results=True)
    check_results_file(replacing)
    assert write_results(replacing, {"run": 2}) == path and json.load(open(path)) == {"run": 2}
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]


def test_a_tokenizer_cache_trained_by_two_runs_at_once_is_published_once(tmp_path):
    from recbole_srt.tokenizer import publish_once

    final = tmp_path / "tiny-bpe100-abc.model"
    for n, content in enumerate((b"first", b"second")):
        (tmp_path / f"training-{n}").write_bytes(content)
    assert publish_once(str(tmp_path / "training-0"), str(final)) is True
    assert publish_once(str(tmp_path / "training-1"), str(final)) is False  # the first run's file stays
    assert final.read_bytes() == b"first" and sorted(os.listdir(tmp_path)) == [final.name]


def test_empty_titles_and_users_left_out_of_the_test_are_said(tmp_path, capsys, caplog):
    # Titles all empty (the brand still says something), 3 users with one interaction, 2 with two.
    items = [f"i{k}\t\tbrand{k % 3}" for k in range(len(item_lines()))]
    inter = inter_lines() + ["s0\ti1\t5", "s1\ti2\t5", "s2\ti3\t5", "d0\ti1\t5", "d0\ti2\t6", "d1\ti3\t5", "d1\ti4\t6"]
    write_tiny(str(tmp_path / "data"), inter=inter, items=items)
    results = tmp_path / "r.json"
    argv = merged(TINY, [f"--data_path={tmp_path / 'data'}", f"--checkpoint_dir={tmp_path / 'saved'}", "--log_dir=~",
                         f"--tokenizer_dir={tmp_path / 'tok'}", f"--results_file={results}", "--state=WARNING"])
    with caplog.at_level(logging.WARNING):
        assert main(argv) == 0
    notes = json.load(open(results))["notes"]
    assert any("'title' is empty for every one of the 12 items" in note for note in notes), notes
    assert any("5 of 35 users are not tested: 3 have a single interaction" in note and "2 too few" in note
               for note in notes), notes
    assert "'title' is empty for every one" in caplog.text


def test_dataset_prep_says_how_many_lines_it_skipped(tmp_path, capsys):
    from dataset_prep.cli import main as prep

    good = [json.dumps({"reviewerID": f"U{k % 3}", "asin": f"I{k}", "overall": 5, "unixReviewTime": k}) for k in range(6)]
    reviews = tmp_path / "reviews_Bad.json"
    reviews.write_text("\n".join([good[0], '{"reviewerID": "U9", "asin', *good[1:4], "not json", *good[4:]]) + "\n")
    assert prep(["convert", "--reviews", str(reviews), "--name", "bad", "--out", str(tmp_path), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "warning: 2 input line(s) skipped (counted in stats.json):" in err
    assert "reviews_Bad.json: malformed JSON: 2 (first at line 2, 6)" in err
