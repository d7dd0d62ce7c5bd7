"""Two models compared on the same test users: the mean per-user difference and its standard error.

    python -m recbole_srt.evaluation.paired A.json [A2.json ...] --vs B.json [B2.json ...] [--metric ndcg@5]
        [--group cold]

Each file is a results file written with ``test_ranks: True``. Seeds of one model are averaged per user first,
then the two models are paired user by user. Why paired over users: the seeds of a run share one test set, so
the sd over seeds says how much training varies, not how much the figure would move on other users; on a catalog
of a few hundred or thousand users the second is often the larger, and a gap between two models can only be read
against it. The standard error is that of the mean of the per-user differences (the
paired t-test's), which accounts for the two models doing well on the same users.

``--group cold`` (runs with ``cold_start_items``): only the users whose held-out item was withheld from training.
Which items are cold depends on the seed, so the runs are paired seed by seed instead (A's first file with B's
first, ...) and the (seed, user) differences pooled.
"""

import argparse
import json
import math
import sys

import numpy as np
from scipy import stats


def per_user(ranks, metric):
    """{user: value} of ``metric`` (ndcg@K or hit@K) for one held-out item per user, from its rank."""
    name, _, k = metric.lower().partition("@")
    if name not in ("ndcg", "hit") or not k.isdigit():
        raise ValueError(f"metric must be ndcg@K or hit@K, got {metric!r}")
    rank = np.asarray(ranks["rank"], dtype=float)
    inside = rank <= int(k)
    values = np.where(inside, 1 / np.log2(rank + 1), 0.0) if name == "ndcg" else inside.astype(float)
    if len(set(ranks["user"])) != len(ranks["user"]):
        raise ValueError("test_ranks holds several held-out items for some user; a paired comparison needs "
                         "one per user (leave-one-out)")
    return dict(zip(ranks["user"], values)), dict(zip(ranks["user"], ranks["item"]))


def mean_over_seeds(results, metric):
    """{user: mean of metric over the runs}, and the users' held-out items (the same in every run)."""
    values, items = None, None
    for result in results:
        run_values, run_items = per_user(result["test_ranks"], metric)
        if items is not None and run_items != items:
            raise ValueError("these runs do not share their test users and held-out items (another split?)")
        items = run_items
        values = run_values if values is None else {u: values[u] + v for u, v in run_values.items()}
    return {u: v / len(results) for u, v in values.items()}, items


def compare(first, second, metric="ndcg@5"):
    """second − first, paired over the users: {metric, users, first, second, difference, se, ci95, p}."""
    a, items_a = mean_over_seeds(first, metric)
    b, items_b = mean_over_seeds(second, metric)
    if items_a != items_b:
        raise ValueError("the two models were not tested on the same users and held-out items")
    users = sorted(a)
    return summary(np.array([a[u] for u in users]), np.array([b[u] for u in users]), metric, [len(first), len(second)])


def compare_within(first, second, group, metric="ndcg@5"):
    """second − first over the entries of ``group`` (a boolean column of test_ranks, such as "cold"), the runs
    paired in order (the same seed on both sides) and the (run, user) differences pooled; as :func:`compare`."""
    if len(first) != len(second):
        raise ValueError(f"--group {group}: the runs are paired seed by seed, so both sides need as many "
                         f"({len(first)} against {len(second)})")
    x, y = [], []
    for a, b in zip(first, second):
        if group not in a["test_ranks"] or group not in b["test_ranks"]:
            raise ValueError(f"test_ranks has no {group!r} column (cold: run with cold_start_items)")
        values_a, items_a = per_user(a["test_ranks"], metric)
        values_b, items_b = per_user(b["test_ranks"], metric)
        in_a = dict(zip(a["test_ranks"]["user"], a["test_ranks"][group]))
        if items_a != items_b or in_a != dict(zip(b["test_ranks"]["user"], b["test_ranks"][group])):
            raise ValueError(f"a pair of runs does not share its test users, held-out items and {group} items "
                             "(another split or seed?)")
        users = sorted(u for u, chosen in in_a.items() if chosen)
        x += [values_a[u] for u in users]
        y += [values_b[u] for u in users]
    return summary(np.array(x), np.array(y), metric, [len(first), len(second)])


def summary(x, y, metric, seeds):
    d = y - x
    se = float(d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 else float("nan")
    p = float(stats.ttest_rel(y, x).pvalue) if se > 0 else 1.0
    return {"metric": metric, "users": len(d), "first": float(x.mean()), "second": float(y.mean()),
            "difference": float(d.mean()), "se": se, "ci95": [float(d.mean() - 1.96 * se), float(d.mean() + 1.96 * se)],
            "p": p, "seeds": seeds}


def load(path):
    with open(path, encoding="utf-8") as f:
        try:
            result = json.load(f)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}: not a results file ({error})") from None
    if "test_ranks" not in result:
        raise ValueError(f"{path}: no test_ranks (run it with --test_ranks=True)")
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("first", nargs="+", help="results files of model A (its seeds)")
    parser.add_argument("--vs", nargs="+", required=True, help="results files of model B (its seeds)")
    parser.add_argument("--metric", default="ndcg@5")
    parser.add_argument("--group", default=None,
                        help="only the users of this test_ranks column (cold), the files paired seed by seed")
    args = parser.parse_args(argv)
    try:
        first, second = [load(p) for p in args.first], [load(p) for p in args.vs]
        out = (compare_within(first, second, args.group, args.metric) if args.group
               else compare(first, second, args.metric))
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    users = f"{out['users']} {args.group} users" if args.group else f"{out['users']} users"
    print(f"{out['metric']} over {users} (seeds {out['seeds'][0]} vs {out['seeds'][1]}): "
          f"A {out['first']:.4f}, B {out['second']:.4f}; B - A {out['difference']:+.4f} ± {out['se']:.4f} "
          f"(standard error, paired over users; 95 % CI {out['ci95'][0]:+.4f} to {out['ci95'][1]:+.4f}; "
          f"paired t-test p = {out['p']:.3g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
