from recbole_srt.model.id_transformer import IDTransformer
from recbole_srt.model.most_pop import MostPop
from recbole_srt.model.srt import SRT

__all__ = ["IDTransformer", "MostPop", "SRT"]
