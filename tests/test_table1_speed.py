"""The Table 1 benchmark's training-time comparison of the plugin's ID-SASRec-CE against RecBole's
SASRec-CE: per epoch, to each best validation, and time to reach RecBole's best validation."""

from benchmarks import table1


def row(curves, seconds_per_epoch):
    seeds = [{"valid_ndcg@5": max(c), "valid_ndcg@5_by_epoch": c, "seconds_per_epoch": seconds_per_epoch,
              "epochs_to_best": c.index(max(c)) + 1} for c in curves]
    return {"seeds": seeds, "mean": {"valid_ndcg@5": sum(max(c) for c in curves) / len(curves),
                                     "seconds_per_epoch": seconds_per_epoch}}


def cells(line):
    return [c.strip() for c in line.strip("|").split("|")]


def test_ratios_per_epoch_to_best_and_to_the_reference_quality():
    results = {"SASRec-CE": row([[0.010, 0.020, 0.015]], 100.0),  # best 0.020 at epoch 2: 200 s
               "ID-SASRec-CE": row([[0.005, 0.012, 0.021, 0.025], [0.019, 0.020, 0.018, 0.017]], 10.0),
               "ID-SASRec-CE slow": row([[0.001, 0.002]], 50.0)}
    lines = table1.speed_lines(results)
    fast, slow = cells(lines[-2]), cells(lines[-1])
    # per epoch 10x; to best: mean(4, 2) epochs x 10 s = 30 s, 6.7x; reaches 0.020 at epochs 3 and 2: 25 s, 8x
    assert fast == ["ID-SASRec-CE", "10.0", "10.0", "30", "6.7", "2.5", "25", "8.0"]
    assert slow[0] == "ID-SASRec-CE slow" and slow[5].startswith("not reached by 1 of 1")


def test_nothing_without_both_models():
    assert table1.speed_lines({"ID-SASRec-CE": row([[0.01]], 10.0)}) == []
