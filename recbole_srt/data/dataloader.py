"""Training batches that put every position of a user's sequence under the loss at once."""

import math

import numpy as np
import torch
from recbole.data.interaction import Interaction

from recbole_srt.data.dataset import TARGET_INDEX_FIELD
from recbole_srt.model.srt import TARGET_PREFIX


def build_windows(flat_items, user_start, last_target, max_len, stride):
    """Cut each user's training sequence into windows of ``max_len`` inputs.

    ``user_start[u]`` / ``last_target[u]`` index ``flat_items``; the sequence is
    ``flat_items[user_start[u] : last_target[u] + 1]``. Windows end at the most recent item
    and step back by ``stride``. Every target is predicted exactly once, in the window
    where it has the longest history: with ``stride == 1`` each target sees the same
    history as RecBole's augmented row; with ``stride == max_len`` windows do not overlap.
    Returns (inputs, targets), both [windows, max_len], 0 = padding / no target.
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
    inputs = np.where(offsets < length[:, None], flat_items[np.minimum(base + seq_index, len(flat_items) - 1)], 0)
    target_pos = seq_index + 1
    owned = (target_pos >= lo[:, None]) & (target_pos <= hi[:, None])
    targets = np.where(owned, flat_items[np.minimum(base + target_pos, len(flat_items) - 1)], 0)
    return torch.from_numpy(inputs), torch.from_numpy(targets)


class AllPositionsDataLoader:
    """Shuffled batches of ``train_batch_size`` windows (not rows) from the training split.

    With ``length_grouping: G > 1`` each batch is cut from a shuffled pool of G batches sorted
    by window length, and the batches are then shuffled: a batch is trimmed to its longest
    window, and on short-history data (Beauty: median 4 items, windows of up to 50) random
    batches are mostly padding. Every window is still seen once per epoch.

    The training split of :class:`SRTDataset` holds one row per training target; each
    user's targets are contiguous in ``flat_items``, so the loss over all windows covers
    exactly the targets of RecBole's augmented training rows and nothing of the
    validation or test split.
    """

    def __init__(self, config, dataset, shuffle=True):
        self.dataset = self._dataset = dataset
        self.shuffle = shuffle
        self.batch_size = config["train_batch_size"]
        self.length_grouping = int(config["length_grouping"] or 1)
        max_len = config["MAX_ITEM_LIST_LENGTH"]
        stride = config["window_stride"] or max_len
        item_seq = config["ITEM_ID_FIELD"] + config["LIST_SUFFIX"]
        self.fields = (item_seq, config["ITEM_LIST_LENGTH_FIELD"], TARGET_PREFIX + item_seq)

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
            raise ValueError(
                "all-positions training needs each user's training targets to be the start of their "
                f"sequence (eval_args.split LS or RS with order TO); user id {users[broken[0]]} is not. "
                "Set srt_all_positions: False to train on RecBole's augmented rows instead."
            )
        self.inputs, self.targets = build_windows(dataset.flat_items.numpy(), start, last_target, max_len, stride)
        self.lengths = (self.inputs > 0).sum(1)
        self.n_targets = int((self.targets > 0).sum())
        self.generator = torch.Generator().manual_seed(config["seed"])

    def __len__(self):
        return math.ceil(len(self.inputs) / self.batch_size)

    def batches(self):
        """Window indices of each batch of one epoch, in training order."""
        if not self.shuffle:
            return list(torch.arange(len(self.inputs)).split(self.batch_size))
        order = torch.randperm(len(self.inputs), generator=self.generator)
        if self.length_grouping <= 1:
            return list(order.split(self.batch_size))
        batches = []
        # Pools are whole multiples of the batch size, so the count of batches stays len(self).
        for pool in order.split(self.batch_size * self.length_grouping):
            pool = pool[torch.argsort(self.lengths[pool], stable=True)]
            batches.extend(pool.split(self.batch_size))
        return [batches[i] for i in torch.randperm(len(batches), generator=self.generator)]

    def __iter__(self):
        for batch in self.batches():
            # Trim the padding columns the batch does not use: long tails are rare.
            width = int(self.lengths[batch].max())
            yield Interaction({
                self.fields[0]: self.inputs[batch, :width],
                self.fields[1]: self.lengths[batch],
                self.fields[2]: self.targets[batch, :width],
            })
