"""recbole_srt.stats: exact ApEn by hashing against a direct O(N^2) reference and a published
implementation (antropy), and the command on RecBole's bundled ml-100k."""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from recbole_srt import stats


def ml100k_dir():
    import recbole

    return os.path.join(os.path.dirname(recbole.__file__), "dataset_example", "ml-100k")


def apen_reference(seq, m, r=0.0):
    """Pincus (1991) written out pair by pair: Phi^k = mean_i ln(#{j: max_l |x_{i+l}-x_{j+l}| <= r} / W),
    W = N - k + 1, Phi^k = 0 when W <= 0; ApEn = Phi^m - Phi^{m+1}."""
    def phi(k):
        w = len(seq) - k + 1
        if w <= 0:
            return 0.0
        total = 0.0
        for i in range(w):
            c = sum(1 for j in range(w) if max(abs(seq[i + l] - seq[j + l]) for l in range(k)) <= r)
            total += math.log(c / w)
        return total / w

    return phi(m) - phi(m + 1)


def random_table(rng, n_users, max_len, n_symbols):
    """Contiguous user segments (ids not sorted), random lengths 1..max_len, small alphabet (repeats)."""
    lengths = rng.integers(1, max_len + 1, size=n_users)
    user_ids = rng.permutation(n_users * 3)[:n_users]
    users = np.repeat(user_ids, lengths)
    items = rng.integers(0, n_symbols, size=len(users))
    return users, items, lengths


@pytest.mark.parametrize("m", [1, 2, 3])
def test_hashing_matches_bruteforce(m):
    rng = np.random.default_rng(m)
    for n_symbols in (2, 3, 7):
        users, items, lengths = random_table(rng, 40, 25, n_symbols)
        got_lengths, phi_m, phi_m1 = stats.phis_categorical(users, items, m)
        assert got_lengths.tolist() == lengths.tolist()
        bounds = np.concatenate(([0], np.cumsum(lengths)))
        want = [apen_reference(items[a:b].tolist(), m) for a, b in zip(bounds[:-1], bounds[1:])]
        np.testing.assert_allclose(phi_m - phi_m1, want, rtol=0, atol=1e-12)
        # string tokens and huge integer ids give the same numbers (ids only matter by identity)
        tokens = np.array([f"i{v}" for v in items], dtype=object)
        np.testing.assert_allclose(stats.apen_per_user(users, tokens, m), want, rtol=0, atol=1e-12)
        np.testing.assert_allclose(stats.apen_per_user(users, items * 10 ** 12 + 5, m), want, rtol=0, atol=1e-12)


def test_renumbering_every_step_gives_the_same(monkeypatch):
    rng = np.random.default_rng(11)
    users, items, _ = random_table(rng, 30, 30, 3)
    want = stats.apen_per_user(users, items, 3)
    monkeypatch.setattr(stats, "_DEFER_LIMIT", 0)  # factorize after every k instead of combining first
    np.testing.assert_array_equal(stats.apen_per_user(users, items, 3), want)


def test_numeric_mode_matches_bruteforce():
    rng = np.random.default_rng(7)
    users, items, lengths = random_table(rng, 15, 20, 6)
    bounds = np.concatenate(([0], np.cumsum(lengths)))
    for m, r in ((1, 1.0), (2, 1.5), (2, 2.0)):
        want = [apen_reference(items[a:b].tolist(), m, r) for a, b in zip(bounds[:-1], bounds[1:])]
        np.testing.assert_allclose(stats.apen_per_user(users, items, m, r), want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("m", [1, 2, 3])
def test_constant_sequence_has_apen_zero(m):
    for n in (1, m, m + 1, 2, 10, 100):
        _, phi_m, phi_m1 = stats.phis_categorical(np.zeros(n, dtype=np.int64), np.full(n, 42), m)
        assert phi_m[0] - phi_m1[0] == 0.0
        assert stats.apen_direct([3.5] * n, m, 0.0) == 0.0


def test_periodic_and_no_repeat_values():
    # no repeated window: Phi^k = -ln W_k, ApEn = ln((N - m) / (N - m + 1)) < 0 (negative bias of ApEn)
    n, m = 50, 2
    _, a, b = stats.phis_categorical(np.zeros(n, int), np.arange(n), m)
    assert a[0] - b[0] == pytest.approx(math.log((n - m) / (n - m + 1)), abs=1e-12)
    # an alternating sequence is perfectly regular: ApEn -> 0 as N grows
    _, a, b = stats.phis_categorical(np.zeros(1000, int), np.arange(1000) % 2, m)
    assert abs(a[0] - b[0]) < 1e-2


def test_published_implementation_antropy():
    """antropy.app_entropy: Pincus' ApEn with self-matches, Chebyshev distance, d <= r (sklearn KDTree
    query_radius), r absolute when ``tolerance`` is given (default 0.2 * std(x, ddof=0)), C normalised
    by N - m + 1 and N - m. Same convention as ours, so the values must agree."""
    ant = pytest.importorskip("antropy", reason="antropy is not installed (optional: pip install antropy); "
                                                "the published-implementation comparison is skipped")
    rng = np.random.default_rng(0)
    for m in (2, 3):  # antropy needs order >= 2
        for n in (50, 300):
            x = rng.normal(size=n)
            r = 0.2 * float(np.std(x))
            assert stats.apen_direct(x, m, r) == pytest.approx(ant.app_entropy(x, order=m, tolerance=r), abs=1e-9)
            assert stats.apen_direct(x, m, r) == pytest.approx(ant.app_entropy(x, order=m), abs=1e-9)
            # categorical fast path = antropy at tolerance 0 on symbols (exact matches only)
            s = rng.integers(0, 4, size=n)
            _, a, b = stats.phis_categorical(np.zeros(n, int), s, m)
            assert a[0] - b[0] == pytest.approx(ant.app_entropy(s.astype(float), order=m, tolerance=0.0), abs=1e-9)


def write_inter(path, header, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("\t".join(header) + "\n")
        for row in rows:
            f.write("\t".join(str(v) for v in row) + "\n")


@pytest.mark.parametrize("integral_times", [True, False])
def test_sorted_by_timestamp_within_user(tmp_path, integral_times):
    """Shuffled rows: each user's sequence is ordered by timestamp, ties in file order; --max-len keeps the
    last items."""
    rng = np.random.default_rng(3)
    rows, sequences = [], {}
    for u in range(30):
        n = int(rng.integers(1, 20))
        times = np.sort(rng.integers(0, 8, size=n)) * 1000 + (0 if integral_times else 0.5)
        items = rng.integers(0, 4, size=n)
        sequences[f"u{u}"] = list(zip(times, items))
        rows += [(f"u{u}", f"i{i}", 1.0, t) for t, i in zip(times, items)]
    order = rng.permutation(len(rows))
    shuffled = [rows[k] for k in order]
    path = str(tmp_path / "d" / "d.inter")
    write_inter(path, ["user_id:token", "item_id:token", "rating:float", "timestamp:float"], shuffled)
    for max_len in (0, 5):
        out, _, time_col = stats.run(str(tmp_path / "d"), m=2, max_len=max_len)
        assert time_col == "timestamp:float"
        want = []
        for user in dict.fromkeys(r[0] for r in shuffled):  # users in order of first appearance
            # stable: equal timestamps keep the shuffled file's order
            seq = [i for _, i in sorted(((r[3], r[1]) for r in shuffled if r[0] == user), key=lambda p: p[0])]
            seq = [int(s[1:]) for s in seq]
            want.append(apen_reference(seq[-max_len:] if max_len else seq, 2))
        assert out["apen"]["apen_mean"] == pytest.approx(np.mean(want), abs=1e-12)
        assert out["apen"]["apen_abs_mean"] == pytest.approx(np.mean(np.abs(want)), abs=1e-12)
        assert out["interactions"] == len(rows) and out["users"] == 30


def test_file_order_without_timestamp(tmp_path):
    path = str(tmp_path / "d" / "d.inter")
    rows = [("a", "x"), ("b", "y"), ("a", "y"), ("a", "x"), ("b", "y"), ("a", "y")]
    write_inter(path, ["user_id:token", "item_id:token"], rows)
    out, _, time_col = stats.run(path)
    assert time_col is None
    want = [apen_reference([0, 1, 0, 1], 2), apen_reference([1, 1], 2)]
    assert out["apen"]["apen_mean"] == pytest.approx(np.mean(want), abs=1e-12)
    assert out["sequence_length"]["min"] == 2 and out["sequence_length"]["max"] == 4


def test_cli_ml100k(tmp_path, capsys):
    target = tmp_path / "out" / "ml.json"
    assert stats.main([ml100k_dir(), "--json", str(target)]) == 0
    printed = capsys.readouterr().out
    assert "100,000" in printed and "943" in printed and "1,682" in printed
    out = json.loads(target.read_text())
    assert (out["interactions"], out["users"], out["items"]) == (100_000, 943, 1_682)
    lengths = out["sequence_length"]
    assert (lengths["min"], lengths["max"]) == (20, 737)
    assert lengths["mean"] == pytest.approx(100_000 / 943)
    # ml-100k has no repeated (user, item): every window is unique, so per user
    # ApEn = ln((N - m) / (N - m + 1)) exactly; the mean over users is checked from the lengths.
    import pandas as pd

    frame = pd.read_csv(os.path.join(ml100k_dir(), "ml-100k.inter"), sep="\t")
    n = frame.groupby("user_id:token").size().to_numpy()
    assert out["apen"]["apen_mean"] == pytest.approx(np.mean(np.log((n - 2) / (n - 1))), abs=1e-12)
    # the same through NAME + --data-path
    assert stats.main(["ml-100k", "--data-path", os.path.dirname(ml100k_dir())]) == 0


def test_module_runs_as_command(tmp_path):
    path = str(tmp_path / "d" / "d.inter")
    write_inter(path, ["user_id:token", "item_id:token", "timestamp:float"], [("a", "x", 1), ("a", "y", 2)])
    done = subprocess.run([sys.executable, "-m", "recbole_srt.stats", str(tmp_path / "d"), "--m", "1"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "interactions" in done.stdout and "ApEn" in done.stdout


def test_errors_name_the_file_and_column(tmp_path, capsys):
    assert stats.main([str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "interaction file not found" in err and os.path.join("nope", "nope.inter") in err

    path = str(tmp_path / "d" / "d.inter")
    write_inter(path, ["uid:token", "item_id:token"], [("a", "x")])
    assert stats.main([str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert "user column 'user_id' not found" in err and path in err and "--user-field" in err
    assert stats.main([str(tmp_path / "d"), "--user-field", "uid"]) == 0
    capsys.readouterr()

    write_inter(path, ["user_id:token", "iid:token"], [("a", "x")])
    assert stats.main([str(tmp_path / "d")]) == 2
    assert "item column 'item_id' not found" in capsys.readouterr().err
    assert stats.main([str(tmp_path / "d"), "--item-field", "iid", "--time-field", "ts"]) == 2
    assert "time column 'ts' not found" in capsys.readouterr().err

    write_inter(path, ["user_id:token", "item_id:token"], [("a", "x")])
    assert stats.main([str(tmp_path / "d"), "--r", "0.5"]) == 2
    assert "not numeric" in capsys.readouterr().err
    assert stats.main([str(tmp_path / "d"), "--m", "0"]) == 2
    assert "--m must be >= 1" in capsys.readouterr().err
