"""Sequence backbones: [batch, length, hidden] item representations -> outputs at every position.

Chosen by the ``backbone`` key. Each one is causal (position t sees inputs 0..t only) and
reports its own forward FLOPs, so the scaling study can count any of them.
"""

from recbole_srt.contracts import Backbone
from recbole_srt.registry import Registry, import_modules

BACKBONES = Registry("backbone", Backbone)

import_modules(__name__, __path__)  # every module here registers itself: a new one is one new file
