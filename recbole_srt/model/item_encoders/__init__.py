"""Item encoders phi(i): item ids -> [..., hidden_size]. Chosen by the ``item_encoder`` key."""

from recbole_srt.contracts import ItemEncoder
from recbole_srt.registry import Registry, import_modules

ITEM_ENCODERS = Registry("item_encoder", ItemEncoder)

import_modules(__name__, __path__)  # every module here registers itself: a new one is one new file
