"""A next-item model composed of an item encoder, a backbone and a loss, each chosen by config.

    item_encoder: text | id | text+id      (recbole_srt/model/item_encoders/)
    backbone:     sasrec                   (recbole_srt/model/backbones/)
    loss:         sampled_softmax | full_ce (recbole_srt/model/losses/)

Scores are dot products between the backbone's output at a position and item encodings.
Training batches are all-positions windows (see ``recbole_srt/data/schema.py``) or RecBole's
augmented rows (one target per row); both go through :meth:`training_step`.
"""

import torch
from recbole.model.abstract_recommender import SequentialRecommender
from recbole.utils import InputType

from recbole_srt.data.schema import BatchSchema, StepResult
from recbole_srt.model.backbones import BACKBONES
from recbole_srt.model.item_encoders import ITEM_ENCODERS
from recbole_srt.model.losses import LOSSES
from recbole_srt.scaling.flops import training_flops

ITEM_CACHE_CHUNK = 65536


class SequentialTransformer(SequentialRecommender):
    input_type = InputType.POINTWISE
    trains_on_windows = True  # the build path may feed it all-positions windows

    def __init__(self, config, dataset, catalog=None):
        super().__init__(config, dataset)
        if catalog is None:
            raise ValueError(f"{type(self).__name__} is built from an item catalog: create it with "
                             "recbole_srt.build.build_run(config), which prepares one")
        self.schema = BatchSchema.from_config(config, config["TIME_FIELD"], config["feedback_field"])
        self.hidden_size = config["hidden_size"]
        self.initializer_range = config["initializer_range"]
        self.item_encoder = ITEM_ENCODERS.get(config["item_encoder"]).from_config(config, catalog)
        self.backbone = BACKBONES.get(config["backbone"]).from_config(config)
        self.loss_fct = LOSSES.get(config["loss"]).from_config(config, catalog)
        self.apply(self._init_weights)
        self._item_cache = None

    @classmethod
    def parts(cls, config):
        """The (item encoder, backbone, loss) classes the config names."""
        return (ITEM_ENCODERS.get(config["item_encoder"]), BACKBONES.get(config["backbone"]),
                LOSSES.get(config["loss"]))

    @classmethod
    def needs_text(cls, config):
        return cls.parts(config)[0].needs_text

    @classmethod
    def check_config(cls, config):
        """Fail before any data is loaded, naming the offending key."""
        for part in cls.parts(config):
            check = getattr(part, "check_config", None)
            if check is not None:
                check(config)

    def _init_weights(self, module):
        if isinstance(module, (torch.nn.Linear, torch.nn.Embedding, torch.nn.EmbeddingBag)):
            module.weight.data.normal_(mean=0.0, std=self.initializer_range)
            if getattr(module, "padding_idx", None) is not None:
                module.weight.data[module.padding_idx].zero_()
        elif isinstance(module, torch.nn.LayerNorm):
            module.bias.data.zero_()
            module.weight.data.fill_(1.0)
        if isinstance(module, torch.nn.Linear) and module.bias is not None:
            module.bias.data.zero_()

    # ----- items -----------------------------------------------------------------------
    def item_representations(self):
        """phi(i) of the whole catalog, computed once and reused until the next training step."""
        if self.training or self._item_cache is None:
            device = next(self.parameters()).device
            ids = torch.arange(self.item_encoder.n_items, device=device)
            with torch.set_grad_enabled(self.training):
                cache = torch.cat([self.item_encoder(chunk) for chunk in ids.split(ITEM_CACHE_CHUNK)])
            if self.training:
                return cache
            self._item_cache = cache
        return self._item_cache

    def set_item_tokens(self, tables):
        """Point a text model at another catalog (token tables from ``recbole_srt.data.catalog``)."""
        self.item_encoder.set_item_tokens(tables)
        self._item_cache = None

    def train(self, mode=True):
        self._item_cache = None
        return super().train(mode)

    def load_state_dict(self, state_dict, strict=True, assign=False):
        self._item_cache = None
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    # ----- sequences -------------------------------------------------------------------
    def forward(self, item_seq, item_seq_len, timestamps=None):
        """The backbone's output after the last input of each sequence: [batch, hidden]."""
        item_repr = self.item_representations()[item_seq]
        return self.gather_indexes(self.backbone(item_repr, timestamps), item_seq_len - 1)

    def sequence_output(self, interaction):
        """:meth:`forward` on the fields of a batch (timestamps included where the batch has them)."""
        timestamps = interaction[self.schema.time_seq] if self.schema.time_seq in interaction else None
        return self.forward(interaction[self.ITEM_SEQ], interaction[self.ITEM_SEQ_LEN], timestamps)

    # ----- training --------------------------------------------------------------------
    def targets_of(self, interaction):
        """[batch, length] next item at every position (0: no loss), for windows or augmented rows."""
        if self.schema.targets in interaction:
            return interaction[self.schema.targets]
        item_seq = interaction[self.ITEM_SEQ]
        targets = torch.zeros_like(item_seq)
        rows = torch.arange(len(item_seq), device=item_seq.device)
        targets[rows, interaction[self.ITEM_SEQ_LEN] - 1] = interaction[self.POS_ITEM_ID]
        return targets

    def training_step(self, interaction, neg_ids=None):
        """Loss, target count and FLOPs of one batch. ``neg_ids`` overrides the loss's draw (tests)."""
        losses, targets, components = self.target_losses(interaction, neg_ids)
        return StepResult(losses.mean(), targets, training_flops(components)["total"])

    def target_losses(self, interaction, neg_ids=None):
        """(loss of every target in row-major order of its positions, target count, the step's
        forward FLOPs by component as :meth:`forward_flops` gives them)."""
        self._item_cache = None
        item_seq = interaction[self.ITEM_SEQ]
        targets = self.targets_of(interaction)
        mask = interaction[self.schema.target_mask] if self.schema.target_mask in interaction else targets > 0
        pos_ids = targets[mask]
        if neg_ids is None:
            neg_ids = self.loss_fct.negatives(pos_ids)
        if neg_ids is None:  # the loss scores the whole catalog
            catalog = self.item_representations()
            seq_repr, pos_repr, cand_repr = catalog[item_seq], catalog[pos_ids], catalog
            unique = torch.arange(len(catalog), device=item_seq.device)
            n_candidates = len(catalog) - 1
        else:
            # One encoder call for inputs, positives and negatives: each distinct item once.
            all_ids = torch.cat([item_seq.reshape(-1), pos_ids, neg_ids.reshape(-1)])
            unique, inverse = torch.unique(all_ids, return_inverse=True)
            reps = self.item_encoder(unique)[inverse]
            n_seq = item_seq.numel()
            seq_repr = reps[:n_seq].view(*item_seq.shape, -1)
            pos_repr = reps[n_seq:n_seq + len(pos_ids)]
            cand_repr = reps[n_seq + len(pos_ids):].view(*neg_ids.shape, -1)
            n_candidates = neg_ids.shape[-1]
        timestamps = interaction[self.schema.time_seq] if self.schema.time_seq in interaction else None
        query = self.backbone(seq_repr, timestamps)[mask]
        losses = self.loss_fct(query, pos_ids, pos_repr, neg_ids, cand_repr)
        return losses, len(pos_ids), self.forward_flops(item_seq.shape, len(pos_ids), unique, n_candidates)

    def calculate_loss(self, interaction):
        return self.training_step(interaction).loss

    def forward_flops(self, shape, targets, unique_items, candidates):
        """{name: (forward FLOPs, is a matrix product)} of a step, summed from the parts' own counts."""
        return {
            **self.item_encoder.forward_flops(unique_items),
            **self.backbone.forward_flops(*shape),
            **self.loss_fct.forward_flops(targets, self.hidden_size, candidates),
        }

    # ----- scoring ---------------------------------------------------------------------
    def predict(self, interaction):
        return self.score_candidates(self.sequence_output(interaction), interaction[self.ITEM_ID])

    def full_sort_predict(self, interaction):
        return self.sequence_output(interaction) @ self.item_representations().T

    def score_candidates(self, seq_output, item_ids):
        """Scores of ``item_ids`` [N] for the sequence outputs [N, H] (fast sampled evaluation)."""
        return (seq_output * self.item_representations()[item_ids]).sum(-1)
