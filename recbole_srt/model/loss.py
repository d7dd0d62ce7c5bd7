"""Sampled softmax with logQ correction and temperature (paper Eq. 2)."""

import torch
from torch import nn


class SampledSoftmaxLoss(nn.Module):
    """Per-target loss of the positive against K sampled negatives.

    Logits are ``score / tau - log q(item)`` for the positive and every negative
    (Yi et al. 2019): subtracting the log sampling probability makes the sampled softmax
    a consistent estimate of the full softmax. A negative equal to the positive is masked.
    """

    def __init__(self, tau=1.0):
        super().__init__()
        self.tau = tau

    def forward(self, query, pos_repr, neg_repr, pos_ids, neg_ids, log_q=None):
        """query, pos_repr: [N, H]; neg_repr: [K, H] shared or [N, K, H] per target;
        neg_ids: [K] or [N, K]; log_q: [n_items] log sampling probabilities or None."""
        pos_logit = (query * pos_repr).sum(-1) / self.tau
        if neg_repr.dim() == 2:
            neg_logit = query @ neg_repr.T / self.tau
            collision = neg_ids.unsqueeze(0) == pos_ids.unsqueeze(1)
        else:
            neg_logit = torch.einsum("nh,nkh->nk", query, neg_repr) / self.tau
            collision = neg_ids == pos_ids.unsqueeze(1)
        if log_q is not None:
            pos_logit = pos_logit - log_q[pos_ids]
            neg_logit = neg_logit - log_q[neg_ids]
        neg_logit = neg_logit.masked_fill(collision, float("-inf"))
        logits = torch.cat([pos_logit.unsqueeze(1), neg_logit], dim=1)
        return torch.logsumexp(logits, dim=1) - pos_logit
