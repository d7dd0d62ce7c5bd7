"""Feedback metrics of a model with a feedback head, computed beside the ranking metrics.

On each evaluated user's held-out interaction (the next item and the user's reaction to it),
for any plugin model run with ``feedback_field`` (the first four need a feedback head):

- ``feedback_auc`` / ``feedback_logloss``: P(liked | history, held-out item) against liked;
- ``feedback_auc_item_mean``: the same AUC for a baseline that scores an item by its mean
  feedback over the training interactions (unseen items: the global mean);
- ``liked_ndcg@k``: NDCG@k of the held-out item over the users who liked it, in the model's
  next-item ranking;
- ``liked_ndcg@k_reranked``: the same after a ranking stage that re-orders the ``rerank_top``
  best next-item candidates by P(item) x P(liked | item), as ARGUS's ranking use does;
- ``liked_users``: how many users those two averages are over.

Ranks are pessimistic (a tie ranks the held-out item last), like every ranking in the plugin.
"""

import math

import numpy as np
import torch
from scipy.stats import rankdata

from recbole_srt.data.dataset import TARGET_INDEX_FIELD


class FeedbackEvaluation:
    def __init__(self, config):
        self.field = config["feedback_field"]
        self.topk = list(config["topk"])
        self.rerank_top = int(config["rerank_top"] or 100)
        self.decimals = config["metric_decimal_place"] or 4
        self.item_mean = None  # [n_items] mean training feedback (set by fit_baseline)
        self.reset()

    def reset(self):
        self.probability, self.liked, self.baseline = [], [], []
        self.rank, self.rerank = [], []

    def fit_baseline(self, dataset):
        """Mean feedback per item over the training interactions of a :class:`SequenceDataset` split:
        each user's first item and every training target (the split is a prefix of each sequence)."""
        flat_items, flat_values = getattr(dataset, "flat_items", None), getattr(dataset, "flat_feedback", None)
        if flat_values is None or TARGET_INDEX_FIELD not in dataset.inter_feat:
            self.item_mean = None
            return
        targets = dataset.inter_feat[TARGET_INDEX_FIELD]
        firsts = dataset.flat_user_start[targets].unique()
        index = torch.cat([firsts, targets])
        items, values = flat_items[index].long(), flat_values[index].double()
        n_items = dataset.item_num
        total = torch.zeros(n_items, dtype=torch.float64).index_add_(0, items, values)
        count = torch.zeros(n_items, dtype=torch.float64).index_add_(0, items, torch.ones_like(values))
        self.item_mean = torch.where(count > 0, total / count.clamp(min=1), values.mean())

    @torch.no_grad()
    def collect(self, model, users, items, values, scores):
        """``users``: one evaluation row per user (histories); ``items`` / ``values``: each user's held-out
        item and feedback; ``scores``: [users, n_items] next-item scores, -inf for non-candidates."""
        liked = model.feedback_scale.liked(values)
        self.liked.append(liked.cpu())
        if self.item_mean is not None:
            self.baseline.append(self.item_mean[items.cpu()])
        rows = torch.arange(len(items), device=scores.device)
        target_score = scores[rows, items]
        self.rank.append(((scores > target_score.unsqueeze(1)).sum(1) + 1)[liked].cpu())
        if not model.predicts_feedback:
            return
        state = model.sequence_output(users)
        self.probability.append(model.like_probability(state, items).double().cpu())
        # Ranking stage: log P(item) + log P(liked | item) over the next-item model's top candidates.
        n_top = min(self.rerank_top, int(torch.isfinite(scores).sum(1).min()))
        top_scores, top_items = scores.topk(n_top, dim=1)
        p_like = model.like_probability(state.repeat_interleave(n_top, 0), top_items.reshape(-1)).view(-1, n_top)
        combined = model.item_log_odds(top_scores) + torch.log(p_like.clamp(min=1e-12))
        is_target = top_items == items.unsqueeze(1)
        target_combined = torch.where(is_target, combined, -math.inf).max(1).values
        rerank = (combined >= target_combined.unsqueeze(1)).sum(1)  # ties rank the held-out item last
        # Beyond the re-ranked list the held-out item is not retrieved: an infinite rank.
        rerank = torch.where(is_target.any(1), rerank.double(), math.inf)
        self.rerank.append(rerank[liked].cpu())

    def result(self):
        if not self.liked:
            return {}
        liked, result = torch.cat(self.liked).numpy(), {}
        if self.probability:
            probability = torch.cat(self.probability).numpy()
            result.update(feedback_auc=auc(probability, liked), feedback_logloss=log_loss(probability, liked))
        if self.baseline:
            result["feedback_auc_item_mean"] = auc(torch.cat(self.baseline).numpy(), liked)
        rank = torch.cat(self.rank).double().numpy()
        rerank = torch.cat(self.rerank).numpy() if self.rerank else None
        for k in self.topk:
            result[f"liked_ndcg@{k}"] = ndcg(rank, k)
            if rerank is not None:
                result[f"liked_ndcg@{k}_reranked"] = ndcg(rerank, k)
        result["liked_users"] = float(len(rank))
        self.reset()
        return {name: round(value, self.decimals) for name, value in result.items()}


def auc(scores, labels):
    """Area under the ROC curve (Mann-Whitney, ties count one half); NaN with a single class."""
    labels = np.asarray(labels, dtype=bool)
    n_pos, n_neg = labels.sum(), (~labels).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def log_loss(probability, labels, eps=1e-7):
    p = np.clip(probability, eps, 1 - eps)
    return float(-np.mean(np.where(labels, np.log(p), np.log1p(-p))))


def ndcg(rank, k):
    """Mean NDCG@k of one relevant item per user at 1-based ``rank``."""
    if not len(rank):
        return float("nan")
    return float(np.mean(np.where(rank <= k, 1.0 / np.log2(rank + 1.0), 0.0)))
