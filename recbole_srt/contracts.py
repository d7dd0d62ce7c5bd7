"""What the parts of a plugin model promise each other, written down.

A model of the plugin (SRT, IDTransformer) is an item encoder, a backbone and a next-item loss, each
chosen by a config key from a registry (``recbole_srt/registry.py``). Each part is one file that registers
its class; the registry checks the class against its contract here when it registers, and the model checks
the built part once more (attributes set in ``__init__`` are only visible on the instance). Nothing else in
the package asks a part whether it has an attribute.

Every part also declares ``config_keys``: the keys only it reads, with their defaults. They are layered
under the model's yaml (``SRTConfig``), known to the unknown-key check, and listed in the configuration
reference: a new part needs no line in any shared yaml file.
"""

from typing import Any, ClassVar, Protocol, runtime_checkable

import torch
from torch import nn


@runtime_checkable
class ItemEncoder(Protocol):
    """phi(i): item ids [...] -> representations [..., hidden_size] (``recbole_srt/model/item_encoders/``)."""

    config_keys: ClassVar[dict[str, Any]]
    needs_text: ClassVar[bool]  # True: the build path prepares a tokenizer and per-item token tables
    n_items: int  # the catalog it encodes, padding item 0 included
    tokenizer: dict | None  # {"path", "sha256"} of the tokenizer behind its token ids; None without text

    @classmethod
    def from_config(cls, config, catalog) -> "ItemEncoder": ...

    @staticmethod
    def check_config(config) -> None:
        """Raise ConfigError naming the key, before any data is loaded."""

    def __call__(self, item_ids: torch.Tensor) -> torch.Tensor: ...

    def forward_flops(self, item_ids: torch.Tensor) -> dict:
        """{name: (forward FLOPs, is a matrix product)} of encoding the distinct ``item_ids`` once."""

    def set_item_tokens(self, tables) -> None:
        """Point the encoder at another catalog (token tables), or raise ConfigError if it cannot move."""


@runtime_checkable
class Backbone(Protocol):
    """Causal sequence model: [batch, length, hidden] inputs -> outputs at every position
    (``recbole_srt/model/backbones/``). Position t sees inputs 0..t only."""

    config_keys: ClassVar[dict[str, Any]]
    layers: nn.ModuleList  # the stack, bottom first: progressive unfreezing trains its top layers
    final_norm: nn.Module  # trained with the top layer when unfreezing

    @classmethod
    def from_config(cls, config) -> "Backbone": ...

    @staticmethod
    def check_config(config) -> None: ...

    def __call__(self, item_repr: torch.Tensor, timestamps: torch.Tensor | None = None) -> torch.Tensor: ...

    def forward_flops(self, batch: int, length: int) -> dict: ...


@runtime_checkable
class NextItemLoss(Protocol):
    """One loss per target from the query, the positive and the candidates (``recbole_srt/model/losses/``)."""

    config_keys: ClassVar[dict[str, Any]]
    tau: float  # temperature: scores / tau are the next-item logits (evaluation's cross-entropy reads it)

    @classmethod
    def from_config(cls, config, catalog) -> "NextItemLoss": ...

    @staticmethod
    def check_config(config) -> None: ...

    def negatives(self, pos_ids: torch.Tensor, sequences: int) -> torch.Tensor | None:
        """Sampled candidate ids for the step's targets ``pos_ids`` [N] from ``sequences`` sequences ([K] shared,
        [sequences, K] per sequence or [N, K] per target), or None to score the whole catalog."""

    def __call__(self, query, pos_ids, pos_repr, neg_ids, cand_repr) -> torch.Tensor:
        """[N] losses; ``cand_repr`` is the catalog [n_items, H] when ``negatives`` gave None."""

    def forward_flops(self, targets: int, hidden: int, candidates: int) -> dict: ...


@runtime_checkable
class PluginModel(Protocol):
    """What the build path, the trainer, evaluation, EWC, unfreezing and new-item scoring may call on the
    plugin's models (``recbole_srt/model/sequential_transformer.py``). RecBole's models are driven through
    RecBole's own interface (``calculate_loss``, ``predict``, ``full_sort_predict``) instead."""

    item_encoder: ItemEncoder
    backbone: Backbone
    loss_fct: NextItemLoss
    feedback: nn.Module | None  # the feedback embedding and head (ARGUS), trained with the top layer
    feedback_scale: Any  # None without ``feedback_field``

    @classmethod
    def needs_text(cls, config) -> bool: ...

    @classmethod
    def check_config(cls, config) -> None: ...

    def training_step(self, interaction, neg_ids=None):
        """-> recbole_srt.data.schema.StepResult (loss, targets, FLOPs)."""

    def loss_terms(self, interaction, neg_ids=None): ...

    def objective(self, terms, reduce: str = "mean") -> torch.Tensor: ...

    def sequence_output(self, interaction) -> torch.Tensor: ...

    def score_candidates(self, seq_output: torch.Tensor, item_ids: torch.Tensor) -> torch.Tensor: ...

    def full_sort_predict(self, interaction) -> torch.Tensor: ...

    def item_log_odds(self, scores: torch.Tensor) -> torch.Tensor: ...

    def like_probability(self, seq_output: torch.Tensor, item_ids: torch.Tensor) -> torch.Tensor: ...

    def set_item_tokens(self, tables) -> None: ...


def members(protocol):
    """The names a class must provide to meet ``protocol``: its public methods and its annotated attributes."""
    methods = [n for n, v in vars(protocol).items()
               if not n.startswith("_") and isinstance(v, (classmethod, staticmethod, type(members)))]
    return sorted(set(methods) | set(protocol.__annotations__))


def class_members(protocol):
    """What a registered class must have before it is built: the methods and the ``ClassVar`` declarations;
    attributes that ``__init__`` sets are checked on the built part (:func:`check_instance`)."""
    hints = protocol.__annotations__
    return [n for n in members(protocol) if n not in hints or "ClassVar" in str(hints[n])]


def missing(protocol, obj, names=None):
    return [n for n in (names if names is not None else members(protocol)) if not hasattr(obj, n)]


def check_instance(protocol, obj, where):
    """Raise TypeError naming what ``obj`` lacks of ``protocol`` (a programming error, not a user's)."""
    absent = missing(protocol, obj)
    if absent:
        raise TypeError(f"{where}: {type(obj).__name__} does not meet the {protocol.__name__} contract "
                        f"(recbole_srt/contracts.py): missing {', '.join(absent)}")
    return obj
