"""A score file (.npz of users, items and their [users, items] scores) read back as a model's full_sort_predict.

Both evaluators check the same files through it: ours (run.py, in this project's environment) and the authors'
(authors_run.py, in theirs), so it imports nothing but numpy and torch, which both environments have.
"""

import numpy as np
import torch


class FileScores(torch.nn.Module):
    """``full_sort_predict`` returns the file's rows for a batch's users, in the run's item order; items the file
    does not score rank last. ``seen`` lists the rows served. The dummy parameter lets a Trainer be built on it."""

    def __init__(self, path, user_tokens, item_tokens, user_field):
        super().__init__()
        f = np.load(path)
        self.row_of = {u: i for i, u in enumerate(f["users"])}
        col_of = {t: i for i, t in enumerate(f["items"])}
        self.columns = torch.tensor([col_of.get(t, -1) for t in item_tokens])
        self.scores = torch.from_numpy(f["scores"])
        self.user_tokens, self.user_field, self.seen = user_tokens, user_field, []
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def calculate_loss(self, interaction):
        return self.dummy.sum()

    def full_sort_predict(self, interaction):
        rows = torch.tensor([self.row_of[self.user_tokens[u]] for u in interaction[self.user_field].tolist()])
        self.seen.extend(rows.tolist())
        s = self.scores[rows][:, self.columns.clamp(min=0)]
        s[:, self.columns < 0] = -np.inf
        return s
