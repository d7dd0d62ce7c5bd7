"""The Table 1 benchmark compares each paper figure with ours under the convention the figure was measured
with: SRT's history kept (the authors' code), the baselines' masked (Chen et al. 2022's evaluation)."""

from benchmarks import table1


def row(kept, masked):
    metric = {"ndcg@5": {"mean": None, "sd": 0.0}, "hit@5": {"mean": 0.05, "sd": 0.0}}
    full = {k: dict(v) for k, v in metric.items()}
    full["ndcg@5"]["mean"] = kept
    full_masked = {k: dict(v) for k, v in metric.items()}
    full_masked["ndcg@5"]["mean"] = masked
    seed = {"settings": {"learning_rate": 1e-3}, "stopped_by": "epochs"}
    return {"mean": {"full": full, "full_masked": full_masked, "sampled_10k": full, "valid_ndcg@5": 0.02,
                     "epochs_run": 10, "epochs_to_best": 9, "seconds_per_epoch": 8.0},
            "seeds": [seed], "parameters": 10, "non_embedding_parameters": 5,
            "run": {"mode": "full", "command": "x", "machine": "m", "threads": 1, "date": "d", "minutes": 1}}


def table_row(markdown, name):
    line = next(line for line in markdown.splitlines() if line.startswith(f"| {name} |"))
    return [c.strip() for c in line.strip("|").split("|")]


def test_each_paper_figure_carries_its_convention():
    assert table1.paper_figure("beauty", "SRT-1K tuned") == (0.0366, "kept", "full")
    assert table1.paper_figure("beauty", "SASRec-CE") == (0.0314, "kept", "full")  # the authors' own run
    assert table1.paper_figure("sports", "BERT4Rec") == (0.0143, "masked", "full_masked")
    assert table1.paper_figure("beauty", "ID-SASRec-CE") is None
    assert table1.paper_fields("sports", "MostPop") == {"paper_ndcg@5": None, "paper_convention": None}


def test_the_table_divides_by_the_figure_under_its_own_convention():
    md = table1.markdown({"SRT-1K": row(0.0183, 0.0400), "SASRec-CE": row(0.0100, 0.0157)}, "beauty")
    srt, sasrec = table_row(md, "SRT-1K"), table_row(md, "SASRec-CE")
    assert srt[2:4] == ["0.0366 kept", "50%"]         # 0.0183 / 0.0366, not the masked 0.0400
    assert sasrec[2:4] == ["0.0314 kept", "32%"]      # the authors' own run: 0.0100 / 0.0314, not the masked 0.0157
    bert = table_row(table1.markdown({"BERT4Rec": row(0.0100, 0.0157)}, "beauty"), "BERT4Rec")
    assert bert[2:4] == ["0.0219 masked", "72%"]      # Chen et al.'s: 0.0157 / 0.0219


def test_an_untrained_row_has_no_validation_figure_and_is_never_selected_over_a_trained_one():
    seed = {"full": {"ndcg@5": 0.007, "hit@5": 0.01}, "full_masked": {"ndcg@5": 0.007, "hit@5": 0.01},
            "sampled_10k": {"ndcg@5": 0.008, "hit@5": 0.01}, "valid_ndcg@5": None, "seconds_per_epoch": 0.0,
            "epochs_to_best": 0, "epochs_run": 0, "train_seconds": 0.0}
    mean = table1.aggregate([seed])
    assert mean["valid_ndcg@5"] is None
    most_pop = {**row(0.007, 0.007), "mean": {**row(0.007, 0.007)["mean"], "valid_ndcg@5": None}}
    md = table1.markdown({"MostPop": most_pop, "SRT-1K": row(0.03, 0.04)}, "beauty")
    assert table_row(md, "MostPop")[9] == ""          # the valid NDCG@5 cell: empty, not 0.0000
    assert table_row(md, "SRT-1K")[9] == "0.0200"
    variants = {"SRT-1K": most_pop, "SRT-1K tuned": row(0.03, 0.04)}
    assert table1.selected(variants) == {"SRT-1K tuned"}
