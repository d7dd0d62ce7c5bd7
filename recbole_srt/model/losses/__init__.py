"""Next-item losses over the sequence outputs of the positions that have a target.

Chosen by the ``loss`` key. A loss says which candidate items it needs encoded
(``negatives``: sampled ids, or None for the whole catalog) and returns one loss per target.
"""

from recbole_srt.contracts import NextItemLoss
from recbole_srt.registry import Registry, import_modules

LOSSES = Registry("loss", NextItemLoss)

import_modules(__name__, __path__)  # every module here registers itself: a new one is one new file
