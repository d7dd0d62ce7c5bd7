r"""SRT: the Scalable Recommendation Transformer.

Reference:
    Pablo Zivic, Hernan Vazquez, Jorge Sánchez. "Scaling Sequential Recommendation Models
    with Transformers." SIGIR 2024.

Items have no ID embedding: a trainable text feature extractor (``item_encoder: text``)
encodes every item from its text fields, so the number of parameters does not depend on
the catalog. A SASRec-style causal transformer (``backbone: sasrec``) predicts the next item,
trained with a sampled softmax against K popularity-sampled negatives with logQ correction
(``loss: sampled_softmax``, SRT-K) on every position of every sequence. Defaults:
``recbole_srt/properties/model/SRT.yaml``.
"""

from recbole_srt.model.sequential_transformer import SequentialTransformer


class SRT(SequentialTransformer):
    pass
