"""The analytic FLOPs of recbole_srt.scaling.flops against torch's FlopCounterMode on real steps."""

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from recbole_srt.scaling.flops import SRTDims, training_step_flops
from recbole_srt.scaling.presets import PRESETS, parameter_counts

from conftest import build


@pytest.mark.parametrize("preset,scope", [("L4-H2-D64", "batch"), ("L2-H2-D128", "row"), ("L8-H4-D128", "batch")])
def test_analytic_flops_match_flop_counter_on_real_steps(preset, scope, tmp_path_factory):
    config, train, _, _ = build("SRT", preset=preset, neg_sampling_scope=scope, num_negatives=200,
                                tokenizer_dir=str(tmp_path_factory.getbasetemp() / "tokenizers"))
    model = config.model_class(config, train.dataset)
    assert (model.n_layers, model.n_heads, model.hidden_size) == tuple(
        PRESETS[preset][k] for k in ("n_layers", "n_heads", "hidden_size"))
    batch = next(iter(train))
    # The CPU flash kernel is invisible to FlopCounterMode; the math kernel runs the same products as bmm.
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        model.calculate_loss(batch).backward()
    measured = counter.get_total_flops()
    analytic = training_step_flops(SRTDims.of(model), model.last_step)
    assert model.last_step.targets > 0 and model.last_step.unique_items > 0
    assert analytic["matmul"] == pytest.approx(measured, rel=0.05)
    # element-wise work is a small share on top of the products
    assert analytic["matmul"] < analytic["total"] < 1.15 * analytic["matmul"]
    assert model.step_flops() == analytic["total"]


def test_presets_and_parameter_counts(tmp_path_factory):
    config, train, _, _ = build("SRT", preset="L24-H4-D256", hidden_size=128,
                                tokenizer_dir=str(tmp_path_factory.getbasetemp() / "tokenizers"))
    assert (config["n_layers"], config["n_heads"], config["hidden_size"]) == (24, 4, 128)  # explicit key wins
    config, train, _, _ = build("SRT", preset="L24-H4-D256",
                                tokenizer_dir=str(tmp_path_factory.getbasetemp() / "tokenizers"))
    counts = parameter_counts(config.model_class(config, train.dataset))
    # Paper: 9.6M non-embedding parameters for the largest model; token and position tables excluded.
    assert 9.4e6 < counts["non_embedding"] < 9.8e6
    assert counts["total"] > counts["non_embedding"]
    with pytest.raises(ValueError, match="preset: unknown 'huge'"):
        build("SRT", preset="huge")
