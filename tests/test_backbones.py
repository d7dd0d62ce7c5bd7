"""The llama and hstu backbones on synthetic tensors: causality, padding, gradients, timestamps
and their FLOPs reports against torch's FlopCounterMode."""

import math

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from recbole_srt.model.backbones import BACKBONES
from recbole_srt.model.backbones.hstu import time_buckets
from recbole_srt.model.flops import training_flops

NEW = ["llama", "hstu"]
CONFIG = {"n_layers": 2, "n_heads": 2, "hidden_size": 32, "inner_size": 48, "hidden_dropout_prob": 0.1,
          "attn_dropout_prob": 0.1, "hidden_act": "gelu", "layer_norm_eps": 1e-6, "MAX_ITEM_LIST_LENGTH": 12}
BATCH, LENGTH, HIDDEN = 3, CONFIG["MAX_ITEM_LIST_LENGTH"], CONFIG["hidden_size"]


def backbone(name, **overrides):
    torch.manual_seed(0)
    cls = BACKBONES.get(name)
    config = {**CONFIG, **overrides}
    cls.check_config(config)
    return cls.from_config(config)


def inputs(seed=1, length=LENGTH):
    generator = torch.Generator().manual_seed(seed)
    item_repr = torch.randn(BATCH, length, HIDDEN, generator=generator)
    # seconds, increasing, gaps from a second to months so that many time buckets occur
    gaps = torch.exp(torch.rand(BATCH, length, generator=generator) * 16).round()
    return item_repr, 880_000_000 + torch.cumsum(gaps, dim=1).to(torch.int64)


@pytest.mark.parametrize("name", NEW)
def test_shape_and_attributes(name):
    model = backbone(name).eval()
    item_repr, timestamps = inputs()
    assert model(item_repr).shape == (BATCH, LENGTH, HIDDEN)
    assert model(item_repr, timestamps).shape == (BATCH, LENGTH, HIDDEN)
    assert (model.n_layers, model.n_heads) == (CONFIG["n_layers"], CONFIG["n_heads"])
    assert name in BACKBONES.names() and "sasrec" in BACKBONES.names()


@pytest.mark.parametrize("name", NEW)
def test_check_config_names_the_key(name):
    with pytest.raises(ValueError, match="hidden_size .* n_heads"):
        BACKBONES.get(name).check_config({**CONFIG, "n_heads": 3})


def test_llama_needs_an_even_head_width():
    with pytest.raises(ValueError, match="hidden_size / n_heads .* even"):
        BACKBONES.get("llama").check_config({**CONFIG, "hidden_size": 30, "n_heads": 2})


@pytest.mark.parametrize("with_time", [False, True])
@pytest.mark.parametrize("name", NEW)
def test_causal(name, with_time):
    model = backbone(name).eval()
    item_repr, timestamps = inputs()
    times = timestamps if with_time else None
    reference = model(item_repr, times)
    for t in (0, 4, LENGTH - 2):
        changed_repr, changed_times = item_repr.clone(), timestamps.clone()
        changed_repr[:, t + 1:] = torch.randn_like(changed_repr[:, t + 1:]) * 3
        changed_times[:, t + 1:] += 10 ** 7
        out = model(changed_repr, changed_times if with_time else None)
        torch.testing.assert_close(out[:, :t + 1], reference[:, :t + 1], rtol=0, atol=1e-5)
        assert not torch.allclose(out[:, t + 1:], reference[:, t + 1:])


@pytest.mark.parametrize("name", NEW)
def test_right_padding_and_batch_width_do_not_change_real_outputs(name):
    """Training batches are trimmed to their longest row; evaluation pads to MAX_ITEM_LIST_LENGTH."""
    model = backbone(name).eval()
    item_repr, timestamps = inputs()
    short = 7
    padded_repr, padded_times = item_repr.clone(), timestamps.clone()
    padded_repr[:, short:], padded_times[:, short:] = 0, 0
    full = model(padded_repr, padded_times)
    trimmed = model(item_repr[:, :short], timestamps[:, :short])
    torch.testing.assert_close(full[:, :short], trimmed, rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", NEW)
def test_gradients_reach_every_parameter(name):
    model = backbone(name).train()
    item_repr, timestamps = inputs()
    item_repr.requires_grad_(True)
    (model(item_repr, timestamps) * torch.randn(BATCH, LENGTH, HIDDEN)).sum().backward()
    for parameter_name, parameter in model.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, parameter_name
    assert item_repr.grad.abs().sum() > 0


def test_timestamps_change_hstu_outputs_but_not_llama():
    item_repr, timestamps = inputs()
    later = timestamps.clone()
    later[:, 1:] += torch.arange(1, LENGTH) * 10 ** 5  # other gaps, so other buckets
    hstu = backbone("hstu").eval()
    without, with_times, with_other = hstu(item_repr), hstu(item_repr, timestamps), hstu(item_repr, later)
    assert torch.isfinite(without).all() and torch.isfinite(with_times).all()
    assert not torch.allclose(without, with_times) and not torch.allclose(with_times, with_other)
    # Only gaps matter: shifting every timestamp by the same amount changes nothing.
    torch.testing.assert_close(hstu(item_repr, timestamps + 12345), with_times)
    llama = backbone("llama").eval()
    torch.testing.assert_close(llama(item_repr, timestamps), llama(item_repr))


def test_time_buckets_follow_the_reference_log_buckets():
    timestamps = torch.tensor([[0, 0, 1, 2, 1000, 10 ** 9]])
    buckets = time_buckets(timestamps)
    expected = [int(math.log(max(abs(gap), 1)) / 0.301) for gap in (0, 0, 1, 2, 1000, 10 ** 9)]
    assert buckets[0, :, 0].tolist() == expected
    assert torch.equal(buckets, buckets.transpose(1, 2))  # |t_q - t_k|
    assert time_buckets(torch.tensor([[0, 10 ** 18]])).max() == 128  # clamped to the last bucket
    # A rescaled time field (ml-100k's yaml maps its 18,561,928 s to [0, 1]) buckets as seconds again.
    scaled = timestamps.double() / 18_561_928
    rescaled = time_buckets(scaled, 18_561_928)  # float32 rounding may cross a bucket edge by one
    assert torch.equal(rescaled[0, :, 0], buckets[0, :, 0]) and (rescaled - buckets).abs().max() <= 1
    assert time_buckets(scaled)[0, :5, :5].max() == 0  # read as seconds, gaps up to 1000 s fall under one


def test_ml100k_hstu_reads_its_time_field_in_seconds():
    from recbole_srt.build import load_config
    from recbole_srt.model.backbones import BACKBONES

    config = load_config("IDTransformer", "ml-100k", config_dict={"backbone": "hstu"})
    assert BACKBONES.get("hstu").from_config(config).time_unit_seconds == 18_561_928
    with pytest.raises(Exception, match="time_unit_seconds must be a number of seconds > 0"):
        load_config("IDTransformer", "ml-100k", config_dict={"backbone": "hstu", "time_unit_seconds": -1})


@pytest.mark.parametrize("length", [LENGTH, 5])
@pytest.mark.parametrize("name", NEW)
def test_forward_flops_match_flop_counter(name, length):
    model = backbone(name, n_layers=3, n_heads=4, hidden_size=64, inner_size=96).train()
    item_repr = torch.randn(BATCH, length, 64, requires_grad=True)  # as from an item encoder
    _, timestamps = inputs(length=length)
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        (model(item_repr, timestamps) * torch.randn(BATCH, length, 64)).sum().backward()
    analytic = training_flops(model.forward_flops(BATCH, length))
    assert analytic["matmul"] == pytest.approx(counter.get_total_flops(), rel=0.05)
    assert analytic["matmul"] <= analytic["total"] < 1.15 * analytic["matmul"]


def test_a_time_unit_on_a_time_field_in_seconds_is_refused():
    from recbole_srt.build import load_config

    with pytest.raises(Exception, match="time_unit_seconds is 60, but the time field 'timestamp' is not rescaled"):
        load_config("IDTransformer", "ml-100k", config_dict={"backbone": "hstu", "time_unit_seconds": 60,
                                                             "normalize_field": None})


def test_cpu_dropout_keeps_one_minus_p_of_the_units_scaled_and_passes_gradients_through_the_kept_ones():
    from recbole_srt.model.backbones.dropout import Dropout

    torch.manual_seed(0)
    drop, x = Dropout(0.2), torch.ones(200_000, requires_grad=True)
    y = drop(x)
    kept = y != 0
    assert abs(kept.float().mean().item() - 0.8) < 0.005
    assert torch.allclose(y[kept], torch.full_like(y[kept], 1 / 0.8))
    y.sum().backward()
    assert torch.equal(x.grad, y.detach())  # d y / d x is the mask times 1 / (1 - p)
    drop.eval()
    assert torch.equal(drop(x), x)
    assert torch.equal(Dropout(1.0)(x), torch.zeros_like(x))
