"""Dataset statistics and Approximate Entropy of the users' item sequences.

    python -m recbole_srt.stats DIR/NAME                  # reads DIR/NAME/NAME.inter
    python -m recbole_srt.stats NAME --data-path DIR      # the same, RecBole's dataset / data_path spelling
    python -m recbole_srt.stats ml-100k                   # RecBole's bundled example when ./dataset/ml-100k is absent
    python -m recbole_srt.stats DIR/NAME --m 2 --r 0 --max-len 50 --json stats.json

Prints the number of interactions, users and items, the percentiles of the users' sequence lengths
and the Approximate Entropy (ApEn) of the users' item sequences.

Approximate Entropy (Pincus, PNAS 88(6):2297-2301, 1991). For a series x_1..x_N, an embedding
dimension m and a tolerance r, with the windows x_i^k = (x_i, ..., x_{i+k-1}), i = 1..N-k+1:

    C_i^k(r) = #{j : d(x_j^k, x_i^k) <= r} / (N - k + 1)          (self-match included)
    Phi^k(r) = 1/(N - k + 1) * sum_i ln C_i^k(r)
    ApEn(m, r) = Phi^m(r) - Phi^{m+1}(r)

with d the Chebyshev distance max_l |x_{i+l} - x_{j+l}|. On item ids (categorical symbols) r = 0:
two windows match when they are identical, so C_i^k is the frequency of the window's k-gram among the
user's N - k + 1 k-grams and Phi^k = 1/W sum_g c_g ln c_g - ln W over the distinct k-grams g with
counts c_g, W = N - k + 1.

Its use as a data-quality measure for sequential recommendation follows Shen et al., "Optimizing
Sequential Recommendation Models with Scaling Laws and Approximate Entropy" (first titled "Predictive
Models in Sequential Recommendations: Bridging Performance Laws with Data Quality Insights"),
arXiv:2412.00430 (2024), which scales the token count by ApEn (the data proxy D' = #Tokens * ApEn').
The text of its ApEn section could not be consulted when this module was written (only the abstract
and summaries were reachable), so its equation number is not cited here; the conventions below are
taken from the authors' public code, USTC-StarTeam/Performance-Law on GitHub:
``PerformanceLaw_pylib/PerformanceLaw/__init__.py`` (``ApEn(U, m, r)``) and
``Performance_Law_Appendix_Framework/entropy_metrics/ApEN_count.py``:

- ApEn is computed per user sequence with the O(N^2) pure-Python loop of the Wikipedia recipe and
  the dataset's value is the plain mean over users (``np.mean`` over all sequences, short ones
  included), not ApEn of the concatenation;
- each sequence is its last 25 or 50 items (``--max-len``; default here: the whole sequence);
- the value returned is ``abs(Phi^{m+1} - Phi^m)``; Phi^k of a sequence with no k-window is 0, so a
  sequence of N <= m items has ApEn 0; a C of 0 (only possible with r < 0) becomes 1e-10;
- the script loops over m in (1, 2, 4, 8) and r in (-1, 0, 0.1, 1, 2) on raw integer item ids, where
  any 0 <= r < 1 is the categorical r = 0.

This module reports both per-user aggregates: ``apen_mean`` = mean over users of the signed Pincus
value Phi^m - Phi^{m+1} (standard definition; can be slightly negative on short sequences, e.g. N = m + 1
with two different m-grams gives -ln 2), and ``apen_abs_mean`` = mean over users of |Phi^m - Phi^{m+1}|
(the authors' code). With the same sequence truncation and r >= 0 the latter reproduces their number.
Both use the same 0 convention for sequences shorter than a window.

r = 0 (categorical, the default) is computed exactly by hashing: the k-gram of every position is
built from the (k-1)-gram's id and the next item, then ``pandas.factorize`` (a hash table with exact
equality, no collisions lost) numbers the distinct (user, k-gram) keys and ``numpy.bincount`` counts
them; windows that cross a user boundary are masked out. O(total length * (m + 1)), no Python loop
over interactions or users. r > 0 treats item tokens as numbers (as the authors' code does with item
ids) and uses the direct O(N^2) comparison per user.
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import pandas as pd

PERCENTILES = (25, 50, 75, 90, 99)
_DEFER_LIMIT = 2 ** 62  # k-gram keys below this are combined further before being renumbered


class StatsError(Exception):
    """A problem with the user's input (file, column, option): reported in one line, exit code 2."""


# --------------------------------------------------------------------------------------------------
# ApEn


def apen_direct(x, m=2, r=0.0):
    """ApEn(m, r) of one series by direct O(N^2) comparison of all window pairs (Pincus 1991).

    Chebyshev distance, self-matches counted, ``d <= r``. Phi^k of a series with no k-window is 0
    (so a series of N <= m values has ApEn 0), as in the Performance-Law code. Returns the signed
    value Phi^m - Phi^{m+1}.
    """
    phi_m, phi_m1 = phis_direct(x, m, r)
    return phi_m - phi_m1


def phis_direct(x, m, r):
    """(Phi^m, Phi^{m+1}) of one series, direct O(N^2) method (block-vectorised over window pairs)."""
    if m < 1:
        raise ValueError(f"m must be >= 1, got {m}")
    if r < 0:
        raise ValueError(f"r must be >= 0, got {r}")
    x = np.asarray(x, dtype=np.float64)
    out = []
    for k in (m, m + 1):
        w = len(x) - k + 1
        if w <= 0:
            out.append(0.0)
            continue
        win = np.lib.stride_tricks.sliding_window_view(x, k)
        counts = np.empty(w, dtype=np.int64)
        block = max(1, 4_000_000 // (w * k))
        for a in range(0, w, block):
            d = np.abs(win[a:a + block, None, :] - win[None, :, :]).max(axis=2)
            counts[a:a + block] = np.count_nonzero(d <= r, axis=1)
        out.append(float(np.mean(np.log(counts / w))))
    return tuple(out)


def _segments(users):
    """Segment id per row (0..U-1, rows of a user contiguous), segment lengths, rows left in segment."""
    n = len(users)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    start = np.empty(n, dtype=bool)
    start[0] = True
    np.not_equal(users[1:], users[:-1], out=start[1:])
    seg = np.cumsum(start, dtype=np.int64) - 1
    lengths = np.bincount(seg)
    ends = np.cumsum(lengths) - 1
    remaining = ends[seg] - np.arange(n, dtype=np.int64)  # rows after this one in its segment
    return seg, lengths, remaining


def phis_categorical(users, items, m=2):
    """Per-user (lengths, Phi^m, Phi^{m+1}) with r = 0, exactly, in O(total length).

    ``users``: any integer array whose equal values are contiguous (one segment per user, rows in
    sequence order); ``items``: integer item ids of the same length. Users are returned in segment
    order. Two windows match when they hold the same items in the same order (r = 0 on symbols).
    """
    if m < 1:
        raise ValueError(f"m must be >= 1, got {m}")
    users = np.asarray(users)
    items = np.asarray(items)
    if users.shape != items.shape or users.ndim != 1:
        raise ValueError("users and items must be 1-d arrays of the same length")
    seg, lengths, remaining = _segments(users)
    n, n_users = len(items), len(lengths)
    if len(items) == 0:
        item_codes, n_symbols = items.astype(np.int64), 1
    elif np.issubdtype(items.dtype, np.integer) and items.min() >= 0 and items.max() < max(n, 1024):
        item_codes = items.astype(np.int64, copy=False)  # already dense ids (e.g. factorized): as they are
        n_symbols = int(item_codes.max()) + 1
    else:
        item_codes = pd.factorize(items)[0].astype(np.int64, copy=False)
        n_symbols = int(item_codes.max()) + 1
    key, key_range = seg, max(n_users, 1)  # the 0-gram of a position: its user; keys lie in [0, key_range)
    phis = {}
    for k in range(1, m + 2):
        width = n - k + 1
        if width <= 0:
            phis[k] = np.zeros(n_users)
            continue
        if key_range * n_symbols >= 2 ** 62:
            raise OverflowError("too many distinct windows for the 64-bit k-gram keys")
        # (user, x_i..x_{i+k-2}) key -> (user, x_i..x_{i+k-1}) key: previous key * n_symbols + next item
        # is one int64 per distinct tuple, so equal keys <=> identical windows (no collision possible).
        combined = key[:width] * np.int64(n_symbols) + item_codes[k - 1:]
        if k < m and key_range * n_symbols * n_symbols < _DEFER_LIMIT:
            key, key_range = combined, key_range * n_symbols  # still fits: renumber later
            continue
        # renumber the distinct keys 0..K-1 (pandas' hash table, exact equality)
        key, uniques = pd.factorize(combined)
        key = key.astype(np.int64, copy=False)
        key_range = max(len(uniques), 1)
        if k < m:
            continue
        n_keys = key_range
        valid = remaining[:width] >= k - 1  # the window stays inside its user's sequence
        vkey, vseg = key[valid], seg[:width][valid]
        counts = np.bincount(vkey, minlength=n_keys)
        windows = lengths - k + 1
        # ln C_i^k = ln(c_i / W), summed per user: ln(1) = 0 exactly for a constant sequence
        log_sum = np.bincount(vseg, weights=np.log(counts[vkey] / windows[vseg]), minlength=n_users)
        phi = np.zeros(n_users)
        has = windows > 0
        phi[has] = log_sum[has] / windows[has]
        phis[k] = phi
    return lengths, phis[m], phis[m + 1]


def apen_per_user(users, items, m=2, r=0.0):
    """Per-user signed ApEn (Phi^m - Phi^{m+1}); r = 0 by hashing, r > 0 by the direct method."""
    if r < 0:
        raise ValueError(f"r must be >= 0, got {r}")
    if r == 0:
        _, phi_m, phi_m1 = phis_categorical(users, items, m)
        return phi_m - phi_m1
    seg, lengths, _ = _segments(np.asarray(users))
    values = np.asarray(items, dtype=np.float64)
    bounds = np.concatenate(([0], np.cumsum(lengths)))
    out = np.empty(len(lengths))
    for u in range(len(lengths)):
        phi_m, phi_m1 = phis_direct(values[bounds[u]:bounds[u + 1]], m, r)
        out[u] = phi_m - phi_m1
    return out


# --------------------------------------------------------------------------------------------------
# Reading the atomic file


def resolve_inter_file(dataset, data_path=None):
    """Path of the .inter file of ``dataset`` (NAME with ``data_path``, or DIR/NAME, or a .inter path)."""
    if data_path is not None:
        folder = os.path.join(data_path, dataset)
    else:
        folder = dataset
    if folder.endswith(".inter") and not os.path.isdir(folder):
        path = folder
    else:
        name = os.path.basename(os.path.normpath(folder))
        path = os.path.join(folder, f"{name}.inter")
        if data_path is None and not os.path.exists(path) and os.sep not in dataset.strip(os.sep):
            # A bare NAME: RecBole's ./dataset/NAME, then RecBole's bundled example of that name.
            candidates = [os.path.join("dataset", dataset, f"{dataset}.inter")]
            try:
                import importlib.util

                spec = importlib.util.find_spec("recbole")
                if spec is not None and spec.origin:
                    candidates.append(os.path.join(os.path.dirname(spec.origin), "dataset_example", dataset,
                                                   f"{dataset}.inter"))
            except (ImportError, ValueError):
                pass
            for candidate in candidates:
                if os.path.isfile(candidate):
                    return candidate
            raise StatsError(f"interaction file not found: '{path}' (dataset '{dataset}'; also looked for "
                             f"dataset/{dataset}/{dataset}.inter and RecBole's bundled dataset_example/{dataset})")
    if not os.path.isfile(path):
        raise StatsError(f"interaction file not found: '{path}' (dataset '{dataset}'"
                         + (f", data path '{data_path}'" if data_path is not None else "") + ")")
    return path


def read_header(path):
    with open(path, encoding="utf-8") as f:
        line = f.readline().rstrip("\r\n")
    if not line:
        raise StatsError(f"'{path}' is empty: expected a header such as 'user_id:token<TAB>item_id:token'")
    return line.split("\t")


def _column(header, field, path, role, option):
    """The header column of ``field`` ('user_id' matches 'user_id:token'; a full 'name:type' too)."""
    for col in header:
        if col == field or col.split(":", 1)[0] == field:
            return col
    raise StatsError(f"{role} column '{field}' not found in '{path}' (header: {', '.join(header)}); "
                     f"set it with {option}")


def read_interactions(path, user_field="user_id", item_field="item_id", time_field=None):
    """(users, items, times or None, time column or None) from a RecBole .inter file.

    ``time_field`` None: 'timestamp' when the file has it, else file order; '' : file order; a name
    that is not a column is an error.
    """
    header = read_header(path)
    user_col = _column(header, user_field, path, "user", "--user-field")
    item_col = _column(header, item_field, path, "item", "--item-field")
    time_col = None
    if time_field is None:
        time_col = next((c for c in header if c.split(":", 1)[0] == "timestamp"), None)
    elif time_field:
        time_col = _column(header, time_field, path, "time", "--time-field")
    usecols = [user_col, item_col] + ([time_col] if time_col else [])
    dtype = {user_col: str, item_col: str}
    if time_col:
        dtype[time_col] = np.float64
    try:
        frame = pd.read_csv(path, sep="\t", usecols=usecols, dtype=dtype, engine="c",
                            keep_default_na=False, na_values={time_col: [""]} if time_col else None)
    except ValueError as error:
        raise StatsError(f"cannot read '{path}': {error}") from None
    times = frame[time_col].to_numpy() if time_col else None
    return frame[user_col].to_numpy(), frame[item_col].to_numpy(), times, time_col


def order_by_user_time(user_codes, times):
    """Row order grouping each user's rows, by time within a user (ties and no times: file order)."""
    n = len(user_codes)
    user_codes = user_codes.astype(np.int64, copy=False)
    if times is None:
        if n == 0 or np.all(user_codes[1:] >= user_codes[:-1]):
            return None
        return np.argsort(user_codes, kind="stable")
    finite = np.isfinite(times)
    if n and finite.all():
        t_min, t_max = times.min(), times.max()
        span = t_max - t_min + 1
        integral = np.array_equal(times, np.floor(times))
        if integral and span < 2 ** 62 and (int(user_codes.max()) + 1) * span < 2 ** 62:
            key = user_codes * np.int64(span) + (times - t_min).astype(np.int64)
            if np.all(key[1:] >= key[:-1]):
                return None
            return np.argsort(key, kind="stable")
    return np.lexsort((times, user_codes))  # stable; NaN times last within a user


# --------------------------------------------------------------------------------------------------
# Statistics


def length_stats(lengths):
    lengths = np.asarray(lengths)
    if len(lengths) == 0:
        return {"min": 0, **{f"p{q}": 0.0 for q in PERCENTILES}, "max": 0, "mean": 0.0}
    out = {"min": int(lengths.min())}
    for q, v in zip(PERCENTILES, np.percentile(lengths, PERCENTILES)):
        out[f"p{q}"] = float(v)
    out["max"] = int(lengths.max())
    out["mean"] = float(lengths.mean())
    return out


def compute_stats(users, items, times=None, m=2, r=0.0, max_len=0):
    """All statistics of one interaction table (arrays of tokens or ids); see the module docstring."""
    if m < 1:
        raise StatsError(f"--m must be >= 1, got {m}")
    if r < 0:
        raise StatsError(f"--r must be >= 0, got {r}")
    if max_len < 0:
        raise StatsError(f"--max-len must be >= 0 (0: whole sequences), got {max_len}")
    timings = {}
    t0 = time.perf_counter()
    user_codes, user_uniques = pd.factorize(users)
    item_codes, item_uniques = pd.factorize(items)
    if (user_codes < 0).any() or (item_codes < 0).any():
        raise StatsError("missing user or item tokens (empty fields) in the interaction file")
    order = order_by_user_time(user_codes, times)
    if order is not None:
        user_codes, item_codes = user_codes[order], item_codes[order]
    seg, lengths, remaining = _segments(user_codes)
    timings["group_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    ids, seq_users = item_codes, seg
    if max_len:
        keep = remaining < max_len  # the last max_len items of each sequence
        ids, seq_users = ids[keep], seg[keep]
    if r == 0:
        seq_lengths, phi_m, phi_m1 = phis_categorical(seq_users, ids, m)
        per_user = phi_m - phi_m1
    else:
        values = _numeric_items(item_uniques)[ids]
        per_user = apen_per_user(seq_users, values, m, r)
        seq_lengths = np.bincount(seq_users)
    timings["apen_s"] = time.perf_counter() - t0

    n_users = len(lengths)
    return {
        "interactions": int(len(item_codes)),
        "users": int(n_users),
        "items": int(len(item_uniques)),
        "density": float(len(item_codes) / (n_users * len(item_uniques))) if n_users else 0.0,
        "sequence_length": length_stats(lengths),
        "apen": {
            "m": int(m),
            "r": float(r),
            "max_len": int(max_len),
            "kind": "categorical (r = 0: identical m-grams match)" if r == 0 else "numeric (|id_i - id_j| <= r)",
            "apen_mean": float(per_user.mean()) if n_users else 0.0,
            "apen_abs_mean": float(np.abs(per_user).mean()) if n_users else 0.0,
            "apen_median": float(np.median(per_user)) if n_users else 0.0,
            "users_with_apen_0_by_length": int(np.count_nonzero(seq_lengths <= m)),
            "aggregation": "mean over users of per-user ApEn (Shen et al.'s code); apen_abs_mean uses "
                           "|Phi^m - Phi^m+1| as their code does",
        },
        "timings": timings,
    }


def _numeric_items(item_uniques):
    try:
        return np.asarray(item_uniques, dtype=np.float64)
    except ValueError:
        raise StatsError("--r > 0 compares item ids as numbers, but the item tokens are not numeric; "
                         "use --r 0 (categorical)") from None


def format_table(stats, path, time_col):
    lines = []

    def row(name, value):
        lines.append(f"  {name:<30} {value}")

    lines.append(f"dataset: {path}")
    row("interactions", f"{stats['interactions']:,}")
    row("users", f"{stats['users']:,}")
    row("items", f"{stats['items']:,}")
    row("density", f"{stats['density']:.6f}")
    s = stats["sequence_length"]
    lines.append("sequence length per user:")
    lines.append("  " + "  ".join(f"{k:>8}" for k in s))
    lines.append("  " + "  ".join(f"{v:>8,}" if isinstance(v, int) else f"{v:>8,.1f}" for v in s.values()))
    a = stats["apen"]
    order = f"sorted by '{time_col}' within user" if time_col else "file order within user"
    trunc = f", last {a['max_len']} items" if a["max_len"] else ""
    lines.append(f"approximate entropy (m={a['m']}, r={a['r']:g}, {a['kind'].split(' (')[0]}, {order}{trunc}):")
    row("ApEn, mean over users", f"{a['apen_mean']:.6f}")
    row("|ApEn|, mean over users", f"{a['apen_abs_mean']:.6f}")
    row("ApEn, median over users", f"{a['apen_median']:.6f}")
    row(f"users with <= {a['m']} items (ApEn 0)", f"{a['users_with_apen_0_by_length']:,}")
    t = stats["timings"]
    lines.append("time: " + ", ".join(f"{k[:-2]} {v:.2f} s" for k, v in t.items()))
    return "\n".join(lines)


def run(dataset, data_path=None, user_field="user_id", item_field="item_id", time_field=None, m=2, r=0.0,
        max_len=0):
    """Read the dataset and compute its statistics: (stats dict, .inter path, time column or None)."""
    path = resolve_inter_file(dataset, data_path)
    t0 = time.perf_counter()
    users, items, times, time_col = read_interactions(path, user_field, item_field, time_field)
    read_s = time.perf_counter() - t0
    stats = compute_stats(users, items, times, m=m, r=r, max_len=max_len)
    stats["timings"] = {"read_s": read_s, **stats["timings"]}
    stats["file"] = path
    stats["order"] = f"by {time_col} within user (stable)" if time_col else "file order within user"
    return stats, path, time_col


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m recbole_srt.stats",
        description="Interactions, users, items, sequence-length percentiles and Approximate Entropy (Pincus "
                    "1991; per-user mean as in Shen et al., arXiv:2412.00430) of a RecBole .inter file.")
    parser.add_argument("dataset", help="DIR/NAME (reads DIR/NAME/NAME.inter), NAME with --data-path, or a .inter file")
    parser.add_argument("--data-path", "--data_path", dest="data_path", default=None, metavar="DIR",
                        help="folder holding NAME/ (RecBole's data_path)")
    parser.add_argument("--m", type=int, default=2, help="embedding dimension (default 2)")
    parser.add_argument("--r", type=float, default=0.0,
                        help="tolerance; 0 (default): categorical, identical m-grams match; > 0: item ids compared "
                             "as numbers, O(N^2) per user")
    parser.add_argument("--max-len", "--max_len", dest="max_len", type=int, default=0,
                        help="ApEn on the last N items of each sequence (0, default: whole sequences; the "
                             "Performance-Law code used 25 and 50)")
    parser.add_argument("--user-field", default="user_id")
    parser.add_argument("--item-field", default="item_id")
    parser.add_argument("--time-field", default=None,
                        help="order within user (default: 'timestamp' when present, else file order; '' for file order)")
    parser.add_argument("--json", default=None, metavar="PATH", help="also write the numbers to PATH")
    parser.add_argument("--debug", action="store_true", help="a traceback instead of a one-line error")
    args = parser.parse_args(argv)
    try:
        stats, path, time_col = run(args.dataset, args.data_path, args.user_field, args.item_field,
                                    args.time_field, args.m, args.r, args.max_len)
        print(format_table(stats, path, time_col))
        if args.json:
            folder = os.path.dirname(os.path.abspath(args.json))
            os.makedirs(folder, exist_ok=True)
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump(stats, f, indent=2)
                f.write("\n")
            print(f"written to {args.json}")
    except (StatsError, OSError) as error:
        if args.debug:
            raise
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
