"""The benchmark harness: the one aggregate over seeds, the one results writer, the one machine line."""

import json

from benchmarks import harness


def test_mean_and_sample_sd_over_seeds():
    assert harness.mean_sd([0.02]) == (0.02, 0.0)
    mean, sd = harness.mean_sd([0.01, 0.03])
    assert abs(mean - 0.02) < 1e-12 and abs(sd - 0.0141421356) < 1e-9
    assert harness.mean_sd_text([0.01, 0.03]) == "0.0200 ± 0.0141"
    assert harness.mean_sd_text([0.01]) == "0.0100"  # one seed: no spread to show


def test_update_reads_changes_and_writes_one_file(tmp_path):
    path = str(tmp_path / "sub" / "x.json")
    assert harness.update(path, lambda old: {"rows": (old or {}).get("rows", []) + [1]}) == {"rows": [1]}
    harness.update(path, lambda old: {"rows": old["rows"] + [2]})
    assert json.loads(open(path).read()) == {"rows": [1, 2]}
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["x.json", "x.json.lock"]


def test_merge_rows_replaces_the_same_keys_and_keeps_the_others():
    old = [{"k": "a", "v": 1}, {"k": "b", "v": 2}, {"k": "c", "v": 3}]
    # in place (a page keeps its order), new keys at the end, one row per key
    assert harness.merge_rows(old, [{"k": "d", "v": 5}, {"k": "a", "v": 4}, {"k": "a", "v": 6}], lambda r: r["k"]) == [
        {"k": "a", "v": 6}, {"k": "b", "v": 2}, {"k": "c", "v": 3}, {"k": "d", "v": 5}]
    assert harness.merge_rows(None, [{"k": "a"}], lambda r: r["k"]) == [{"k": "a"}]


def test_tables_commands_and_machines_as_pages_print_them():
    assert harness.table(["a", "b"], [[1, ""]]) == ["| a | b |", "|---|---|", "| 1 |  |"]
    command = harness.command_line("benchmarks/x.py", ["--quick", "--out", "/tmp/o", "--data_path=/d", "--set", "a b"])
    assert command == "python benchmarks/x.py --quick --set 'a b'"
    assert harness.describe("x86_64, 2 CPUs") == "x86_64, 2 CPUs"  # recorded before the harness: as it is
    machine = {"cpu": "EPYC", "cores": 2, "memory_gib": 8.0, "python": "3.11", "numpy": "2.4", "pandas": "2.3"}
    assert harness.describe(machine) == "EPYC, 2 cores, 8.0 GiB; Python 3.11, numpy 2.4, pandas 2.3"
    assert [harness.parse_count(t) for t in ("10M", "25K", "500", "1.5k")] == [10 ** 7, 25000, 500, 1500]
    assert [harness.count_text(harness.parse_count(t)) for t in ("10M", "10000000", "25000", "500", "1.5k")] == [
        "10M", "10M", "25K", "500", "1500"]


def test_stamped_merge_names_each_rows_command_and_gives_unnamed_old_rows_the_old_files():
    old = {"date": "d1", "command": "c1", "extra": 1,
           "rows": [{"k": "a"}, {"k": "b", "run": {"date": "d0", "command": "c0"}}, {"k": "c"}]}
    stamp = {"date": "d2", "command": "c2"}
    assert harness.stamped_merge(old, [{"k": "c", "v": 2}, {"k": "d"}], lambda r: r["k"], stamp) == [
        {"k": "a", "run": {"date": "d1", "command": "c1"}}, {"k": "b", "run": {"date": "d0", "command": "c0"}},
        {"k": "c", "v": 2, "run": stamp}, {"k": "d", "run": stamp}]
    assert harness.stamped_merge(None, [{"k": "a"}], lambda r: r["k"], stamp, rows="runs") == [{"k": "a", "run": stamp}]
    assert harness.runs_of({"date": "d1", "runs": [{"run": {"date": "d0"}}, {}]}, ["date"], "runs") == [
        {"date": "d0"}, {"date": "d1"}]


def test_runs_section_numbers_the_commands_only_when_there_are_several():
    line = lambda run: f"`{run['command']}`"  # noqa: E731
    assert harness.runs_section([{"command": "a"}, {"command": "a"}, None], line) == (["`a`"], None)
    assert harness.runs_section([{"command": "a"}, {"command": "b"}, None, {"command": "a"}], line) == (
        ["1. `a`", "2. `b`"], [1, 2, "", 1])
    assert harness.run_column(["x"], [[0], [1]], None) == (["x"], [[0], [1]])
    assert harness.run_column(["x"], [[0], [1]], [2, 1]) == (["x", "run"], [[0, 2], [1, 1]])
