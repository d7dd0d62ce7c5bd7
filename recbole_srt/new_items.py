"""Score items a trained text model has never seen, from their text alone.

SRT has no item-ID table: an item is its text, so a new item is ranked by encoding its fields with
the model's own tokenizer and item encoder. With ``item_encoder: text+id`` or ``fusion`` a new item
has no trained ID vector and is encoded by the text part alone. ID-only models cannot do this and are refused.

    python -m recbole_srt.new_items --model=SRT --dataset=ml-100k --checkpoint=saved/SRT-...pth \\
        --items=new_items.tsv --user=196 [--top=10] [--key=value ...]

``--items`` is a tab-separated file with a header naming text fields (``title``, ``brand``, ... as
in ``text_fields``; a missing field is empty), one item per line. The user's history is their whole
sequence in the dataset (``--user``, a user token) or ``--history``, item tokens oldest first. The
other options are those the model was trained with, so that the same model is built.
"""

import argparse
import csv
import sys

import sentencepiece as spm
import torch

import recbole_srt  # noqa: F401  (RecBole compatibility shims first)
from recbole_srt.config_check import ConfigError
from recbole_srt.data.catalog import text_settings
from recbole_srt.model import is_plugin_model
from recbole_srt.tokenizer import encode_texts, file_sha256


def encode_item_texts(model, config, records):
    """[len(records), hidden] item representations of ``records`` ({field: text} each)."""
    encoder = model.item_encoder if is_plugin_model(model) else None
    if encoder is None or not encoder.needs_text:
        raise ConfigError(f"{type(model).__name__} with item_encoder '{config['item_encoder']}' has no text "
                          "encoder: only text models (item_encoder text, text+id or fusion) score items they never saw")
    tokenizer = encoder.tokenizer["path"]
    if file_sha256(tokenizer) != encoder.tokenizer["sha256"]:
        raise ConfigError(f"the tokenizer file {tokenizer} changed since the model was built: token ids would "
                          "mean other pieces")
    sp = spm.SentencePieceProcessor(model_file=tokenizer)
    fields, limits = text_settings(config)
    unknown = sorted({f for r in records for f in r} - set(fields))
    if unknown:
        raise ConfigError(f"--items: column(s) {unknown} are not text fields of this model ({fields})")
    device = next(model.parameters()).device
    # encode_texts treats row 0 as the padding item: one dummy row in front, dropped after
    tables = [encode_texts(sp, [""] + [str(r.get(f) or "") for r in records], n)[1:].to(device)
              for f, n in zip(fields, limits)]
    return encoder.encode_tokens(tables)


@torch.no_grad()
def score_new_items(model, config, history, records):
    """Scores of ``records`` (new items, {field: text}) as the next item after ``history`` (a 1-D
    tensor of catalog item ids, oldest first), on the scale of the model's catalog scores."""
    model.eval()
    history = torch.as_tensor(history, dtype=torch.long)[-config["MAX_ITEM_LIST_LENGTH"]:]
    if not len(history):
        raise ValueError("the history is empty: there is nothing to predict from")
    device = next(model.parameters()).device
    state = model.forward(history.to(device)[None], torch.tensor([len(history)], device=device))
    return (encode_item_texts(model, config, records) @ state[0]).cpu()


def user_history(dataset, user):
    """Catalog item ids of ``user`` (a token of the dataset), oldest first, from the whole sequence."""
    from recbole_srt.data.dataset import TARGET_INDEX_FIELD

    try:
        uid = dataset.token2id(dataset.uid_field, str(user))
    except ValueError:
        raise ConfigError(f"--user: '{user}' is not a user of {dataset.dataset_name}") from None
    rows = dataset.inter_feat[dataset.uid_field] == uid
    last = int(dataset.inter_feat[TARGET_INDEX_FIELD][rows].max())
    return dataset.flat_items[int(dataset.flat_user_start[last]):last + 1]


def read_items(path):
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t")
        if not reader.fieldnames:
            raise ConfigError(f"--items: {path} is empty; expected a header of text fields (e.g. title<TAB>brand)")
        records = [dict(row) for row in reader]
    if not records:
        raise ConfigError(f"--items: {path} has a header and no items")
    return records


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", "-m", default="SRT")
    parser.add_argument("--dataset", "-d", default="ml-100k")
    parser.add_argument("--checkpoint", required=True, help="a checkpoint written by run_recbole_srt.py")
    parser.add_argument("--items", required=True, help="TSV of new items: a header of text fields, one item per line")
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", help="a user token of the dataset: their whole sequence is the history")
    who.add_argument("--history", help="item tokens of the dataset, oldest first, space-separated")
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--config_files", default=None)
    parser.add_argument("--debug", action="store_true")
    args, properties = parser.parse_known_args(argv)
    from recbole_srt.build import build_run, load_config

    try:
        records = read_items(args.items)
        files = [f for f in (args.config_files or "").split(",") if f]
        config = load_config(args.model, args.dataset, config_file_list=files or None,
                             argv=[*properties, f"--init_from={args.checkpoint}", "--state=ERROR"])
        run = build_run(config, evaluates=False)  # scoring: no evaluation warnings
        if args.user is not None:
            history = user_history(run.dataset, args.user)
        else:
            try:
                history = torch.as_tensor(run.dataset.token2id(run.dataset.iid_field, args.history.split()))
            except ValueError as error:
                raise ConfigError(f"--history: {error}") from None
        scores = score_new_items(run.model, config, history, records)
    except (ConfigError, FileNotFoundError, ValueError) as error:
        if args.debug:
            raise
        print(f"error: {error}", file=sys.stderr)
        return 2
    order = torch.argsort(scores, descending=True, stable=True)[:args.top]
    fields = list(records[0])
    print("\t".join(["rank", "score", *fields]))
    for rank, k in enumerate(order.tolist(), 1):
        print("\t".join([str(rank), f"{float(scores[k]):.4f}", *(records[k].get(f) or "" for f in fields)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
