import numpy as np
import pytest
import torch

from recbole_srt.data import AllPositionsDataLoader
from recbole_srt.data.dataset import TARGET_INDEX_FIELD

from conftest import make_run


def augmented_targets(train_set):
    """(user, target item, history) for every augmented training row."""
    histories = train_set.item_histories(train_set.inter_feat)
    users = train_set.inter_feat[train_set.uid_field]
    return users, train_set.inter_feat[train_set.iid_field], histories


def test_windows_cover_exactly_the_augmented_training_targets(ml100k_srt):
    config, train, valid, test = ml100k_srt
    users, items, _ = augmented_targets(train.dataset)
    # ml-100k: 100,000 interactions - 943 first items - 2 x 943 validation/test targets.
    assert train.n_targets == len(items) == 97_171
    assert sorted(train.targets[train.targets > 0].tolist()) == sorted(items.tolist())
    # No validation or test target is trained on: each lies after its user's last training target.
    last_train = {}
    for u, t in zip(users.tolist(), train.dataset.inter_feat[TARGET_INDEX_FIELD].tolist()):
        last_train[u] = max(last_train.get(u, -1), t)
    for split in (valid.dataset, test.dataset):
        for u, t in zip(split.inter_feat[split.uid_field].tolist(), split.inter_feat[TARGET_INDEX_FIELD].tolist()):
            assert t > last_train[u]


def test_all_positions_loss_equals_augmented_rows_loss():
    # window_stride=1 gives every target exactly the history of its augmented row.
    run = make_run("SRT", window_stride=1, train_batch_size=10_000)
    train, model = run.train_data, run.model.eval()
    train_set = train.dataset
    negatives = torch.randint(1, model.n_items, (64,), generator=torch.Generator().manual_seed(3))

    # A real batch: the windows of a few users, including a long one (> MAX_ITEM_LIST_LENGTH).
    batch = next(iter(train))
    with torch.no_grad():
        window_losses, _, _ = model.target_losses(batch, neg_ids=negatives)
    window_targets = batch[model.schema.targets]
    window_hist = []
    for row, pos in zip(*torch.nonzero(window_targets > 0, as_tuple=True)):
        window_hist.append((tuple(batch[model.ITEM_SEQ][row, max(0, pos - 49): pos + 1].tolist()),
                            int(window_targets[row, pos])))

    # The same targets as RecBole's augmented rows (history, length, target).
    histories = train_set.item_histories(train_set.inter_feat)
    lengths = train_set.inter_feat[train_set.item_list_length_field]
    targets = train_set.inter_feat[train_set.iid_field]
    index = {}
    for i, (h, n, t) in enumerate(zip(histories.tolist(), lengths.tolist(), targets.tolist())):
        index.setdefault((tuple(h[:n]), t), i)
    rows = torch.tensor([index[key] for key in window_hist])
    from recbole.data.interaction import Interaction

    augmented = Interaction({
        model.ITEM_SEQ: histories[rows], model.ITEM_SEQ_LEN: lengths[rows], model.POS_ITEM_ID: targets[rows],
    })
    with torch.no_grad():
        row_losses, _, _ = model.target_losses(augmented, neg_ids=negatives)
    assert len(row_losses) == len(window_losses) > 1000
    assert torch.allclose(window_losses, row_losses, atol=1e-4)


def test_non_overlapping_windows_are_fewer_and_keep_every_target(ml100k_srt):
    config, train, _, _ = ml100k_srt
    assert config["window_stride"] is None
    dense = AllPositionsDataLoader({**config.final_config_dict, "window_stride": 1}, train.dataset)
    assert sorted(dense.targets[dense.targets > 0].tolist()) == sorted(train.targets[train.targets > 0].tolist())
    assert len(train.inputs) * 10 < len(dense.inputs)
    # Each target is owned by one window: a window's owned targets are contiguous.
    owned = (train.targets > 0).numpy()
    starts = np.diff(np.concatenate([np.zeros((len(owned), 1), bool), owned], 1).astype(int), axis=1)
    assert ((starts == 1).sum(1) <= 1).all()


def test_length_grouping_keeps_every_window_once_and_pads_less(ml100k_srt):
    config, train, _, _ = ml100k_srt
    assert train.length_grouping == 50
    plain = AllPositionsDataLoader({**config.final_config_dict, "length_grouping": 1}, train.dataset)

    def padded_cells(loader):
        batches = loader.batches()
        assert len(batches) == len(loader)
        assert sorted(torch.cat(batches).tolist()) == list(range(len(loader.inputs)))
        return sum(int(loader.lengths[b].max()) * len(b) for b in batches)

    used = int(train.lengths.sum())
    grouped, shuffled = padded_cells(train), padded_cells(plain)
    # ml-100k windows are mostly full (50), so plain batches waste little; grouping wastes less still.
    assert used <= grouped < shuffled
    assert grouped - used < (shuffled - used) / 3
    # Two epochs of the same loader differ in order: the grouping is re-drawn every epoch.
    assert [b.tolist() for b in train.batches()[:3]] != [b.tolist() for b in train.batches()[:3]]


@pytest.mark.parametrize("scope", ["row", "sequence", "batch"])
def test_every_negative_scope_trains_through_the_model(scope):
    run = make_run("SRT", neg_sampling_scope=scope, num_negatives=50)
    model = run.model
    batch = next(iter(run.train_data))
    losses, targets, _ = model.target_losses(batch)
    assert losses.shape == ((batch[model.schema.targets] > 0).sum(),) == (targets,)
    assert torch.equal(batch[model.schema.target_mask], batch[model.schema.targets] > 0)
    assert torch.isfinite(losses).all()
    losses.mean().backward()
    assert model.item_encoder.token_embeddings[0].weight.grad.abs().sum() > 0
