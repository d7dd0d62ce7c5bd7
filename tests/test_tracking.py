"""Tracking and console: TensorBoard events by default (read back), W&B offline and MLflow where installed, a
missing optional package named in one line before any data is loaded; the config and model dumps in the log file
only, progress lines off a terminal, a warning when K >= the catalog."""

import glob
import importlib.util
import logging
import os
import sys

import pytest

from recbole_srt import __main__ as cli
from recbole_srt.build import load_config
from recbole_srt.config_check import ConfigError
from recbole_srt.logs import FILE_ONLY, init_logging, progress_log
from recbole_srt.quick_start import run

from conftest import QUIET

SMALL = {"n_layers": 1, "hidden_size": 16, "n_heads": 2, "inner_size": 32, "epochs": 1, "train_batch_size": 256,
         "eval_args": {"mode": "full"}}


def installed(name):
    return importlib.util.find_spec(name) is not None


def test_the_default_writes_tensorboard_where_recbole_does_and_none_turns_it_off():
    assert load_config("IDTransformer", "ml-100k", config_dict={"log_dir": None})["tensorboard_dir"] == "log_tensorboard"
    assert load_config("IDTransformer", "ml-100k", argv=["--tensorboard_dir=~", "--log_dir=~"])["tensorboard_dir"] is None


def test_a_one_epoch_run_tracks_loss_rate_throughput_and_metrics_and_talks_only_where_there_is_news(
        tmp_path, monkeypatch, capsys):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    wandb, mlflow = installed("wandb"), installed("mlflow")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb_dir"))
    monkeypatch.delenv("WANDB_MODE", raising=False)  # the default is offline: no network, no account
    monkeypatch.setenv("WANDB_SILENT", "true")
    options = {**QUIET, **SMALL, "state": "INFO", "show_progress": None, "log_dir": str(tmp_path / "log"),
               "tensorboard_dir": str(tmp_path / "tb"), "loss": "sampled_softmax", "num_negatives": 5000,
               "log_wandb": wandb, "log_mlflow": mlflow,
               "mlflow_tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}", "mlflow_experiment": "test"}
    result = run("IDTransformer", "ml-100k", config_dict=options)

    # TensorBoard: one folder per run, named like its log file, holding the epoch's figures.
    runs = glob.glob(str(tmp_path / "tb" / "*"))
    log_files = glob.glob(str(tmp_path / "log" / "IDTransformer" / "*.log"))
    assert len(runs) == 1 and len(log_files) == 1
    assert os.path.basename(runs[0]) == os.path.splitext(os.path.basename(log_files[0]))[0]
    events = EventAccumulator(runs[0])
    events.Reload()
    scalars = {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}
    assert {"train/loss", "train/learning_rate", "train/targets_per_second", "valid/ndcg@5", "valid/score",
            "test/ndcg@5"} <= set(scalars)
    assert scalars["train/loss"] == [(0, pytest.approx(result["history"][0]["train_loss"]))]
    assert scalars["valid/ndcg@5"] == [(0, pytest.approx(result["best_valid_result"]["ndcg@5"]))]
    assert scalars["test/ndcg@5"][0][1] == pytest.approx(result["test_result"]["ndcg@5"])
    assert scalars["train/targets_per_second"][0][1] > 0

    if wandb:  # an offline run folder under WANDB_DIR, nothing sent
        assert glob.glob(str(tmp_path / "wandb_dir" / "wandb" / "offline-run-*" / "*.wandb"))
    if mlflow:
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
        experiment = client.get_experiment_by_name("test")
        (found,) = client.search_runs([experiment.experiment_id])
        assert found.data.metrics["valid/ndcg_at_5"] == pytest.approx(result["best_valid_result"]["ndcg@5"])
        assert found.data.params["model"] == "IDTransformer"

    # The console: no config or model dump (they are in the log file), progress lines instead of a bar off a
    # terminal, and the warning that K negatives outnumber the catalog.
    err = capsys.readouterr().err
    log = open(log_files[0], encoding="utf-8").read()
    for dump in ("General Hyper Parameters", "IDTransformer(\n"):
        assert dump in log and dump not in err, dump
    assert "Train     0: 100% (" in err and "\r" not in err
    assert "num_negatives: K = 5000 negatives are drawn (with replacement) from a catalog of 1682 items" in err
    assert any("num_negatives: K = 5000" in note for note in result["notes"])


def test_verbose_puts_the_dumps_on_the_console_too(capsys):
    config = {"state": "INFO", "log_dir": None, "model": "m", "dataset": "d"}
    for verbose in (False, True):
        init_logging(config, verbose=verbose)
        logging.getLogger().info("the dump", extra=FILE_ONLY)
        assert ("the dump" in capsys.readouterr().err) is verbose
    init_logging({**config, "state": "ERROR"})


def test_progress_lines_come_every_tenth_of_the_epoch_or_after_the_interval(caplog):
    caplog.set_level(logging.INFO)
    assert list(progress_log(range(40), "Train     0")) == list(range(40))
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 10 and lines[0].startswith("Train     0: 10% (4/40 batches)")
    assert lines[-1].startswith("Train     0: 100% (40/40 batches)")
    caplog.clear()
    list(progress_log(range(5), "Valid", every_share=1.0, every_seconds=0.0))
    assert len(caplog.records) == 5  # past the interval: a line at every batch


@pytest.mark.parametrize("key, module, extra", [("log_wandb", "wandb", "wandb"), ("log_mlflow", "mlflow", "mlflow")])
def test_a_missing_optional_tracker_stops_the_run_before_the_data_in_one_line(key, module, extra, monkeypatch,
                                                                               capsys, tmp_path):
    monkeypatch.setitem(sys.modules, module, None)  # as if not installed: import raises ImportError
    with pytest.raises(ConfigError, match=rf"{key}: True needs .*, which is not installed: "
                                          rf"pip install 'recbole_srt\[{extra}\]'"):
        load_config("IDTransformer", "ml-100k", config_dict={**QUIET, key: True})
    # The command line: one line, exit code 2, and no data was loaded (the data path does not even exist).
    assert cli.main(["--model=IDTransformer", f"--{key}=True", "--log_dir=~", "--tensorboard_dir=~",
                     f"--checkpoint_dir={tmp_path}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {key}: True needs") and f"[{extra}]'" in err[0]
