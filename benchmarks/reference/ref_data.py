"""Our prepared atomic files, as both sides read them: a seeded user subset in our format, and the same
interactions in the authors' format (item title and brand as SentencePiece pieces, ``token_seq``).

Both sides read the same .inter lines (same users, items, order and timestamps), so RecBole's leave-one-out split
holds out the same validation and test item for every user. The pieces are those of the tokenizer our SRT uses
for that dataset (dataset_prep's <name>.spm.model), cut as the authors' ETL cuts them (title 40 pieces, brand 8,
'unknown' for an item without brand); their own ETL trains a 30K BPE on all of Amazon, which needs the raw dumps.
"""

import os
import random
import shutil

TITLE_PIECES, BRAND_PIECES = 40, 8


def read_atomic(path):
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        return header, [line.rstrip("\n").split("\t") for line in f]


def write_atomic(path, header, rows):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\t".join(header) + "\n")
        for row in rows:
            f.write("\t".join(row) + "\n")
    os.replace(tmp, path)


def subset_name(name, fraction, seed):
    return name if fraction >= 1 else f"{name}-u{round(fraction * 100):g}s{seed}"


def ours(data_path, name, fraction, seed, out_path):
    """Our-format dataset <out_path>/<subset>/ (the whole one when fraction is 1: data_path itself); returns
    (data path, dataset name)."""
    if fraction >= 1:
        return data_path, name
    sub = subset_name(name, fraction, seed)
    folder = os.path.join(out_path, sub)
    if os.path.isfile(os.path.join(folder, f"{sub}.inter")):
        return out_path, sub
    os.makedirs(folder, exist_ok=True)
    header, rows = read_atomic(os.path.join(data_path, name, f"{name}.inter"))
    users = sorted({r[0] for r in rows}, key=lambda u: (len(u), u))
    kept = set(random.Random(seed).sample(users, max(1, round(len(users) * fraction))))
    rows = [r for r in rows if r[0] in kept]
    items = {r[1] for r in rows}
    item_header, item_rows = read_atomic(os.path.join(data_path, name, f"{name}.item"))
    write_atomic(os.path.join(folder, f"{sub}.item"), item_header, [r for r in item_rows if r[0] in items])
    with open(os.path.join(data_path, name, f"{name}.yaml"), encoding="utf-8") as f:
        yaml_text = f.read()
    with open(os.path.join(folder, f"{sub}.yaml"), "w", encoding="utf-8") as f:
        f.write(yaml_text.replace(f"# Written by dataset_prep for {name}.",
                                  f"# {sub}: {fraction:g} of {name}'s users (seed {seed}), its tokenizer."))
    write_atomic(os.path.join(folder, f"{sub}.inter"), header, rows)  # last: its presence marks the folder done
    return out_path, sub


def tokenizer_of(data_path, name):
    with open(os.path.join(data_path, name, f"{name}.yaml"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("tokenizer_path:"):
                return line.split(":", 1)[1].strip().strip('"')
    raise SystemExit(f"{name}.yaml names no tokenizer_path")


def authors(data_path, name, tokenizer, out_path):
    """<out_path>/amazon-<name>/ in the authors' format from our <data_path>/<name>/; returns its name."""
    import sentencepiece as spm

    theirs = f"amazon-{name}"
    folder = os.path.join(out_path, theirs)
    if os.path.isfile(os.path.join(folder, f"{theirs}.inter")):
        return theirs
    os.makedirs(folder, exist_ok=True)
    sp = spm.SentencePieceProcessor(model_file=tokenizer)
    header, rows = read_atomic(os.path.join(data_path, name, f"{name}.item"))
    column = {h.split(":")[0]: i for i, h in enumerate(header)}

    def pieces(text, limit):
        return " ".join(p for p in sp.encode(text or "", out_type=str)[:limit] if p.strip() and p != "▁")

    out = []
    for row in rows:
        title = pieces(row[column["title"]], TITLE_PIECES) if "title" in column else ""
        brand = pieces(row[column["brand"]], BRAND_PIECES) if "brand" in column else ""
        out.append([row[column["item_id"]], title, brand or "unknown"])
    write_atomic(os.path.join(folder, f"{theirs}.item"), ["item_id:token", "title:token_seq", "brand:token_seq"], out)
    shutil.copyfile(os.path.join(data_path, name, f"{name}.inter"), os.path.join(folder, f"{theirs}.inter.tmp"))
    os.replace(os.path.join(folder, f"{theirs}.inter.tmp"), os.path.join(folder, f"{theirs}.inter"))
    return theirs
