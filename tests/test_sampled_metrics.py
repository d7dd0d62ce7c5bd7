"""The Table 1 benchmark's NDCG@5 / HIT@5 against 10,000 sampled negatives, checked against the same
sample ranked explicitly (the n smallest uniform draws of the non-excluded items are the negatives)."""

import importlib.util
import math
import os

import torch

SPEC = importlib.util.spec_from_file_location(
    "table1", os.path.join(os.path.dirname(__file__), "..", "benchmarks", "table1.py"))
table1 = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(table1)


class FixedScores(torch.nn.Module):
    """Scores given in advance, one row per user, served batch by batch."""

    def __init__(self, scores):
        super().__init__()
        self.register_buffer("scores", scores)
        self.next = 0

    def full_sort_predict(self, interaction):
        rows = self.scores[self.next:self.next + len(interaction)]
        self.next += len(interaction)
        return rows


class Batch(list):
    def to(self, device):
        return self


def explicit(scores, batches, n_negatives, seed, k=5):
    """Each user's negatives listed one by one, then the positive's pessimistic rank among them."""
    generator = torch.Generator().manual_seed(seed)
    ndcg = hit = 0.0
    start = 0
    for size, history, positives in batches:
        rows = scores[start:start + size]
        start += size
        draw = torch.rand(rows.shape, generator=generator)
        allowed = [[i for i in range(rows.shape[1])
                    if i not in {0, positives[u]} | {i for (hu, i) in history if hu == u}] for u in range(size)]
        count = min(n_negatives, min(len(a) for a in allowed))  # one sample size per batch, as in the benchmark
        for u in range(size):
            negatives = sorted(allowed[u], key=lambda i: float(draw[u, i]))[:count]
            rank = sum(float(rows[u, i]) >= float(rows[u, positives[u]]) for i in negatives)
            if rank < k:
                hit += 1
                ndcg += 1 / math.log2(rank + 2)
    users = scores.shape[0]
    return {f"ndcg@{k}": ndcg / users, f"hit@{k}": hit / users}


def loader(batches):
    for size, history, positives in batches:
        index = (torch.tensor([u for u, _ in history]), torch.tensor([i for _, i in history])) if history else None
        yield Batch(range(size)), index, torch.arange(size), torch.tensor(positives)


def test_sampled_metrics_match_an_explicit_sample():
    torch.manual_seed(3)
    n_items = 40
    # Coarse scores so that ties with the positive occur and must count against it.
    scores = torch.randint(0, 6, (7, n_items)).float()
    batches = [(4, [(0, 5), (2, 9), (2, 11)], [3, 7, 12, 30]), (3, [], [1, 2, 39])]
    for n_negatives in (10, 25, 10_000):
        got = table1.sampled_metrics(FixedScores(scores), loader(batches), n_negatives=n_negatives, seed=7)
        want = explicit(scores, batches, n_negatives, seed=7)
        assert all(abs(got[m] - want[m]) < 1e-6 for m in want), (n_negatives, got, want)
    # A better positive can only rank higher: the metric is not constant.
    boosted = scores.clone()
    boosted[torch.arange(4), torch.tensor([3, 7, 12, 30])] = 100.0
    high = table1.sampled_metrics(FixedScores(boosted), loader(batches), n_negatives=25, seed=7)
    low = table1.sampled_metrics(FixedScores(scores), loader(batches), n_negatives=25, seed=7)
    assert high["hit@5"] > low["hit@5"]
