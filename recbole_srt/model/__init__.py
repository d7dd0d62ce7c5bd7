from recbole_srt.model.most_pop import MostPop
from recbole_srt.model.srt import SRT

__all__ = ["MostPop", "SRT"]
