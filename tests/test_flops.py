"""Each part's analytic FLOPs, summed, against torch's FlopCounterMode on real steps."""

import pytest
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from recbole_srt.model.backbones import BACKBONES
from recbole_srt.model.flops import training_flops
from recbole_srt.model.sizes import PRESETS, parameter_counts

from conftest import build, make_run


@pytest.mark.parametrize("backbone", BACKBONES.names())
@pytest.mark.parametrize("model_name,preset,options", [
    ("SRT", "L4-H2-D64", {"neg_sampling_scope": "batch"}),
    ("SRT", "L2-H2-D128", {"neg_sampling_scope": "row"}),
    ("SRT", "L8-H4-D128", {"item_encoder": "text+id"}),
    ("SRT", "L4-H2-D64", {"loss": "full_ce"}),
    ("IDTransformer", "L4-H2-D64", {}),
])
def test_analytic_flops_match_flop_counter_on_real_steps(backbone, model_name, preset, options):
    run = make_run(model_name, preset=preset, backbone=backbone, num_negatives=200, **options)
    model = run.model
    assert (model.backbone.n_layers, model.backbone.n_heads, model.hidden_size) == tuple(
        PRESETS[preset][k] for k in ("n_layers", "n_heads", "hidden_size"))
    batch = next(iter(run.train_data))
    # The CPU flash kernel is invisible to FlopCounterMode; the math kernel runs the same products as bmm.
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        losses, targets, components = model.target_losses(batch)
        losses.mean().backward()
    analytic = training_flops(components)
    assert targets == int(batch[model.schema.target_mask].sum()) > 0
    assert analytic["matmul"] == pytest.approx(counter.get_total_flops(), rel=0.05)
    # element-wise work is a small share on top of the products
    assert analytic["matmul"] <= analytic["total"] < 1.15 * analytic["matmul"]


def test_presets_and_parameter_counts():
    config, _, _, _ = build("SRT", preset="L24-H4-D256", hidden_size=128)
    assert (config["n_layers"], config["n_heads"], config["hidden_size"]) == (24, 4, 128)  # explicit key wins
    counts = parameter_counts(make_run("SRT", preset="L24-H4-D256").model)
    # Paper: 9.6M non-embedding parameters for the largest model; token and position tables excluded.
    assert 9.4e6 < counts["non_embedding"] < 9.8e6
    assert counts["total"] > counts["non_embedding"]
    with pytest.raises(ValueError, match="preset: unknown 'huge'"):
        build("SRT", preset="huge")


def test_training_flops_sums_components():
    flops = training_flops({"a": (10, True), "b": (5, False)})
    assert flops == {"total": 45, "matmul": 30, "components": {"a": 30, "b": 15}}
