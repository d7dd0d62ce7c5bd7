"""Make RecBole 1.2.1 work on today's numpy / pandas / torch without editing site-packages.

Import this module before anything from ``recbole``: every other module of the
package does so through ``recbole_srt/__init__.py``.
"""

import numpy as np
import pandas as pd
import torch

# RecBole's Config.compatibility_settings() reads these aliases, removed in numpy 2.
for _alias, _target in (("float_", np.float64), ("complex_", np.complex128), ("unicode_", np.str_)):
    if not hasattr(np, _alias):
        setattr(np, _alias, _target)

# pandas 3 turns RecBole's ``fillna(inplace=True)`` on column slices into a no-op, and
# missing item text then crashes dataset loading much later with an unrelated error.
if int(pd.__version__.split(".")[0]) >= 3:
    raise ImportError(
        f"recbole_srt needs pandas < 3 (found {pd.__version__}): RecBole 1.2.1 relies on "
        "in-place fillna, which pandas 3 silently ignores. Install 'pandas<3'."
    )


def import_sequential_models():
    """Import RecBole's sequential models, undoing the global side effect of sine.py.

    ``recbole/model/sequential_recommender/sine.py`` calls
    ``torch.autograd.set_detect_anomaly(True)`` at import time, which slows every
    backward pass several-fold for the whole process.
    """
    import recbole.model.sequential_recommender as seq  # noqa: F401

    torch.autograd.set_detect_anomaly(False)
    return seq
