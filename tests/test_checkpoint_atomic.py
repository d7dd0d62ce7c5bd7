"""Checkpoints are atomic and never unpickle: a save killed at any write or rename leaves the previous complete
checkpoint or the new one, and a damaged or incomplete checkpoint is named in one line."""

import json
import os

import pytest
import torch

import recbole_srt.checkpoint as checkpoint
from recbole_srt.checkpoint import init_from, load_checkpoint, save_checkpoint
from recbole_srt.config_check import ConfigError


class FakeConfig(dict):
    @property
    def final_config_dict(self):
        return dict(self)


CONFIG = FakeConfig(model="Tiny", hidden_size=4)


class Killed(BaseException):
    """A kill: not an Exception, so no ``except Exception`` of the writer can hide it."""


def model_at(epoch):
    model = torch.nn.Linear(3, 2)
    with torch.no_grad():
        model.weight.fill_(epoch)
        model.bias.fill_(-epoch)
    return model


def state_at(epoch, optimizer):
    state = {"epoch": epoch, "cur_step": 10 * epoch, "best_valid_score": 0.1 * epoch,
             "state_dict": model_at(epoch).state_dict()}
    if optimizer:
        state["optimizer"] = {"state": {0: {"step": torch.tensor(float(epoch)), "exp_avg": torch.full((2, 3), epoch)}},
                              "param_groups": [{"lr": 0.1, "params": [0, 1]}]}
    return state


def save(path, epoch, optimizer):
    save_checkpoint(str(path), state_at(epoch, optimizer), CONFIG, model_at(epoch))


def disk_calls(monkeypatch, fail_at=None):
    """Count the writer's disk steps (each write, each rename); with ``fail_at``, the step of that number is a
    kill: a write leaves half its bytes, a rename does not happen."""
    calls = []
    write, replace = checkpoint._write, checkpoint._replace

    def faulty_write(path, data):
        calls.append(("write", path))
        if len(calls) - 1 == fail_at:
            with open(path, "wb") as f:
                f.write(data[: len(data) // 2])
            raise Killed(path)
        write(path, data)

    def faulty_replace(source, target):
        calls.append(("replace", target))
        if len(calls) - 1 == fail_at:
            raise Killed(target)
        replace(source, target)

    monkeypatch.setattr(checkpoint, "_write", faulty_write)
    monkeypatch.setattr(checkpoint, "_replace", faulty_replace)
    return calls


def check_complete(path, epochs, optimizer):
    """The checkpoint at ``path`` is one of ``epochs``, whole: weights, sidecar and optimizer of the same save."""
    state, meta = load_checkpoint(str(path))
    epoch = state["epoch"]
    assert epoch in epochs
    assert torch.equal(state["state_dict"]["weight"], torch.full((2, 3), float(epoch)))
    assert meta["model"] == "Tiny"
    if optimizer:
        assert torch.equal(state["optimizer"]["state"][0]["exp_avg"], torch.full((2, 3), epoch))
    model = torch.nn.Linear(3, 2)
    assert init_from(model, str(path)) == ([], [])
    assert torch.equal(model.bias, torch.full((2,), -float(epoch)))
    return epoch


def leftovers(folder):
    return sorted(name for name in os.listdir(folder) if ".tmp" in name or name.endswith(".new"))


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
@pytest.mark.parametrize("optimizer", [False, True])
def test_a_save_killed_at_any_step_leaves_the_previous_or_the_new_checkpoint(tmp_path, monkeypatch, suffix, optimizer):
    probe = tmp_path / "probe" / f"ck{suffix}"
    save(probe, 1, optimizer)
    calls = disk_calls(monkeypatch)
    save(probe, 2, optimizer)
    steps = len(calls)
    monkeypatch.undo()
    assert steps >= 4
    seen = set()
    for k in range(steps):
        path = tmp_path / f"kill{k}" / f"ck{suffix}"
        save(path, 1, optimizer)
        disk_calls(monkeypatch, fail_at=k)
        with pytest.raises(Killed):
            save(path, 2, optimizer)
        monkeypatch.undo()
        seen.add(check_complete(path, (1, 2), optimizer))
        # The next save finishes or removes what the killed one left, and is itself complete.
        save(path, 3, optimizer)
        assert leftovers(path.parent) == [], k
        assert check_complete(path, (3,), optimizer) == 3
    assert seen == {1, 2}  # killed before the commit: the previous save; after it: the new one


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_a_first_save_killed_at_any_step_is_complete_or_named_in_one_line(tmp_path, monkeypatch, suffix):
    for k in range(8):
        path = tmp_path / f"kill{k}" / f"ck{suffix}"
        calls = disk_calls(monkeypatch, fail_at=k)
        try:
            save(path, 2, True)
        except Killed:
            pass
        monkeypatch.undo()
        if k >= len(calls):
            break
        try:
            check_complete(path, (2,), True)
        except ConfigError as error:
            assert "\n" not in str(error) and str(path) in str(error)
            with pytest.raises(ConfigError, match="init_from: "):
                init_from(torch.nn.Linear(3, 2), str(path))


def test_old_pth_checkpoints_and_both_formats_round_trip(tmp_path):
    # A checkpoint as earlier versions wrote it: one torch file of tensors and numbers, a sidecar without save_id.
    old = tmp_path / "SRT-Dec-01-2025_10-00-00.pth"
    torch.save({"epoch": 4, "cur_step": 7, "best_valid_score": 0.5, "state_dict": model_at(4).state_dict()}, old)
    with open(f"{old}.json", "w") as f:
        json.dump({"model": "Tiny", "tokenizer": None, "config": {}}, f)
    assert check_complete(old, (4,), False) == 4
    for suffix in (".safetensors", ".pth"):
        path = tmp_path / f"new{suffix}"
        save(path, 5, True)
        assert check_complete(path, (5,), True) == 5
        state, meta = load_checkpoint(str(path))
        assert meta["format"] == ("torch" if suffix == ".pth" else "safetensors")
        assert state["cur_step"] == 50 and state["best_valid_score"] == pytest.approx(0.5)


def test_tied_weights_are_saved_as_copies(tmp_path):
    model = torch.nn.Sequential(torch.nn.Embedding(5, 3), torch.nn.Linear(3, 5, bias=False))
    model[1].weight = model[0].weight  # tied, as an output layer shares the item table
    path = str(tmp_path / "tied.safetensors")
    save_checkpoint(path, {"epoch": 0, "state_dict": model.state_dict()}, CONFIG, model)
    state, _ = load_checkpoint(path)
    assert torch.equal(state["state_dict"]["0.weight"], state["state_dict"]["1.weight"])


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_damaged_checkpoints_are_named_in_one_line(tmp_path, suffix):
    path = tmp_path / f"ck{suffix}"
    save(path, 1, True)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ConfigError, match=rf"init_from: '.*ck\{suffix}' is truncated or not a"):
        load_checkpoint(str(path), key="init_from")
    path.write_bytes(data)
    sidecar = tmp_path / f"ck{suffix}.json"
    text = sidecar.read_text()
    sidecar.write_text(text[: len(text) // 2])
    with pytest.raises(ConfigError, match=rf"ck\{suffix}.json' line \d+, column \d+: truncated or not JSON"):
        load_checkpoint(str(path))
    sidecar.unlink()
    with pytest.raises(ConfigError, match=r"has no matching .*\.json \(missing"):
        load_checkpoint(str(path))
    with pytest.raises(ConfigError, match="checkpoint not found"):
        load_checkpoint(str(tmp_path / "none.safetensors"))
