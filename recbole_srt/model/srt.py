r"""SRT: the Scalable Recommendation Transformer.

Reference:
    Pablo Zivic, Hernan Vazquez, Jorge Sánchez. "Scaling Sequential Recommendation Models
    with Transformers." SIGIR 2024.

Items have no ID embedding: a trainable text feature extractor (``TextItemEncoder``)
encodes every item from its text fields, so the number of parameters does not depend on
the catalog. A SASRec-style causal transformer predicts the next item, trained with a
sampled softmax against K popularity-sampled negatives with logQ correction (SRT-K).
"""

import os

import torch
from recbole.model.abstract_recommender import SequentialRecommender
from recbole.utils import InputType

from recbole_srt.model.backbone import ACTIVATIONS, CausalTransformer
from recbole_srt.model.item_encoder import TextItemEncoder
from recbole_srt.model.loss import SampledSoftmaxLoss
from recbole_srt.model.negative_sampler import NegativeSampler
from recbole_srt.scaling.flops import SRTDims, StepShape, training_step_flops
from recbole_srt.tokenizer import TEXT_TYPES, encode_texts, item_texts, resolve_tokenizer

TARGET_PREFIX = "target_"  # all-positions batches carry ``target_<ITEM_SEQ>``; 0 = no target
ITEM_CACHE_CHUNK = 65536


class SRT(SequentialRecommender):
    input_type = InputType.POINTWISE

    def __init__(self, config, dataset):
        super().__init__(config, dataset)
        self.n_layers = config["n_layers"]
        self.n_heads = config["n_heads"]
        self.hidden_size = config["hidden_size"]
        self.inner_size = config["inner_size"]
        self.hidden_dropout_prob = config["hidden_dropout_prob"]
        self.attn_dropout_prob = config["attn_dropout_prob"]
        self.hidden_act = config["hidden_act"]
        self.layer_norm_eps = config["layer_norm_eps"]
        self.initializer_range = config["initializer_range"]
        self.text_fields = list(config["text_fields"])
        self.text_max_tokens = [int(config["text_max_tokens"].get(f, config["text_max_tokens"]["default"]))
                                for f in self.text_fields]
        self.token_embedding_size = config["token_embedding_size"] or self.hidden_size
        self.num_negatives = int(config["num_negatives"])
        self.neg_sampling_scope = config["neg_sampling_scope"]
        self.logq_correction = config["logq_correction"]
        self.TARGET_SEQ = TARGET_PREFIX + self.ITEM_SEQ

        texts = item_texts(dataset, self.text_fields)
        self.tokenizer, self.tokenizer_path, self.tokenizer_sha256 = resolve_tokenizer(config, texts)
        config["tokenizer_path_resolved"] = os.path.abspath(self.tokenizer_path)
        config["tokenizer_sha256"] = self.tokenizer_sha256

        self.item_encoder = TextItemEncoder(
            len(self.text_fields), self.tokenizer.vocab_size() + 1, self.token_embedding_size, self.hidden_size
        )
        self.backbone = CausalTransformer(
            self.n_layers, self.n_heads, self.hidden_size, self.inner_size, self.max_seq_length,
            self.hidden_dropout_prob, self.attn_dropout_prob, self.hidden_act, self.layer_norm_eps,
        )
        self.loss_fct = SampledSoftmaxLoss(config["tau"])
        self.apply(self._init_weights)
        self.set_catalog_texts(texts)

        # Popularity of the training targets only: validation and test items must not leak.
        train_counts = torch.bincount(dataset.inter_feat[self.POS_ITEM_ID], minlength=self.n_items)
        self.neg_sampler = NegativeSampler(train_counts, config["neg_distribution"], config["seed"])
        self._item_cache = None
        self.last_step = None  # StepShape of the latest training step, for FLOPs accounting

    @classmethod
    def check_config(cls, config):
        """Fail before any data is loaded, naming the offending key or file."""
        hidden, heads = config["hidden_size"], config["n_heads"]
        if not isinstance(heads, int) or heads < 1 or hidden % heads != 0:
            raise ValueError(f"hidden_size ({hidden}) must be divisible by n_heads ({heads})")
        k = config["num_negatives"]
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"num_negatives must be an integer >= 1, got {k!r}")
        if config["tau"] is None or config["tau"] <= 0:
            raise ValueError(f"tau must be > 0, got {config['tau']!r}")
        if config["neg_sampling_scope"] not in ("batch", "row"):
            raise ValueError(f"neg_sampling_scope must be 'batch' or 'row', got {config['neg_sampling_scope']!r}")
        if config["neg_distribution"] not in ("popularity", "uniform"):
            raise ValueError(f"neg_distribution must be 'popularity' or 'uniform', got {config['neg_distribution']!r}")
        if config["hidden_act"] not in ACTIVATIONS:
            raise ValueError(f"hidden_act must be one of {sorted(ACTIVATIONS)}, got {config['hidden_act']!r}")
        stride = config["window_stride"]
        length = config["MAX_ITEM_LIST_LENGTH"]
        if stride is not None and not (isinstance(stride, int) and 1 <= stride <= length):
            raise ValueError(f"window_stride must be an integer in [1, MAX_ITEM_LIST_LENGTH={length}], got {stride!r}")
        grouping = config["length_grouping"]
        if grouping is not None and not (isinstance(grouping, int) and grouping >= 1):
            raise ValueError(f"length_grouping must be an integer >= 1 (1 = plain shuffle), got {grouping!r}")
        fields = config["text_fields"]
        if not fields or isinstance(fields, str):
            raise ValueError(f"text_fields must be a non-empty list of item fields, got {fields!r}")
        item_file = os.path.join(config["data_path"], f"{config['dataset']}.item")
        if not os.path.isfile(item_file):
            raise FileNotFoundError(
                f"SRT reads item text from '{item_file}', which does not exist (text_fields={fields})"
            )
        with open(item_file, encoding="utf-8") as f:
            header = f.readline().rstrip("\r\n").split(config["field_separator"])
        columns = dict(c.split(":", 1) for c in header if ":" in c)
        for field in fields:
            if field not in columns:
                raise ValueError(
                    f"text_fields: '{field}' is not a column of {item_file} (columns: {sorted(columns)})"
                )
            if columns[field] not in {t.value for t in TEXT_TYPES}:
                raise ValueError(
                    f"text_fields: '{field}' in {item_file} has type '{columns[field]}'; text fields must be token or token_seq"
                )
        # The item file is only read for the columns in load_col: make sure the text is loaded.
        load_col = config["load_col"]
        if isinstance(load_col, dict):
            item_cols = list(load_col.get("item") or [config["ITEM_ID_FIELD"]])
            load_col["item"] = item_cols + [f for f in fields if f not in item_cols]
            config["load_col"] = load_col

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

    # ----- catalog ---------------------------------------------------------------------
    def set_catalog_texts(self, texts):
        """Point the model at a catalog: ``texts[field][item_id]`` is the raw text of each item."""
        tables = [encode_texts(self.tokenizer, texts[f], n) for f, n in zip(self.text_fields, self.text_max_tokens)]
        self.item_encoder.set_item_tokens(tables)
        self._item_cache = None

    def item_representations(self):
        """phi(i) of the whole catalog, computed once and reused until the next training step."""
        if self.training or self._item_cache is None:
            ids = torch.arange(self.item_encoder.n_items, device=self.item_encoder.projection.weight.device)
            with torch.no_grad():
                self._item_cache = torch.cat([self.item_encoder(chunk) for chunk in ids.split(ITEM_CACHE_CHUNK)])
        return self._item_cache

    def train(self, mode=True):
        self._item_cache = None
        return super().train(mode)

    def load_state_dict(self, state_dict, strict=True, assign=False):
        self._item_cache = None
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    # ----- sequence encoding -----------------------------------------------------------
    def encode_positions(self, item_seq, item_repr=None):
        if item_repr is None:
            item_repr = self.item_encoder.encode_unique(item_seq)
        return self.backbone(item_repr)

    def forward(self, item_seq, item_seq_len):
        item_repr = self.item_representations()[item_seq] if not self.training else None
        return self.gather_indexes(self.encode_positions(item_seq, item_repr), item_seq_len - 1)

    # ----- training --------------------------------------------------------------------
    def target_losses(self, interaction, neg_ids=None):
        """Loss of every target in the batch, in row-major order of its positions.

        Accepts all-positions batches (``target_<ITEM_SEQ>``: the next item at every
        position, 0 where no loss is taken) and RecBole's augmented rows (one target,
        ``POS_ITEM_ID``, after position ``item_length - 1``).
        """
        self._item_cache = None
        item_seq = interaction[self.ITEM_SEQ]
        if self.TARGET_SEQ in interaction:
            targets = interaction[self.TARGET_SEQ]
        else:
            targets = torch.zeros_like(item_seq)
            rows = torch.arange(len(item_seq), device=item_seq.device)
            targets[rows, interaction[self.ITEM_SEQ_LEN] - 1] = interaction[self.POS_ITEM_ID]
        mask = targets > 0
        pos_ids = targets[mask]
        if neg_ids is None:
            shape = (self.num_negatives,) if self.neg_sampling_scope == "batch" else (len(pos_ids), self.num_negatives)
            neg_ids = self.neg_sampler.sample(shape).to(item_seq.device)

        # One encoder call for inputs, positives and negatives: each distinct item once.
        all_ids = torch.cat([item_seq.reshape(-1), pos_ids, neg_ids.reshape(-1)])
        unique, inverse = torch.unique(all_ids, return_inverse=True)
        reps = self.item_encoder(unique)[inverse]
        self.last_step = StepShape(
            batch=item_seq.shape[0], length=item_seq.shape[1], targets=len(pos_ids), unique_items=len(unique),
            item_tokens=self.item_encoder.count_tokens(unique), negatives=neg_ids.shape[-1],
        )
        n_seq = item_seq.numel()
        seq_repr = reps[:n_seq].view(*item_seq.shape, -1)
        pos_repr = reps[n_seq:n_seq + len(pos_ids)]
        neg_repr = reps[n_seq + len(pos_ids):].view(*neg_ids.shape, -1)

        query = self.encode_positions(item_seq, seq_repr)[mask]
        log_q = self.neg_sampler.log_q.to(query.device) if self.logq_correction else None
        return self.loss_fct(query, pos_repr, neg_repr, pos_ids, neg_ids.to(query.device), log_q)

    def calculate_loss(self, interaction):
        return self.target_losses(interaction).mean()

    def step_flops(self):
        """Training FLOPs (forward + backward) of the latest step; see recbole_srt.scaling.flops."""
        return training_step_flops(SRTDims.of(self), self.last_step)["total"] if self.last_step else 0

    # ----- scoring ---------------------------------------------------------------------
    def predict(self, interaction):
        seq_output = self.forward(interaction[self.ITEM_SEQ], interaction[self.ITEM_SEQ_LEN])
        return (seq_output * self.item_representations()[interaction[self.ITEM_ID]]).sum(-1)

    def full_sort_predict(self, interaction):
        seq_output = self.forward(interaction[self.ITEM_SEQ], interaction[self.ITEM_SEQ_LEN])
        return seq_output @ self.item_representations().T

    def score_candidates(self, seq_output, item_ids):
        """Scores of ``item_ids`` [N] for the sequence outputs [N, H] (fast sampled evaluation)."""
        return (seq_output * self.item_representations()[item_ids]).sum(-1)
