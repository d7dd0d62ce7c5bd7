"""RecBole's own sequential models through the plugin: RecBole's model defaults, RecBole's own
trainer where it has one, and only the shared protocol layered on top."""

import os

import pytest

from recbole_srt.build import load_config
from recbole_srt.training.recbole_trainer import RecBoleTrainer
from recbole_srt.quick_start import run

from conftest import QUIET, ml100k_files

SLICE_USERS = 120


@pytest.fixture(scope="module")
def ml_slice(tmp_path_factory):
    """ml-100k's first users, all their interactions and every item: a one-epoch run takes seconds."""
    root = tmp_path_factory.mktemp("data")
    folder = root / "ml-slice"
    folder.mkdir()
    with open(os.path.join(ml100k_files(), "ml-100k.inter"), encoding="utf-8") as f:
        header, *lines = f.read().splitlines()
    kept = [line for line in lines if int(line.split("\t")[0]) <= SLICE_USERS]
    (folder / "ml-slice.inter").write_text("\n".join([header, *kept]) + "\n", encoding="utf-8")
    with open(os.path.join(ml100k_files(), "ml-100k.item"), encoding="utf-8") as f:
        (folder / "ml-slice.item").write_text(f.read(), encoding="utf-8")
    return str(root)


def one_epoch(model, data_path, tmp_path, monkeypatch, **options):
    monkeypatch.chdir(tmp_path)  # RecBole's own trainers write log_tensorboard/ in the working directory
    # 10-item windows: the protocol under test does not depend on their length, and at RecBole's 50 one epoch of
    # SASRec or BERT4Rec took 15 s of CI's 2 cores
    return run(model, "ml-slice", config_dict={**QUIET, "data_path": data_path, "epochs": 1, "eval_args": {"mode": "full"},
                                               "MAX_ITEM_LIST_LENGTH": 10, "results_file": str(tmp_path / "r.json"),
                                               **options})


@pytest.mark.parametrize("model,options", [
    ("SASRec", {}),
    ("GRU4Rec", {}),
    ("BERT4Rec", {}),
    ("SASRecF", {"selected_features": ["class"]}),
    ("IDTransformer", {}),
])
def test_sequential_models_train_one_epoch_and_rank(model, options, ml_slice, tmp_path, monkeypatch):
    result = one_epoch(model, ml_slice, tmp_path, monkeypatch, **options)
    assert set(result["test_result"]) == {"ndcg@5", "hit@5"}
    assert 0 <= result["test_result"]["ndcg@5"] <= 1 and result["history"][0]["epoch"] == 0
    if model != "IDTransformer":
        # No plugin-model key leaks into a RecBole model's config dump.
        assert not {"item_encoder", "train_all_positions", "num_negatives", "preset"} & set(result["config"])


def test_recbole_model_defaults_win_over_the_plugin_protocol():
    # DIN's quick-start protocol (uni100 + AUC) and SASRecF's ml-100k feature columns stay RecBole's.
    din = load_config("DIN", "ml-100k", config_dict=QUIET)
    assert din["metrics"] == ["AUC", "LogLoss"] and din["eval_args"]["mode"] == {"valid": "uni100", "test": "uni100"}
    sasrecf = load_config("SASRecF", "ml-100k", config_dict=QUIET)
    assert sasrecf["load_col"]["item"] == ["item_id", "release_year", "class"]
    # Without such defaults the plugin's protocol applies; the user still overrides anything.
    sasrec = load_config("SASRec", "ml-100k", config_dict={**QUIET, "hidden_dropout_prob": 0.3})
    assert sasrec["metrics"] == ["NDCG", "Hit"] and sasrec["hidden_dropout_prob"] == 0.3
    assert sasrec["hidden_size"] == 64 and sasrec["loss_type"] == "CE"  # RecBole's SASRec.yaml


def test_din_keeps_its_value_protocol(ml_slice, tmp_path, monkeypatch):
    result = one_epoch("DIN", ml_slice, tmp_path, monkeypatch, eval_args={"mode": "uni100"})
    assert set(result["test_result"]) == {"auc", "logloss"} and 0 < result["test_result"]["auc"] < 1


def test_s3rec_pretrains_through_recboles_own_trainer(ml_slice, tmp_path, monkeypatch):
    from recbole_srt.build import build_run

    # Small batches and windows: S3Rec's pre-training at RecBole's defaults took the suite's process from 3.6 to
    # 10.8 GB resident (a fresh clone's run, 2026-12-07); the path under test is the same at any size.
    config = load_config("S3Rec", "ml-slice", config_dict={**QUIET, "data_path": ml_slice, "pretrain_epochs": 1, "eval_args": {"mode": "full"},
                                                           "save_step": 1, "checkpoint_dir": str(tmp_path),
                                                           "train_batch_size": 128, "MAX_ITEM_LIST_LENGTH": 10})
    monkeypatch.chdir(tmp_path)
    built = build_run(config)
    assert isinstance(built.trainer, RecBoleTrainer) and type(built.trainer.inner).__name__ == "SafeCheckpoints"
    built.trainer.fit(built.train_data, built.valid_data)
    # The pre-trained checkpoint loads with weights_only=True (RecBole's own pickles its Config).
    result = built.trainer.evaluate(built.test_data, load_best_model=True)
    assert os.path.isfile(os.path.join(str(tmp_path), "S3Rec-ml-slice-1.pth")) and "ndcg@5" in result


def test_s3rec_tests_untrained_weights_with_zero_epochs(ml_slice, tmp_path, monkeypatch):
    # epochs: 0 validates and tests the weights as they are, through RecBole's trainer too.
    result = one_epoch("S3Rec", ml_slice, tmp_path, monkeypatch, epochs=0, pretrain_epochs=0,
                       checkpoint_dir=str(tmp_path))
    assert result["stopped_by"] == "zero_shot" and result["best_valid_score"] == result["best_valid_result"]["ndcg@5"]
    assert set(result["test_result"]) == {"ndcg@5", "hit@5"}
