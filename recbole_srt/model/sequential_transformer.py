"""A next-item model composed of an item encoder, a backbone and a loss, each chosen by config.

    item_encoder: text | id | text+id      (recbole_srt/model/item_encoders/)
    backbone:     sasrec | llama | hstu    (recbole_srt/model/backbones/)
    loss:         sampled_softmax | full_ce (recbole_srt/model/losses/)
    feedback:     the user's reaction as input and as a second head (recbole_srt/model/feedback.py)

Scores are dot products between the backbone's output at a position and item encodings.
The loss of a step is ``next_item_weight`` x next-item loss + ``feedback_weight`` x feedback loss.
Training batches are all-positions windows (see ``recbole_srt/data/schema.py``) or RecBole's
augmented rows (one target per row); both go through :meth:`training_step`.
"""

from dataclasses import dataclass

import torch
from recbole.model.abstract_recommender import SequentialRecommender
from recbole.utils import InputType

from recbole_srt.config_check import ConfigError
from recbole_srt.data.schema import BatchSchema, StepResult
from recbole_srt.model.backbones import BACKBONES
from recbole_srt.model.feedback import Feedback, FeedbackScale
from recbole_srt.model.item_encoders import ITEM_ENCODERS
from recbole_srt.model.losses import LOSSES
from recbole_srt.scaling.flops import training_flops

ITEM_CACHE_CHUNK = 65536


@dataclass
class LossTerms:
    item_losses: torch.Tensor | None  # next-item loss per next-item target; None with next_item_weight 0
    feedback_losses: torch.Tensor | None  # feedback loss per target; None without a feedback head
    targets: int  # positions under the loss
    components: dict  # forward FLOPs by component


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
        self.next_item_weight = float(config["next_item_weight"])
        self.liked_targets_only = config["next_item_targets"] == "liked"
        self.feedback_field = config["feedback_field"]
        self.feedback_scale = FeedbackScale.from_config(config) if self.feedback_field else None
        self.feedback = Feedback.from_config(config, self.feedback_scale)
        if self.feedback_scale is not None:
            self._check_feedback_data(config, dataset)
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
        Feedback.check_config(config)
        for part in cls.parts(config):
            check = getattr(part, "check_config", None)
            if check is not None:
                check(config)

    def _check_feedback_data(self, config, dataset):
        values = getattr(dataset, "flat_feedback", None)
        if values is None:
            raise ConfigError(f"feedback_field '{self.feedback_field}' is not a loaded interaction column of "
                              f"{config['dataset']} (load_col: {config['load_col']})")
        self.feedback_scale.check_values(values, self.feedback_field)

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
    def forward(self, item_seq, item_seq_len, timestamps=None, feedback=None):
        """The backbone's output after the last input of each sequence: [batch, hidden]."""
        inputs = self.with_feedback(self.item_representations()[item_seq], item_seq, feedback)
        return self.gather_indexes(self.backbone(inputs, timestamps), item_seq_len - 1)

    def sequence_output(self, interaction):
        """:meth:`forward` on the fields of a batch (timestamps and feedback where the batch has them)."""
        timestamps = interaction[self.schema.time_seq] if self.schema.time_seq in interaction else None
        return self.forward(interaction[self.ITEM_SEQ], interaction[self.ITEM_SEQ_LEN], timestamps,
                            self.feedback_inputs(interaction))

    def feedback_inputs(self, interaction):
        if self.feedback is None or self.feedback.embedding is None:
            return None
        if self.schema.feedback_seq not in interaction:
            raise KeyError(f"{type(self).__name__} reads feedback_field '{self.feedback_field}' with its items, "
                           f"but the batch has no '{self.schema.feedback_seq}' column")
        return interaction[self.schema.feedback_seq]

    def with_feedback(self, item_repr, item_seq, feedback):
        """Each input item plus the embedding of the user's reaction to it (ARGUS)."""
        if feedback is None:
            return item_repr
        return item_repr + self.feedback.embed(feedback, item_seq > 0)

    # ----- training --------------------------------------------------------------------
    def targets_of(self, interaction):
        """[batch, length] next item at every position (0: no loss), for windows or augmented rows."""
        if self.schema.targets in interaction:
            return interaction[self.schema.targets]
        return self._at_last_position(interaction, interaction[self.POS_ITEM_ID])

    def target_feedback_of(self, interaction):
        """[batch, length] the user's feedback on each target, for windows or augmented rows."""
        if self.schema.target_feedback in interaction:
            return interaction[self.schema.target_feedback]
        return self._at_last_position(interaction, interaction[self.feedback_field])

    def _at_last_position(self, interaction, values):
        """An augmented row's one target sits after its last input."""
        item_seq = interaction[self.ITEM_SEQ]
        out = torch.zeros(item_seq.shape, dtype=values.dtype, device=item_seq.device)
        out[torch.arange(len(item_seq), device=item_seq.device), interaction[self.ITEM_SEQ_LEN] - 1] = values
        return out

    def training_step(self, interaction, neg_ids=None):
        """Loss, target count and FLOPs of one batch. ``neg_ids`` overrides the loss's draw (tests)."""
        terms = self.loss_terms(interaction, neg_ids)
        return StepResult(self.objective(terms), terms.targets, training_flops(terms.components)["total"])

    def objective(self, terms, reduce="mean"):
        """The weighted next-item and feedback losses of :meth:`loss_terms`, each averaged over its targets
        (``reduce="sum"``: summed, one sequence's log-likelihood for the EWC Fisher)."""
        loss = 0.0
        for weight, losses in ((self.next_item_weight, terms.item_losses),
                               (self.feedback.weight if self.feedback else 0.0, terms.feedback_losses)):
            if losses is not None:  # a step without liked targets has no next-item term
                loss = loss + weight * losses.sum() / (max(len(losses), 1) if reduce == "mean" else 1)
        return loss

    def target_losses(self, interaction, neg_ids=None):
        """(next-item loss of every target in row-major order of its positions, target count, the
        step's forward FLOPs by component as :meth:`forward_flops` gives them)."""
        terms = self.loss_terms(interaction, neg_ids)
        return terms.item_losses, terms.targets, terms.components

    def loss_terms(self, interaction, neg_ids=None):
        self._item_cache = None
        item_seq = interaction[self.ITEM_SEQ]
        targets = self.targets_of(interaction)
        mask = interaction[self.schema.target_mask] if self.schema.target_mask in interaction else targets > 0
        target_ids = targets[mask]
        predicts_feedback = self.feedback is not None and self.feedback.head is not None
        values = self.target_feedback_of(interaction)[mask] if predicts_feedback or self.liked_targets_only else None
        trains_items = self.next_item_weight > 0
        # Next-item targets: all, or only the liked ones (every interaction is still read as context).
        picked = self.feedback_scale.liked(values) if self.liked_targets_only else None
        pos_ids = target_ids[picked] if picked is not None else target_ids
        if trains_items and neg_ids is None:
            neg_ids = self.loss_fct.negatives(pos_ids)
        if trains_items and neg_ids is None:  # the loss scores the whole catalog
            catalog = self.item_representations()
            seq_repr, target_repr, cand_repr = catalog[item_seq], catalog[target_ids], catalog
            unique = torch.arange(len(catalog), device=item_seq.device)
            n_candidates = len(catalog) - 1
        else:
            # One encoder call for inputs, targets and negatives: each distinct item once.
            negatives = [neg_ids.reshape(-1)] if trains_items else []
            unique, inverse = torch.unique(torch.cat([item_seq.reshape(-1), target_ids, *negatives]), return_inverse=True)
            reps = self.item_encoder(unique)[inverse]
            n_seq, n_targets = item_seq.numel(), len(target_ids)
            seq_repr = reps[:n_seq].view(*item_seq.shape, -1)
            target_repr = reps[n_seq:n_seq + n_targets]
            cand_repr = reps[n_seq + n_targets:].view(*neg_ids.shape, -1) if trains_items else None
            n_candidates = neg_ids.shape[-1] if trains_items else 0
        timestamps = interaction[self.schema.time_seq] if self.schema.time_seq in interaction else None
        inputs = self.with_feedback(seq_repr, item_seq, self.feedback_inputs(interaction))
        query = self.backbone(inputs, timestamps)[mask]
        item_losses = feedback_losses = None
        if trains_items:
            pos_query, pos_repr = (query[picked], target_repr[picked]) if picked is not None else (query, target_repr)
            item_losses = self.loss_fct(pos_query, pos_ids, pos_repr, neg_ids, cand_repr)
        if predicts_feedback:
            feedback_losses = self.feedback.losses(query, target_repr, values)
        components = self.forward_flops(item_seq.shape, len(pos_ids) if trains_items else 0, unique, n_candidates,
                                        len(target_ids) if predicts_feedback else 0)
        return LossTerms(item_losses, feedback_losses, len(target_ids), components)

    def calculate_loss(self, interaction):
        return self.training_step(interaction).loss

    def forward_flops(self, shape, targets, unique_items, candidates, feedback_targets=0):
        """{name: (forward FLOPs, is a matrix product)} of a step, summed from the parts' own counts."""
        return {
            **self.item_encoder.forward_flops(unique_items),
            **self.backbone.forward_flops(*shape),
            **(self.loss_fct.forward_flops(targets, self.hidden_size, candidates) if targets else {}),
            **(self.feedback.head.forward_flops(feedback_targets) if feedback_targets else {}),
        }

    # ----- scoring ---------------------------------------------------------------------
    def predict(self, interaction):
        return self.score_candidates(self.sequence_output(interaction), interaction[self.ITEM_ID])

    def full_sort_predict(self, interaction):
        return self.sequence_output(interaction) @ self.item_representations().T

    @property
    def predicts_feedback(self):
        return self.feedback is not None and self.feedback.head is not None

    def like_probability(self, seq_output, item_ids):
        """P(liked | history, item) for sequence outputs [N, H] and items [N] (feedback head)."""
        return self.feedback.like_probability(seq_output, self.item_representations()[item_ids])

    def item_log_odds(self, scores):
        """Scores as logits of the next-item distribution (the loss's temperature applied)."""
        return scores / self.loss_fct.tau

    def score_candidates(self, seq_output, item_ids):
        """Scores of ``item_ids`` [N] for the sequence outputs [N, H] (fast sampled evaluation)."""
        return (seq_output * self.item_representations()[item_ids]).sum(-1)
