import torch

from recbole_srt.checkpoint import load_checkpoint
from recbole_srt.trainer import SequentialTrainer

from conftest import build


def test_checkpoint_round_trip_loads_with_weights_only(tmp_path):
    config, train, _, _ = build("SRT", checkpoint_dir=str(tmp_path), tokenizer_dir=str(tmp_path))
    model = config.model_class(config, train.dataset)
    trainer = SequentialTrainer(config, model)
    trainer._save_checkpoint(3, verbose=False)

    # torch.load(weights_only=True) refuses any pickled object: the file holds tensors only.
    state = torch.load(trainer.saved_model_file, weights_only=True)
    assert state["epoch"] == 3
    state, saved_config = load_checkpoint(trainer.saved_model_file)
    assert saved_config["model"] == "SRT" and saved_config["tokenizer_sha256"] == model.tokenizer_sha256
    assert saved_config["tokenizer_path_resolved"].endswith(".model")

    other = config.model_class(config, train.dataset)
    assert not torch.equal(other.item_encoder.projection.weight, model.item_encoder.projection.weight)
    other.load_state_dict(state["state_dict"])
    for (name, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items()):
        assert torch.equal(a, b), name
    # Token tables belong to the catalog, not to the checkpoint.
    assert not any(key.startswith("item_encoder.item_tokens") for key in state["state_dict"])
    model.eval(), other.eval()
    batch = next(iter(train))
    assert torch.allclose(model.forward(batch[model.ITEM_SEQ], batch[model.ITEM_SEQ_LEN]),
                          other.forward(batch[model.ITEM_SEQ], batch[model.ITEM_SEQ_LEN]))


def test_trainers_started_in_the_same_second_get_their_own_checkpoint(tmp_path):
    # RecBole names checkpoints by model and second only; two such runs overwrote each other's best model.
    config, train, _, _ = build("SRT", checkpoint_dir=str(tmp_path), tokenizer_dir=str(tmp_path))
    model = config.model_class(config, train.dataset)
    first, second = SequentialTrainer(config, model), SequentialTrainer(config, model)
    assert first.saved_model_file != second.saved_model_file
    assert all(path.startswith(str(tmp_path)) and path.endswith(".pth")
               for path in (first.saved_model_file, second.saved_model_file))
