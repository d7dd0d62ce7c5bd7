"""Cross-entropy of queries against a whole item table, without the [targets, items] logits in memory.

``F.cross_entropy(query @ table.T, targets)`` writes the logits, their log-softmax, a zero-filled gradient
and the gradient of the logits, each [targets, items]: on Beauty (12K items) hundreds of megabytes per
step, so an ID model's step on a CPU waits on memory, not on arithmetic. Here the rows go through in
chunks small enough to stay in cache: the forward keeps only each row's log-sum-exp, and the backward
computes each chunk's logits again and turns them into the softmax gradient in place. That is one more
product over the table, against four fewer passes over the largest tensor of the step.
"""

import torch

CHUNK_BYTES = 4 << 20  # one chunk of logits: fits a CPU's L2/L3, large enough for efficient products


def rows_per_chunk(n_items, element_size=4):
    return max(16, CHUNK_BYTES // max(1, n_items * element_size))


class ChunkedCrossEntropy(torch.autograd.Function):
    """Per-row loss ``logsumexp(q W^T) - (1 - eps) q.W[t] - eps mean_j q.W[j]``: cross-entropy with label
    smoothing eps spread over the table's rows, as ``F.cross_entropy(..., label_smoothing=eps)``."""

    @staticmethod
    def forward(ctx, query, table, targets, label_smoothing, chunk):
        lse = torch.empty(len(query), dtype=query.dtype, device=query.device)
        for start in range(0, len(query), chunk):
            rows = slice(start, start + chunk)
            lse[rows] = torch.logsumexp(query[rows] @ table.T, dim=1)
        target_logit = (query * table[targets]).sum(-1)
        loss = lse - (1 - label_smoothing) * target_logit
        if label_smoothing:
            loss = loss - label_smoothing * (query @ table.mean(0))
        ctx.save_for_backward(query, table, targets, lse)
        ctx.label_smoothing, ctx.chunk = label_smoothing, chunk
        return loss

    @staticmethod
    def backward(ctx, grad_loss):
        query, table, targets, lse = ctx.saved_tensors
        eps, chunk = ctx.label_smoothing, ctx.chunk
        grad_query = torch.empty_like(query)
        grad_table = torch.zeros_like(table)
        for start in range(0, len(query), chunk):
            rows = slice(start, start + chunk)
            # d loss / d logits = softmax - (1 - eps) onehot - eps / n: the softmax part here, in place
            probs = (query[rows] @ table.T).sub_(lse[rows, None]).exp_().mul_(grad_loss[rows, None])
            torch.mm(probs, table, out=grad_query[rows])
            grad_table.addmm_(probs.T, query[rows])
        weight = (1 - eps) * grad_loss[:, None]
        grad_query -= weight * table[targets]
        grad_table.index_add_(0, targets, -weight * query)
        if eps:
            grad_query -= eps * grad_loss[:, None] * table.mean(0)
            grad_table -= (eps / len(table)) * (grad_loss @ query)
        return grad_query, grad_table, None, None, None


def chunked_cross_entropy(query, table, targets, label_smoothing=0.0, chunk=None):
    """[S] losses of queries [S, H] whose classes are the rows of ``table`` [n, H]; targets [S] index them."""
    return ChunkedCrossEntropy.apply(query, table, targets, float(label_smoothing),
                                     chunk or rows_per_chunk(len(table), query.element_size()))
