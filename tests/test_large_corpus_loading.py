"""Loading shortcuts for large corpora give exactly what RecBole's own code gives."""

import os

import numpy as np
import pandas as pd
import torch
from recbole.data.dataset import Dataset

import recbole.data.dataset.dataset as recbole_dataset
from recbole_srt.data.dataset import GroupedRows

from conftest import ml100k_files


def test_the_c_parser_reads_an_atomic_file_as_recboles_python_parser_does():
    folder = ml100k_files()
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        header = open(path, encoding="utf-8").readline().rstrip("\n").split("\t")
        dtype = {column: np.float64 if column.endswith(":float") else str for column in header}
        python = pd.read_csv(path, delimiter="\t", dtype=dtype, engine="python")
        c = recbole_dataset.pd.read_csv(path, delimiter="\t", dtype=dtype, engine="python")  # the shim
        pd.testing.assert_frame_equal(python, c)
    assert type(recbole_dataset.pd).__name__ == "_PandasWithCParser"


def test_leave_one_out_on_contiguous_groups_matches_recboles_loop(ml100k_srt):
    dataset = ml100k_srt[1].dataset
    rng = np.random.default_rng(0)
    # Groups of 1 to 7 rows, interleaved as a global time order leaves them; keys not numbered by appearance.
    users = rng.permutation(np.repeat(rng.permutation(1000)[:500], rng.integers(1, 8, size=500)))
    recbole_groups = Dataset._grouped_index(dataset, users)
    groups = dataset._grouped_index(users)
    assert isinstance(groups, GroupedRows) and len(groups) == 500
    assert [list(g) for g in groups] == [list(g) for g in recbole_groups]
    for leave_one_num in (1, 2):
        expected = Dataset._split_index_by_leave_one_out(dataset, recbole_groups, leave_one_num)
        got = dataset._split_index_by_leave_one_out(groups, leave_one_num)
        assert [torch.as_tensor(e, dtype=torch.long).tolist() for e in expected] == [g.tolist() for g in got]
