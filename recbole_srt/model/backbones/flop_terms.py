"""FLOP terms that several backbones share (a multiply-add = 2 FLOPs; forward pass only)."""

LAYER_NORM_FLOPS = 5  # per element: mean, variance, normalise, scale, shift
SOFTMAX_FLOPS = 5  # per score: max, subtract, exp, sum, divide


def softmax_attention_flops(n_layers, batch, length, hidden, n_heads):
    """QKV and output projections and dense scaled-dot-product attention over [batch, length].

    Attention is counted dense (L x L per head, as the math kernel computes it, although the
    causal half is masked); bias additions are not counted."""
    positions, n = batch * length, n_layers
    return {
        "attention: qkv projections": (n * 2 * positions * hidden * 3 * hidden, True),
        "attention: scores": (n * 2 * batch * length * length * hidden, True),
        "attention: softmax": (n * SOFTMAX_FLOPS * batch * n_heads * length * length, False),
        "attention: values": (n * 2 * batch * length * length * hidden, True),
        "attention: output projection": (n * 2 * positions * hidden * hidden, True),
    }
