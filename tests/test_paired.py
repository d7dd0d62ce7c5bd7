"""test_ranks and the paired comparison of two runs on the same test users."""

import copy
import json

import pytest

from recbole_srt.evaluation import paired
from recbole_srt.quick_start import run

from conftest import QUIET


def trained(tmp_path, name, model="SRT", **options):
    return run(model, "ml-100k", config_dict={
        **QUIET, "epochs": 1, "test_ranks": True, "topk": [5, 10], "results_file": str(tmp_path / f"{name}.json"),
        "learning_rate": 1e-3, **options})


@pytest.mark.parametrize("model, options", [
    ("SRT", {"eval_args": {"mode": "full"}, "eval_mask_history": True}),
    ("SRT", {"eval_args": {"mode": "uni100"}}),  # fixed negatives, one row per user
    # RecBole's loader, one row per candidate; untrained (training SASRec on RecBole's augmented rows takes 100 s)
    ("SASRec", {"eval_args": {"mode": "uni100"}, "eval_negatives": "recbole", "train_neg_sample_args": None,
                "loss_type": "CE", "epochs": 0, "MAX_ITEM_LIST_LENGTH": 10}),
])
def test_the_metrics_of_the_written_ranks_are_the_reported_metrics(tmp_path, model, options):
    result = trained(tmp_path, "a", model, **options)
    ranks = result["test_ranks"]
    assert len(ranks["user"]) == len(set(ranks["user"])) == 943 and min(ranks["rank"]) >= 1
    assert json.loads((tmp_path / "a.json").read_text())["test_ranks"] == ranks
    places = 4  # metric_decimal_place
    for metric in ("ndcg@5", "hit@5", "ndcg@10"):
        values, _ = paired.per_user(ranks, metric)
        assert round(sum(values.values()) / len(values), places) == pytest.approx(result["test_result"][metric]), metric


def test_paired_comparison_of_two_models_and_of_a_model_with_itself(tmp_path, capsys):
    first = trained(tmp_path, "first", eval_args={"mode": "full"})
    second = trained(tmp_path, "second", eval_args={"mode": "full"}, item_encoder="id")
    same = paired.compare([first], [first])
    assert same["difference"] == 0 and same["se"] == 0 and same["p"] == 1.0
    out = paired.compare([first], [second])
    assert out["users"] == 943 and out["first"] == pytest.approx(first["test_result"]["ndcg@5"], abs=5e-5)
    assert out["difference"] == pytest.approx(out["second"] - out["first"]) and 0 < out["se"] < 0.05
    assert out["ci95"][0] < out["difference"] < out["ci95"][1] and 0 <= out["p"] <= 1
    # Two seeds of one side: each user's value is their mean
    both = paired.compare([first, second], [second])
    assert both["first"] == pytest.approx((out["first"] + out["second"]) / 2)

    assert paired.main([str(tmp_path / "first.json"), "--vs", str(tmp_path / "second.json")]) == 0
    assert "ndcg@5 over 943 users" in capsys.readouterr().out
    plain = trained(tmp_path, "plain", eval_args={"mode": "full"}, test_ranks=False)
    assert "test_ranks" not in plain
    assert paired.main([str(tmp_path / "plain.json"), "--vs", str(tmp_path / "second.json")]) == 2
    assert "plain.json: no test_ranks (run it with --test_ranks=True)" in capsys.readouterr().err
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    assert paired.main([str(tmp_path / "broken.json"), "--vs", str(tmp_path / "second.json")]) == 2
    assert "broken.json: not a results file" in capsys.readouterr().err
    other = copy.deepcopy(first)  # another split: one user's held-out item differs
    other["test_ranks"]["item"][0] = "not an item"
    with pytest.raises(ValueError, match="same users and held-out items|do not share"):
        paired.compare([first], [other])


def test_cold_users_are_marked_in_the_ranks_and_compared_seed_by_seed(tmp_path, capsys):
    cold = {"eval_args": {"mode": "full"}, "cold_start_items": 0.1, "epochs": 0}  # untrained: ranks differ all the same
    text = [trained(tmp_path, f"text{s}", seed=s, **cold) for s in (0, 1)]
    fused = [trained(tmp_path, f"fusion{s}", seed=s, item_encoder="fusion", **cold) for s in (0, 1)]
    for result in text + fused:
        flags = result["test_ranks"]["cold"]
        assert sum(flags) == result["test_users_cold"] > 0
        values, _ = paired.per_user(result["test_ranks"], "ndcg@5")
        mean = sum(v for v, c in zip(values.values(), flags) if c) / sum(flags)  # values in user order, as flags
        assert round(mean, 4) == pytest.approx(result["test_result_cold"]["ndcg@5"])
    assert text[0]["test_ranks"]["cold"] != text[1]["test_ranks"]["cold"]  # the seed draws the cold items
    out = paired.compare_within(text, fused, "cold")
    assert out["users"] == text[0]["test_users_cold"] + text[1]["test_users_cold"]
    expected_first = sum(r["test_result_cold"]["ndcg@5"] * r["test_users_cold"] for r in text) / out["users"]
    assert out["first"] == pytest.approx(expected_first, abs=1e-4)
    assert paired.compare_within(text, text, "cold")["difference"] == 0
    with pytest.raises(ValueError, match="does not share its test users, held-out items and cold items"):
        paired.compare_within(text, fused[::-1], "cold")  # seeds crossed
    assert paired.main([str(tmp_path / "text0.json"), str(tmp_path / "text1.json"), "--vs",
                        str(tmp_path / "fusion0.json"), str(tmp_path / "fusion1.json"), "--group", "cold"]) == 0
    assert f"ndcg@5 over {out['users']} cold users" in capsys.readouterr().out
    plain = trained(tmp_path, "plain", eval_args={"mode": "full"}, epochs=0)
    with pytest.raises(ValueError, match="test_ranks has no 'cold' column"):
        paired.compare_within([plain], [plain], "cold")
