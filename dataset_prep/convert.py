"""Amazon dumps -> RecBole atomic files (+ stats.json, tokenizer, properties yaml)."""

import csv
import json
import os
import shutil
import time
from array import array

import numpy as np
from tqdm import tqdm

from dataset_prep.readers import BadLines, read_meta, read_reviews

INTER_HEADER = ["user_id:token", "item_id:token", "rating:float", "timestamp:float"]
ITEM_HEADER = ["item_id:token", "title:token", "brand:token", "categories:token_seq"]


class Progress:
    """tqdm's lines-per-second display, plus the count and seconds that stats.json records."""

    def __init__(self, label, enabled=True):
        self.bar = tqdm(desc=label, unit=" lines", unit_scale=True, mininterval=2.0, disable=not enabled)
        self.start, self.count = time.time(), 0  # a disabled tqdm does not count

    def update(self, n):
        self.count += n
        self.bar.update(n)

    def done(self):
        self.bar.close()
        return {"lines": self.count, "seconds": round(time.time() - self.start, 2)}


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


def users_of(dataset_dir):
    """User tokens of a prepared dataset (its .inter file), for exclusion."""
    name = os.path.basename(os.path.normpath(dataset_dir))
    path = os.path.join(dataset_dir, f"{name}.inter")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--exclude: no prepared dataset at {path}")
    with open(path, encoding="utf-8") as f:
        next(f)
        return {line.split("\t", 1)[0] for line in f}


def convert(reviews, name, out, meta=None, kcore_k=0, force=False, drop_untitled=False, dedupe=True,
            exclude=(), tokenizer=None, vocab_size=30000, progress=True):
    final = os.path.join(out, name)
    if os.path.exists(final) and not force:
        raise FileExistsError(f"{final} already exists; pass --force to overwrite it")
    bad, stages = BadLines(), {}

    # 1. Interactions, with string ids mapped to ints: memory grows with users and items, not lines.
    user_ids, item_ids = {}, {}
    u, i, r, t = array("i"), array("i"), array("f"), array("d")
    meter = Progress("reviews", enabled=progress)
    for user, item, rating, stamp in read_reviews(reviews, bad, meter):
        u.append(user_ids.setdefault(user, len(user_ids)))
        i.append(item_ids.setdefault(item, len(item_ids)))
        r.append(rating)
        t.append(stamp)
    stages["reviews"] = meter.done()
    u, i, r, t = (np.frombuffer(a, dtype=d) for a, d in ((u, np.int32), (i, np.int32), (r, np.float32), (t, np.float64)))
    dropped = {}
    keep = np.ones(len(u), dtype=bool)

    if dedupe and len(u):
        order = np.lexsort((t, i, u))
        same = np.zeros(len(u), dtype=bool)
        same[order[1:]] = (u[order[1:]] == u[order[:-1]]) & (i[order[1:]] == i[order[:-1]]) & (t[order[1:]] == t[order[:-1]])
        keep &= ~same
        dropped["duplicate (user, item, time)"] = int(same.sum())

    if exclude:
        excluded = set().union(*(users_of(d) for d in exclude))
        user_names = np.array(list(user_ids), dtype=object)
        hit = np.fromiter((name in excluded for name in user_names), dtype=bool, count=len(user_names))
        dropped["user of an excluded dataset"] = int((keep & hit[u]).sum())
        keep &= ~hit[u]

    # 2. Metadata of the items that occur in the reviews.
    titles, brands, cats = {}, {}, {}
    if meta:
        meter = Progress("metadata", enabled=progress)
        duplicates = 0
        for item, title, brand, categories in read_meta(meta, bad, meter):
            index = item_ids.get(item)
            if index is None:
                continue
            if index in titles:
                duplicates += 1
                continue
            titles[index], brands[index], cats[index] = title, brand, categories
        stages["metadata"] = meter.done()
        dropped["duplicate metadata rows (first kept)"] = duplicates
    if drop_untitled:
        titled = np.zeros(len(item_ids), dtype=bool)
        titled[[k for k, v in titles.items() if v]] = True
        dropped["item without title"] = int((keep & ~titled[i]).sum())
        keep &= titled[i]

    if kcore_k > 1:
        before = int(keep.sum())
        index = np.nonzero(keep)[0]
        keep[index[~kcore(u[index], i[index], kcore_k)]] = False
        dropped[f"{kcore_k}-core filtering"] = before - int(keep.sum())

    # 3. Write everything into a temporary folder, then rename: never a half-written dataset.
    tmp = os.path.join(out, f".{name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    try:
        index = np.nonzero(keep)[0]
        index = index[np.lexsort((index, t[index], u[index]))]  # user, time, then file order
        user_names = list(user_ids)
        item_names = list(item_ids)
        with open(os.path.join(tmp, f"{name}.inter"), "w", encoding="utf-8", newline="") as f:
            f.write("\t".join(INTER_HEADER) + "\n")
            for start in range(0, len(index), 1_000_000):
                chunk = index[start:start + 1_000_000]
                f.write("".join(
                    f"{user_names[a]}\t{item_names[b]}\t{c:g}\t{d:.0f}\n"
                    for a, b, c, d in zip(u[chunk].tolist(), i[chunk].tolist(), r[chunk].tolist(), t[chunk].tolist())
                ))
        kept_items = np.unique(i[index])
        with open(os.path.join(tmp, f"{name}.item"), "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, delimiter="\t", lineterminator="\n")  # quotes a title the way pandas reads it back
            writer.writerow(ITEM_HEADER)
            for item in kept_items.tolist():
                categories = " ".join(c.replace(" ", "_") for c in cats.get(item, []))
                writer.writerow([item_names[item], titles.get(item, ""), brands.get(item, ""), categories])

        kept_users = np.unique(u[index])
        stats = {
            "name": name,
            "sources": [os.path.abspath(p) for p in (reviews, meta) if p],
            "interactions": int(len(index)),
            "users": int(len(kept_users)),
            "items": int(len(kept_items)),
            "interactions_per_item": round(len(index) / max(1, len(kept_items)), 3),
            "interactions_per_user": round(len(index) / max(1, len(kept_users)), 3),
            "items_with_title": int(sum(1 for k in kept_items.tolist() if titles.get(k))),
            "items_with_brand": int(sum(1 for k in kept_items.tolist() if brands.get(k))),
            "lines_read": stages,
            "bad_lines": bad.as_dict(),
            "dropped_interactions": dropped,
        }
        text_path = write_tokenizer(tmp, name, titles, brands, kept_items, tokenizer, vocab_size, final)
        stats["tokenizer"] = text_path
        with open(os.path.join(tmp, "stats.json"), "w", encoding="utf-8") as f:
            json.dump(stats, f, indent=1)
        write_properties(tmp, name, text_path)
        if os.path.exists(final):
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return stats


def write_tokenizer(tmp, name, titles, brands, kept_items, tokenizer, vocab_size, final):
    """Path (in the final dataset folder) of the tokenizer the dataset uses."""
    if tokenizer:
        if not os.path.isfile(tokenizer):
            raise FileNotFoundError(f"--tokenizer: no SentencePiece model at {tokenizer}")
        return os.path.abspath(tokenizer)  # fine-tuning data must share the pre-training tokenizer
    from recbole_srt.tokenizer import train_tokenizer

    texts = [s for k in kept_items.tolist() for s in (titles.get(k, ""), brands.get(k, "")) if s]
    if not texts:
        return None
    train_tokenizer(texts, vocab_size, os.path.join(tmp, f"{name}.spm.model"))
    return os.path.abspath(os.path.join(final, f"{name}.spm.model"))


def write_properties(tmp, name, tokenizer_path):
    """<name>.yaml beside the atomic files: read by SRTConfig for --dataset=<name>."""
    lines = [
        f"# Written by dataset_prep for {name}.",
        "load_col:",
        "  inter: [user_id, item_id, rating, timestamp]",
        "  item: [item_id, title, brand, categories]",
        "text_fields: [title, brand]",
    ]
    if tokenizer_path:
        lines.append(f"tokenizer_path: {json.dumps(tokenizer_path)}")
    with open(os.path.join(tmp, f"{name}.yaml"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
