from recbole_srt.data.dataloader import AllPositionsDataLoader, build_windows
from recbole_srt.data.dataset import SRTDataset
from recbole_srt.data.preparation import create_dataset, data_preparation

__all__ = ["AllPositionsDataLoader", "SRTDataset", "build_windows", "create_dataset", "data_preparation"]
