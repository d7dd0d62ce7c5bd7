"""The model grid of the paper's Table 3 by name, and parameter counts.

inner_size is RecBole's default 256 throughout: the paper does not state it, and with 256 the
largest preset has the 9.6M non-embedding parameters the paper reports (with 4 x hidden it would
have about 19M).

Any other size is named the same way, ``L{layers}-H{heads}-D{hidden}`` with an optional
``-I{inner}`` (default 256), e.g. ``L1-H1-D16`` for the small end of an ID-model law.
"""

import re

from torch import nn
from recbole_srt.config_check import ConfigError

PRESETS = {
    f"L{layers}-H{heads}-D{hidden}": {"n_layers": layers, "n_heads": heads, "hidden_size": hidden, "inner_size": 256}
    for layers, heads, hidden in [(24, 4, 256), (16, 4, 256), (8, 4, 256), (8, 4, 128), (8, 2, 128), (4, 2, 128),
                                  (2, 2, 128), (4, 2, 64)]
}
SMALLEST_FIRST = sorted(PRESETS, key=lambda name: (PRESETS[name]["hidden_size"] ** 2 * PRESETS[name]["n_layers"],
                                                   PRESETS[name]["n_heads"]))


NAMED_SIZE = re.compile(r"L(\d+)-H(\d+)-D(\d+)(?:-I(\d+))?")


def preset(name):
    if name in PRESETS:
        return dict(PRESETS[name])
    match = NAMED_SIZE.fullmatch(str(name))
    if not match or 0 in [int(g) for g in match.groups() if g]:
        raise ConfigError(f"preset: unknown '{name}'; the paper's presets are {', '.join(SMALLEST_FIRST)}, and any "
                          "L<layers>-H<heads>-D<hidden>[-I<inner>] names a size") from None
    layers, heads, hidden, inner = match.groups()
    if int(hidden) % int(heads):
        raise ConfigError(f"preset: '{name}': hidden size {hidden} is not divisible by {heads} heads")
    return {"n_layers": int(layers), "n_heads": int(heads), "hidden_size": int(hidden), "inner_size": int(inner or 256)}


def parameter_counts(model):
    """Total and non-embedding parameters. Embeddings are lookup tables (token tables of SRT's item
    encoder, item tables of ID models, position tables): they cost memory, not FLOPs."""
    total = sum(p.numel() for p in model.parameters())
    embedding = sum(m.weight.numel() for m in model.modules() if isinstance(m, (nn.Embedding, nn.EmbeddingBag)))
    return {"total": total, "non_embedding": total - embedding}
