"""Sampled NDCG@5 / HIT@5 against 10,000 sampled negatives: the positive's rank in the
sample is drawn from its hypergeometric law. Checked three ways: against the law computed by counting,
against explicit samples of items, and for the coupling that the shared uniforms promise."""

import math

import torch

import recbole_srt  # noqa: F401  (compatibility shims first)
from recbole_srt.evaluation import sampled

N_ITEMS = 40
# Two batches: users' positives, and (user, item) history pairs that are excluded from the sample.
BATCHES = [(4, [(0, 5), (2, 9), (2, 11)], [3, 7, 12, 30]), (3, [], [1, 2, 39])]


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


def loader(batches=BATCHES):
    for size, history, positives in batches:
        index = (torch.tensor([u for u, _ in history]), torch.tensor([i for _, i in history])) if history else None
        yield Batch(range(size)), index, torch.arange(size), torch.tensor(positives)


def metrics(scores, n_negatives, seed):
    return sampled.sampled_metrics(FixedScores(scores), loader(), n_negatives=n_negatives, seed=seed)


def candidates_and_better(scores):
    """Per user: the items that can be drawn, and how many of them score at least as high as the positive."""
    out, start = [], 0
    for size, history, positives in BATCHES:
        for u in range(size):
            row = scores[start + u]
            allowed = [i for i in range(N_ITEMS) if i not in {0, positives[u]} | {i for hu, i in history if hu == u}]
            out.append((len(allowed), sum(float(row[i]) >= float(row[positives[u]]) for i in allowed)))
        start += size
    return out


def pmf(n_candidates, n_better, n_drawn, r):
    return math.comb(n_better, r) * math.comb(n_candidates - n_better, n_drawn - r) / math.comb(n_candidates, n_drawn)


def coarse_scores(seed=3):
    torch.manual_seed(seed)
    return torch.randint(0, 6, (7, N_ITEMS)).float()  # coarse, so that ties with the positive occur


def test_the_rank_is_the_hypergeometric_quantile_of_the_users_uniform():
    scores = coarse_scores()
    for n_negatives in (10, 25, 10_000):
        got = metrics(scores, n_negatives, seed=7)
        uniforms = torch.rand(7, generator=torch.Generator().manual_seed(7), dtype=torch.float64).tolist()
        ndcg = hit = 0.0
        for (n, b), u in zip(candidates_and_better(scores), uniforms):
            drawn = min(n_negatives, n)
            cumulative, rank = 0.0, None
            for r in range(b + 1):  # the smallest r whose CDF reaches u
                cumulative += pmf(n, b, drawn, r)
                if cumulative >= u - 1e-12:
                    rank = r
                    break
            if rank < 5:
                hit += 1
                ndcg += 1 / math.log2(rank + 2)
        assert abs(got["hit@5"] - hit / 7) < 1e-9 and abs(got["ndcg@5"] - ndcg / 7) < 1e-6, (n_negatives, got)
    # A sample as large as the catalog is full ranking: the rank is the number of items above or tied.
    full = metrics(scores, 10_000, seed=0)
    ranks = [b for _, b in candidates_and_better(scores)]
    assert abs(full["hit@5"] - sum(r < 5 for r in ranks) / 7) < 1e-9


def test_each_users_law_has_the_right_candidates_and_competitors(monkeypatch):
    """N (the items that can be drawn) and b (those scoring at least as high as the positive), user by user:
    padding, the positive and the history index are never candidates; ties count as competitors."""
    seen = []
    original = sampled.hypergeometric_cdf

    def spy(k, population, successes, draws):
        seen.extend(zip(population.tolist(), successes.tolist(), draws.tolist()))
        return original(k, population, successes, draws)

    monkeypatch.setattr(sampled, "hypergeometric_cdf", spy)
    scores = coarse_scores()
    metrics(scores, 25, seed=0)
    assert seen == [(n, b, min(25, n)) for n, b in candidates_and_better(scores)]
    assert {n for n, _ in candidates_and_better(scores)} == {N_ITEMS - 2, N_ITEMS - 3, N_ITEMS - 4}


def test_the_law_is_that_of_explicit_samples_of_items():
    scores = coarse_scores(5)
    generator = torch.Generator().manual_seed(11)
    trials, explicit = 3000, 0.0
    start = 0
    for size, history, positives in BATCHES:
        for u in range(size):
            row = scores[start + u]
            allowed = torch.tensor([i for i in range(N_ITEMS)
                                    if i not in {0, positives[u]} | {i for hu, i in history if hu == u}])
            for _ in range(trials):
                drawn = allowed[torch.randperm(len(allowed), generator=generator)[:15]]
                explicit += float((row[drawn] >= row[positives[u]]).sum() < 5)
        start += size
    explicit /= trials * 7
    hypergeometric = sum(metrics(scores, 15, seed)["hit@5"] for seed in range(trials)) / trials
    assert abs(hypergeometric - explicit) < 0.02, (hypergeometric, explicit)
    exact = sum(sum(pmf(n, b, 15, r) for r in range(min(5, b + 1))) for n, b in candidates_and_better(scores)) / 7
    assert abs(hypergeometric - exact) < 0.02 and 0.05 < exact < 0.95, (hypergeometric, exact)


def test_a_better_positive_never_ranks_lower_for_the_same_seed():
    scores = coarse_scores()
    boosted = scores.clone()
    boosted[torch.arange(4), torch.tensor([3, 7, 12, 30])] += 2.0
    for seed in range(20):
        low, high = metrics(scores, 25, seed), metrics(boosted, 25, seed)
        assert high["hit@5"] >= low["hit@5"] and high["ndcg@5"] >= low["ndcg@5"] - 1e-12
    assert sum(metrics(boosted, 25, s)["ndcg@5"] for s in range(20)) > sum(metrics(scores, 25, s)["ndcg@5"]
                                                                         for s in range(20))


def test_the_cdf_matches_scipys_including_the_edges():
    import numpy as np
    from scipy.stats import hypergeom

    population = np.array([40, 40, 40, 18_356, 18_356, 12_100, 3, 10, 10])
    successes = np.array([0, 39, 7, 5, 18_000, 600, 3, 10, 0])
    draws = np.array([25, 25, 39, 10_000, 10_000, 10_000, 3, 10, 10])
    got = sampled.hypergeometric_cdf(5, population, successes, draws)
    want = hypergeom.cdf(np.arange(5)[:, None], population, successes, draws)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
