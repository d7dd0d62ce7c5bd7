"""Synthetic data at scale, for the studies that time the plugin on more than the datasets at hand: interaction
files for ``recbole_srt.stats`` (apen_speed.py), a corpus in dataset_prep's atomic files (large_corpus.py) and
Amazon dumps in the real release formats (dataset_prep_scale.py). Seeded: a size and seed always give one file."""

import gzip
import json
import os
import string

import numpy as np
import pandas as pd

# users and items per interaction: "amazon" like the review dumps (most users have 1-3 interactions),
# "long" for long histories (mean length 100)
SHAPES = {"amazon": (0.25, 0.12), "long": (0.01, 0.02)}
# the full 2014 Amazon release: 82.7M review lines, 21.2M users, 9.9M items
USERS_PER_LINE, ITEMS_PER_LINE = 21.2 / 82.7, 9.9 / 82.7
TITLE_WORDS = np.array(("great product works well love quality price buy fast nice color smell skin hair size small "
                        "large cheap gift perfect easy use soft light dark red blue green pack set kit pro mini max "
                        "plus").split())
REVIEW_WORDS = ("great product works well love it quality price would buy again fast shipping nice color smell "
                "skin hair size small large cheap broke after week recommend gift daughter perfect easy use").split()


def heavy_tailed(rng, n_draws, n_values, alpha):
    """n_draws values in [0, n_values) with Pareto(alpha) weights (inverse-CDF sampling)."""
    cdf = np.cumsum(rng.pareto(alpha, n_values) + 1.0)
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, rng.random(n_draws)), n_values - 1)


def inter_file(folder, name, n, shape, seed):
    """<folder>/<name>/<name>.inter: string tokens, float timestamps, rows shuffled (a reader must sort them)."""
    users_per, items_per = SHAPES[shape]
    rng = np.random.default_rng(seed)
    n_users, n_items = max(1, int(n * users_per)), max(1, int(n * items_per))
    users, items = heavy_tailed(rng, n, n_users, 1.2), heavy_tailed(rng, n, n_items, 0.9)
    users[:n_users], items[:n_items] = np.arange(n_users), np.arange(n_items)  # every user and item at least once
    shuffle = rng.permutation(n)
    users, items = users[shuffle], items[shuffle]
    times = rng.integers(946684800, 1406073600, size=n)
    path = os.path.join(folder, name, f"{name}.inter")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pd.DataFrame({"user_id:token": pd.Series(users).map("A{:07X}".format),
                  "item_id:token": pd.Series(items).map("B{:08X}".format),
                  "rating:float": rng.integers(1, 6, size=n).astype(np.float64),
                  "timestamp:float": times.astype(np.float64)}).to_csv(path, sep="\t", index=False, float_format="%.0f")
    return path


def corpus(folder, name, n_interactions, seed=0):
    """dataset_prep's atomic files (.inter and .item: title, brand) of about ``n_interactions`` rows, at least 5 a
    user; returns (interactions, users, items)."""
    rng = np.random.default_rng(seed)
    # User activity: 5 + a geometric-like tail (mean about 12), item popularity: Zipf over 8% of the rows.
    lengths = 5 + rng.zipf(1.8, size=n_interactions // 10).clip(max=2000) - 1
    lengths = lengths[: np.searchsorted(np.cumsum(lengths), n_interactions) + 1]
    n_users, n_items = len(lengths), max(1000, n_interactions // 12)
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.9
    items = rng.choice(n_items, size=int(lengths.sum()), p=popularity / popularity.sum())
    users = np.repeat(np.arange(n_users), lengths)
    times = 1.3e9 + rng.integers(0, 10 ** 8, size=len(users))  # the plugin sorts by time within each user
    os.makedirs(os.path.join(folder, name), exist_ok=True)
    pd.DataFrame({"user_id:token": users, "item_id:token": items, "rating:float": rng.integers(1, 6, size=len(users)),
                  "timestamp:float": times}).to_csv(os.path.join(folder, name, f"{name}.inter"), sep="\t", index=False)
    n_words = rng.integers(3, 9, size=n_items)
    titles = [" ".join(row[:k]) for row, k in zip(TITLE_WORDS[rng.integers(0, len(TITLE_WORDS), size=(n_items, 8))],
                                                   n_words)]
    pd.DataFrame({"item_id:token": np.arange(n_items), "title:token": titles,
                  "brand:token": [f"brand{b}" for b in rng.integers(0, 500, size=n_items)]}).to_csv(
        os.path.join(folder, name, f"{name}.item"), sep="\t", index=False)
    return len(users), n_users, n_items


def ids(rng, n, width, prefix):
    """n distinct ids such as A2SUAM1J3GNN3B (users) or B00XKX0VJU (items)."""
    alphabet = np.array(list(string.ascii_uppercase + string.digits))
    raw = alphabet[rng.integers(0, len(alphabet), size=(n, width - len(prefix)))]
    names = np.unique(np.char.add(prefix, np.array(["".join(row) for row in raw])))  # collisions are rare: dropped
    return names[rng.permutation(len(names))]


def review_lines(rng, n_lines):
    """(user index, item index, rating, unix time) per line, in the release's item-grouped order."""
    n_users, n_items = max(1, int(n_lines * USERS_PER_LINE)), max(1, int(n_lines * ITEMS_PER_LINE))
    user_weight, item_weight = rng.pareto(1.2, n_users) + 1.0, rng.pareto(0.9, n_items) + 1.0
    users = rng.choice(n_users, size=n_lines, p=user_weight / user_weight.sum())
    users[:n_users] = np.arange(n_users)  # every user at least once
    items = rng.choice(n_items, size=n_lines, p=item_weight / item_weight.sum())
    items[:n_items] = np.arange(n_items)
    order = np.argsort(items, kind="stable")
    ratings, times = rng.integers(1, 6, size=n_lines), rng.integers(946684800, 1406073600, size=n_lines)
    return users[order], items[order], ratings[order], times[order], n_users, n_items


def write_reviews(path, fmt, rng, user_names, item_names, users, items, ratings, times, chunk=200_000):
    """Review lines with text (the bulk of a dump's bytes, about 90 words), in the release's JSON."""
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as f:
        for start in range(0, len(users), chunk):
            stop = min(start + chunk, len(users))
            lengths = np.minimum(rng.geometric(1 / 90, size=stop - start), 600)
            texts = [" ".join(REVIEW_WORDS[j] for j in rng.integers(0, len(REVIEW_WORDS), size=k)) for k in lengths]
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
    """One line per item, about 1.1 KB like the real metadata (most of it 'related' asin lists); 2014's as Python
    literals (single quotes), a few 2018 titles script junk as in the real dumps."""
    n = len(item_names)
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as f:
        for start in range(0, n, chunk):
            out = []
            for item in item_names[start:start + chunk].tolist():
                words = [REVIEW_WORDS[j] for j in rng.integers(0, len(REVIEW_WORDS), size=int(rng.integers(3, 15)))]
                title = " ".join(words).title() + ("'s" if rng.random() < 0.1 else "")
                brand, cats = words[0].upper(), [["Beauty", "Skin Care", words[1].title()]]
                related = {"also_bought": item_names[rng.integers(0, n, size=min(100, int(rng.geometric(1 / 30))))].tolist(),
                           "also_viewed": item_names[rng.integers(0, n, size=min(60, int(rng.geometric(1 / 15))))].tolist(),
                           "bought_together": item_names[rng.integers(0, n, size=int(rng.integers(0, 3)))].tolist()}
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


def amazon_dump(folder, n_lines, fmt="2014", seed=0):
    """Reviews and metadata of ``n_lines`` reviews in the 2014, 2018 or 2023 release's format, shaped like the
    full 2014 release; returns (reviews path, meta path, shape)."""
    rng = np.random.default_rng(seed)
    users, items, ratings, times, n_users, n_items = review_lines(rng, n_lines)
    user_names, item_names = ids(rng, n_users, 14, "A").tolist(), ids(rng, n_items, 10, "B0")
    users %= len(user_names)
    items %= len(item_names)
    suffix = ".jsonl.gz" if fmt == "2023" else ".json.gz"
    reviews = os.path.join(folder, f"reviews_Synthetic{suffix}" if fmt == "2014" else f"Synthetic{suffix}")
    meta = os.path.join(folder, f"meta_Synthetic{suffix}")
    write_reviews(reviews, fmt, rng, user_names, item_names.tolist(), users, items, ratings, times)
    write_meta(meta, fmt, rng, item_names)
    return reviews, meta, {"lines": n_lines, "users": len(np.unique(users)), "items": len(item_names)}
