"""benchmarks/encoders.py: its goal check, its run keys, and a --kept pass that trains nothing."""

import math

import pytest

from benchmarks import encoders
from benchmarks.harness import paths


@pytest.fixture
def sandbox(monkeypatch, tmp_path):
    """The study's folders under tmp_path; returns its work folder (where kept runs are)."""
    for name in ("RESULTS", "DOCS", "SAVED", "DATA"):
        monkeypatch.setattr(paths, name, str(tmp_path / name.lower()))
    workdir = tmp_path / "saved" / "encoders" / "encoders"
    workdir.mkdir(parents=True)
    return workdir


def rows(values):
    """Compare rows of one dataset: {variant: [NDCG@5 kept, per seed]}."""
    return [{"variant": v, "kept": {"ndcg@5": x}} for v, xs in values.items() for x in xs]


def test_the_goal_is_the_better_of_text_and_id_minus_its_sd():
    within = encoders.verdict(rows({"text": [0.030, 0.032], "id": [0.020, 0.022], "fusion": [0.0302, 0.0302]}), "kept")
    assert within == {"best": "text", "within": True, "above": False}  # 0.0302 >= 0.031 - 0.0014
    below = encoders.verdict(rows({"text": [0.030, 0.032], "id": [0.020, 0.022], "fusion": [0.028, 0.029]}), "kept")
    assert below["within"] is False
    above = encoders.verdict(rows({"text": [0.020], "id": [0.030], "fusion": [0.031]}), "kept")
    assert above == {"best": "id", "within": True, "above": True}
    assert encoders.verdict(rows({"text": [0.03], "fusion": [0.03]}), "kept") is None  # id missing: no verdict


def test_every_variant_runs_under_its_own_key_and_fusion_is_its_default_recipe():
    options = {v: encoders.options_of(v) for v in ("text", "id", "text+id", "fusion", *encoders.FUSION)}
    assert options["fusion"] == options[encoders.DEFAULT_FUSION]
    from recbole_srt.model.item_encoders.fusion import FusionItemEncoder

    # the page's "fusion" rows are the default recipe's training, "fusion expected-id" the default itself
    defaults = {k: v for k, v in FusionItemEncoder.config_keys.items() if k.startswith("fusion_")}
    assert {**encoders.FUSION[encoders.DEFAULT_FUSION], **encoders.RETESTED["fusion expected-id"][1]} == defaults
    assert encoders.RETESTED["fusion expected-id"][0] == "fusion"
    assert all(o["item_encoder"] == "fusion" for v, o in options.items() if v.startswith("fusion"))
    keys = [encoders.key_of("compare", "beauty", v, "s0") for v in options]
    assert len(set(keys)) == len(keys)


def test_every_schedule_names_its_horizon_so_its_runs_outlive_a_change_of_defaults():
    assert all("epochs" in options for options in encoders.SCHEDULES.values())
    assert sum("(default)" in name for name in encoders.SCHEDULES) == 1
    from recbole_srt.build import load_config

    default = next(options for name, options in encoders.SCHEDULES.items() if "(default)" in name)
    config = load_config("SRT", "ml-100k", config_dict={"state": "ERROR"})
    assert {k: config[k] for k in default} == default  # the row called default is SRT's default


def test_kept_trains_nothing_and_writes_no_row_for_runs_not_made(monkeypatch, tmp_path, sandbox):
    monkeypatch.setattr(encoders.harness, "trial", lambda *a, **k: pytest.fail("--kept must not train"))
    assert encoders.main(["--kept", "--datasets", "ml-100k", "--seeds", "0", "--part", "compare,cold"]) == 0
    assert not (tmp_path / "results" / "encoders.json").exists()  # no run kept: no row, no command recorded
    with pytest.raises(SystemExit, match="--variants: unknown 'words'"):
        encoders.main(["--kept", "--variants", "words"])


def test_the_cold_table_counts_the_hits_behind_cold_hit_at_5():
    def run(hit, users):
        return {"dataset": "beauty", "variant": "text", "cold": {"hit@5": hit, "ndcg@5": hit / 2}, "cold_users": users,
                "warm": {"hit@5": 0.04, "ndcg@5": 0.02}, "kept": {"ndcg@5": 0.02}}

    page = "\n".join(encoders.cold_section([run(0.01, 2000), run(0.0125, 2400)]))
    assert "| 4,400 | 50 |" in page  # 20 + 30 hits over both seeds' cold users


def test_the_paired_table_reads_each_gap_against_its_standard_error(monkeypatch, tmp_path, sandbox):
    row = {"part": "paired", "dataset": "ml-100k", "convention": "kept", "variant": "fusion", "against": "id", "seeds": [3, 3], "users": 943, "metric": "ndcg@5",
           "first": 0.0430, "second": 0.0376, "difference": -0.0054, "se": 0.0040, "ci95": [-0.01324, 0.00244],
           "p": 0.18, "largest_gap_to_reported": 2e-5}
    page = "\n".join(encoders.paired_section([row]))
    assert ("| ml-100k | kept | fusion | id | NDCG@5 | 3, 3 | 943 | 0.0430 | 0.0376 | -0.0054 ± 0.0040 | -0.0132 to "
            "+0.0024 | 0.18 |") in page
    assert "largest gap 2.0e-05" in page
    # Without kept compare runs the part tests nothing and writes no row.
    monkeypatch.setattr(encoders.harness, "trial", lambda *a, **k: pytest.fail("nothing to test again"))
    assert encoders.main(["--datasets", "ml-100k", "--seeds", "0", "--part", "paired"]) == 0
    assert encoders.harness.load(str(tmp_path / "results" / "encoders.json")).get("rows", []) == []


def test_paired_reads_the_ranks_compare_runs_wrote_and_tests_nothing_again(monkeypatch, tmp_path, sandbox):
    monkeypatch.setattr(encoders.harness, "trial", lambda *a, **k: pytest.fail("the written ranks must be read"))
    users = [str(u) for u in range(1, 41)]
    workdir = sandbox
    for offset, variant in enumerate(("text", "id", "text+id", encoders.DEFAULT_FUSION)):
        ranks = {"user": users, "item": users, "rank": [1 + (u + offset) % 7 for u in range(len(users))]}
        ndcg = sum(1 / math.log2(r + 1) for r in ranks["rank"] if r <= 5) / len(users)
        key = encoders.key_of("compare", "ml-100k", variant, "s0")
        encoders.harness.update(str(workdir / f"{key}.json"), lambda old: {
            "checkpoint": "kept.pth", "test_result": {"ndcg@5": ndcg}, "test_ranks": ranks})
        encoders.harness.update(str(workdir / f"{key}-masked.json"), lambda old: {"test_ranks": ranks})
    # a paired row of a variant this command does not name, written by an earlier command: kept as it is
    other = {"part": "paired", "dataset": "ml-100k", "seed": None, "variant": "fusion m20 interpolate",
             "convention": "kept", "against": "id", "metric": "ndcg@5", "seeds": [3, 3], "users": 943, "first": 0.04,
             "second": 0.036, "difference": -0.004, "se": 0.003, "ci95": [-0.01, 0.002], "p": 0.2,
             "largest_gap_to_reported": 1e-5,
             "key": encoders.key_of("paired", "ml-100k", "fusion m20 interpolate", "kept", "id")}
    encoders.harness.update(str(tmp_path / "results" / "encoders.json"), lambda old: {"rows": [other]})
    assert encoders.main(["--datasets", "ml-100k", "--seeds", "0", "--part", "paired"]) == 0
    rows = encoders.harness.load(str(tmp_path / "results" / "encoders.json"))["rows"]
    assert other in rows
    rows = [r for r in rows if r != other]
    assert {(r["convention"], r["against"]) for r in rows} == {
        (c, o) for c in ("kept", "masked") for o in ("text", "id", "text+id")}
    assert max(r["largest_gap_to_reported"] for r in rows) < 1e-12


def test_paired_pools_every_kept_seed_not_only_the_seeds_named(monkeypatch, tmp_path, sandbox):
    monkeypatch.setattr(encoders.harness, "trial", lambda *a, **k: pytest.fail("the written ranks must be read"))
    users = [str(u) for u in range(1, 21)]
    rows = []
    for seed in (0, 1):
        for offset, variant in enumerate(("text", "id", "text+id", encoders.DEFAULT_FUSION)):
            ranks = {"user": users, "item": users, "rank": [1 + (u + offset + seed) % 7 for u in range(len(users))]}
            ndcg = sum(1 / math.log2(r + 1) for r in ranks["rank"] if r <= 5) / len(users)
            key = encoders.key_of("compare", "ml-100k", variant, f"s{seed}")
            encoders.harness.update(str(sandbox / f"{key}.json"), lambda old: {
                "checkpoint": "kept.pth", "test_result": {"ndcg@5": ndcg}, "test_ranks": ranks})
            encoders.harness.update(str(sandbox / f"{key}-masked.json"), lambda old: {"test_ranks": ranks})
            rows.append({"part": "compare", "dataset": "ml-100k", "variant": variant, "seed": seed, "key": key,
                         "valid": metrics(ndcg), "kept": metrics(ndcg), "masked": metrics(ndcg), "epochs_run": 1,
                         "epochs_to_best": 1, "stopped_by": "epochs", "seconds_per_epoch": 1.0, "parameters": 1,
                         "wall_seconds": 1.0})
    encoders.harness.update(str(tmp_path / "results" / "encoders.json"), lambda old: {"rows": rows})
    assert encoders.main(["--datasets", "ml-100k", "--seeds", "1", "--part", "paired"]) == 0
    paired = [r for r in encoders.harness.load(str(tmp_path / "results" / "encoders.json"))["rows"]
              if r["part"] == "paired"]
    assert paired and all(r["seeds"] == [2, 2] for r in paired)


def test_the_cold_part_runs_a_trained_fusion_variant_only_when_named(monkeypatch, sandbox):
    calls = []

    def trial(run_id, dataset, options, runs_dir, data_path=None):
        calls.append((run_id, options))
        return {"checkpoint": None, "history": [], "best_valid_result": {}, "test_result": metrics(0.02),
                "stopped_by": "epochs", "parameters": 1, "wall_seconds": 1.0, "test_result_cold": metrics(0.01),
                "test_users_cold": 10,
                "test_result_warm": metrics(0.02)}

    monkeypatch.setattr(encoders.harness, "trial", trial)
    named = "fusion m20 drop0.5 expected"
    assert encoders.main(["--datasets", "ml-100k", "--seeds", "0", "--part", "cold", "--variants", named]) == 0
    assert [run_id for run_id, _ in calls] == [encoders.key_of("cold", "ml-100k", named, "s0")]
    assert calls[0][1]["cold_start_items"] == 0.1 and calls[0][1]["fusion_eval_id"] == "expected"
    calls.clear()  # not named: the cold part's own encoders only
    assert encoders.main(["--datasets", "ml-100k", "--seeds", "1", "--part", "cold"]) == 0
    assert not any(named.replace(" ", "_") in run_id for run_id, _ in calls)


def metrics(ndcg):
    return {"ndcg@5": ndcg, "hit@5": 2 * ndcg, "ndcg@10": 1.2 * ndcg}


def test_a_retested_variant_tests_the_default_runs_checkpoint_again_and_keeps_its_training_record(monkeypatch,
                                                                                                   tmp_path, sandbox):
    workdir = sandbox
    trained = {"checkpoint": "fusion-s0.pth", "history": [{"epoch": e, "train_seconds": 10.0 * (e + 1), "ndcg@5": n}
                                                          for e, n in enumerate((0.02, 0.03))],
               "best_valid_result": {"ndcg@5": 0.03}, "test_result": metrics(0.025), "stopped_by": "epochs",
               "parameters": 1234, "wall_seconds": 20.0}
    key = encoders.key_of("compare", "ml-100k", encoders.DEFAULT_FUSION, "s0")
    encoders.harness.update(str(workdir / f"{key}.json"), lambda old: trained)
    calls = []

    def trial(run_id, dataset, options, runs_dir, data_path=None):
        calls.append((run_id, options))
        return {"checkpoint": None, "history": [], "best_valid_result": {"ndcg@5": 0.029},
                "test_result": metrics(0.027 if not options.get("eval_mask_history") else 0.031),
                "stopped_by": "epochs", "parameters": 1234}

    monkeypatch.setattr(encoders.harness, "trial", trial)
    assert encoders.main(["--datasets", "ml-100k", "--seeds", "0", "--part", "compare",
                          "--variants", "fusion expected-id"]) == 0
    assert [run_id for run_id, _ in calls] == ["compare-ml-100k-fusion_expected-id-s0",
                                               "compare-ml-100k-fusion_expected-id-s0-masked"]
    for _, options in calls:  # the default's best checkpoint, not trained again, scored with expected ID parts
        assert options["init_from"] == "fusion-s0.pth" and options["epochs"] == 0
        assert options["fusion_eval_id"] == "expected" and options["test_ranks"] is True
    rows = {r["variant"]: r for r in encoders.harness.load(str(tmp_path / "results" / "encoders.json"))["rows"]}
    row = rows["fusion expected-id"]
    assert (row["kept"], row["masked"], row["valid"]) == (metrics(0.027), metrics(0.031), {"ndcg@5": 0.029})
    assert (row["epochs_run"], row["epochs_to_best"], row["seconds_per_epoch"]) == (2, 2, 10.0)
    assert "fusion" not in rows  # the source's row is its own part's to write (with its masked test)
    assert "| ml-100k | fusion expected-id | 1 | 0.0270 |" in encoders.pages()["encoders"]


def test_paired_compares_the_cold_users_seed_by_seed_and_tests_kept_cold_runs_again_for_their_ranks(monkeypatch,
                                                                                                    tmp_path, sandbox):
    workdir = sandbox
    users = [str(u) for u in range(1, 21)]

    def ranks(seed, offset):  # seed s: users 1..5 (seed 0) or 6..10 (seed 1) hold a cold item
        cold = [5 * seed < int(u) <= 5 * seed + 5 for u in users]
        return {"user": users, "item": users, "rank": [1 + (int(u) + offset) % 7 for u in users], "cold": cold}

    def cold_ndcg(r):
        picked = [x for x, c in zip(r["rank"], r["cold"]) if c]
        return sum(1 / math.log2(x + 1) for x in picked if x <= 5) / len(picked)

    for seed in (0, 1):
        for variant, offset in (("text", 0), ("fusion", 3)):
            r = ranks(seed, offset)
            encoders.harness.update(str(workdir / f"{encoders.key_of('cold', 'ml-100k', variant, f's{seed}')}.json"),
                                    lambda old: {"checkpoint": f"{variant}-s{seed}.pth", "test_ranks": r,
                                                 "test_result_cold": {"ndcg@5": cold_ndcg(r)}})
        # the re-tested variant's kept run was made before cold runs wrote ranks
        encoders.harness.update(str(workdir / f"{encoders.key_of('cold', 'ml-100k', 'fusion expected-id', f's{seed}')}"
                                              ".json"), lambda old: {"checkpoint": None})
    calls = []

    def trial(run_id, dataset, options, runs_dir, data_path=None):
        calls.append((run_id, options["init_from"], options["fusion_eval_id"], options["seed"]))
        r = ranks(options["seed"], 5)
        return {"checkpoint": None, "test_ranks": r, "test_result_cold": {"ndcg@5": cold_ndcg(r)}}

    monkeypatch.setattr(encoders.harness, "trial", trial)
    assert encoders.main(["--datasets", "ml-100k", "--seeds", "0,1", "--part", "paired",
                          "--variants", "text,fusion,fusion expected-id"]) == 0
    assert calls == [(f"cold-ml-100k-fusion_expected-id-s{s}-ranks", f"fusion-s{s}.pth", "expected", s) for s in (0, 1)]
    rows = encoders.harness.load(str(tmp_path / "results" / "encoders.json"))["rows"]
    cold = {(r["variant"], r["metric"]): r for r in rows if r["convention"] == "cold users, kept"}
    assert set(cold) == {(v, m) for v in ("fusion", "fusion expected-id") for m in ("hit@5", "ndcg@5")}
    assert all(r["against"] == "text" and r["users"] == 10 and r["seeds"] == [2, 2] for r in cold.values())
    text_hits = sum(1 + (u + 0) % 7 <= 5 for u in range(1, 11)) / 10
    assert cold[("fusion", "hit@5")]["first"] == pytest.approx(text_hits)
    assert max(r["largest_gap_to_reported"] for r in rows) < 1e-12
