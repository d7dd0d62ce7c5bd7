"""Synthetic Amazon dumps in the real file formats, for dataset_prep's scale benchmark.

The shapes follow the full 2014 release: about 0.256 users and 0.12 items per review line,
heavy-tailed user activity and item popularity, 2014 review lines with review text (the bulk of
the bytes), metadata lines written as Python literals (single quotes) like the real
``metadata.json.gz``. ``--format 2018`` and ``2023`` write those releases' JSON lines instead.
"""

import gzip
import json
import string

import numpy as np

USERS_PER_LINE, ITEMS_PER_LINE = 21.2 / 82.7, 9.9 / 82.7
WORDS = ("great product works well love it quality price would buy again fast shipping nice color smell "
         "skin hair size small large cheap broke after week recommend gift daughter perfect easy use").split()


def ids(rng, n, width, prefix):
    """n distinct ids such as A2SUAM1J3GNN3B (users) or B00XKX0VJU (items)."""
    alphabet = np.array(list(string.ascii_uppercase + string.digits))
    raw = alphabet[rng.integers(0, len(alphabet), size=(n, width - len(prefix)))]
    names = np.char.add(prefix, np.array(["".join(row) for row in raw]))
    names = np.unique(names)  # collisions are rare; drop them
    return names[rng.permutation(len(names))]


def interactions(rng, n_lines):
    """(user index, item index, rating, unix time) per line, in the release's item-grouped order."""
    n_users = max(1, int(n_lines * USERS_PER_LINE))
    n_items = max(1, int(n_lines * ITEMS_PER_LINE))
    user_weight = rng.pareto(1.2, n_users) + 1.0
    item_weight = rng.pareto(0.9, n_items) + 1.0
    users = rng.choice(n_users, size=n_lines, p=user_weight / user_weight.sum())
    users[:n_users] = np.arange(n_users)  # every user at least once
    items = rng.choice(n_items, size=n_lines, p=item_weight / item_weight.sum())
    items[:n_items] = np.arange(n_items)
    order = np.argsort(items, kind="stable")
    ratings = rng.integers(1, 6, size=n_lines)
    times = rng.integers(946684800, 1406073600, size=n_lines)
    return users[order], items[order], ratings[order], times[order], n_users, n_items


def review_text(rng, n):
    lengths = np.minimum(rng.geometric(1 / 90, size=n), 600)  # words; about 90 on average
    return [" ".join(WORDS[j] for j in rng.integers(0, len(WORDS), size=k)) for k in lengths]


def write_reviews(path, fmt, rng, user_names, item_names, users, items, ratings, times, chunk=200_000):
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as f:
        for start in range(0, len(users), chunk):
            stop = min(start + chunk, len(users))
            texts = review_text(rng, stop - start)
            out = []
            for k, j in enumerate(range(start, stop)):
                user, item, rating, stamp = user_names[users[j]], item_names[items[j]], int(ratings[j]), int(times[j])
                if fmt == "2023":
                    out.append(json.dumps({"rating": float(rating), "title": "ok", "text": texts[k], "images": [],
                                           "asin": item, "parent_asin": item, "user_id": user,
                                           "timestamp": stamp * 1000, "helpful_vote": 0, "verified_purchase": True}))
                else:
                    out.append(json.dumps({"reviewerID": user, "asin": item, "reviewerName": "J. Doe",
                                           "helpful": [0, 0], "reviewText": texts[k], "overall": float(rating),
                                           "summary": "Five Stars", "unixReviewTime": stamp,
                                           "reviewTime": "07 1, 2013"}))
            f.write("\n".join(out) + "\n")


def write_meta(path, fmt, rng, item_names, chunk=200_000):
    """One line per item; a few titles hold quotes, HTML or script junk as in the real dumps."""
    related_ids, n = item_names, len(item_names)
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as f:
        for start in range(0, len(item_names), chunk):
            out = []
            for item in item_names[start:start + chunk].tolist():
                words = [WORDS[j] for j in rng.integers(0, len(WORDS), size=int(rng.integers(3, 15)))]
                title = " ".join(words).title() + ("'s" if rng.random() < 0.1 else "")
                brand = words[0].upper()
                cats = [["Beauty", "Skin Care", words[1].title()]]
                # about 1.1 KB a line like the real metadata.json.gz, most of it 'related' asin lists
                related = {"also_bought": related_ids[rng.integers(0, n, size=min(100, int(rng.geometric(1 / 30))))].tolist(),
                           "also_viewed": related_ids[rng.integers(0, n, size=min(60, int(rng.geometric(1 / 15))))].tolist(),
                           "bought_together": related_ids[rng.integers(0, n, size=int(rng.integers(0, 3)))].tolist()}
                if fmt == "2014":
                    out.append(repr({"asin": item, "description": " ".join(words * 6), "title": title,
                                     "price": 9.99, "imUrl": "http://ecx.images-amazon.com/images/I/x.jpg",
                                     "related": related, "salesRank": {"Beauty": 1234}, "brand": brand,
                                     "categories": cats}))
                elif fmt == "2018":
                    out.append(json.dumps({"category": cats[0], "description": [" ".join(words * 5)],
                                           "title": title if rng.random() > 0.01 else "var x = new Date().getTime()",
                                           "also_buy": related["also_bought"], "brand": brand, "rank": "1,234 in Beauty",
                                           "main_cat": "All Beauty", "price": "$9.99", "asin": item}))
                else:
                    out.append(json.dumps({"main_category": "All Beauty", "title": title, "average_rating": 4.1,
                                           "rating_number": 10, "features": [], "description": [" ".join(words * 5)],
                                           "price": 9.99, "images": [], "videos": [], "store": brand,
                                           "categories": cats[0], "details": {}, "parent_asin": item}))
            f.write("\n".join(out) + "\n")


def write_dump(folder, n_lines, fmt="2014", seed=0):
    """Write reviews and metadata for n_lines reviews; returns (reviews path, meta path, shape)."""
    import os

    rng = np.random.default_rng(seed)
    users, items, ratings, times, n_users, n_items = interactions(rng, n_lines)
    user_names = ids(rng, n_users, 14, "A").tolist()
    item_names = ids(rng, n_items, 10, "B0")
    users %= len(user_names)
    items %= len(item_names)
    suffix = ".jsonl.gz" if fmt == "2023" else ".json.gz"
    reviews = os.path.join(folder, f"reviews_Synthetic{suffix}" if fmt == "2014" else f"Synthetic{suffix}")
    meta = os.path.join(folder, f"meta_Synthetic{suffix}")
    write_reviews(reviews, fmt, rng, user_names, item_names.tolist(), users, items, ratings, times)
    write_meta(meta, fmt, rng, item_names)
    return reviews, meta, {"lines": n_lines, "users": len(np.unique(users)), "items": len(item_names)}
