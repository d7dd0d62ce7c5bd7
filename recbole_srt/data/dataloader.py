"""Training batches that put every position of a user's sequence under the loss at once."""

import math

import numpy as np
import torch
from recbole.data.dataloader import FullSortEvalDataLoader
from recbole.data.interaction import Interaction

from recbole_srt.compat import LoaderFace
from recbole_srt.data.dataset import TARGET_INDEX_FIELD
from recbole_srt.data.schema import BatchSchema
from recbole_srt.config_check import ConfigError
from recbole_srt.distributed import shard


def window_indices(user_start, last_target, max_len, stride, n_flat):
    """Cut each user's training sequence into windows of ``max_len`` inputs.

    ``user_start[u]`` / ``last_target[u]`` index the flat, user-and-time-sorted interaction
    arrays; the sequence is ``flat[user_start[u] : last_target[u] + 1]``. Windows end at the
    most recent item and step back by ``stride``. Every target is predicted exactly once, in the
    window where it has the longest history: with ``stride == 1`` each target sees the same
    history as RecBole's augmented row; with ``stride == max_len`` windows do not overlap.

    Returns (input index, input is real, target index, target is owned, position in sequence),
    each [windows, max_len]: indices into the flat arrays, so that items, timestamps and feedback
    are all gathered the same way.
    """
    n = (last_target - user_start + 1).astype(np.int64)  # items in each training sequence
    first = np.maximum(0, n - 1 - max_len)  # start of the most recent window
    n_windows = 1 + -(-first // stride)
    user = np.repeat(np.arange(len(n)), n_windows)
    k = np.arange(n_windows.sum()) - np.repeat(np.cumsum(n_windows) - n_windows, n_windows)
    start = np.maximum(0, first[user] - k * stride)
    is_last = k == n_windows[user] - 1
    next_start = np.maximum(0, start - stride)
    # Targets (sequence indices) this window owns: the next-older window does not reach them.
    lo = np.where(is_last, start + 1, np.maximum(start + 1, next_start + max_len + 1))
    hi = np.minimum(start + max_len, n[user] - 1)

    offsets = np.arange(max_len)
    seq_index = start[:, None] + offsets  # input positions within the user's sequence
    length = np.minimum(max_len, n[user] - 1 - start)
    base = user_start[user][:, None]
    real = offsets < length[:, None]
    target_pos = seq_index + 1
    owned = (target_pos >= lo[:, None]) & (target_pos <= hi[:, None])
    last = n_flat - 1
    return np.minimum(base + seq_index, last), real, np.minimum(base + target_pos, last), owned, seq_index


def gather(flat, index, keep):
    """``flat[index]`` where ``keep``, else 0, as a tensor."""
    return torch.from_numpy(np.where(keep, flat[index], 0))


class AllPositionsDataLoader(LoaderFace):
    """Shuffled batches of ``train_batch_size`` windows (not rows) from the training split.

    With ``length_grouping: G > 1`` each batch is cut from a shuffled pool of G batches sorted
    by window length, and the batches are then shuffled: a batch is trimmed to its longest
    window, and on short-history data (Beauty: median 4 items, windows of up to 50) random
    batches are mostly padding. Every window is still seen once per epoch.

    The training split of :class:`SequenceDataset` holds one row per training target; each
    user's targets are contiguous in ``flat_items``, so the loss over all windows covers
    exactly the targets of RecBole's augmented training rows and nothing of the
    validation or test split.

    Under torchrun (``world_size`` > 1) each rank takes every ``world_size``-th batch of the
    epoch's order, which every rank draws alike from ``seed``: the ranks' shares are disjoint,
    equally long (DDP steps in lockstep) and reshuffled together each epoch.
    """

    def __init__(self, config, dataset, shuffle=True, rank=0, world_size=1):
        self.dataset = dataset
        self.shuffle = shuffle
        self.rank, self.world_size = rank, world_size
        self.batch_size = config["train_batch_size"]
        self.length_grouping = int(config["length_grouping"] or 1)
        max_len = config["MAX_ITEM_LIST_LENGTH"]
        stride = config["window_stride"] or max_len
        feedback = config["feedback_field"] if dataset.flat_feedback is not None else None
        self.schema = BatchSchema.from_config(
            config, dataset.time_field if dataset.flat_times is not None else None, feedback)

        feat = dataset.inter_feat
        uid = feat[dataset.uid_field].numpy()
        target = feat[TARGET_INDEX_FIELD].numpy()
        users, inverse = np.unique(uid, return_inverse=True)
        last_target = np.full(len(users), -1, dtype=np.int64)
        np.maximum.at(last_target, inverse, target)
        start = dataset.flat_user_start.numpy()[last_target]
        n_targets = np.bincount(inverse, minlength=len(users))
        broken = np.nonzero(n_targets != last_target - start)[0]
        if len(broken):
            raise ConfigError(
                "all-positions training needs each user's training targets to be the start of their "
                f"sequence (eval_args.split LS or RS with order TO); user id {users[broken[0]]} is not. "
                "Set train_all_positions: False to train on RecBole's augmented rows instead."
            )
        items = dataset.flat_items.numpy()
        input_index, real, target_index, owned, positions = window_indices(start, last_target, max_len, stride, len(items))
        self.inputs, self.targets = gather(items, input_index, real), gather(items, target_index, owned)
        self.positions = torch.from_numpy(np.where(real, positions, 0))
        # Optional per-interaction columns, gathered like the items: {schema field: [windows, max_len]}.
        self.extra = {}
        if self.schema.time_seq:
            self.extra[self.schema.time_seq] = gather(dataset.flat_times.numpy(), input_index, real)
        if self.schema.feedback_seq:
            flat = dataset.flat_feedback.numpy()
            self.extra[self.schema.feedback_seq] = gather(flat, input_index, real)
            self.extra[self.schema.target_feedback] = gather(flat, target_index, owned)
        self.lengths = (self.inputs > 0).sum(1)
        self.n_targets = int((self.targets > 0).sum())
        self.generator = torch.Generator().manual_seed(config["seed"])

    @staticmethod
    def check_config(config):
        length, stride = config["MAX_ITEM_LIST_LENGTH"], config["window_stride"]
        if stride is not None and not (isinstance(stride, int) and 1 <= stride <= length):
            raise ConfigError(f"window_stride must be an integer in [1, MAX_ITEM_LIST_LENGTH={length}], got {stride!r}")
        grouping = config["length_grouping"]
        if grouping is not None and not (isinstance(grouping, int) and grouping >= 1):
            raise ConfigError(f"length_grouping must be an integer >= 1 (1 = plain shuffle), got {grouping!r}")

    def __len__(self):
        return -(-math.ceil(len(self.inputs) / self.batch_size) // self.world_size)

    def batches(self):
        """Window indices of each batch of one epoch, in training order (this rank's share)."""
        return shard(self.epoch_batches(), self.rank, self.world_size)

    def epoch_batches(self):
        """Window indices of every batch of one epoch, all ranks together."""
        if not self.shuffle:
            return list(torch.arange(len(self.inputs)).split(self.batch_size))
        order = torch.randperm(len(self.inputs), generator=self.generator)
        if self.length_grouping <= 1:
            return list(order.split(self.batch_size))
        batches = []
        # Pools are whole multiples of the batch size, so the count of batches stays ceil(windows / batch).
        for pool in order.split(self.batch_size * self.length_grouping):
            pool = pool[torch.argsort(self.lengths[pool], stable=True)]
            batches.extend(pool.split(self.batch_size))
        return [batches[i] for i in torch.randperm(len(batches), generator=self.generator)]

    def __iter__(self):
        for batch in self.batches():
            # Trim the padding columns the batch does not use: long tails are rare.
            width = int(self.lengths[batch].max())
            targets = self.targets[batch, :width]
            schema = self.schema
            yield Interaction({
                schema.item_seq: self.inputs[batch, :width],
                schema.item_seq_len: self.lengths[batch],
                schema.positions: self.positions[batch, :width],
                schema.targets: targets,
                schema.target_mask: targets > 0,
                **{field: values[batch, :width] for field, values in self.extra.items()},
            })


class SampledRankingDataLoader(FullSortEvalDataLoader):
    """Evaluation rows for ``uniN`` modes: one row per user, as for full ranking. The evaluation scores
    the whole catalog once per row and ranks the held-out item against N negatives drawn once per
    user for the whole run (``recbole_srt.evaluation.ranking.fixed_negatives``).

    RecBole's ``NegSampleEvalDataLoader`` instead repeats each row once per candidate (10,001 rows a
    user for uni10000) and draws new negatives at every evaluation, so epochs are not compared on the
    same candidates.
    """

    def __init__(self, config, dataset, phase, num_negatives):
        super().__init__(config, dataset, None, shuffle=False)
        self.phase, self.num_negatives = phase, int(num_negatives)
