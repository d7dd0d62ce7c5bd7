"""SequenceDataset: RecBole's sequential dataset without per-row history copies for training."""

import numpy as np
import torch
from recbole.data.interaction import Interaction
from recbole.utils.enum_type import FeatureSource, FeatureType
from recbole_srt.compat import HookedSequentialDataset
from recbole_srt.config_check import ConfigError

TARGET_INDEX_FIELD = "target_index"  # position of a row's target in ``flat_items``


class SequenceDataset(HookedSequentialDataset):
    """Same rows, split and targets as :class:`SequentialDataset`, built without Python loops.

    RecBole's augmentation copies a history of ``MAX_ITEM_LIST_LENGTH`` items (and of every
    other interaction field) into each of the N rows, in a Python loop: O(N * L) memory and
    minutes at tens of millions of interactions. Here each row keeps only the index of its
    target in one flat, user-and-time-sorted item array. Item histories are materialised for
    the evaluation splits alone; training reads whole user sequences from the flat array
    (see ``AllPositionsDataLoader``).
    """

    def data_augmentation(self):
        for key, field in (("USER_ID_FIELD", self.uid_field), ("TIME_FIELD", self.time_field)):
            if field is None:
                raise ConfigError(f"{key}: sequential datasets need a {key} column (load_col: {self.config['load_col']})")
        max_len = self.config["MAX_ITEM_LIST_LENGTH"]
        list_field = self.iid_field + self.config["LIST_SUFFIX"]
        self.item_id_list_field = list_field
        self.set_field_property(list_field, FeatureType.TOKEN_SEQ, FeatureSource.INTERACTION, max_len)
        self.set_field_property(self.item_list_length_field, FeatureType.TOKEN, FeatureSource.INTERACTION, 1)
        self.set_field_property(TARGET_INDEX_FIELD, FeatureType.TOKEN, FeatureSource.INTERACTION, 1)

        self.sort(by=[self.uid_field, self.time_field], ascending=True)
        self.cold_items = self._withhold_cold_items()
        uids = self.inter_feat[self.uid_field].numpy()
        n = len(uids)
        new_user = np.ones(n, dtype=bool)
        new_user[1:] = uids[1:] != uids[:-1]
        user_start = np.maximum.accumulate(np.where(new_user, np.arange(n), 0))
        position = np.arange(n) - user_start
        target_index = np.nonzero(position > 0)[0]

        self.flat_items = self.inter_feat[self.iid_field].clone()
        # Per-interaction values that the batch schema carries beside the items.
        self.flat_times = self._flat_column(self.time_field)
        self.flat_feedback = self._flat_column(self.config["feedback_field"])
        self.flat_user_start = torch.from_numpy(user_start)
        rows = self.inter_feat[torch.from_numpy(target_index)]
        rows.update(Interaction({
            self.item_list_length_field: torch.from_numpy(np.minimum(position[target_index], max_len)),
            TARGET_INDEX_FIELD: torch.from_numpy(target_index),
        }))
        self.inter_feat = rows

    def _withhold_cold_items(self):
        """``cold_start_items``: a seeded share of the items leaves every sequence except as its last
        interaction (the test item). Returns the [n_items] mask of cold items, or None."""
        fraction = self.config["cold_start_items"]
        if not fraction:
            return None
        rng = np.random.Generator(np.random.PCG64(self.config["seed"]))
        items = np.arange(1, self.item_num)
        cold = np.zeros(self.item_num, dtype=bool)
        cold[rng.choice(items, size=int(round(fraction * len(items))), replace=False)] = True
        uids, iids = self.inter_feat[self.uid_field].numpy(), self.inter_feat[self.iid_field].numpy()
        last = np.ones(len(uids), dtype=bool)
        last[:-1] = uids[1:] != uids[:-1]
        keep = ~cold[iids] | last
        self.logger.info(f"cold_start_items: {int(cold.sum())} of {len(items)} items withheld; "
                         f"{int((~keep).sum())} interactions dropped, {int((cold[iids] & last).sum())} test items cold")
        self.inter_feat = self.inter_feat[torch.from_numpy(np.flatnonzero(keep))]
        return torch.from_numpy(cold)

    def _flat_column(self, field):
        if not field or field not in self.inter_feat:
            return None
        if self.field2type[field] not in (FeatureType.FLOAT, FeatureType.TOKEN):
            raise ConfigError(f"'{field}' must be a float or token interaction column to ride along the item sequences "
                             f"(feedback_field / TIME_FIELD), but it is {self.field2type[field].value}")
        return self.inter_feat[field].clone()

    def histories(self, inter_feat, flat):
        """[rows, MAX_ITEM_LIST_LENGTH] right-padded histories of the given rows, read from ``flat``."""
        max_len = self.config["MAX_ITEM_LIST_LENGTH"]
        target = inter_feat[TARGET_INDEX_FIELD]
        length = inter_feat[self.item_list_length_field]
        offsets = torch.arange(max_len)
        index = (target - length).unsqueeze(1) + offsets
        valid = offsets < length.unsqueeze(1)
        return torch.where(valid, flat[index.clamp(max=len(flat) - 1)], 0)

    def item_histories(self, inter_feat):
        return self.histories(inter_feat, self.flat_items)

    def group_rows(self, group_by_list):
        """RecBole groups rows into one Python list per key, an object per interaction (seconds and hundreds
        of MB at 10M interactions). The same groups in the same order (keys by first appearance, rows
        ascending within a key), as one array of row indices and each group's [start, end) in it."""
        keys = np.asarray(group_by_list)
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        group = np.argsort(np.argsort(first))[inverse.reshape(-1)]  # groups numbered by first appearance
        sizes = np.bincount(group, minlength=len(first))
        ends = np.cumsum(sizes)
        return GroupedRows(np.argsort(group, kind="stable"), ends - sizes, ends)

    def split_leave_one_out(self, grouped_index, leave_one_num):
        """RecBole's rule, vectorised: each group's last ``min(leave_one_num, size - 1)`` rows go one to
        each of the last parts, the rest to training; each part lists its rows group by group."""
        if not isinstance(grouped_index, GroupedRows):
            return super().split_leave_one_out(grouped_index, leave_one_num)
        sizes = grouped_index.ends - grouped_index.starts
        from_end = np.repeat(grouped_index.ends, sizes) - 1 - np.arange(len(grouped_index.rows))
        left_out = np.repeat(np.minimum(leave_one_num, sizes - 1), sizes)
        part = np.where(from_end >= left_out, 0, leave_one_num - from_end)
        return [torch.from_numpy(grouped_index.rows[part == k]) for k in range(leave_one_num + 1)]

    def build(self):
        datasets = super().build()
        windows = self.config["train_all_positions"]
        for dataset in datasets[1:] if windows else datasets:
            columns = {self.item_id_list_field: self.item_histories(dataset.inter_feat)}
            for field, flat in ((self.time_field, self.flat_times), (self.config["feedback_field"], self.flat_feedback)):
                if flat is not None:
                    columns[field + self.config["LIST_SUFFIX"]] = self.histories(dataset.inter_feat, flat)
            dataset.inter_feat.update(Interaction(columns))
        if windows:
            # Models trained on windows read item features from their own tables: joining the item
            # columns onto every one of the 10,001 candidate rows per user would only cost time.
            for dataset in datasets[1:]:
                dataset.item_feat = dataset.user_feat = None
        return datasets


class GroupedRows:
    """Row indices grouped by key, without a Python object per row: ``rows[starts[g]:ends[g]]`` is group g.
    Iterating yields each group's indices, which is all RecBole's other splits ask of a grouping."""

    def __init__(self, rows, starts, ends):
        self.rows, self.starts, self.ends = rows, starts, ends

    def __iter__(self):
        return (self.rows[start:end] for start, end in zip(self.starts.tolist(), self.ends.tolist()))

    def __len__(self):
        return len(self.starts)
