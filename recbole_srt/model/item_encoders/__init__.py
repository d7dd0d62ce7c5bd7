"""Item encoders phi(i): item ids -> [..., hidden_size]. Chosen by the ``item_encoder`` key."""

from recbole_srt.registry import Registry

ITEM_ENCODERS = Registry("item_encoder")

# One line per encoder: importing the module registers it.
from recbole_srt.model.item_encoders import id as _id  # noqa: E402,F401
from recbole_srt.model.item_encoders import text as _text  # noqa: E402,F401
from recbole_srt.model.item_encoders import text_id as _text_id  # noqa: E402,F401
