"""What a model knows of the item catalog, prepared by the build path before the model exists.

Tokenizer training and item-text encoding read and write files, so they happen here and
not in a model's ``__init__``: the model receives an :class:`ItemCatalog` and does no I/O.
"""

import os
from dataclasses import dataclass, field

import torch

from recbole_srt.tokenizer import TEXT_TYPES, encode_texts, item_texts, resolve_tokenizer
from recbole_srt.config_check import ConfigError


@dataclass
class ItemCatalog:
    n_items: int  # including the padding item 0
    train_counts: torch.Tensor  # [n_items] how often each item is a training target
    token_tables: list = None  # per text field: [n_items, max tokens] SentencePiece ids + 1, 0 = padding
    vocab_size: int = None  # token ids are < vocab_size
    tokenizer: dict = None  # {"path", "sha256"} of the tokenizer behind token_tables
    notes: list = field(default_factory=list)  # warnings about the item texts, also written to the results


def text_settings(config):
    """(fields, max tokens per field) of the text item encoders."""
    fields = list(config["text_fields"])
    limits = config["text_max_tokens"] or {}
    return fields, [int(limits.get(f, limits.get("default", 40))) for f in fields]


def check_text_fields(config):
    """Fail before any data is loaded when a text field is not a token column of the .item file,
    and make sure load_col loads the text fields."""
    fields = config["text_fields"]
    if not fields or isinstance(fields, str):
        raise ConfigError(f"text_fields must be a non-empty list of item fields, got {fields!r}")
    item_file = os.path.join(config["data_path"], f"{config['dataset']}.item")
    if not os.path.isfile(item_file):
        raise FileNotFoundError(
            f"item file not found: '{item_file}': the text item encoder reads item text from it (text_fields={fields})"
        )
    with open(item_file, encoding="utf-8") as f:
        header = f.readline().rstrip("\r\n").split(config["field_separator"])
    columns = dict(c.split(":", 1) for c in header if ":" in c)
    for field in fields:
        if field not in columns:
            raise ConfigError(f"text_fields: '{field}' is not a column of {item_file} (columns: {sorted(columns)})")
        if columns[field] not in {t.value for t in TEXT_TYPES}:
            raise ConfigError(
                f"text_fields: '{field}' in {item_file} has type '{columns[field]}'; text fields must be token or token_seq"
            )
    load_col = config["load_col"]
    if isinstance(load_col, dict) and load_col.get("item") != "*":
        item_cols = list(load_col.get("item") or [config["ITEM_ID_FIELD"]])
        config["load_col"] = {**load_col, "item": item_cols + [f for f in fields if f not in item_cols]}


def build_catalog(config, train_dataset, needs_text):
    """The catalog of ``train_dataset`` (the training split): counts, and token tables when
    ``needs_text`` (training the tokenizer on the item texts the first time)."""
    n_items = train_dataset.item_num
    targets = train_dataset.inter_feat[train_dataset.iid_field]
    catalog = ItemCatalog(n_items=n_items, train_counts=torch.bincount(targets, minlength=n_items))
    if needs_text:
        fields, limits = text_settings(config)
        texts = item_texts(train_dataset, fields)
        catalog.notes = empty_text_notes(texts)
        sp, path, sha256 = resolve_tokenizer(config, texts)
        catalog.token_tables = [encode_texts(sp, texts[f], n) for f, n in zip(fields, limits)]
        catalog.vocab_size = sp.vocab_size() + 1
        catalog.tokenizer = {"path": os.path.abspath(path), "sha256": sha256}
    return catalog


EMPTY_SHARE = 0.5  # a text field empty for at least this share of the items is worth a warning


def empty_text_notes(texts):
    """Text fields empty for every item, or for a large share of them: a text model then learns (almost) nothing
    about the items from its text, and trains to near-zero metrics without another sign."""
    notes = []
    for name, column in texts.items():
        items = len(column) - 1  # row 0 is the padding item
        empty = sum(1 for text in column[1:] if not text.strip())
        if items and empty == items:
            notes.append(f"text_fields: '{name}' is empty for every one of the {items} items: the model reads "
                         "nothing from it (check the .item file, its column and load_col)")
        elif items and empty >= EMPTY_SHARE * items:
            notes.append(f"text_fields: '{name}' is empty for {empty} of {items} items ({empty / items:.0%})")
    if len(texts) > 1 and texts:
        items = len(next(iter(texts.values()))) - 1
        blank = sum(1 for row in zip(*(column[1:] for column in texts.values())) if not any(t.strip() for t in row))
        if items and blank >= EMPTY_SHARE * items:
            notes.append(f"text_fields: {blank} of {items} items ({blank / items:.0%}) have no text in any of "
                         f"{list(texts)}: a text-only item encoder cannot tell them apart")
    return notes
