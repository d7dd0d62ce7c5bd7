"""Ranking evaluation with RecBole's Collector, Evaluator and metric names, scored fast.

RecBole's sampled evaluation repeats a user's row once per candidate (10,001 rows for uni10000)
and runs the model on every copy, with new negatives at each evaluation. With
``eval_negatives: fixed`` (the default) a uniN evaluation has one row per user
(:class:`~recbole_srt.data.dataloader.SampledRankingDataLoader`): the catalog is scored once per
row and the held-out item is ranked against N negatives drawn once per user for the whole run
(:func:`fixed_negatives`). With RecBole's loader, each distinct history is still encoded once and
its candidates scored from that encoding; the metrics are those of the stock path.
"""

from logging import getLogger

import numpy as np
import torch
from recbole.data.dataloader import FullSortEvalDataLoader
from recbole.evaluator import Collector, Evaluator
from recbole.utils import EvaluatorType

from recbole_srt.compat import collected_data, loader_dataset
from recbole_srt.evaluation.feedback import FeedbackEvaluation
from recbole_srt.model import is_plugin_model


class RankingEvaluation:
    def __init__(self, config):
        self.config = config
        self.device = config["device"]
        self.collector = Collector(config)
        self.evaluator = Evaluator(config)
        self.eval_type = config["eval_type"]
        self.batch_rows = config["eval_batch_size"]
        self.feedback = FeedbackEvaluation(config) if config["feedback_field"] else None
        self.cross_entropy = bool(config["eval_cross_entropy"])
        self.mask_history = bool(config["eval_mask_history"])
        self._ce_sum, self._ce_rows = 0.0, 0
        self._warned = set()
        # test_ranks: (user ids, item ids, ranks) of the last evaluation's held-out items, for paired comparisons
        self.keep_ranks = bool(config["test_ranks"])
        self.ranks = None

    def prepare(self, train_data):
        """Training statistics that metrics need: item counts (ItemCoverage...), mean feedback per item."""
        self.collector.data_collect(train_data)
        if self.feedback is not None:
            self.feedback.fit_baseline(loader_dataset(train_data))

    @torch.no_grad()
    def __call__(self, model, eval_data, progress=lambda batches, desc: batches):
        model.eval()
        n_items = loader_dataset(eval_data).item_num
        full = isinstance(eval_data, FullSortEvalDataLoader)
        sampled = sampled_spec(self.config, eval_data, n_items)
        plugin = is_plugin_model(model)
        feedback = self.feedback if plugin and model.feedback_scale is not None else None
        self._ce_sum, self._ce_rows = 0.0, 0
        dataset = loader_dataset(eval_data)
        ranks = [] if self.keep_ranks and self.eval_type == EvaluatorType.RANKING else None
        for batched_data in progress(eval_data, "Evaluate"):
            interaction, scores, positive_u, positive_i = (
                self.full_sort(model, batched_data, n_items, sampled, dataset) if full
                else self.sampled(model, batched_data, n_items)
            )
            if self.eval_type == EvaluatorType.RANKING:
                scores = pessimistic_ties(scores, positive_u.to(scores.device), positive_i.to(scores.device))
                if ranks is not None:
                    ranks.append(self.held_out_ranks(batched_data, interaction, scores, positive_u, positive_i, full))
                if feedback is not None:
                    self.collect_feedback(model, feedback, batched_data[1], interaction, scores, positive_u, positive_i, full)
            self.collector.eval_batch_collect(scores, interaction, positive_u, positive_i)
        self.collector.model_collect(model)
        if ranks is not None:
            self.ranks = tuple(torch.cat(column) for column in zip(*ranks)) if ranks else None
        result = self.evaluator.evaluate(collected_data(self.collector))
        if feedback is not None:
            result.update(feedback.result())
        if self.cross_entropy and self._ce_rows:
            result["cross_entropy"] = round(self._ce_sum / self._ce_rows, self.config["metric_decimal_place"])
        elif self.cross_entropy:
            self._warn_once("eval_cross_entropy: this evaluation never scored the whole catalog, so "
                            "cross_entropy is not reported")
        return result

    def held_out_ranks(self, batched_data, interaction, scores, positive_u, positive_i, full):
        """(user id, item id, rank) of each held-out item: 1 + the candidates scored above it (ties already
        count above it; items out of the ranking are -inf and never do)."""
        positive_u, positive_i = positive_u.to(scores.device), positive_i.to(scores.device)
        rows = scores[positive_u]
        rank = 1 + (rows > rows.gather(1, positive_i.unsqueeze(1))).sum(1)
        users = interaction[self.config["USER_ID_FIELD"]].to(scores.device)
        if not full:  # RecBole's sampled loader: one interaction row per candidate, row_idx names its user row
            row_users = torch.zeros(len(scores), dtype=users.dtype, device=scores.device)
            row_users[batched_data[1].to(scores.device)] = users
            users = row_users
        return users[positive_u].cpu(), positive_i.cpu(), rank.cpu()

    def collect_feedback(self, model, feedback, row_idx, interaction, scores, positive_u, positive_i, full):
        """One row per held-out interaction: the user's history, the item, the feedback, the scores."""
        positive_u, positive_i = positive_u.to(self.device), positive_i.to(self.device)
        if full:
            rows, user_rows = positive_u, positive_u
        else:  # candidate rows: keep each user's positive one
            row_idx = row_idx.to(self.device)
            target = torch.full((len(scores),), -1, dtype=positive_i.dtype, device=self.device)
            target[positive_u] = positive_i
            rows = torch.nonzero(interaction[self.config["ITEM_ID_FIELD"]] == target[row_idx]).squeeze(1)
            user_rows = row_idx[rows]
        users = interaction[rows]
        feedback.collect(model, users, users[self.config["ITEM_ID_FIELD"]], users[self.feedback.field],
                         scores[user_rows])

    def collect_cross_entropy(self, scores, positive_u, positive_i):
        """-log softmax over the whole catalog (padding excluded, history not masked) of each held-out
        item: Zhang et al.'s test loss. Taken from the full scores before any uniN reduction, so it is
        the same number under full ranking and fixed sampled negatives."""
        rows = scores[positive_u].float()
        losses = torch.logsumexp(rows, dim=1) - rows[torch.arange(len(positive_u), device=rows.device), positive_i]
        self._ce_sum += float(losses.double().sum())
        self._ce_rows += len(losses)

    def _warn_once(self, message):
        if message not in self._warned:
            self._warned.add(message)
            getLogger().warning(message)

    def full_sort(self, model, batched_data, n_items, sampled=None, dataset=None):
        """Scores of every item; with ``sampled`` = (N, salt), of each row's positive and N fixed negatives."""
        interaction, history_index, positive_u, positive_i = batched_data
        interaction = interaction.to(self.device)
        try:
            scores = model.full_sort_predict(interaction)
        except NotImplementedError:
            self._warn_once(f"{type(model).__name__} has no full_sort_predict: every item is scored row by row (slow)")
            rows = interaction.repeat_interleave(n_items)
            rows.update(type(interaction)({self.config["ITEM_ID_FIELD"]: torch.arange(n_items, device=self.device)
                                           .repeat(len(interaction))}))
            scores = self.predict_in_chunks(model, rows)
        scores = scores.view(-1, n_items)
        scores[:, 0] = -np.inf
        if self.cross_entropy:
            logits = model.item_log_odds(scores) if is_plugin_model(model) else scores  # tau applied
            self.collect_cross_entropy(logits, positive_u.to(self.device), positive_i.to(self.device))
        if history_index is not None:  # RecBole gives none for sequential models: history items stay ranked
            scores[history_index] = -np.inf
        if self.mask_history:
            rows, items = history_items(dataset, interaction, model.ITEM_SEQ)
            target = torch.zeros(len(scores), dtype=torch.long, device=self.device)
            target[positive_u.to(self.device)] = positive_i.to(self.device)
            keep = items != target[rows]  # a repeated item stays rankable as the held-out one
            scores[rows[keep], items[keep]] = -np.inf
        if sampled is not None:
            users = interaction[self.config["USER_ID_FIELD"]]
            negatives = fixed_negatives(users, positive_i.to(self.device), n_items, *sampled)
            scores = keep_candidates(scores, negatives, positive_u.to(self.device), positive_i.to(self.device))
        return interaction, scores, positive_u, positive_i

    def sampled(self, model, batched_data, n_items):
        interaction, row_idx, positive_u, positive_i = batched_data
        interaction = interaction.to(self.device)
        items = interaction[self.config["ITEM_ID_FIELD"]]
        if self.eval_type == EvaluatorType.VALUE:
            return interaction, model.predict(interaction), positive_u, positive_i
        origin_scores = self.score_distinct_histories(model, interaction, items)
        scores = torch.full((int(positive_u[-1]) + 1, n_items), -np.inf, device=self.device)
        scores[row_idx.to(self.device), items] = origin_scores
        return interaction, scores, positive_u, positive_i

    def score_distinct_histories(self, model, interaction, items):
        key_fields = [model.ITEM_SEQ, model.ITEM_SEQ_LEN]
        # Models may read more than the item history: the user id, the timestamps.
        plugin = is_plugin_model(model)
        key_fields += [f for f in (model.USER_ID, *((model.schema.time_seq, model.schema.feedback_seq) if plugin else ()))
                       if f and f in interaction]
        key = torch.cat([interaction[f].reshape(len(interaction), -1).long() for f in key_fields], dim=1)
        first, inverse = unique_rows(key)
        histories = interaction[first]
        if plugin:
            return model.score_candidates(model.sequence_output(histories)[inverse], items)
        try:
            return model.full_sort_predict(histories)[inverse, items]
        except NotImplementedError:
            self._warn_once(f"{type(model).__name__} has no full_sort_predict: each of the "
                            f"{len(interaction)} candidate rows of a batch is scored on its own (slow)")
            return self.predict_in_chunks(model, interaction)

    def predict_in_chunks(self, model, rows):
        index = torch.arange(len(rows), device=self.device)
        return torch.cat([model.predict(rows[chunk]) for chunk in index.split(self.batch_rows)])


def history_items(dataset, interaction, item_seq_field):
    """(row, item) pairs of everything each evaluation row's user interacted with before its target.

    The plugin's :class:`~recbole_srt.data.dataset.SequenceDataset` keeps every user's whole sequence
    (``flat_items``); RecBole's own datasets keep each row's last MAX_ITEM_LIST_LENGTH items only, so
    for RecBole's models the mask covers those."""
    from recbole_srt.data.dataset import TARGET_INDEX_FIELD

    if getattr(dataset, "flat_items", None) is not None and TARGET_INDEX_FIELD in interaction:
        target = interaction[TARGET_INDEX_FIELD].cpu()
        start = dataset.flat_user_start[target]
        lengths = target - start
        rows = torch.repeat_interleave(torch.arange(len(target)), lengths)
        offsets = torch.arange(int(lengths.sum())) - torch.repeat_interleave(lengths.cumsum(0) - lengths, lengths)
        items = dataset.flat_items[torch.repeat_interleave(start, lengths) + offsets]
        device = interaction[item_seq_field].device
        return rows.to(device), items.to(device)
    sequences = interaction[item_seq_field]
    rows, columns = torch.nonzero(sequences, as_tuple=True)
    return rows, sequences[rows, columns]


def sampled_spec(config, eval_data, n_items):
    """(N, salt) of a :class:`SampledRankingDataLoader`; None for full ranking, and when N leaves no item
    out (every item is then a candidate: full ranking, which the run's notes say)."""
    k = getattr(eval_data, "num_negatives", None)
    if k is None or k >= n_items - 2:
        return None
    return k, config["seed"] * 1_000_003 + (1 if eval_data.phase == "valid" else 2)  # valid and test differ


def fixed_negatives(users, positives, n_items, k, salt):
    """[users, k] negatives, uniform with replacement over items 1..n_items-1 except the user's positive
    (as RecBole's uniform sampler draws them), and a pure function of (salt, user id, j): each user gets
    the same negatives at every evaluation, whatever the batch size or the process, from one
    vectorised call. Counters are mixed by SplitMix64's multiply-xorshift steps in wrapping int64
    arithmetic, and the top 32 bits are mapped to the range by a multiply-shift (no division: the
    modulo was half the cost)."""
    x = users.long().unsqueeze(1) * k + torch.arange(k, device=users.device) + _signed(salt * _GOLDEN % (1 << 64))
    x.mul_(_MIX1).bitwise_xor_(x >> 31).mul_(_MIX2)
    high = (x >> 32).bitwise_and_(0xFFFFFFFF)  # 32 well-mixed bits, as a non-negative int64
    items = high.mul_(n_items - 2).bitwise_right_shift_(32).add_(1)  # 1 .. n_items - 2: one fewer than the non-positives
    return items.add_((items >= positives.unsqueeze(1)).long())  # skip over the positive


def _signed(value):
    return value - (1 << 64) if value >= 1 << 63 else value


_GOLDEN = 0x9E3779B97F4A7C15
_MIX1, _MIX2 = (_signed(v) for v in (0xBF58476D1CE4E5B9, 0x94D049BB133111EB))


def keep_candidates(scores, negatives, positive_u, positive_i):
    """Scores of each row's positive and negatives; every other item -inf (never ranked)."""
    kept = torch.full_like(scores, -np.inf)
    kept.scatter_(1, negatives, scores.gather(1, negatives))
    kept[positive_u, positive_i] = scores[positive_u, positive_i]
    return kept


def pessimistic_ties(scores, positive_u, positive_i):
    """Rank every candidate scored exactly like a row's positive above it.

    A text model gives identical scores to items with identical text (48 Beauty items share title
    and brand with another), and ``torch.topk`` would order such ties by item id, sometimes in the
    positive's favour. Nudging the tied candidates up by one float step makes the positive rank
    last among its ties, on every ranking path (full and sampled) alike. Rows with several positives
    are judged against the one stored last.
    """
    row_positive = torch.full((len(scores),), np.nan, device=scores.device, dtype=scores.dtype)
    row_positive[positive_u] = scores[positive_u, positive_i]
    tied = scores == row_positive.unsqueeze(1)  # NaN rows (no positive) tie with nothing
    tied[positive_u, positive_i] = False
    if not tied.any():
        return scores
    return torch.where(tied, torch.nextafter(scores, torch.full_like(scores, np.inf)), scores)


def unique_rows(key):
    """(index of the first occurrence of each distinct row, row -> distinct index).

    ``torch.unique(dim=0)`` sorts whole rows and costs ~20 ms per user at 10,001 rows;
    a random 64-bit projection reduces rows to scalars first. Collisions are checked
    and fall back to the exact method.
    """
    weights = torch.randint(-(2**62), 2**62, (key.shape[1],), generator=_HASH_GENERATOR).to(key.device)
    hashes = (key * weights).sum(1)  # wraps modulo 2**64: a universal hash of the row
    unique, inverse = torch.unique(hashes, return_inverse=True)
    rows = torch.arange(len(key), device=key.device)
    first = torch.full((len(unique),), len(key), device=key.device).scatter_reduce(0, inverse, rows, "amin")
    if not torch.equal(key[first][inverse], key):
        unique, inverse = torch.unique(key, dim=0, return_inverse=True)
        first = torch.full((len(unique),), len(key), device=key.device).scatter_reduce(0, inverse, rows, "amin")
    return first, inverse


_HASH_GENERATOR = torch.Generator().manual_seed(0x5EED)
