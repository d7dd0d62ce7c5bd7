from recbole_srt.data.dataloader import AllPositionsDataLoader, window_indices
from recbole_srt.data.dataset import SequenceDataset
from recbole_srt.data.schema import BatchSchema

__all__ = ["AllPositionsDataLoader", "BatchSchema", "SequenceDataset", "window_indices"]
