"""Next-item losses over the sequence outputs of the positions that have a target.

Chosen by the ``loss`` key. A loss says which candidate items it needs encoded
(``negatives``: sampled ids, or None for the whole catalog) and returns one loss per target.
"""

from recbole_srt.registry import Registry

LOSSES = Registry("loss")

# One line per loss: importing the module registers it.
from recbole_srt.model.losses import full_ce as _full_ce  # noqa: E402,F401
from recbole_srt.model.losses import sampled_softmax as _sampled_softmax  # noqa: E402,F401
