"""The item representations a step needs, encoded once each: the catalog's (cached between training steps
for evaluation), or only the items a step names (its inputs, targets and negatives)."""

import torch
import torch.nn.functional as F

CHUNK = 65536  # items encoded per call when the whole catalog is encoded: bounds the peak memory


class CatalogCache:
    """phi(i) of the whole catalog, computed once and reused until the weights may have changed (a training
    step, ``train()``, loading weights or a new catalog: the model calls :meth:`clear`)."""

    def __init__(self):
        self.cache = None

    def clear(self):
        self.cache = None

    def get(self, encoder, training):
        if training or self.cache is None:
            device = next(encoder.parameters()).device
            ids = torch.arange(encoder.n_items, device=device)
            with torch.set_grad_enabled(training):
                encoded = torch.cat([encoder(chunk) for chunk in ids.split(CHUNK)])
            if training:
                return encoded  # part of the step's graph: never kept
            self.cache = encoded
        return self.cache


def encode_named(encoder, catalog, item_seq, pos_ids, neg_ids, scores_catalog=False, dedupe=None):
    """Representations of a step's inputs [B, L, H], targets [S, H] and candidates (the catalog, or the
    negatives [K, H] / [S, K, H]), and the item ids that were encoded (for FLOPs).

    Where the step names at least as many items as the catalog holds (or scores the whole catalog), the
    catalog is encoded once (``catalog()``) and looked up; otherwise each named item is encoded where it stands
    (GPU: no data-dependent shape) or each distinct one once (CPU: less work; ``dedupe`` overrides the choice).
    """
    named = [item_seq.reshape(-1), pos_ids] + ([neg_ids.reshape(-1)] if neg_ids is not None else [])
    if scores_catalog or encoder.n_items <= sum(len(ids) for ids in named):
        table = catalog()
        # An embedding lookup, not tensor indexing: indexing's backward sorts the (many repeated) ids and
        # took a quarter of a GPU step; the embedding's backward is built for repeated rows.
        candidates = table if neg_ids is None else F.embedding(neg_ids, table)
        encoded = torch.arange(len(table), device=item_seq.device)
        return F.embedding(item_seq, table), F.embedding(pos_ids, table), candidates, encoded
    flat = torch.cat(named)
    if dedupe is None:
        dedupe = not flat.is_cuda
    if dedupe:
        encoded, inverse = torch.unique(flat, return_inverse=True)
        reps = F.embedding(inverse, encoder(encoded))
    else:
        reps, encoded = encoder(flat), flat
    n_seq, n_pos = item_seq.numel(), len(pos_ids)
    candidates = reps[n_seq + n_pos:].view(*neg_ids.shape, -1) if neg_ids is not None else None
    return reps[:n_seq].view(*item_seq.shape, -1), reps[n_seq:n_seq + n_pos], candidates, encoded


def popularity_prior(train_counts, beta, tau):
    """beta log(1 + training count) on the logit scale (scores / tau), as a score offset per item; None for
    beta 0. For a model carried to a new catalog, which cannot know that catalog's popularity."""
    if not beta:
        return None
    return float(beta) * tau * torch.log1p(train_counts.double()).float()
