"""Sampled softmax with logQ correction and temperature (SRT paper, Eq. 2): SRT-K."""

import torch
from torch import nn

from recbole_srt.model.losses import LOSSES
from recbole_srt.model.losses.negative_sampler import NegativeSampler
from recbole_srt.config_check import ConfigError
from recbole_srt import distributed


SCOPES = ("sequence", "batch", "row")


@LOSSES.register("sampled_softmax")
class SampledSoftmaxLoss(nn.Module):
    """Per-target loss of the positive against K sampled negatives.

    Logits are ``score / tau - log q(item)`` for the positive and every negative
    (Yi et al. 2019): subtracting the log sampling probability makes the sampled softmax
    a consistent estimate of the full softmax. A negative equal to the positive is masked.
    """

    config_keys = {
        "num_negatives": 1000,  # K
        "neg_distribution": "popularity",  # popularity (of the training targets) or uniform
        "neg_count_smoothing": 0,  # added to each item's training count before drawing (the SRT authors add 1)
        # sequence: K per sequence (window), shared by its targets: the paper's N(S~), at the cost of one shared set;
        # batch: K shared by the step (cheapest, but at small K every target of a step meets the same few items);
        # row: K per target (the authors' code, whose rows are prefixes; memory grows with targets x K)
        "neg_sampling_scope": "sequence",
        "logq_correction": True,
        "tau": 1.0,  # temperature of the logits
    }

    def __init__(self, tau=1.0, num_negatives=1000, scope="sequence", sampler=None, logq_correction=True):
        super().__init__()
        self.tau = tau
        self.num_negatives = num_negatives
        self.scope = scope
        self.sampler = sampler
        self.logq_correction = logq_correction

    @classmethod
    def from_config(cls, config, catalog):
        # Popularity of the training targets only: validation and test items must not leak.
        # Each torchrun rank draws its own negatives, as it draws its own batches.
        sampler = NegativeSampler(catalog.train_counts, config["neg_distribution"], config["seed"] + distributed.rank(),
                                  config["neg_count_smoothing"] or 0.0)
        return cls(config["tau"], int(config["num_negatives"]), config["neg_sampling_scope"], sampler,
                   config["logq_correction"])

    @staticmethod
    def check_config(config):
        k = config["num_negatives"]
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ConfigError(f"num_negatives must be an integer >= 1, got {k!r}")
        if config["tau"] is None or config["tau"] <= 0:
            raise ConfigError(f"tau must be > 0, got {config['tau']!r}")
        smoothing = config["neg_count_smoothing"]
        if smoothing is not None and (isinstance(smoothing, bool) or not isinstance(smoothing, (int, float))
                                      or smoothing < 0):
            raise ConfigError(f"neg_count_smoothing must be a number >= 0, got {smoothing!r}")
        if config["neg_sampling_scope"] not in SCOPES:
            raise ConfigError(f"neg_sampling_scope must be one of {', '.join(SCOPES)}, got {config['neg_sampling_scope']!r}")
        if config["neg_distribution"] not in ("popularity", "uniform"):
            raise ConfigError(f"neg_distribution must be 'popularity' or 'uniform', got {config['neg_distribution']!r}")

    def negatives(self, pos_ids, sequences):
        """[K] shared by the step, [sequences, K] one set per sequence, or [targets, K] one per target."""
        rows = {"batch": (), "sequence": (sequences,), "row": (len(pos_ids),)}[self.scope]
        return self.sampler.sample((*rows, self.num_negatives), pos_ids.device)

    def forward(self, query, pos_ids, pos_repr, neg_ids, neg_repr):
        """query, pos_repr: [N, H]; neg_ids: [K] shared, or [G, K] one set per group of N / G consecutive targets
        (G = N: per target; G sequences: the targets of a window are consecutive); neg_repr: [K, H] or [G, K, H].
        Every pos_id must have a positive sampling probability (the model puts a real item in padding slots)."""
        query = query / self.tau  # on [N, H] rather than on the [N, K] logits: one pass less over them
        pos_logit = (query * pos_repr).sum(-1)
        if neg_ids.dim() == 1:
            neg_logit = query @ neg_repr.T
            collision = neg_ids.unsqueeze(0) == pos_ids.unsqueeze(1)
        else:
            # One batched product per group: the [N, K, H] candidates of a per-target expansion are never built.
            groups, k = neg_ids.shape
            per = len(query) // groups
            neg_logit = torch.bmm(query.view(groups, per, -1), neg_repr.transpose(1, 2)).view(len(query), k)
            collision = (neg_ids.unsqueeze(1) == pos_ids.view(groups, per, 1)).view(len(query), k)
        if self.logq_correction:
            log_q = self.sampler.log_q.to(query.device)
            pos_logit = pos_logit - log_q[pos_ids]
            # [K] or [G, K] broadcast over each group's targets: no [N, K] copy of the corrections
            neg_logit = (neg_logit.view(len(neg_ids) if neg_ids.dim() == 2 else 1, -1, neg_ids.shape[-1])
                         - log_q[neg_ids].view(-1, 1, neg_ids.shape[-1])).view(len(query), -1)
        neg_logit = neg_logit.masked_fill(collision, float("-inf"))
        logits = torch.cat([pos_logit.unsqueeze(1), neg_logit], dim=1)
        return torch.logsumexp(logits, dim=1) - pos_logit

    def forward_flops(self, targets, hidden, candidates):
        """``candidates``: negatives scored per target (shared or per row: the same count)."""
        return {
            "logits: positives": (2 * targets * hidden, False),
            "logits: negatives": (2 * targets * candidates * hidden, True),
        }
