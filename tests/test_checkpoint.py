import os

import pytest
import torch

from recbole_srt.checkpoint import init_from, load_checkpoint
from recbole_srt.training.trainer import Trainer

from conftest import make_run


def test_checkpoint_holds_weights_config_and_tokenizer_and_loads_with_weights_only(tmp_path):
    run = make_run("SRT", checkpoint_dir=str(tmp_path))
    model, trainer = run.model, run.trainer
    trainer.save_checkpoint(3)

    # safetensors by default: tensors only, readable without torch or pickle.
    assert trainer.saved_model_file.endswith(".safetensors")
    from safetensors.numpy import load_file

    assert set(load_file(trainer.saved_model_file)) == set(model.state_dict())
    assert not os.path.exists(trainer.saved_model_file + ".optim.pt")  # optimizer state only when asked
    state, meta = load_checkpoint(trainer.saved_model_file)
    assert state["epoch"] == 3 and "optimizer" not in state
    assert meta["model"] == "SRT" and meta["config"]["hidden_size"] == 64
    assert meta["tokenizer"] == run.catalog.tokenizer and meta["tokenizer"]["path"].endswith(".model")
    # Token tables belong to the catalog, not to the checkpoint.
    assert not any(key.startswith("item_encoder.item_tokens") for key in state["state_dict"])

    other = make_run("SRT", init_from=trainer.saved_model_file, seed=7).model
    for (name, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items()):
        assert torch.equal(a, b), name
    model.eval(), other.eval()
    batch = next(iter(run.train_data))
    assert torch.allclose(model.forward(batch[model.ITEM_SEQ], batch[model.ITEM_SEQ_LEN]),
                          other.forward(batch[model.ITEM_SEQ], batch[model.ITEM_SEQ_LEN]))


def test_optimizer_state_is_saved_only_when_asked_and_resume_needs_it(tmp_path):
    light = make_run("SRT", checkpoint_dir=str(tmp_path / "a"), epochs=1)
    light.trainer.fit(light.train_data, light.valid_data)
    heavy = make_run("SRT", checkpoint_dir=str(tmp_path / "b"), epochs=1, checkpoint_optimizer=True)
    heavy.trainer.fit(heavy.train_data, heavy.valid_data)
    small = os.path.getsize(light.trainer.saved_model_file)
    big = sum(os.path.getsize(heavy.trainer.saved_model_file + end) for end in ("", ".optim.pt"))
    assert big > 2.5 * small  # Adam keeps two moments per weight
    # Nested optimizer state, which safetensors cannot hold, goes beside the weights, read with weights_only=True.
    assert "optimizer" in torch.load(heavy.trainer.saved_model_file + ".optim.pt", weights_only=True)
    with pytest.raises(ValueError, match=r"resume_from: .* finished epoch 1 of epochs: 1; nothing is left to train"):
        make_run("SRT", resume_from=heavy.trainer.saved_model_file, epochs=1)

    with pytest.raises(ValueError, match="holds weights only; resuming needs a checkpoint saved with checkpoint_optimizer"):
        make_run("SRT", resume_from=light.trainer.saved_model_file)
    resumed = make_run("SRT", resume_from=heavy.trainer.saved_model_file, epochs=2)
    assert resumed.trainer.start_epoch == 1 and resumed.trainer.cur_step == heavy.trainer.cur_step


def test_init_from_reports_missing_and_unexpected_keys_and_checks_shapes(tmp_path):
    source = make_run("SRT", checkpoint_dir=str(tmp_path))
    source.trainer.save_checkpoint(0)
    path = source.trainer.saved_model_file
    # text+id shares the text encoder and the backbone; its ID table is new.
    target = make_run("SRT", item_encoder="text+id").model
    missing, unexpected = init_from(target, path)
    assert missing == ["item_encoder.id_embedding.weight"] and unexpected == []
    with pytest.raises(ValueError, match=r"init_from: .* has parameters of other shapes .*backbone\.position_embedding"):
        make_run("SRT", init_from=path, MAX_ITEM_LIST_LENGTH=20)


def test_init_from_stops_on_another_tokenizer(tmp_path):
    source = make_run("SRT", checkpoint_dir=str(tmp_path))
    source.trainer.save_checkpoint(0)
    with pytest.raises(ValueError, match="init_from: .* was trained with the tokenizer .* set tokenizer_path"):
        make_run("SRT", init_from=source.trainer.saved_model_file, tokenizer_vocab_size=2000,
                 tokenizer_dir=str(tmp_path / "small"))


def test_trainers_started_in_the_same_second_get_their_own_checkpoint(tmp_path):
    # RecBole names checkpoints by model and second only; two such runs overwrote each other's best model.
    run = make_run("SRT", checkpoint_dir=str(tmp_path))
    first, second = Trainer(run.config, run.model), Trainer(run.config, run.model)
    assert first.saved_model_file != second.saved_model_file
    assert all(path.startswith(os.path.join(str(tmp_path), "SRT-ml-100k-")) and path.endswith(".safetensors")
               for path in (first.saved_model_file, second.saved_model_file))
