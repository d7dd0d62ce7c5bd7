"""Nested, deterministic user-sampled subsets of a prepared dataset (the scaling study's data)."""

import json
import os
import shutil

import numpy as np
from dataset_prep.inputs import check_dataset

SUFFIXES = {"K": 1_000, "M": 1_000_000, "B": 1_000_000_000}


def parse_size(text):
    text = text.strip().upper()
    try:
        if text[-1] in SUFFIXES:
            return int(float(text[:-1]) * SUFFIXES[text[-1]])
        return int(text)
    except (ValueError, IndexError):
        raise ValueError(f"--sizes: '{text}' is not a size such as 100K, 5M or 250000") from None


def count_users(path):
    """{user: interactions} in order of first appearance, streaming the .inter file."""
    counts = {}
    with open(path, encoding="utf-8") as f:
        header = f.readline()
        for line in f:
            user = line.split("\t", 1)[0]
            counts[user] = counts.get(user, 0) + 1
    return header, counts


def user_order(names, counts, seed):
    """Users in a random order that depends on the seed only (not on PYTHONHASHSEED or file order)."""
    names = np.array(names, dtype=str)
    canonical = np.argsort(names, kind="stable")  # sorted names: a canonical starting order
    permutation = np.random.Generator(np.random.PCG64(seed)).permutation(len(names))
    order = canonical[permutation]
    return names[order], np.asarray(counts)[order]


def subsets(dataset_dir, sizes, seed, out=None, force=False):
    """Write <out>/<name>-<size>/ for each size: the first users of one random order whose
    interactions reach the size. Smaller subsets are prefixes of larger ones (nested), and
    whole users are kept, so the distribution of sequence lengths is the source's.

    Two streaming passes over the .inter file; memory grows with the number of users only."""
    check_dataset("--dataset", dataset_dir, ("inter", "item"))  # .item is read only after all of .inter
    dataset_dir = os.path.normpath(dataset_dir)
    name = os.path.basename(dataset_dir)
    out = out or os.path.dirname(dataset_dir)
    inter_path = os.path.join(dataset_dir, f"{name}.inter")
    header, counts = count_users(inter_path)
    names, ordered_counts = user_order(list(counts), list(counts.values()), seed)
    cumulative = np.cumsum(ordered_counts)
    plans = []
    for label in sizes:
        target = parse_size(label)
        if target > cumulative[-1]:
            raise ValueError(f"--sizes: {label} exceeds the {cumulative[-1]:,} interactions of {name}")
        sub_name = f"{name}-{label.strip().upper()}"
        final = os.path.join(out, sub_name)
        if os.path.exists(final) and not force:
            raise FileExistsError(f"{final} already exists; pass --force to overwrite it")
        n_users = int(np.searchsorted(cumulative, target) + 1)
        plans.append({"label": label, "target": target, "name": sub_name, "final": final, "n_users": n_users,
                      "tmp": os.path.join(out, f".{sub_name}.tmp{os.getpid()}"), "items": set(), "rows": 0})
    rank = counts  # reuse the dict: user -> position in the random order
    for position, user in enumerate(names.tolist()):
        rank[user] = position
    del names

    try:
        for plan in plans:
            shutil.rmtree(plan["tmp"], ignore_errors=True)
            os.makedirs(plan["tmp"])
            plan["file"] = open(os.path.join(plan["tmp"], f"{plan['name']}.inter"), "w", encoding="utf-8")
            plan["file"].write(header)
        with open(inter_path, encoding="utf-8") as f:
            f.readline()
            for line in f:
                user, item, _ = line.split("\t", 2)
                position = rank[user]
                for plan in plans:
                    if position < plan["n_users"]:
                        plan["file"].write(line)
                        plan["items"].add(item)
                        plan["rows"] += 1
        for plan in plans:
            plan["file"].close()
            plan["item_file"] = open(os.path.join(plan["tmp"], f"{plan['name']}.item"), "w", encoding="utf-8")
        with open(os.path.join(dataset_dir, f"{name}.item"), encoding="utf-8", newline="") as f:
            item_header = f.readline()
            for plan in plans:
                plan["item_file"].write(item_header)
            for line in f:
                item = line.split("\t", 1)[0]
                for plan in plans:
                    if item in plan["items"]:
                        plan["item_file"].write(line)
        results = []
        for plan in plans:
            plan["item_file"].close()
            source_yaml = os.path.join(dataset_dir, f"{name}.yaml")
            if os.path.isfile(source_yaml):  # same text fields and tokenizer as the source
                shutil.copy(source_yaml, os.path.join(plan["tmp"], f"{plan['name']}.yaml"))
            stats = {"name": plan["name"], "source": dataset_dir, "seed": seed, "target": plan["target"],
                     "interactions": plan["rows"], "users": plan["n_users"], "items": len(plan["items"])}
            with open(os.path.join(plan["tmp"], "stats.json"), "w", encoding="utf-8") as f:
                json.dump(stats, f, indent=1)
            if os.path.exists(plan["final"]):
                shutil.rmtree(plan["final"])
            os.replace(plan["tmp"], plan["final"])
            results.append(stats)
    finally:
        for plan in plans:
            for key in ("file", "item_file"):
                if key in plan:
                    plan[key].close()
            shutil.rmtree(plan["tmp"], ignore_errors=True)
    return results
