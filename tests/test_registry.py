"""A new backbone is one class registered under a name: it meets the Backbone contract (checked when it
registers), declares its own config keys beside its code, models pick it by config, and the scaling FLOPs
counter counts it from its own report."""

import pytest
import torch
from torch import nn

from recbole_srt.model.backbones import BACKBONES
from recbole_srt.model.item_encoders import ITEM_ENCODERS
from recbole_srt.model.losses import LOSSES

from conftest import make_run


class GRUBackbone(nn.Module):
    """A causal GRU: what a user's new backbone file would hold."""

    config_keys = {"gru_layers": 1}  # its own key: no shared yaml file names it

    def __init__(self, hidden_size, n_layers):
        super().__init__()
        self.layers = nn.ModuleList(nn.GRU(hidden_size, hidden_size, batch_first=True) for _ in range(n_layers))
        self.final_norm = nn.LayerNorm(hidden_size)

    @classmethod
    def from_config(cls, config):
        return cls(config["hidden_size"], config["gru_layers"])

    @staticmethod
    def check_config(config):
        if config["gru_layers"] < 1:
            raise ValueError(f"gru_layers must be >= 1, got {config['gru_layers']}")

    def forward(self, item_repr, timestamps=None):
        for gru in self.layers:
            item_repr = gru(item_repr)[0]
        return self.final_norm(item_repr)

    def forward_flops(self, batch, length):
        hidden = self.final_norm.normalized_shape[0]
        return {"gru": (len(self.layers) * 2 * batch * length * 3 * 2 * hidden * hidden, True)}


@pytest.fixture()
def gru_registered():
    BACKBONES.register("test_gru")(GRUBackbone)
    yield
    BACKBONES._entries.pop("test_gru")


def test_a_registered_backbone_trains_through_every_item_encoder(gru_registered):
    for model, encoder in (("IDTransformer", "id"), ("SRT", "text"), ("SRT", "text+id")):
        run = make_run(model, backbone="test_gru", item_encoder=encoder)
        assert isinstance(run.model.backbone, GRUBackbone) and len(run.model.backbone.layers) == 1
        step = run.model.training_step(next(iter(run.train_data)))
        step.loss.backward()
        assert torch.isfinite(step.loss) and step.flops > 0


def test_a_new_parts_own_key_has_its_default_and_is_known(gru_registered):
    run = make_run("IDTransformer", backbone="test_gru", gru_layers=2)
    assert run.config["gru_layers"] == 2 and len(run.model.backbone.layers) == 2
    with pytest.raises(ValueError, match="gru_layers must be >= 1"):
        make_run("IDTransformer", backbone="test_gru", gru_layers=0)


def test_a_class_that_misses_the_contract_is_refused_when_it_registers():
    class NoFlops(nn.Module):
        config_keys = {}

        @classmethod
        def from_config(cls, config):
            return cls()

    with pytest.raises(TypeError, match="backbone 'broken': NoFlops does not meet the Backbone contract .*"
                                        "missing check_config, forward_flops"):
        BACKBONES.register("broken")(NoFlops)
    assert "broken" not in BACKBONES


def test_two_parts_may_not_give_one_key_two_defaults():
    from recbole_srt.model.losses.full_ce import FullCrossEntropyLoss
    from recbole_srt.registry import Registry, config_defaults
    from recbole_srt.contracts import NextItemLoss

    class Colder(FullCrossEntropyLoss):
        config_keys = {"tau": 0.5}

    registry = Registry("loss", NextItemLoss)
    registry.register("full_ce")(FullCrossEntropyLoss)
    registry.register("colder")(Colder)
    with pytest.raises(TypeError, match="config key 'tau': loss 'full_ce' declares the default 1.0, loss 'colder' "
                                        "declares 0.5"):
        config_defaults(registry)


def test_unknown_names_list_the_registered_ones():
    assert {"sasrec"} <= set(BACKBONES.names()) and {"text", "id", "text+id", "fusion"} == set(ITEM_ENCODERS.names())
    assert {"sampled_softmax", "full_ce"} == set(LOSSES.names())
    with pytest.raises(ValueError, match="backbone: unknown 'transformer'; choose one of .*sasrec"):
        make_run("SRT", backbone="transformer")
