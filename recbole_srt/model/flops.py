"""Training FLOPs from the forward counts that each part of a model reports.

Conventions (those of Kaplan et al. 2020 and of ``torch.utils.flop_counter``): a multiply-add is
2 FLOPs; the backward pass costs twice the forward; bias additions are not counted. Each item
encoder, backbone and loss reports ``{name: (forward FLOPs, is a matrix product)}`` for the work it
did (``forward_flops``); matrix products are what ``FlopCounterMode`` counts and what the tests
compare, and element-wise work (token pooling, layer norms, softmax, activations) is listed beside
them and is a few per cent.
"""


def training_flops(forward_components):
    """Forward + backward FLOPs of one step: ``{"total", "matmul", "components"}``."""
    components = {name: 3 * flops for name, (flops, _) in forward_components.items()}
    matmul = sum(3 * flops for flops, is_matmul in forward_components.values() if is_matmul)
    return {"total": sum(components.values()), "matmul": matmul, "components": components}
