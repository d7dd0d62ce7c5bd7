"""Analytic training FLOPs of SRT, step by step.

Conventions (those of Kaplan et al. 2020 and of ``torch.utils.flop_counter``): a multiply-add is
2 FLOPs; the backward pass costs twice the forward; attention is counted dense (L x L per head,
as the math kernel computes it, although the causal half is masked); bias additions are not
counted. Matrix products are what ``FlopCounterMode`` counts and what the tests compare; element-wise
work (token pooling, layer norms, softmax, activations) is listed beside them and is a few per cent.
"""

from dataclasses import dataclass

LAYER_NORM_FLOPS = 5  # per element: mean, variance, normalise, scale, shift
SOFTMAX_FLOPS = 5  # per score: max, subtract, exp, sum, divide
ACTIVATION_FLOPS = 8  # per element, GELU by its tanh approximation


@dataclass(frozen=True)
class SRTDims:
    n_layers: int
    hidden_size: int
    inner_size: int
    n_heads: int
    n_fields: int
    token_dim: int

    @classmethod
    def of(cls, model):
        return cls(model.n_layers, model.hidden_size, model.inner_size, model.n_heads,
                   len(model.text_fields), model.token_embedding_size)


@dataclass(frozen=True)
class StepShape:
    """What one training step computed: ``batch`` x ``length`` positions through the transformer,
    ``targets`` losses, ``unique_items`` items through the feature extractor (inputs, positives and
    negatives, each distinct item once) holding ``item_tokens`` non-padding tokens in all, and
    ``negatives`` scored per target (shared by the step or drawn per target: the same count)."""

    batch: int
    length: int
    targets: int
    unique_items: int
    item_tokens: int
    negatives: int


def forward_components(dims, step):
    """{name: (forward FLOPs, is a matrix product)} for one step."""
    d, f, n = dims.hidden_size, dims.inner_size, dims.n_layers
    positions = step.batch * step.length
    scores = step.batch * dims.n_heads * step.length * step.length
    return {
        "item encoder: token pooling": (step.item_tokens * dims.token_dim, False),
        "item encoder: projection": (2 * step.unique_items * dims.n_fields * dims.token_dim * d, True),
        "attention: qkv projections": (n * 2 * positions * d * 3 * d, True),
        "attention: scores": (n * 2 * step.batch * step.length * step.length * d, True),
        "attention: softmax": (n * SOFTMAX_FLOPS * scores, False),
        "attention: values": (n * 2 * step.batch * step.length * step.length * d, True),
        "attention: output projection": (n * 2 * positions * d * d, True),
        "feed-forward": (n * 2 * 2 * positions * d * f, True),
        "feed-forward: activation": (n * ACTIVATION_FLOPS * positions * f, False),
        "layer norms": ((2 * n + 1) * LAYER_NORM_FLOPS * positions * d, False),
        "logits: positives": (2 * step.targets * d, False),
        "logits: negatives": (2 * step.targets * step.negatives * d, True),
    }


def training_step_flops(dims, step):
    """Forward + backward FLOPs of one step: ``{"total", "matmul", "components"}``."""
    components = {name: 3 * flops for name, (flops, _) in forward_components(dims, step).items()}
    matmul = sum(3 * flops for flops, is_matmul in forward_components(dims, step).values() if is_matmul)
    return {"total": sum(components.values()), "matmul": matmul, "components": components}
