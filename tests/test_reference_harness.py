"""benchmarks/reference (issue 29): the parts that need neither the authors' code nor its environment: the data
both sides read, the lenient read of their recipe, the made score files of the evaluator check, the mlflow stand-in
and the page. The harness itself runs their code: python benchmarks/reference/run.py --quick --authors PATH."""

import importlib.util
import json
import os
import sys

import numpy as np
import pytest

REFERENCE = os.path.join(os.path.dirname(__file__), "..", "benchmarks", "reference")


def load(name, path=None):
    spec = importlib.util.spec_from_file_location(f"reference_test_{name}", path or os.path.join(REFERENCE, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture()
def dataset(tmp_path):
    """A small our-format dataset with a tokenizer, as dataset_prep writes one."""
    from recbole_srt.tokenizer import train_tokenizer

    folder = tmp_path / "data" / "toy"
    folder.mkdir(parents=True)
    titles = {str(i): f"red lipstick shade {i} matte" if i % 2 else f"blue nail polish bottle {i}" for i in range(1, 41)}
    with open(folder / "toy.inter", "w") as f:
        f.write("user_id:token\titem_id:token\trating:float\ttimestamp:float\n")
        for u in range(1, 61):
            for t, i in enumerate([(u + k * 7) % 40 + 1 for k in range(5)]):
                f.write(f"u{u}\t{i}\t0\t{t + 1}\n")
    with open(folder / "toy.item", "w") as f:
        f.write("item_id:token\ttitle:token\tbrand:token\tcategories:token_seq\n")
        for i, title in titles.items():
            f.write(f"{i}\t{title}\t{'acme' if int(i) % 3 else ''}\tBeauty\n")
    model = train_tokenizer(list(titles.values()) * 20 + ["acme"] * 20, 60, str(folder / "toy.spm.model"), threads=1)
    with open(folder / "toy.yaml", "w") as f:
        f.write(f"# Written by dataset_prep for toy.\ntext_fields: [title, brand]\ntokenizer_path: \"{model}\"\n")
    return tmp_path / "data"


def test_subset_keeps_whole_users_and_their_items_only(dataset, tmp_path):
    data = load("ref_data")
    path, name = data.ours(str(dataset), "toy", 0.25, 0, str(tmp_path / "out"))
    assert name == "toy-u25s0"
    _, rows = data.read_atomic(os.path.join(path, name, f"{name}.inter"))
    _, all_rows = data.read_atomic(str(dataset / "toy" / "toy.inter"))
    users = {r[0] for r in rows}
    assert len(users) == 15
    assert rows == [r for r in all_rows if r[0] in users]  # whole sequences, in the file's order
    _, items = data.read_atomic(os.path.join(path, name, f"{name}.item"))
    assert {r[0] for r in items} == {r[1] for r in rows}
    assert data.ours(str(dataset), "toy", 0.25, 0, str(tmp_path / "out2"))[1] == name  # seeded: same name, same users
    _, again = data.read_atomic(os.path.join(tmp_path / "out2", name, f"{name}.inter"))
    assert again == rows
    assert data.ours(str(dataset), "toy", 1.0, 0, str(tmp_path / "out")) == (str(dataset), "toy")


def test_authors_format_has_piece_sequences_and_the_same_interactions(dataset, tmp_path):
    data = load("ref_data")
    name = data.authors(str(dataset), "toy", data.tokenizer_of(str(dataset), "toy"), str(tmp_path / "theirs"))
    assert name == "amazon-toy"
    header, items = data.read_atomic(str(tmp_path / "theirs" / name / f"{name}.item"))
    assert header == ["item_id:token", "title:token_seq", "brand:token_seq"]
    assert all(r[1] and "\t" not in r[1] for r in items)
    assert all(len(r[1].split(" ")) <= data.TITLE_PIECES and len(r[2].split(" ")) <= data.BRAND_PIECES for r in items)
    assert {r[2] for r in items if int(r[0]) % 3 == 0} == {"unknown"}  # no brand: the authors' 'unknown'
    with open(tmp_path / "theirs" / name / f"{name}.inter", "rb") as a, open(dataset / "toy" / "toy.inter", "rb") as b:
        assert a.read() == b.read()


def test_their_recipe_is_read_despite_its_trailing_comma(tmp_path):
    authors_run = load("authors_run")
    path = tmp_path / "from_scratch.json"
    path.write_text('{\n  "method": "from_scratch",\n  "epochs": 50,\n  "mlflow": {"experiment_name": "x"},\n}')
    with pytest.raises(json.JSONDecodeError):
        json.loads(path.read_text())
    assert authors_run.recipe(str(path)) == {"method": "from_scratch", "epochs": 50, "mlflow": {"experiment_name": "x"}}


def test_made_scores_put_the_test_item_at_a_known_rank(dataset, tmp_path):
    run = load("run")
    files = run.made_scores(str(dataset), "toy", str(tmp_path))
    free, tied = np.load(files["tie-free"]), np.load(files["tied"])
    assert list(free["users"]) == list(tied["users"]) and list(free["items"]) == list(tied["items"])
    column = {t: i for i, t in enumerate(free["items"])}
    _, rows = load("ref_data").read_atomic(str(dataset / "toy" / "toy.inter"))
    last = {r[0]: r[1] for r in rows}
    for r, user in enumerate(free["users"]):
        p = column[last[user]]
        above = (np.delete(free["scores"][r, 1:], p - 1) > free["scores"][r, p]).sum()
        ties = (np.delete(tied["scores"][r, 1:], p - 1) == tied["scores"][r, p]).sum()
        assert 0 <= above < 8 and ties >= 1
        assert (np.delete(free["scores"][r, 1:], p - 1) == free["scores"][r, p]).sum() == 0


def test_our_evaluator_reads_a_score_file_as_the_ranks_it_holds(dataset, tmp_path, monkeypatch):
    run = load("run")
    monkeypatch.setattr(run, "work", lambda: str(tmp_path))
    files = run.made_scores(str(dataset), "toy", str(tmp_path))
    free = np.load(files["tie-free"])
    column = {t: i for i, t in enumerate(free["items"])}
    _, rows = load("ref_data").read_atomic(str(dataset / "toy" / "toy.inter"))
    last = {r[0]: r[1] for r in rows}
    ranks = [1 + (free["scores"][r, 1:] > free["scores"][r, column[last[u]]]).sum() for r, u in enumerate(free["users"])]
    result = run.our_evaluation("toy", str(dataset), {"tie-free": files["tie-free"]})["tie-free"]
    assert result["users"] == len(ranks)
    assert result["hit@5"] == pytest.approx(np.mean([k <= 5 for k in ranks]), abs=1e-4)
    assert result["ndcg@5"] == pytest.approx(np.mean([1 / np.log2(k + 1) if k <= 5 else 0 for k in ranks]), abs=1e-4)


def test_mlflow_stand_in_writes_each_metric_as_a_json_line(tmp_path, monkeypatch):
    tracking = load("tracking", os.path.join(REFERENCE, "stubs", "mlflow", "tracking", "__init__.py"))
    monkeypatch.setenv("REFERENCE_METRICS", str(tmp_path / "m.jsonl"))
    client = tracking.MlflowClient("sqlite:///x")
    run = client.create_run(client.get_experiment_by_name("e").experiment_id, run_name="r1")
    client.log_metric(run.info.run_id, "valid/ndcg_at_5", 0.25, step=3)
    assert client.search_runs(filter_string="attributes.run_name = 'r1'")[0].data.metrics == {"valid/ndcg_at_5": 0.25}
    line = json.loads((tmp_path / "m.jsonl").read_text())
    assert line == {"kind": "metric", "key": "valid/ndcg_at_5", "value": 0.25, "step": 3}
    assert load("metrics_of", os.path.join(REFERENCE, "authors_run.py")).metrics_of(str(tmp_path / "m.jsonl")) == {
        "valid/ndcg_at_5": [(3, 0.25)]}


def test_page_shows_both_sides_and_the_check():
    sys.path.insert(0, os.path.join(REFERENCE, ".."))
    render = load("ref_render")
    side = {"test": {"ndcg@5": 0.01, "hit@5": 0.02}, "valid_ndcg@5": 0.012, "epochs_run": 2, "epochs_to_best": 2,
            "seconds_per_epoch": 10.0, "validation_seconds_per_epoch": 1.0, "wall_seconds": 30.0, "seed": 2020}
    metrics = {"ndcg@5": 0.3, "hit@5": 0.6, "users": 10, "catalog": 50}
    content = {"quick": {"mode": "quick", "date": "2026-12-07", "machine": "x86_64, 2 CPUs", "command": "python x",
                         "authors_commit": "16345a357ef8", "authors_torch": "torch==2.0.1", "device": "cpu",
                         "fraction": 0.05, "epochs": 2, "minutes": 1.0,
                         "datasets": {"beauty": {"subset": "beauty-u5s0", "rows": {
                             "SRT-100": {"K": "100", "theirs": [side], "ours": [side]}}}},
                         "evaluator_check": {"dataset": "beauty-u5s0", "files": {
                             "tied": {"ours": metrics, "theirs": {**metrics, "ndcg@5": 0.35}, "equal": False}}}}}
    page = render.markdown(content)
    assert "theirs (SASRecF2)" in page and "ours (SRT, srt-authors preset)" in page
    assert "| tied | 10 | 10 | 50 | 50 | 0.3000 | 0.3500 | 0.6000 | 0.6000 | **no** |" in page


def section(run, datasets, **more):
    """A full section as run.py writes it, from {dataset: {row: [(seed, value)]}}; each run stamped with the
    section's command unless ``stamped=False`` (a file written before runs had their own)."""
    stamped = more.pop("stamped", True)
    head = {"mode": "full", "date": "2026-12-08", "machine": "m", "command": "c", "epochs": "recipe (50)",
            "device": "cuda", "authors_commit": "16345a357ef8", "authors_torch": "torch==2.0.1", "fraction": 1.0,
            "minutes": 1.0, **more}
    stamp = {k: head[k] for k in ("date", "machine", "command")} if stamped else {}

    def rows_of(rows):
        return {row: {"K": run.ROWS[row], "ours": [], "theirs": [
            {"seed": s, "test": {"ndcg@5": v, "hit@5": v}, "valid_ndcg@5": v, "epochs_run": 5, "epochs_to_best": 4,
             "seconds_per_epoch": 1.0, "wall_seconds": 60.0, **({"run": stamp} if stamp else {})} for s, v in seeds]}
            for row, seeds in rows.items()}

    return {**head, "datasets": {name: {"subset": name, "rows": rows_of(rows)} for name, rows in datasets.items()}}


def values(content, key, dataset, row):
    return [(r["seed"], r["test"]["ndcg@5"], r["run"]["command"])
            for r in content[key]["datasets"][dataset]["rows"][row]["theirs"]]


def test_a_command_for_some_datasets_rows_and_seeds_keeps_the_others():
    sys.path.insert(0, os.path.join(REFERENCE, ".."))
    run = load("run")
    old = {"full": section(run, {"beauty": {"SRT-1K": [(2020, 1), (2021, 1)]}, "sports": {"SRT-1K": [(2020, 1)]}},
                           stamped=False)}
    new = section(run, {"beauty": {"SRT-1K": [(2021, 2), (2022, 2)]}, "sports": {"CE": [(2020, 2)]}}, command="c2")
    out = run.placed(old, new)
    assert list(out) == ["full"] and out["full"]["command"] == "c2"
    # each seed keeps the command that ran it: the old ones, written before seeds had their own, the section's
    assert values(out, "full", "beauty", "SRT-1K") == [(2020, 1, "c"), (2021, 2, "c2"), (2022, 2, "c2")]
    assert list(out["full"]["datasets"]["sports"]["rows"]) == ["SRT-1K", "CE"]  # the page's order, whatever ran first
    assert values(out, "full", "sports", "SRT-1K") == [(2020, 1, "c")]


@pytest.mark.parametrize("setting, value", [("epochs", 5), ("device", "cpu"), ("authors_commit", "0123456789abcdef")])
def test_runs_of_other_settings_get_a_section_of_their_own(setting, value, tmp_path, monkeypatch):
    sys.path.insert(0, os.path.join(REFERENCE, ".."))
    run, render = load("run"), load("ref_render")
    monkeypatch.setattr(render.harness.paths, "RESULTS", str(tmp_path))  # no Table 1 rows beside theirs
    old = {"full": section(run, {"beauty": {"SRT-1K": [(2020, 1)]}})}
    other = section(run, {"beauty": {"SRT-1K": [(2020, 3), (2021, 3)]}}, command="c2", **{setting: value})
    out = run.placed(old, other)
    assert out["full"] == old["full"]  # neither pooled into its means nor replaced
    (key,) = set(out) - {"full"}
    assert values(out, key, "beauty", "SRT-1K") == [(2020, 3, "c2"), (2021, 3, "c2")]
    more = section(run, {"beauty": {"SRT-1K": [(2022, 4)]}}, command="c3", **{setting: value})
    assert [s for s, *_ in values(run.placed(out, more), key, "beauty", "SRT-1K")] == [2020, 2021, 2022]
    page = render.markdown(out)
    assert page.count("## Full mode") == 2 and f"## Full mode ({key[len('full ('):]}" in page


def their_line(page, dataset):
    return next(line for line in page.split(f"### {dataset}")[1].splitlines() if "theirs (SASRecF2)" in line)


def test_the_page_names_each_command_of_a_section_whose_runs_come_from_several(tmp_path, monkeypatch):
    sys.path.insert(0, os.path.join(REFERENCE, ".."))
    run, render = load("run"), load("ref_render")
    monkeypatch.setattr(render.harness.paths, "RESULTS", str(tmp_path))  # no Table 1 rows beside theirs
    first = section(run, {"beauty": {"SRT-1K": [(2020, 1)]}, "sports": {"SRT-1K": [(2020, 1)]}}, stamped=False)
    one = render.markdown({"full": first})
    assert "2026-12-08; m; their code on" in one and "\n    c\n" in one and "| runs |" not in one
    later = section(run, {"sports": {"SRT-1K": [(2021, 2)]}}, command="c2 --datasets sports", date="2026-12-09")
    page = render.markdown(run.placed({"full": first}, later))
    assert "- A: 2026-12-08; m; `c`" in page and "- B: 2026-12-09; m; `c2 --datasets sports`" in page
    assert their_line(page, "beauty").startswith("| SRT-1K | 1000 | theirs (SASRecF2) | 1 |")
    assert their_line(page, "beauty").endswith("| A |")
    assert their_line(page, "sports").startswith("| SRT-1K | 1000 | theirs (SASRecF2) | 2 |")
    assert their_line(page, "sports").endswith("| A, B |")
    assert "2026-12-09; m; their code on" not in page  # no single date over runs of two days


def test_our_run_that_dies_while_writing_leaves_no_result_to_keep(tmp_path, monkeypatch):
    """A kept result.json is never recomputed: a half-written one would stand for the run for good."""
    from types import SimpleNamespace

    import torch

    sys.path.insert(0, os.path.join(REFERENCE, ".."))
    run = load("run")
    trainer = SimpleNamespace(stopped_by="epochs", history=[{"ndcg@5": 0.1}], train_seconds=1.0,
                              evaluate=lambda data, load_best_model: {"ndcg@5": 0.1, "hit@5": 0.2})
    built = SimpleNamespace(trainer=trainer, test_data=None, model=torch.nn.Linear(2, 2), config={"device": "cpu"})
    monkeypatch.setattr(run.harness, "fit", lambda *a: built)

    def dies(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(json, "dump", dies)
    with pytest.raises(KeyboardInterrupt):
        run.our_run("toy", str(tmp_path), "SRT-100", 2020, 1, str(tmp_path / "run"))
    assert not (tmp_path / "run" / "result.json").exists()
    monkeypatch.undo()
    monkeypatch.setattr(run.harness, "fit", lambda *a: built)
    assert run.our_run("toy", str(tmp_path), "SRT-100", 2020, 1, str(tmp_path / "run"))["test"]["hit@5"] == 0.2
    assert json.loads((tmp_path / "run" / "result.json").read_text())["test"]["hit@5"] == 0.2
