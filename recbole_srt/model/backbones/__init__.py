"""Sequence backbones: [batch, length, hidden] item representations -> outputs at every position.

Chosen by the ``backbone`` key. Each one is causal (position t sees inputs 0..t only) and
reports its own forward FLOPs, so the scaling study can count any of them.
"""

from recbole_srt.registry import Registry

BACKBONES = Registry("backbone")

# One line per backbone: importing the module registers it.
from recbole_srt.model.backbones import sasrec as _sasrec  # noqa: E402,F401
from recbole_srt.model.backbones import hstu as _hstu  # noqa: E402,F401
from recbole_srt.model.backbones import llama as _llama  # noqa: E402,F401
