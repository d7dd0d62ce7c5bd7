"""benchmarks/apen_speed.py: what a command for some sizes or shapes writes, with nothing timed."""

from types import SimpleNamespace

from benchmarks import apen_speed


def row(shape, size, wall):
    stats = {"interactions": size, "users": 1, "items": 1, "sequence_length": {"mean": 1.0, "max": 1},
             "apen": {"m": 2, "apen_mean": 0.0}}
    return {"shape": shape, "size": size, "command": "-m recbole_srt.stats", "stats": stats, "command_wall_s": wall,
            "command_breakdown_s": {"read_s": 0.0, "group_s": 0.0, "apen_s": 0.0}, "command_peak_rss_mib": 1.0,
            "apen_only_s": 0.0, "load_average_1min_before": 0.0}


OLD = {"date": "2026-11-29", "machine": "x86_64, 2 CPUs", "command": "python benchmarks/apen_speed.py", "repeat": 2,
       "runs": [row("amazon", 10 ** 6, 1.0), row("long", 10 ** 6, 1.0), row("amazon", 10 ** 7, 1.0)]}


def test_a_command_for_some_sizes_and_shapes_replaces_those_rows_only(monkeypatch, tmp_path):
    monkeypatch.setattr(apen_speed.synthetic, "inter_file", lambda *a: None)
    monkeypatch.setattr(apen_speed, "measure", lambda folder, name, m, repeat: row("long", 10 ** 6, 5.0))
    args = SimpleNamespace(workdir=str(tmp_path), sizes="1M", shapes="long", m=2, repeat=1, seed=0)
    result = apen_speed.run(args, ["--sizes", "1M", "--shapes", "long"])["apen_speed"]
    content = result(OLD) if callable(result) else result
    walls = {(r["shape"], r["size"]): r["command_wall_s"] for r in content["runs"]}
    assert walls == {("amazon", 10 ** 6): 1.0, ("long", 10 ** 6): 5.0, ("amazon", 10 ** 7): 1.0}
    page = apen_speed.markdown(content)
    assert "1. Machine: x86_64, 2 CPUs. Date: 2026-11-29. Command: `python benchmarks/apen_speed.py`." in page
    assert "--sizes 1M --shapes long`." in page and "best of 1/2." in page
    assert page.count(" | 2 |\n") == 1  # one row measured by the second command
