import math

import torch

from types import SimpleNamespace

import torch.nn.functional as F

from recbole_srt.model.losses.full_ce import FullCrossEntropyLoss
from recbole_srt.model.losses.negative_sampler import NegativeSampler
from recbole_srt.model.losses.sampled_softmax import SampledSoftmaxLoss


def sampled_softmax(tau, query, pos_repr, neg_repr, pos_ids, neg_ids, log_q):
    """The loss with a fixed log q (a stand-in sampler), as the model calls it."""
    loss = SampledSoftmaxLoss(tau, sampler=SimpleNamespace(log_q=log_q), logq_correction=log_q is not None)
    return loss(query, pos_ids, pos_repr, neg_ids, neg_repr)


def test_logq_and_collision_masking_match_hand_computation():
    # Two targets, three shared negatives; item 2 is the positive of row 0 and also drawn
    # as a negative, so it must be masked for row 0 only.
    query = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    pos_ids = torch.tensor([2, 3])
    neg_ids = torch.tensor([1, 2, 4])
    table = torch.tensor([[0, 0], [0.5, 1.0], [2.0, 0.0], [1.0, 1.0], [-1.0, 0.5]])
    log_q = torch.log(torch.tensor([1e-9, 0.1, 0.2, 0.3, 0.4]))
    tau = 0.5
    loss = sampled_softmax(tau, query, table[pos_ids], table[neg_ids], pos_ids, neg_ids, log_q)

    def logit(q, item):
        return float(torch.dot(query[q], table[item])) / tau - math.log([1e-9, 0.1, 0.2, 0.3, 0.4][item])

    row0 = [logit(0, 2), logit(0, 1), logit(0, 4)]  # negative 2 == positive: dropped
    row1 = [logit(1, 3), logit(1, 1), logit(1, 2), logit(1, 4)]
    expected = [math.log(sum(math.exp(x) for x in r)) - r[0] for r in (row0, row1)]
    assert torch.allclose(loss, torch.tensor(expected), atol=1e-5)


def test_per_row_negatives_match_shared_when_identical():
    torch.manual_seed(0)
    query, table = torch.randn(4, 8), torch.randn(10, 8)
    pos_ids, neg_ids = torch.tensor([1, 2, 3, 4]), torch.tensor([5, 6, 2, 9])
    log_q = torch.log_softmax(torch.randn(10), 0)
    shared = sampled_softmax(0.7, query, table[pos_ids], table[neg_ids], pos_ids, neg_ids, log_q)
    rows = neg_ids.expand(4, -1)
    per_row = sampled_softmax(0.7, query, table[pos_ids], table[rows], pos_ids, rows, log_q)
    assert torch.allclose(shared, per_row, atol=1e-6)
    assert not torch.allclose(shared, sampled_softmax(0.7, query, table[pos_ids], table[neg_ids], pos_ids, neg_ids, None))


def test_per_sequence_negatives_equal_each_targets_copy_of_its_sequences_set():
    # Two sequences of three targets: the batched product per sequence is the per-target loss with each target
    # given its own sequence's negatives, collisions with the positive masked in both.
    torch.manual_seed(0)
    query, table = torch.randn(6, 8), torch.randn(12, 8)
    pos_ids = torch.tensor([1, 2, 3, 4, 5, 6])
    neg_ids = torch.tensor([[7, 8, 2, 9], [10, 11, 4, 4]])
    log_q = torch.log_softmax(torch.randn(12), 0)
    per_sequence = sampled_softmax(0.7, query, table[pos_ids], table[neg_ids], pos_ids, neg_ids, log_q)
    rows = neg_ids.repeat_interleave(3, dim=0)
    per_target = sampled_softmax(0.7, query, table[pos_ids], table[rows], pos_ids, rows, log_q)
    assert torch.allclose(per_sequence, per_target, atol=1e-6)


def test_per_sequence_draws_differ_across_sequences_and_follow_q():
    counts = torch.tensor([0, 10, 20, 30, 40])
    loss = SampledSoftmaxLoss(num_negatives=50, scope="sequence", sampler=NegativeSampler(counts, seed=3))
    drawn = loss.negatives(torch.ones(40, dtype=torch.long), sequences=2000)
    assert drawn.shape == (2000, 50)
    assert len({tuple(row.tolist()) for row in drawn}) == 2000  # every sequence draws its own set
    freq = torch.bincount(drawn.reshape(-1), minlength=5).double() / drawn.numel()
    assert freq[0] == 0 and torch.allclose(freq[1:], torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64),
                                           atol=0.005)
    assert loss.negatives(torch.ones(40, dtype=torch.long), sequences=2).shape == (2, 50)
    loss.scope = "batch"
    assert loss.negatives(torch.ones(40, dtype=torch.long), sequences=2).shape == (50,)


def test_sampler_follows_training_popularity_and_never_draws_padding():
    counts = torch.tensor([50, 0, 1, 3, 6])  # the padding item's count must be ignored
    sampler = NegativeSampler(counts, "popularity", seed=1)
    draws = sampler.sample((200_000,))
    freq = torch.bincount(draws, minlength=5).double() / len(draws)
    assert freq[0] == 0 and freq[1] == 0
    assert torch.allclose(freq[2:], torch.tensor([0.1, 0.3, 0.6], dtype=torch.float64), atol=0.01)
    assert torch.allclose(sampler.log_q[2:], torch.log(torch.tensor([0.1, 0.3, 0.6])))
    uniform = NegativeSampler(counts, "uniform", seed=1).sample((100_000,))
    assert uniform.min() >= 1 and torch.bincount(uniform, minlength=5)[1:].min() > 23_000


def test_count_smoothing_draws_items_never_a_training_target():
    counts = torch.tensor([50, 0, 1, 3, 6])
    sampler = NegativeSampler(counts, "popularity", seed=1, smoothing=1)  # the SRT authors' add-one
    freq = torch.bincount(sampler.sample((200_000,)), minlength=5).double() / 200_000
    expected = torch.tensor([0, 1, 2, 4, 7], dtype=torch.float64) / 14
    assert freq[0] == 0 and torch.allclose(freq, expected, atol=0.01)
    assert torch.allclose(sampler.log_q[1:], torch.log(expected[1:]).float())


def test_full_cross_entropy_never_predicts_padding_and_smooths_over_real_items():
    torch.manual_seed(0)
    query, table = torch.randn(3, 4), torch.randn(6, 4)  # item 0 is padding
    pos_ids = torch.tensor([1, 5, 2])
    loss = FullCrossEntropyLoss(tau=0.5)(query, pos_ids, table[pos_ids], None, table)
    logits = query @ table.T / 0.5
    expected = torch.logsumexp(logits[:, 1:], 1) - logits[torch.arange(3), pos_ids]
    assert torch.allclose(loss, expected, atol=1e-5)
    smoothed = FullCrossEntropyLoss(tau=0.5, label_smoothing=0.1)(query, pos_ids, table[pos_ids], None, table)
    assert torch.isfinite(smoothed).all()
    assert torch.allclose(smoothed, F.cross_entropy(logits[:, 1:], pos_ids - 1, reduction="none", label_smoothing=0.1))


def test_chunked_cross_entropy_matches_the_logits_path_in_value_and_gradient():
    """The CPU path of full_ce never holds the logits; its loss and both gradients must be those of
    F.cross_entropy on them, with and without label smoothing, for chunks that split the rows unevenly,
    a table that is a view (the catalog less padding) and rows whose loss does not count."""
    from recbole_srt.model.losses.chunked_ce import chunked_cross_entropy

    generator = torch.Generator().manual_seed(0)
    for smoothing in (0.0, 0.1):
        for chunk in (None, 7):
            query = torch.randn(50, 16, dtype=torch.float64, generator=generator, requires_grad=True)
            catalog = torch.randn(301, 16, dtype=torch.float64, generator=generator, requires_grad=True)
            targets = torch.randint(0, 300, (50,), generator=generator)
            weights = torch.rand(50, dtype=torch.float64, generator=generator)
            weights[3] = 0
            got = chunked_cross_entropy(query, catalog[1:], targets, smoothing, chunk)
            grads = torch.autograd.grad((got * weights).sum(), (query, catalog))
            want = F.cross_entropy(query @ catalog[1:].T, targets, reduction="none", label_smoothing=smoothing)
            expected = torch.autograd.grad((want * weights).sum(), (query, catalog))
            assert torch.allclose(got, want, atol=1e-12)
            for g, e in zip(grads, expected):
                assert torch.allclose(g, e, atol=1e-12)
            assert grads[1][0].abs().max() == 0  # padding is no class
