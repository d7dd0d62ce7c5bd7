"""Draws the K negatives of SRT-K and knows their sampling log-probabilities (for logQ)."""

import torch
from recbole_srt.config_check import ConfigError


class NegativeSampler:
    """Samples item ids with replacement from the training popularity (or uniform) distribution.

    Inverse-CDF sampling (searchsorted) costs O(K log n) per draw, which stays cheap for
    catalogs of millions of items where ``torch.multinomial`` is slow.
    """

    def __init__(self, item_counts, distribution="popularity", seed=0, smoothing=0.0):
        # smoothing: added to every item's count, so items never a training target are drawn too
        # (the SRT authors' code adds 1).
        counts = torch.as_tensor(item_counts, dtype=torch.float64).clone() + float(smoothing)
        counts[0] = 0.0  # the padding item is never a negative
        if distribution == "uniform":
            counts = (torch.arange(len(counts)) > 0).double()
        elif distribution != "popularity":
            raise ConfigError(f"neg_distribution: expected 'popularity' or 'uniform', got '{distribution}'")
        if counts.sum() <= 0:
            raise ConfigError("neg_distribution: the training split has no item to sample negatives from")
        probs = counts / counts.sum()
        self.cdf = torch.cumsum(probs, 0)
        self.cdf[-1] = 1.0
        self.log_q = torch.log(probs).float()  # -inf where an item is never drawn
        self.seed = int(seed)
        self.generator = torch.Generator().manual_seed(self.seed)

    def to(self, device):
        """Draw on ``device`` from now on (a GPU draws without a host round trip), from the same seed."""
        device = torch.device(device)
        if self.cdf.device != device:
            self.cdf, self.log_q = self.cdf.to(device), self.log_q.to(device)
            self.generator = torch.Generator(device=device).manual_seed(self.seed)
        return self

    def sample(self, shape, device=None):
        if device is not None:
            self.to(device)
        u = torch.rand(shape, generator=self.generator, dtype=torch.float64, device=self.cdf.device)
        return torch.searchsorted(self.cdf, u, right=True).clamp_(max=len(self.cdf) - 1)
