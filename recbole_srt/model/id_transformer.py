r"""IDTransformer: an ID-based causal transformer trained on all positions.

References:
    Wang-Cheng Kang, Julian McAuley. "Self-Attentive Sequential Recommendation." ICDM 2018 (SASRec).
    Gaowei Zhang et al. "Scaling Law of Large Sequential Recommendation Models." RecSys 2024.

One learned embedding per item (``item_encoder: id``), the causal transformer of SRT
(``backbone: sasrec``) and cross-entropy over the whole catalog (``loss: full_ce``): SASRec
with the CE loss, trained through the plugin's all-positions windows in one causal pass per
window instead of RecBole's one row per prefix. Compare it with RecBole's ``SASRec`` run with
``loss_type: CE`` on the same split. Defaults: ``recbole_srt/properties/model/IDTransformer.yaml``.
"""

from recbole_srt.model.sequential_transformer import SequentialTransformer


class IDTransformer(SequentialTransformer):
    pass
