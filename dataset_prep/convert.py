"""Amazon dumps -> RecBole atomic files (+ stats.json, tokenizer, properties yaml)."""

import csv
import json
import os
from array import array

import numpy as np
from dataset_prep.inputs import check_dataset, check_file, staged_folder
from dataset_prep.readers import (META_FORMATS, BadLines, detect_meta_format, detect_review_format, read_meta,
                                  read_reviews)
from dataset_prep.stages import Stages

INTER_HEADER = ["user_id:token", "item_id:token", "rating:float", "timestamp:float"]
ITEM_HEADER = ["item_id:token", "title:token", "brand:token", "categories:token_seq"]


def kcore(users, items, k):
    """Mask of interactions kept by iterative k-core filtering of users and items."""
    keep = np.ones(len(users), dtype=bool)
    while k > 1:
        user_counts = np.bincount(users[keep], minlength=users.max(initial=0) + 1)
        item_counts = np.bincount(items[keep], minlength=items.max(initial=0) + 1)
        new_keep = keep & (user_counts[users] >= k) & (item_counts[items] >= k)
        if new_keep.sum() == keep.sum():
            break
        keep = new_keep
    return keep


def tokens_of(dataset_dir):
    """(user tokens, item tokens) of a prepared dataset's .inter file, for exclusion."""
    name = os.path.basename(os.path.normpath(dataset_dir))
    path = os.path.join(dataset_dir, f"{name}.inter")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--exclude: no prepared dataset at {path}")
    users, items = set(), set()
    with open(path, encoding="utf-8") as f:
        next(f)
        for line in f:
            user, item, _ = line.split("\t", 2)
            users.add(user)
            items.add(item)
    return users, items


def convert(reviews, name, out, meta=None, kcore_k=0, force=False, drop_untitled=False, dedupe=True,
            exclude=(), exclude_items=False, categories=(), tokenizer=None, vocab_size=30000, progress=True):
    final = os.path.join(out, name)
    if categories and not meta:
        raise ValueError("--category needs --meta: categories come from the metadata")
    check_inputs(reviews, meta, exclude, tokenizer)
    if os.path.exists(final) and not force:
        raise FileExistsError(f"{final} already exists; pass --force to overwrite it")
    bad, stages = BadLines(), Stages(progress)
    formats = {"reviews": detect_review_format(reviews), "meta": detect_meta_format(meta) if meta else None}
    text_source = META_FORMATS[formats["meta"]] if meta else None
    if categories and formats["meta"] == "id_text":
        raise ValueError(f"--category needs metadata with categories; {meta} has 'ASIN text' lines, which have none")

    # 1. Interactions, with string ids mapped to ints: memory grows with users and items, not lines.
    with stages("reviews", lines=True) as meter:
        user_ids, item_ids, u, i, r, t = read_interactions(reviews, bad, meter)

    # 2. Metadata of the items that occur in the reviews.
    titles, brands, cats = [""] * len(item_ids), [""] * len(item_ids), [""] * len(item_ids)
    in_category = np.zeros(len(item_ids), dtype=bool)
    dropped = {}
    if meta:
        with stages("metadata", lines=True) as meter:
            dropped["duplicate metadata rows (first kept)"] = read_item_texts(
                meta, item_ids, bad, meter, titles, brands, cats, in_category, {c.casefold() for c in categories})

    # Plain lists of names from here on: the id dicts' tables are no longer needed.
    user_names, item_names = list(user_ids), list(item_ids)
    del user_ids, item_ids
    with stages("filters"):
        keep = filter_interactions(u, i, t, user_names, item_names, titles, dropped, dedupe, exclude, exclude_items,
                                   drop_untitled, kcore_k, in_category if categories else None)

    # 3. Write everything into a temporary folder, then rename: never a half-written dataset.
    with staged_folder(out, name) as tmp:
        with stages("write .inter"):
            index = np.nonzero(keep)[0]
            index = index[np.lexsort((index, t[index], u[index]))]  # user, time, then file order
            del keep
            write_inter(os.path.join(tmp, f"{name}.inter"), index, u, i, r, t, user_names, item_names)
            kept_items = np.unique(i[index])
            n_users = int(np.unique(u[index]).size)
        with stages("write .item"):
            write_items(os.path.join(tmp, f"{name}.item"), kept_items, item_names, titles, brands, cats)
        with stages("tokenizer"):
            second = cats if formats["meta"] == "movielens" else brands  # the second text field
            text_path = write_tokenizer(tmp, name, titles, second, kept_items, tokenizer, vocab_size, final)
        kept = kept_items.tolist()
        stats = {
            "name": name,
            "sources": [os.path.abspath(p) for p in (reviews, meta) if p],
            "interactions": int(len(index)),
            "users": n_users,
            "items": int(len(kept_items)),
            "interactions_per_item": round(len(index) / max(1, len(kept_items)), 3),
            "interactions_per_user": round(len(index) / max(1, n_users), 3),
            "items_with_title": sum(1 for k in kept if titles[k]),
            "items_with_brand": sum(1 for k in kept if brands[k]),
            "input_formats": formats,
            "text_source": text_source,  # what the item texts are: keyword texts are not raw titles
            "stages": stages.records,
            "bad_lines": bad.as_dict(),
            "dropped_interactions": dropped,
            "tokenizer": text_path,
        }
        with open(os.path.join(tmp, "stats.json"), "w", encoding="utf-8") as f:
            json.dump(stats, f, indent=1)
        # MovieLens has no brands: its genres are the second text field, as ml-100k's yaml does
        write_properties(tmp, name, text_path, text_source,
                         ["title", "categories"] if formats["meta"] == "movielens" else ["title", "brand"])
    return stats


def check_inputs(reviews, meta, exclude, tokenizer):
    """Every input path, before the reviews pass: --exclude and --tokenizer are read only after it."""
    check_file("--reviews", reviews)
    if meta:
        check_file("--meta", meta)
    for directory in exclude:
        check_dataset("--exclude", directory)
    if tokenizer:
        check_file("--tokenizer", tokenizer)


def read_interactions(reviews, bad, meter):
    """Id maps (name -> index, in order of first appearance) and int/float arrays per line."""
    user_ids, item_ids = {}, {}
    u, i, r, t = array("i"), array("i"), array("f"), array("d")
    for user, item, rating, stamp in read_reviews(reviews, bad, meter):
        u.append(user_ids.setdefault(user, len(user_ids)))
        i.append(item_ids.setdefault(item, len(item_ids)))
        r.append(rating)
        t.append(stamp)
    arrays = (np.frombuffer(a, dtype=d) for a, d in ((u, np.int32), (i, np.int32), (r, np.float32), (t, np.float64)))
    return (user_ids, item_ids, *arrays)


def read_item_texts(meta, item_ids, bad, meter, titles, brands, cats, in_category, wanted_categories):
    """Fill titles/brands/cats/in_category (indexed by item) from the metadata; returns the duplicate rows seen."""
    seen = np.zeros(len(item_ids), dtype=bool)
    shared = {}  # brands and category paths repeat across millions of items: keep one copy of each
    duplicates = 0
    for item, title, brand, categories, top in read_meta(meta, bad, meter, wanted=item_ids):
        index = item_ids.get(item)
        if index is None:
            continue
        if seen[index]:
            duplicates += 1
            continue
        seen[index] = True
        titles[index] = title
        in_category[index] = any(c.casefold() in wanted_categories for c in top)
        brands[index] = shared.setdefault(brand, brand)
        categories = " ".join(c.replace(" ", "_") for c in categories)
        cats[index] = shared.setdefault(categories, categories)
    return duplicates


def filter_interactions(u, i, t, user_names, item_names, titles, dropped, dedupe, exclude, exclude_items,
                        drop_untitled, kcore_k, in_category=None):
    """Boolean mask of the interactions kept; the count dropped by each filter goes into ``dropped``."""
    keep = np.ones(len(u), dtype=bool)
    if in_category is not None:
        dropped["item outside --category"] = int((~in_category[i]).sum())
        keep &= in_category[i]
    if dedupe and len(u):
        order = np.lexsort((t, i, u))
        repeat = np.ones(len(u) - 1, dtype=bool)
        for column in (u, i, t):  # one sorted column at a time: the peak of this stage
            ranked = column[order]
            repeat &= ranked[1:] == ranked[:-1]
            del ranked
        same = np.zeros(len(u), dtype=bool)
        same[order[1:]] = repeat
        del order, repeat
        keep &= ~same
        dropped["duplicate (user, item, time)"] = int(same.sum())
    for directory in exclude:
        users, items = tokens_of(directory)
        hit = np.fromiter((name in users for name in user_names), dtype=bool, count=len(user_names))[u]
        dropped[f"user of excluded {directory}"] = int((keep & hit).sum())
        keep &= ~hit
        if exclude_items:
            hit = np.fromiter((name in items for name in item_names), dtype=bool, count=len(item_names))[i]
            dropped[f"item of excluded {directory}"] = int((keep & hit).sum())
            keep &= ~hit
    if drop_untitled:
        titled = np.fromiter((bool(x) for x in titles), dtype=bool, count=len(titles))
        dropped["item without title"] = int((keep & ~titled[i]).sum())
        keep &= titled[i]
    if kcore_k > 1:
        before = int(keep.sum())
        index = np.nonzero(keep)[0]
        keep[index[~kcore(u[index], i[index], kcore_k)]] = False
        dropped[f"{kcore_k}-core filtering"] = before - int(keep.sum())
    return keep


def write_inter(path, index, u, i, r, t, user_names, item_names, chunk=1_000_000):
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("\t".join(INTER_HEADER) + "\n")
        for start in range(0, len(index), chunk):
            rows = index[start:start + chunk]
            f.write("".join(
                f"{user_names[a]}\t{item_names[b]}\t{c:g}\t{d:.0f}\n"
                for a, b, c, d in zip(u[rows].tolist(), i[rows].tolist(), r[rows].tolist(), t[rows].tolist())
            ))


def write_items(path, kept_items, item_names, titles, brands, cats):
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, delimiter="\t", lineterminator="\n")  # quotes a title the way pandas reads it back
        writer.writerow(ITEM_HEADER)
        for item in kept_items.tolist():
            writer.writerow([item_names[item], titles[item], brands[item], cats[item]])


def write_tokenizer(tmp, name, titles, brands, kept_items, tokenizer, vocab_size, final):
    """Path (in the final dataset folder) of the tokenizer the dataset uses, trained on the two text
    fields (``brands``: the second one)."""
    if tokenizer:
        if not os.path.isfile(tokenizer):
            raise FileNotFoundError(f"--tokenizer: no SentencePiece model at {tokenizer}")
        return os.path.abspath(tokenizer)  # fine-tuning data must share the pre-training tokenizer
    from recbole_srt.tokenizer import train_tokenizer

    texts = [s for k in kept_items.tolist() for s in (titles[k], brands[k]) if s]
    if not texts:
        return None
    train_tokenizer(texts, vocab_size, os.path.join(tmp, f"{name}.spm.model"))
    return os.path.abspath(os.path.join(final, f"{name}.spm.model"))


def write_properties(tmp, name, tokenizer_path, text_source=None, text_fields=("title", "brand")):
    """<name>.yaml beside the atomic files: read by SRTConfig for --dataset=<name>."""
    lines = [
        f"# Written by dataset_prep for {name}.",
        f"# Item texts: {text_source or 'none (no --meta)'}.",
        "load_col:",
        "  inter: [user_id, item_id, rating, timestamp]",
        "  item: [item_id, title, brand, categories]",
        f"text_fields: [{', '.join(text_fields)}]",
    ]
    if tokenizer_path:
        # The dataset's own tokenizer relative to this yaml's folder (SRTConfig resolves it there), so the prepared
        # folder can be moved or copied; one given with --tokenizer (a pre-training corpus's) stays absolute.
        own = tokenizer_path.endswith(os.path.join(name, f"{name}.spm.model"))
        lines.append(f"tokenizer_path: {json.dumps(os.path.basename(tokenizer_path) if own else tokenizer_path)}")
    with open(os.path.join(tmp, f"{name}.yaml"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
