"""The training step keeps every shape independent of the data (GPUs: no host-device synchronisation)."""

import warnings

import pytest
import torch
from recbole.data.interaction import Interaction

from recbole_srt.training.trainer import to_device

from conftest import make_run


@pytest.fixture(scope="module")
def small_run():
    # Small batches name fewer items than the catalog holds, so items are encoded where they stand.
    return make_run("SRT", train_batch_size=4, num_negatives=16, hidden_dropout_prob=0.0, attn_dropout_prob=0.0)


def test_item_encodings_agree_however_they_are_computed(small_run):
    model = small_run.model.eval()
    batch = next(iter(small_run.train_data))
    item_seq, targets = batch[model.ITEM_SEQ], batch[model.schema.targets].reshape(-1)
    pos_ids = torch.where(targets > 0, targets, model.fill_item)
    negatives = model.loss_fct.negatives(pos_ids, len(item_seq))  # one set per sequence
    assert item_seq.numel() + len(pos_ids) + negatives.numel() < model.item_encoder.n_items
    with torch.no_grad():
        catalog = model.item_representations()
        for dedupe in (True, False):
            seq, pos, cand, encoded = model.encode_items(item_seq, pos_ids, negatives, dedupe=dedupe)
            assert torch.allclose(seq, catalog[item_seq], atol=1e-6)
            assert torch.allclose(pos, catalog[pos_ids], atol=1e-6)
            assert torch.allclose(cand, catalog[negatives], atol=1e-6)
            named = item_seq.numel() + len(pos_ids) + negatives.numel()
            assert len(encoded) == (len(torch.unique(encoded)) if dedupe else named)


def test_padding_slots_change_neither_the_loss_nor_its_gradient(small_run):
    model = small_run.model.train()
    device = next(model.parameters()).device
    batch = next(b for b in small_run.train_data if b[model.ITEM_SEQ].shape[1] <= 40).to(device)
    negatives = torch.randint(1, model.n_items, (16,), generator=torch.Generator().manual_seed(0)).to(device)
    # The same windows with 10 more padding columns: more slots, none of them a target.
    wider = Interaction({k: torch.nn.functional.pad(v, (0, 10)) if v.dim() == 2 else v
                         for k, v in batch.interaction.items()})

    def loss_and_grad(interaction):
        model.zero_grad()
        loss = model.training_step(interaction, neg_ids=negatives).loss
        loss.backward()
        return loss.detach(), model.backbone.blocks[0].qkv.weight.grad.clone()

    loss, grad = loss_and_grad(batch)
    wider_loss, wider_grad = loss_and_grad(wider)
    # Wider windows change the kernels' summation order (GPU attention), not the value
    assert torch.isfinite(loss) and torch.allclose(loss, wider_loss, rtol=1e-5, atol=1e-5)
    assert torch.allclose(grad, wider_grad, rtol=1e-3, atol=1e-6)
    model.zero_grad()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (run on a GPU machine)")
def test_a_gpu_training_step_never_waits_for_the_device():
    run = make_run("SRT", use_gpu=True, enable_amp=True, train_batch_size=64)
    trainer = run.trainer
    batches = iter(run.train_data)
    trainer.train_epoch([next(batches)], 0)  # first step: allocator and lazy initialisation
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(3):
                batch = next(batches)
                with torch.autocast("cuda", dtype=torch.bfloat16):
                    step = trainer.step_module(to_device(batch, trainer.device))
                step.loss.backward()
                trainer.optimizer_step()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    syncs = [str(w.message) for w in caught if "synchroniz" in str(w.message)]
    assert not syncs, syncs
