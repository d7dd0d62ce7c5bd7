"""The plugin's models. SRT and IDTransformer are :class:`SequentialTransformer` compositions (an item encoder,
a backbone and a loss, each from its registry) that meet the ``PluginModel`` contract; MostPop is a RecBole-style
baseline driven through RecBole's interface like RecBole's own models."""

from recbole_srt.model.backbones import BACKBONES
from recbole_srt.model.id_transformer import IDTransformer
from recbole_srt.model.item_encoders import ITEM_ENCODERS
from recbole_srt.model.losses import LOSSES
from recbole_srt.model.most_pop import MostPop
from recbole_srt.model.sequential_transformer import SequentialTransformer
from recbole_srt.model.srt import SRT
from recbole_srt.registry import config_defaults

__all__ = ["SRT", "IDTransformer", "MostPop"]


def is_plugin_model(model):
    """The one capability test: a class (or model) the plugin composes, trains on all-positions windows and
    scores through the ``PluginModel`` contract. RecBole's models (and MostPop) answer False."""
    cls = model if isinstance(model, type) else type(model)
    return issubclass(cls, SequentialTransformer)


def plugin_model_names():
    """'SRT, IDTransformer': for messages that say which models a key applies to."""
    return ", ".join(name for name in __all__ if is_plugin_model(globals()[name]))


def part_config_defaults():
    """{key: default} of every registered item encoder, backbone and loss (their ``config_keys``)."""
    return config_defaults(ITEM_ENCODERS, BACKBONES, LOSSES)
