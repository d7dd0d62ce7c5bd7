"""The fields that pass between dataloader, model and trainer, named in one place.

Training batches (``AllPositionsDataLoader``) and evaluation batches (RecBole's loaders over
``SequenceDataset``) are RecBole ``Interaction`` objects keyed by these names. Every tensor
below is [batch, length] unless noted, right-padded, 0 = padding:

- ``item_seq``: input item ids (RecBole's ``<ITEM_ID_FIELD><LIST_SUFFIX>``);
- ``item_seq_len``: [batch] number of real inputs (RecBole's ``ITEM_LIST_LENGTH_FIELD``);
- ``positions``: index of each input in the user's whole training sequence (windows cut
  from long histories keep their place);
- ``targets``: the next item at each position, 0 where no loss is taken;
- ``target_mask``: bool, ``targets > 0``;
- ``time_seq``: timestamps of the inputs, when the dataset loads ``TIME_FIELD``;
- ``feedback_seq`` / ``target_feedback``: the user's reaction (e.g. the rating) to each input
  and to each target, when ``feedback_field`` names a loaded interaction column.
"""

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class BatchSchema:
    item_seq: str
    item_seq_len: str
    positions: str
    targets: str
    target_mask: str
    time_seq: str | None
    feedback_seq: str | None
    target_feedback: str | None

    @classmethod
    def from_config(cls, config, time_field=None, feedback_field=None):
        """``time_field`` / ``feedback_field``: interaction columns the dataset actually loaded."""
        suffix = config["LIST_SUFFIX"]
        item_seq = config["ITEM_ID_FIELD"] + suffix
        return cls(
            item_seq=item_seq,
            item_seq_len=config["ITEM_LIST_LENGTH_FIELD"],
            positions="position_in_sequence",
            targets="target_" + item_seq,
            target_mask="target_mask",
            time_seq=time_field + suffix if time_field else None,
            feedback_seq=feedback_field + suffix if feedback_field else None,
            target_feedback="target_" + feedback_field + suffix if feedback_field else None,
        )


@dataclass
class StepResult:
    """What one training step reports to the trainer."""

    loss: torch.Tensor  # the value to minimise (SRT, IDTransformer: mean over the step's targets)
    # Counts may be 0-dim tensors on the device: the trainer sums them and reads them once an epoch.
    targets: int | torch.Tensor  # interactions under the loss, the scaling study's T (RecBole models: rows)
    flops: int | torch.Tensor  # forward + backward FLOPs, analytic (recbole_srt/model/flops.py); 0 when unknown
