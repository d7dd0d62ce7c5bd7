"""benchmarks/transfer_curve.py: the target subsets are nested and seeded (on the real Beauty file), bad flags are
named before any work, and the page's statistics and figure follow from a results dict (rendering only)."""

import math
import os
import re

import pytest

from benchmarks import transfer_curve, transfer_curve_report as report
from benchmarks.harness import paths

BEAUTY = os.path.join(paths.AMAZON, "Beauty", "PLRec", "Beauty.txt")


def project_in(monkeypatch, tmp_path):
    for name in ("RESULTS", "DOCS", "SAVED", "DATA"):
        monkeypatch.setattr(paths, name, str(tmp_path / name.lower()))


@pytest.mark.skipif(not os.path.isfile(BEAUTY), reason="needs ../shared/data/amazon (Beauty) beside the repository")
def test_subsets_are_nested_within_a_seed_and_differ_across_seeds(monkeypatch, tmp_path):
    project_in(monkeypatch, tmp_path)
    from benchmarks.harness import prepare

    prepare("beauty")

    def users(percent, seed):
        name, data_path, count = transfer_curve.subset("beauty", percent, seed)
        with open(os.path.join(data_path, name, f"{name}.inter"), encoding="utf-8") as f:
            found = {line.split("\t", 1)[0] for line in list(f)[1:]}
        assert len(found) == count
        return found

    small, larger = users(5, 0), users(10, 0)
    assert small < larger and len(larger) == round(22363 * 0.10) and len(small) == round(22363 * 0.05)
    assert users(5, 1) != small
    assert transfer_curve.subset("beauty", 100, 0) == ("beauty", paths.DATA, 22363)


@pytest.mark.parametrize("flag, value, message", [("--fractions", "0,5", "--fractions: expected percents"),
                                                   ("--presets", "L2-H2-D64,big", "--presets: "),
                                                   ("--targets", "books", "--targets: unknown 'books'")])
def test_a_bad_flag_is_named_before_any_work(monkeypatch, tmp_path, flag, value, message):
    project_in(monkeypatch, tmp_path)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    with pytest.raises(SystemExit, match=message):
        transfer_curve.main([flag, value, "--quick"])
    assert not os.path.exists(paths.SAVED)


def fabricated():
    """Two sizes, three seeds, one target and preset: fine-tuned well above scratch at 5 %, level at 100 %."""
    rows = []
    for percent, users, tuned, scratch in ((5, 100, (0.020, 0.021, 0.022), (0.010, 0.011, 0.012)),
                                           (100, 2000, (0.030, 0.031, 0.029), (0.030, 0.029, 0.031))):
        for seed in range(3):
            where = {"target": "beauty", "percent": percent, "users": users, "seed": seed, "wall_seconds": 1.0,
                     "epochs_trained": 1}
            metric = {"ndcg@5": 0.005, "hit@5": 0.01}
            rows.append({**where, "variant": "most-popular", "preset": None, "unmasked": metric, "masked": metric})
            for variant, value in (("fine-tuned", tuned[seed]), ("scratch", scratch[seed])):
                got = {"ndcg@5": value, "hit@5": 2 * value}
                rows.append({**where, "variant": variant, "preset": "L2-H2-D64", "unmasked": got, "masked": got,
                             "cold": got, "warm": got})
    return {"quick": False, "mode": {"pretrain_epochs": 6, "epochs": 10, "stage_epochs": 2, "stopping_step": 5},
            "pinned": {"learning_rate": 0.001}, "complete": False, "rows": rows, "pretrain_seconds": {"L2-H2-D64": 60},
            "plan": {"seeds": [0, 1, 2], "fractions": [5, 100], "presets": ["L2-H2-D64"], "targets": ["beauty"]},
            "corpus": {"sources": ["toys"], "interactions": 10, "users": 2, "items": 3}, "command": "python x",
            "machine": "a machine", "date": "2026-12-07", "wall_minutes": 1.0}


def test_the_page_reports_the_gain_and_welch_p_and_the_goals():
    from scipy.stats import ttest_ind

    result = fabricated()
    page = report.markdown(result, "transfer_curve")
    p = ttest_ind([0.020, 0.021, 0.022], [0.010, 0.011, 0.012], equal_var=False).pvalue
    assert f"+90.9 % (p = {p:.2g})" in page  # 0.021 / 0.011 - 1
    assert "| beauty | L2-H2-D64 | met at 5 %" in page
    assert "**partial**" in page and "5 % L2-H2-D64 beauty s0" in page
    assert "![NDCG@5 against the target's users](transfer_curve/curve.png)" in page
    # a single seed has no spread: its gain is shown, its p is not
    gain, single = report.welch([0.02], [0.01])
    assert single is None and gain == pytest.approx(1.0)


def test_a_missed_gain_is_called_missed_only_once_every_small_share_has_all_its_seeds():
    result = fabricated()
    for r in result["rows"]:  # fine-tuned level with scratch at 5 %
        if r["percent"] == 5 and r["variant"] == "fine-tuned":
            r["unmasked"] = {"ndcg@5": 0.0105 + 0.001 * r["seed"], "hit@5": 0.021 + 0.002 * r["seed"]}
    assert "| beauty | L2-H2-D64 | missed; 5 %" in report.markdown(result, "transfer_curve")
    result["plan"]["fractions"] = [5, 10, 100]  # 10 % planned, not run yet
    assert "| beauty | L2-H2-D64 | not met so far (all seeds at 5 %); 5 %" in report.markdown(result, "transfer_curve")


def test_the_figure_is_a_png(tmp_path):
    report.figure(fabricated(), str(tmp_path))
    with open(tmp_path / "curve.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_a_partial_study_projects_its_remaining_cells_from_the_finished_ones():
    result = fabricated()
    result["plan"]["targets"] = ["beauty", "sports"]
    result["rows"] = [r for r in result["rows"] if r["percent"] == 5 and r["seed"] < 2]
    hours, unknown = report.projection(result)
    # beauty: 2 finished cells of 100 users took 3 s each (most popular, fine-tuned and scratch rows): 0.03 s per
    # user; left: seed 2 at 5 % (100 users) and 3 seeds at 100 % (2000 users each)
    assert hours == pytest.approx(0.03 * (100 + 3 * 2000) / 3600)
    assert unknown == ["L2-H2-D64 on sports"]


def test_a_scratch_at_zero_has_no_ratio_but_keeps_its_test():
    gain, p = report.welch([0.01, 0.02], [0.0, 0.0])
    assert report.gain_text(gain, p).startswith("scratch at 0 (p = ")
    assert report.gain_text(*report.welch([], [0.01])) == ""


def test_the_long_control_says_whether_it_repeated_scratch():
    result = fabricated()
    result["mode"]["long_epochs"], result["long_share"] = 50, 25
    small = [r for r in result["rows"] if r["variant"] == "scratch" and r["percent"] == 5]
    result["rows"] += [{**r, "variant": "scratch, 50 epochs"} for r in small]
    assert "ended at scratch's test figures in 3 of 3 runs" in report.markdown(result, "transfer_curve")
    result["rows"][-1] = {**result["rows"][-1], "unmasked": {"ndcg@5": 0.5, "hit@5": 0.6}}
    assert "in 2 of 3 runs" in report.markdown(result, "transfer_curve")


def test_the_paired_table_shows_the_pooled_test_and_each_seeds_difference():
    result = fabricated()
    for r in result["rows"]:
        if r["variant"] == "fine-tuned" and r["percent"] == 5:
            d = 0.01 * (r["seed"] + 1)
            r["paired_vs_scratch"] = {c: {"first": 0.01, "second": 0.01 + d, "difference": d, "se": 0.003}
                                      for c in ("unmasked", "masked")}
            r["unmasked"] = r["masked"] = {"ndcg@5": 0.01 + d, "hit@5": 0.02 + 2 * d}
        if r["variant"] == "scratch" and r["percent"] == 5:
            value = 0.01 + 0.0002 * r["seed"] * (2 - r["seed"])  # seed 1's report 0.0102, its ranks' 0.0100
            r["unmasked"] = r["masked"] = {"ndcg@5": value, "hit@5": 2 * value}
    entry = {"users": 250, "seeds": 3, "scratch": 0.01, "fine-tuned": 0.03, "difference": 0.02, "se": 0.004,
             "p": 1e-6}
    result["paired"] = [{"target": "beauty", "percent": 5, "preset": "L2-H2-D64", "unmasked": entry,
                         "masked": entry}]
    page = report.markdown(result, "transfer_curve")
    assert "| 100 | 5 % | L2-H2-D64 | kept | 3 | 250 | 0.0100 | 0.0300 | +0.0200 ± 0.0040 | +200.0 % | 1e-06 | " \
           "+0.0100, +0.0200, +0.0300 |" in page
    assert page.count("| 100 | 5 % | L2-H2-D64 | masked | 3 |") == 1  # the 100 % cell has no ranks: no row
    assert "to within 2.0e-04" in page


def ranks_of(values):
    """A result with test_ranks whose per-user NDCG@5 are ``values`` ({user: rank})."""
    return {"test_ranks": {"user": list(values), "item": ["i"] * len(values), "rank": list(values.values())}}


def test_pooling_counts_a_user_once_over_the_seeds_that_hold_it():
    from scipy.stats import ttest_1samp

    # user "b" is in both seeds' subsets: scratch ranks it 1 then 100 (NDCG 1 and 0), fine-tuned 3 then 1
    seed0 = ({c: ranks_of({"a": 1, "b": 3}) for c in ("unmasked", "masked")},
             {c: ranks_of({"a": 2, "b": 1}) for c in ("unmasked", "masked")})
    seed1 = ({c: ranks_of({"b": 1, "c": 100}) for c in ("unmasked", "masked")},
             {c: ranks_of({"b": 100, "c": 1}) for c in ("unmasked", "masked")})
    out = transfer_curve.pooled([seed0, seed1])["unmasked"]
    ndcg = {1: 1.0, 2: 1 / math.log2(3), 3: 0.5, 100: 0.0}
    d = [ndcg[1] - ndcg[2], (ndcg[3] + ndcg[1]) / 2 - (ndcg[1] + ndcg[100]) / 2, ndcg[100] - ndcg[1]]
    assert out["users"] == 3 and out["seeds"] == 2
    assert out["difference"] == pytest.approx(sum(d) / 3)
    assert out["p"] == pytest.approx(ttest_1samp(d, 0).pvalue)


def test_new_runs_write_ranks_and_kept_runs_without_them_are_tested_again(monkeypatch):
    calls = []

    def fake_run(name, dataset, options, workdir, log, train=True, data_path=None):
        calls.append((name, options))
        ranks = {"test_ranks": {"user": ["1", "2"], "item": ["5", "6"], "rank": [1, 9]}}
        kept_before = name == "x-masked"  # a run kept from before the study wrote ranks: read, not run
        return {"test_result": {"ndcg@5": 0.5}, "history": [{}], "wall_seconds": 1.0, "checkpoint": "best.pth",
                **({} if kept_before else ranks)}

    monkeypatch.setattr(transfer_curve.transfer, "run", fake_run)
    masked = lambda first: {"init_from": first["checkpoint"], "epochs": 0}  # noqa: E731
    out, tested = transfer_curve.row("fine-tuned", "x", "d", None, {"epochs": 3}, 0, "w", None, masked=masked,
                                     ranked=True)
    assert calls[0][1]["test_ranks"] and calls[1][1]["test_ranks"]  # asked for; the fake kept run has none
    assert calls[2] == ("x-ranks-masked", {"init_from": "best.pth", "epochs": 0, "seed": 0, "test_ranks": True,
                                           "eval_mask_history": True})
    assert len(calls) == 3 and set(tested) == {"unmasked", "masked"}
    assert all("test_ranks" in r for r in tested.values())
    pair = transfer_curve.paired(tested, tested)["unmasked"]
    assert pair["difference"] == 0 and pair["users"] == 2


def fake_study(monkeypatch, tmp_path, kept, plan=None):
    """transfer_curve.study's runs and writes faked: ``kept(name)`` says which runs are kept, ``plan`` an earlier
    command's; returns (run, events): run(flags...) runs the study and events lists ("train", name) and
    ("write", {(percent, preset, target, seed), ...}, complete) in order."""
    import argparse

    project_in(monkeypatch, tmp_path)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    if plan:
        transfer_curve.harness.update(os.path.join(paths.RESULTS, "transfer_curve.json"), lambda old: {"plan": plan})
    events = []

    def fake_run(name, dataset, options, workdir, log, train=True, data_path=None):
        if not kept(name) and not train:
            return None
        if not kept(name):
            events.append(("train", name))
        return {"test_result": {"ndcg@5": 0.01}, "test_result_cold": {"ndcg@5": 0.0},
                "test_result_warm": {"ndcg@5": 0.01}, "history": [{}] * 3, "wall_seconds": 1.0,
                "checkpoint": f"{name}.pth", "test_ranks": {"user": ["1"], "item": ["2"], "rank": [1]}}

    def fake_update(path, change):
        result = change(None)
        events.append(("write", {(r["percent"], r["preset"], r["target"], r["seed"]) for r in result["rows"]},
                       result["complete"]))

    monkeypatch.setattr(transfer_curve.transfer, "run", fake_run)
    monkeypatch.setattr(transfer_curve, "corpus", lambda log: "tokenizer.model")
    monkeypatch.setattr(transfer_curve, "subset", lambda target, percent, seed: (f"{target}-{percent}", "data", 100))
    monkeypatch.setattr(transfer_curve, "corpus_size", lambda: {})
    monkeypatch.setattr(transfer_curve, "pages", lambda: {})
    monkeypatch.setattr(transfer_curve.harness, "update", fake_update)
    monkeypatch.setattr(transfer_curve.harness, "publish", lambda pages: None)
    monkeypatch.setattr(transfer_curve.report, "figure", lambda result, where: None)

    def run(seeds="0", fractions="5,10", presets="L2-H2-D64,L4-H2-D64", targets="beauty"):
        transfer_curve.study(argparse.Namespace(quick=False, seeds=seeds, fractions=fractions, presets=presets,
                                                targets=targets, threads=1), [])
    return run, events


def test_a_resumed_study_shows_every_kept_cell_before_it_trains(monkeypatch, tmp_path):
    """The first preset's cells are kept, the second's are not and come first in the order at 5 %: the first
    write already holds the kept 10 % cells, and nothing trains before it."""
    run, events = fake_study(monkeypatch, tmp_path, lambda name: "L2-H2-D64" in name or "most_popular" in name)
    run()
    shown = lambda write: {(p, s) for p, s, _, _ in write[1]}  # noqa: E731
    assert events[0][0] == "write" and shown(events[0]) == {(5, "L2-H2-D64"), (5, None), (10, "L2-H2-D64"), (10, None)}
    trained = [e[1] for e in events if e[0] == "train"]
    assert trained[0] == "pretrain-L4-H2-D64"
    assert {"beauty-u5-L4-H2-D64-scratch-e50-s0", "beauty-u10-L4-H2-D64-scratch-e50-s0"} <= set(trained)
    assert shown(events[-1]) == {(p, s) for p in (5, 10) for s in ("L2-H2-D64", "L4-H2-D64", None)}
    assert events[-1][2] is True  # complete


def test_a_command_naming_fewer_cells_adds_to_the_earlier_plan_and_trains_only_what_it_names(monkeypatch, tmp_path):
    """An earlier command planned Beauty, seeds 0 and 1 (kept); this one names Sports, seed 2: it trains Sports seed
    2 only, and its results hold Beauty's cells too, marked partial (Beauty seed 2 and Sports 0, 1 never ran)."""
    earlier = {"seeds": [0, 1], "fractions": [5], "presets": ["L2-H2-D64"], "targets": ["beauty"]}
    kept = lambda name: name.startswith("pretrain") or (  # noqa: E731
        name.startswith("beauty") and re.search(r"-s[01](-|$)", name) is not None)
    run, events = fake_study(monkeypatch, tmp_path, kept, earlier)
    run(seeds="2", fractions="5", presets="L2-H2-D64", targets="sports")
    trained = {e[1] for e in events if e[0] == "train"}
    assert trained and all(name.startswith("sports-u5") and name.endswith(("s2", "s2-masked", "s2-cold"))
                           for name in trained)
    *_, (_, last, complete) = events
    assert {(t, seed) for _, _, t, seed in last} == {("beauty", 0), ("beauty", 1), ("sports", 2)}
    assert complete is False
