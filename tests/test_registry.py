"""A new backbone is one class registered under a name: models pick it by config, and the
scaling FLOPs counter counts it from its own report."""

import pytest
import torch
from torch import nn

from recbole_srt.model.backbones import BACKBONES
from recbole_srt.model.item_encoders import ITEM_ENCODERS
from recbole_srt.model.losses import LOSSES

from conftest import make_run


class GRUBackbone(nn.Module):
    """A causal GRU: what a user's new backbone file would hold."""

    def __init__(self, hidden_size):
        super().__init__()
        self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)

    @classmethod
    def from_config(cls, config):
        return cls(config["hidden_size"])

    def forward(self, item_repr, timestamps=None):
        return self.gru(item_repr)[0]

    def forward_flops(self, batch, length):
        hidden = self.gru.hidden_size
        return {"gru": (2 * batch * length * 3 * 2 * hidden * hidden, True)}


@pytest.fixture()
def gru_registered():
    BACKBONES.register("test_gru")(GRUBackbone)
    yield
    BACKBONES._entries.pop("test_gru")


def test_a_registered_backbone_trains_through_every_item_encoder(gru_registered):
    for model, encoder in (("IDTransformer", "id"), ("SRT", "text"), ("SRT", "text+id")):
        run = make_run(model, backbone="test_gru", item_encoder=encoder)
        assert isinstance(run.model.backbone, GRUBackbone)
        step = run.model.training_step(next(iter(run.train_data)))
        step.loss.backward()
        assert torch.isfinite(step.loss) and step.flops > 0


def test_unknown_names_list_the_registered_ones():
    assert {"sasrec"} <= set(BACKBONES.names()) and {"text", "id", "text+id"} == set(ITEM_ENCODERS.names())
    assert {"sampled_softmax", "full_ce"} == set(LOSSES.names())
    with pytest.raises(ValueError, match="backbone: unknown 'transformer'; choose one of .*sasrec"):
        make_run("SRT", backbone="transformer")
