"""benchmarks/eval_speed.py: what a command for some datasets, modes or sizes writes, with no model timed."""

from types import SimpleNamespace

from benchmarks import eval_speed

OLD = {"date": "2026-11-29", "repeats": 2, "machine": "x86_64, 2 CPUs", "command": "python benchmarks/eval_speed.py",
       "rows": [{"dataset": d, "mode": m, "eval_negatives": "fixed", "seconds": s, "users": 1, "items": 2,
                 "ndcg@5": 0.1, "loader": "L", "x_full": x}
                for d, m, s, x in (("ml-100k", "full", 1.0, 1.0), ("ml-100k", "uni1000", 0.5, 0.5),
                                   ("beauty", "full", 4.0, 1.0), ("beauty", "uni1000", 1.0, 0.25))]}


def args(**given):
    return SimpleNamespace(**{"datasets": None, "modes": "full,uni1000", "repeats": 1, "quick": False, "epochs": 0,
                              "hidden_size": 64, "n_layers": 2, **given})


def written(measured, old):
    """What harness.run writes of one results name: the change of the old content, or the result itself."""
    (name, result), = measured.items()
    return name, result(old) if callable(result) else result


def test_a_command_for_one_dataset_or_mode_replaces_those_rows_only(monkeypatch):
    monkeypatch.setattr(eval_speed, "time_evaluation", lambda dataset, mode, negatives, repeats, scratch: {
        "dataset": dataset, "mode": mode, "eval_negatives": negatives, "seconds": 2.0, "users": 1, "items": 2,
        "ndcg@5": 0.1, "loader": "L"})
    name, content = written(eval_speed.run(args(datasets="beauty", modes="full"), []), OLD)
    assert name == "eval_speed"
    rows = {(r["dataset"], r["mode"]): r for r in content["rows"]}
    assert sorted(rows) == [("beauty", "full"), ("beauty", "uni1000"), ("ml-100k", "full"), ("ml-100k", "uni1000")]
    assert rows["beauty", "full"]["seconds"] == 2.0 and rows["ml-100k", "uni1000"]["seconds"] == 0.5
    assert rows["ml-100k", "uni1000"]["run"]["command"] == OLD["command"]  # the rows kept still name their command
    assert rows["beauty", "full"]["run"]["repeats"] == 1
    # its full row, on its machine, is gone (measured again here): no ratio, rather than one against a row not shown
    assert "x_full" not in rows["beauty", "uni1000"] and rows["ml-100k", "uni1000"]["x_full"] == 0.5
    page = eval_speed.markdown(content)
    assert f"1. x86_64, 2 CPUs; 2026-11-29; `{OLD['command']}`; best of 2." in page
    assert "| beauty | full | fixed | L | 2.00 | 1.00 | 1 | 2 | 0.1000 | 2 |" in page  # measured by the second
    assert "| beauty | uni1000 | fixed | L | 1.00 |  | 1 | 2 | 0.1000 | 1 |" in page


def test_rows_of_an_earlier_version_that_held_their_command_flat_are_read_as_such(monkeypatch):
    """Rows written before every study kept the stamp under "run" held it beside the timings."""
    monkeypatch.setattr(eval_speed, "time_evaluation", lambda dataset, mode, negatives, repeats, scratch: {
        "dataset": dataset, "mode": mode, "eval_negatives": negatives, "seconds": 2.0, "users": 1, "items": 2,
        "ndcg@5": 0.1, "loader": "L"})
    flat = {"date": "2026-12-05", "machine": "host", "command": "python benchmarks/eval_speed.py --datasets beauty",
            "repeats": 3}
    old = {**OLD, "rows": OLD["rows"][:2] + [{**r, **flat} for r in OLD["rows"][2:]]}
    page = eval_speed.markdown(old)
    assert "2. host; 2026-12-05; `python benchmarks/eval_speed.py --datasets beauty`; best of 3." in page
    assert "| beauty | uni1000 | fixed | L | 1.00 | 0.25 | 1 | 2 | 0.1000 | 2 |" in page
    _, content = written(eval_speed.run(args(datasets="ml-100k", modes="full"), []), old)
    rows = {(r["dataset"], r["mode"]): r for r in content["rows"]}
    assert rows["beauty", "uni1000"]["run"] == flat and "date" not in rows["beauty", "uni1000"]


def test_epochs_of_a_quick_run_or_another_size_leave_the_default_file(monkeypatch):
    monkeypatch.setattr(eval_speed, "epochs_and_evaluations", lambda a: {"rows": {}, "size": ""})
    names = [written(eval_speed.run(args(epochs=1, **given), []), None)[0]
             for given in ({}, {"quick": True}, {"hidden_size": 128, "n_layers": 4})]
    assert names == ["epoch_and_eval", "epoch_and_eval-quick", "epoch_and_eval-hidden128-layers4"]
