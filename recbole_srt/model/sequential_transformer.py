"""A next-item model composed of an item encoder, a backbone and a loss, each chosen by config.

    item_encoder: text | id | text+id | fusion   (recbole_srt/model/item_encoders/)
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
from recbole_srt.contracts import Backbone, ItemEncoder, NextItemLoss, check_instance
from recbole_srt.data.schema import BatchSchema, StepResult
from recbole_srt.model.backbones import BACKBONES
from recbole_srt.model.feedback import Feedback, FeedbackScale
from recbole_srt.model.item_encoders import ITEM_ENCODERS
from recbole_srt.model.item_encodings import CatalogCache, encode_named, popularity_prior
from recbole_srt.model.losses import LOSSES
from recbole_srt.model.flops import training_flops


@dataclass
class LossTerms:
    """Losses at every slot of a step (:meth:`SequentialTransformer.loss_slots`), with which slots count."""

    item_losses: torch.Tensor | None  # [S] next-item loss; None with next_item_weight 0
    item_weights: torch.Tensor  # [S] bool: a next-item target (a real one, liked where only liked ones train)
    feedback_losses: torch.Tensor | None  # [S] feedback loss; None without a feedback head
    weights: torch.Tensor  # [S] bool: a real target
    targets: torch.Tensor  # 0-dim: real targets (a tensor, so that counting does not wait for the device)
    components: dict  # forward FLOPs by component (values may be 0-dim tensors)


class SequentialTransformer(SequentialRecommender):
    input_type = InputType.POINTWISE

    def __init__(self, config, dataset, catalog=None):
        super().__init__(config, dataset)
        if catalog is None:
            raise ValueError(f"{type(self).__name__} is built from an item catalog: create it with "
                             "recbole_srt.build.build_run(config), which prepares one")
        self.schema = BatchSchema.from_config(config, config["TIME_FIELD"], config["feedback_field"])
        self.hidden_size = config["hidden_size"]
        self.initializer_range = config["initializer_range"]
        self.item_encoder = check_instance(ItemEncoder, ITEM_ENCODERS.get(config["item_encoder"]).from_config(config, catalog),
                                           "item_encoder")
        self.backbone = check_instance(Backbone, BACKBONES.get(config["backbone"]).from_config(config), "backbone")
        self.loss_fct = check_instance(NextItemLoss, LOSSES.get(config["loss"]).from_config(config, catalog), "loss")
        self.next_item_weight = float(config["next_item_weight"])
        self.liked_targets_only = config["next_item_targets"] == "liked"
        self.feedback_field = config["feedback_field"]
        self.feedback_scale = FeedbackScale.from_config(config) if self.feedback_field else None
        self.feedback = Feedback.from_config(config, self.feedback_scale)
        if self.feedback_scale is not None:
            self._check_feedback_data(config, dataset)
        self.apply(self._initialise)
        self.catalog_cache = CatalogCache()
        # Stands in for the target of a padding slot: an item the negative sampler can draw (finite log q).
        self.fill_item = int(torch.argmax(catalog.train_counts[1:])) + 1
        # Scoring only, never trained: a model carried to a new catalog knows nothing of that catalog's
        # popularity, which most-popular ranks by. Added as beta log(1 + count) to the logits (scores / tau).
        self.register_buffer("score_prior", popularity_prior(catalog.train_counts, config["score_popularity_prior"],
                                                             self.loss_fct.tau), persistent=False)

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
            part.check_config(config)

    def _check_feedback_data(self, config, dataset):
        values = getattr(dataset, "flat_feedback", None)
        if values is None:
            raise ConfigError(f"feedback_field '{self.feedback_field}' is not a loaded interaction column of "
                              f"{config['dataset']} (load_col: {config['load_col']})")
        self.feedback_scale.check_values(values, self.feedback_field)

    def _initialise(self, module):
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
        """phi(i) of the whole catalog (cached between training steps)."""
        return self.catalog_cache.get(self.item_encoder, self.training)

    def set_item_tokens(self, tables):
        """Point a text model at another catalog (token tables from ``recbole_srt.data.catalog``)."""
        self.item_encoder.set_item_tokens(tables)
        self.catalog_cache.clear()
        self.score_prior = None  # the counts were the old catalog's: another catalog's items have none here

    def train(self, mode=True):
        self.catalog_cache.clear()
        return super().train(mode)

    def load_state_dict(self, state_dict, strict=True, assign=False):
        self.catalog_cache.clear()
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
    def loss_slots(self, interaction):
        """The step's loss slots, flat: (target item [S], is a real target [S], the user's feedback on it [S]
        or None). Windows have a slot at every position; RecBole's augmented rows one after each row's last
        input. Padding slots stay in (with weight 0) so that no shape depends on the data: on a GPU a
        boolean selection would stop the host until the device caught up, at every step."""
        if self.schema.targets in interaction:
            targets = interaction[self.schema.targets]
            mask = interaction[self.schema.target_mask] if self.schema.target_mask in interaction else targets > 0
            values = interaction[self.schema.target_feedback].reshape(-1) if self.schema.target_feedback in interaction else None
            return targets.reshape(-1), mask.reshape(-1), values
        targets = interaction[self.POS_ITEM_ID]
        values = interaction[self.feedback_field] if self.feedback_field and self.feedback_field in interaction else None
        return targets, torch.ones_like(targets, dtype=torch.bool), values

    def slot_outputs(self, interaction, outputs):
        """[S, hidden] backbone outputs at the slots of :meth:`loss_slots`."""
        if self.schema.targets in interaction:
            return outputs.reshape(-1, outputs.shape[-1])
        return self.gather_indexes(outputs, interaction[self.ITEM_SEQ_LEN] - 1)

    def training_step(self, interaction, neg_ids=None):
        """Loss, target count and FLOPs of one batch. ``neg_ids`` overrides the loss's draw (tests)."""
        terms = self.loss_terms(interaction, neg_ids)
        return StepResult(self.objective(terms), terms.targets, training_flops(terms.components)["total"])

    def objective(self, terms, reduce="mean"):
        """The weighted next-item and feedback losses of :meth:`loss_terms`, each averaged over its targets
        (``reduce="sum"``: summed, one sequence's log-likelihood for the EWC Fisher)."""
        loss = 0.0
        for weight, losses, real in ((self.next_item_weight, terms.item_losses, terms.item_weights),
                                     (self.feedback.weight if self.feedback else 0.0, terms.feedback_losses,
                                      terms.weights)):
            if losses is not None:  # a step without liked targets adds 0
                total = torch.where(real, losses, 0.0).sum()
                loss = loss + weight * (total / real.sum().clamp(min=1) if reduce == "mean" else total)
        return loss

    def target_losses(self, interaction, neg_ids=None):
        """(next-item loss of every target in row-major order of its positions, target count, the
        step's forward FLOPs by component as :meth:`forward_flops` gives them)."""
        terms = self.loss_terms(interaction, neg_ids)
        return terms.item_losses[terms.item_weights], int(terms.targets), terms.components

    def loss_terms(self, interaction, neg_ids=None):
        self.catalog_cache.clear()
        item_seq = interaction[self.ITEM_SEQ]
        pos_ids, real, values = self.loss_slots(interaction)
        predicts_feedback = self.feedback is not None and self.feedback.head is not None
        trains_items = self.next_item_weight > 0
        # Next-item targets: all, or only the liked ones (every interaction is still read as context).
        item_weights = real & self.feedback_scale.liked(values) if self.liked_targets_only else real
        # Padding slots score a real item, so that their (discarded) losses stay finite.
        pos_ids = torch.where(real, pos_ids, self.fill_item)
        if trains_items:
            neg_ids = self.loss_fct.negatives(pos_ids, len(item_seq)) if neg_ids is None else \
                self._dense_negatives(neg_ids.to(pos_ids.device), real)
        seq_repr, pos_repr, cand_repr, encoded = self.encode_items(item_seq, pos_ids, neg_ids if trains_items else None,
                                                                   scores_catalog=trains_items and neg_ids is None)
        timestamps = interaction[self.schema.time_seq] if self.schema.time_seq in interaction else None
        inputs = self.with_feedback(seq_repr, item_seq, self.feedback_inputs(interaction))
        query = self.slot_outputs(interaction, self.backbone(inputs, timestamps))
        item_losses = feedback_losses = None
        if trains_items:
            item_losses = self.loss_fct(query, pos_ids, pos_repr, neg_ids, cand_repr)
        if predicts_feedback:
            feedback_losses = self.feedback.losses(query, pos_repr, values)
        n_candidates = 0 if not trains_items else (len(cand_repr) - 1 if neg_ids is None else neg_ids.shape[-1])
        # FLOPs of what the step computes: padding slots included, as the backbone's count includes padding.
        slots = len(pos_ids)
        components = self.forward_flops(item_seq.shape, slots if trains_items else 0, encoded, n_candidates,
                                        slots if predicts_feedback else 0)
        return LossTerms(item_losses, item_weights, feedback_losses, real, real.sum(), components)

    def encode_items(self, item_seq, pos_ids, neg_ids, scores_catalog=False, dedupe=None):
        """See :func:`recbole_srt.model.item_encodings.encode_named`."""
        return encode_named(self.item_encoder, self.item_representations, item_seq, pos_ids, neg_ids,
                            scores_catalog, dedupe)

    def _dense_negatives(self, neg_ids, real):
        """Given negatives ([K] shared, or [targets, K] one row per real target) at every slot."""
        if neg_ids.dim() == 1 or len(neg_ids) == len(real):
            return neg_ids
        dense = torch.full((len(real), neg_ids.shape[-1]), self.fill_item, dtype=neg_ids.dtype, device=neg_ids.device)
        dense[real] = neg_ids
        return dense

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
        scores = self.sequence_output(interaction) @ self.item_representations().T
        return scores if self.score_prior is None else scores + self.score_prior

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
        scores = (seq_output * self.item_representations()[item_ids]).sum(-1)
        return scores if self.score_prior is None else scores + self.score_prior[item_ids]
