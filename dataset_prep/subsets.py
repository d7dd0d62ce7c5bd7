"""Nested, deterministic user-sampled subsets of a prepared dataset (the scaling study's data)."""

import json
import os
import shutil

import numpy as np

SUFFIXES = {"K": 1_000, "M": 1_000_000, "B": 1_000_000_000}


def parse_size(text):
    text = text.strip().upper()
    try:
        if text[-1] in SUFFIXES:
            return int(float(text[:-1]) * SUFFIXES[text[-1]])
        return int(text)
    except (ValueError, IndexError):
        raise ValueError(f"--sizes: '{text}' is not a size such as 100K, 5M or 250000") from None


def read_inter(path):
    with open(path, encoding="utf-8") as f:
        header = f.readline()
        rows = f.readlines()
    users = np.array([row.split("\t", 1)[0] for row in rows], dtype=object)
    return header, rows, users


def user_order(users, seed):
    """Users in a random order that depends on the seed only (not on PYTHONHASHSEED or file order)."""
    names, counts = np.unique(users.astype(str), return_counts=True)  # sorted: a canonical order
    permutation = np.random.Generator(np.random.PCG64(seed)).permutation(len(names))
    return names[permutation], counts[permutation]


def subsets(dataset_dir, sizes, seed, out=None, force=False):
    """Write <out>/<name>-<size>/ for each size: the first users of one random order whose
    interactions reach the size. Smaller subsets are prefixes of larger ones (nested), and
    whole users are kept, so the distribution of sequence lengths is the source's."""
    dataset_dir = os.path.normpath(dataset_dir)
    name = os.path.basename(dataset_dir)
    out = out or os.path.dirname(dataset_dir)
    header, rows, users = read_inter(os.path.join(dataset_dir, f"{name}.inter"))
    names, counts = user_order(users, seed)
    cumulative = np.cumsum(counts)
    with open(os.path.join(dataset_dir, f"{name}.item"), encoding="utf-8") as f:
        item_header, *item_rows = f.read().splitlines(keepends=True)
    results = []
    for label in sizes:
        target = parse_size(label)
        if target > cumulative[-1]:
            raise ValueError(f"--sizes: {label} exceeds the {cumulative[-1]:,} interactions of {name}")
        n_users = int(np.searchsorted(cumulative, target) + 1)
        chosen = set(names[:n_users].tolist())
        sub_name = f"{name}-{label.strip().upper()}"
        final = os.path.join(out, sub_name)
        if os.path.exists(final) and not force:
            raise FileExistsError(f"{final} already exists; pass --force to overwrite it")
        tmp = os.path.join(out, f".{sub_name}.tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        try:
            kept = [row for row, user in zip(rows, users) if user in chosen]
            items = {row.split("\t", 2)[1] for row in kept}
            with open(os.path.join(tmp, f"{sub_name}.inter"), "w", encoding="utf-8") as f:
                f.write(header)
                f.writelines(kept)
            with open(os.path.join(tmp, f"{sub_name}.item"), "w", encoding="utf-8") as f:
                f.write(item_header)
                f.writelines(row for row in item_rows if row.split("\t", 1)[0] in items)
            source_yaml = os.path.join(dataset_dir, f"{name}.yaml")
            if os.path.isfile(source_yaml):  # same text fields and tokenizer as the source
                shutil.copy(source_yaml, os.path.join(tmp, f"{sub_name}.yaml"))
            stats = {"name": sub_name, "source": dataset_dir, "seed": seed, "target": target,
                     "interactions": len(kept), "users": n_users, "items": len(items)}
            with open(os.path.join(tmp, "stats.json"), "w", encoding="utf-8") as f:
                json.dump(stats, f, indent=1)
            if os.path.exists(final):
                shutil.rmtree(final)
            os.replace(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        results.append(stats)
    return results
