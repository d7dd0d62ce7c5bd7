"""SentencePiece tokenizer for item text, shared across datasets.

RecBole remaps token fields to per-dataset ids, so the same word gets different ids in
two datasets. SRT instead tokenises the raw text with one SentencePiece model: a model
trained on one catalog can then score the items of another one, or items added later.
Model token ids are SentencePiece ids shifted by one so that 0 is padding.
"""

import glob
import hashlib
import io
import os
from logging import getLogger

import numpy as np
import sentencepiece as spm
import torch
from recbole.utils import FeatureType
from recbole_srt.config_check import ConfigError

EMPTY_PIECE = "<empty>"  # stands for a missing field (e.g. no brand), as in the authors' code
TEXT_TYPES = (FeatureType.TOKEN, FeatureType.TOKEN_SEQ)


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def item_texts(dataset, fields):
    """Raw text of each field for every internal item id (row 0, the padding item, is '')."""
    iid = dataset.iid_field
    feat = dataset.item_feat
    texts = {}
    for field in fields:
        column = [""] * dataset.item_num
        if feat is None or field not in feat:
            raise ConfigError(
                f"text_fields: field '{field}' was not loaded from {dataset.dataset_name}.item "
                "(check load_col / unload_col)"
            )
        vocab = dataset.field2id_token[field]
        values = feat[field].numpy()
        ftype = dataset.field2type[field]
        for item, value in zip(feat[iid].numpy(), values):
            if ftype == FeatureType.TOKEN_SEQ:
                column[item] = " ".join(vocab[t] for t in value if t != 0)
            else:
                column[item] = vocab[value] if value != 0 else ""
        texts[field] = column
    return texts


def train_tokenizer(sentences, vocab_size, path, threads=None):
    """Train a BPE model on ``sentences`` and write it atomically to ``path``.

    ``hard_vocab_limit=False`` caps the vocabulary at what a small corpus supports
    instead of failing (ml-100k titles support about 9K pieces, not 30K).
    """
    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences),
        model_writer=buffer,
        vocab_size=vocab_size,
        model_type="bpe",
        hard_vocab_limit=False,
        normalization_rule_name="nmt_nfkc_cf",  # NFKC + lower-casing
        pad_id=0,
        unk_id=1,
        bos_id=-1,
        eos_id=-1,
        user_defined_symbols=[EMPTY_PIECE],
        input_sentence_size=2_000_000,
        shuffle_input_sentence=True,
        num_threads=threads or torch.get_num_threads(),  # the run's thread setting, not every core
        minloglevel=2,
    )
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(buffer.getvalue())
    os.replace(tmp, path)
    return path


def resolve_tokenizer(config, texts):
    """Return (SentencePieceProcessor, path, sha256): the configured one, or a cached one
    trained on this dataset's item texts.

    Cached files are named ``<dataset>-bpe<pieces>-<digest>.model`` with the vocabulary actually
    trained (capped on small corpora) and a digest of the texts and the requested size."""
    path = config["tokenizer_path"]
    if path:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"tokenizer_path: SentencePiece model not found: '{path}'")
    else:
        sentences = [t for column in texts.values() for t in column if t]
        if not sentences:
            raise ConfigError(f"text_fields {list(texts)}: every item text is empty, nothing to tokenise")
        vocab = int(config["tokenizer_vocab_size"])
        digest = hashlib.sha256(("\n".join(sentences) + f"\n#vocab {vocab}").encode("utf-8")).hexdigest()[:12]
        folder = config["tokenizer_dir"]
        cached = sorted(glob.glob(os.path.join(glob.escape(folder), f"{glob.escape(config['dataset'])}-bpe*-{digest}.model")))
        if cached:
            path = cached[0]
        else:
            tmp = os.path.join(folder, f"{config['dataset']}-training-{digest}-{os.getpid()}.model")
            train_tokenizer(sentences, vocab, tmp)
            trained = spm.SentencePieceProcessor(model_file=tmp).vocab_size()
            path = os.path.join(folder, f"{config['dataset']}-bpe{trained}-{digest}.model")
            if publish_once(tmp, path):
                getLogger().info(f"Trained SentencePiece BPE on {len(sentences)} texts: {trained} pieces "
                                 f"(tokenizer_vocab_size {vocab}) -> {path}")
    # The processor and the digest from the same bytes: what the checkpoint records is what the run used.
    with open(path, "rb") as f:
        data = f.read()
    sp = spm.SentencePieceProcessor(model_proto=data)
    return sp, path, hashlib.sha256(data).hexdigest()


def publish_once(tmp, path):
    """Give the finished file ``tmp`` the name ``path`` unless another run already did (two runs training the same
    cache at once): the first one's file stays, and every run then reads that one. True if this run's was kept."""
    try:
        os.link(tmp, path)  # fails if ``path`` exists: never replaces a tokenizer another run may be reading
    except FileExistsError:
        os.remove(tmp)
        return False
    except OSError:  # no hard links on this file system: an atomic rename; this run then reads the file it finds
        os.replace(tmp, path)
        return True
    os.remove(tmp)
    return True


def encode_texts(sp, strings, max_tokens):
    """Token ids (shifted, 0 = padding) as a [len(strings), max_tokens] LongTensor."""
    empty = sp.piece_to_id(EMPTY_PIECE) + 1
    table = np.zeros((len(strings), max_tokens), dtype=np.int64)
    for row, ids in enumerate(sp.encode(list(strings))):
        ids = ids[:max_tokens]
        if ids:
            table[row, : len(ids)] = np.asarray(ids) + 1
        elif strings[row] is not None and row > 0:
            table[row, 0] = empty
    return torch.from_numpy(table)
