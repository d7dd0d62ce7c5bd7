"""MostPop: rank items by training popularity, under the sequential protocol.

RecBole's ``Pop`` is a general recommender and cannot share the sequential split and
loaders of SRT; this baseline can, so "beats most-popular" is measured on the same rows.
It has no parameters: the plugin's trainer skips training and evaluates it directly.
"""

import torch
from recbole.model.abstract_recommender import SequentialRecommender
from recbole.utils import InputType


class MostPop(SequentialRecommender):
    input_type = InputType.POINTWISE

    def __init__(self, config, dataset):
        super().__init__(config, dataset)
        counts = torch.bincount(dataset.inter_feat[self.POS_ITEM_ID], minlength=self.n_items).float()
        self.register_buffer("item_count", counts)

    def calculate_loss(self, interaction):
        raise NotImplementedError("MostPop has nothing to train")

    def predict(self, interaction):
        return self.item_count[interaction[self.ITEM_ID]]

    def full_sort_predict(self, interaction):
        # A real copy per row: RecBole writes -inf into the scores of history items.
        return self.item_count.repeat(len(interaction[self.ITEM_SEQ]), 1)
