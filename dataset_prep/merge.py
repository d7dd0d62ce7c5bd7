"""Several prepared datasets -> one pre-training corpus with one tokenizer, the target's users removed.

    python -m dataset_prep merge --sources DIR/toys,DIR/sports,DIR/office,DIR/gift_cards \
        --exclude DIR/beauty_gram --name pretrain-beauty --out DIR [--tokenizer-also DIR/beauty]

What SRT's transfer study does (pre-train on other categories without the target's users), from
datasets prepared by ``convert``:
- A source's users and items keep their tokens when they are raw Amazon ids; a source whose ids are
  all digits (remapped, as APAO's Office) gets them prefixed with its name, so that they cannot
  collide with another source's numbers.
- Sequences are not joined across sources: GRAM-derived files carry an order, not times, so a
  reviewer's items in two categories cannot be interleaved. Each (source, user) is a user.
- ``--exclude`` removes every user whose raw token is a user of that prepared dataset (for Beauty,
  prepare GRAM's user_sequence.txt, which has the raw reviewer ids), and says how many users and
  interactions each source lost. Remapped sources cannot be matched and are reported as such.
- One SentencePiece tokenizer over the corpus's titles and brands, plus the texts of
  ``--tokenizer-also`` datasets (the target's), so that fine-tuning can reuse it; or ``--tokenizer``.
"""

import json
import os

from dataset_prep.convert import INTER_HEADER, ITEM_HEADER, tokens_of, write_properties, write_tokenizer
from dataset_prep.inputs import check_dataset, staged_folder


def _read_table(path, columns):
    import csv

    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t")
        header = next(reader)
        if header[:len(columns)] != columns[:len(header)] or len(header) != len(columns):
            raise ValueError(f"{path}: header {header} is not the one 'dataset_prep convert' writes ({columns})")
        return list(reader)


def merge(sources, name, out, exclude=(), tokenizer=None, tokenizer_also=(), vocab_size=30000, force=False):
    final = os.path.join(out, name)
    if os.path.exists(final) and not force:
        raise FileExistsError(f"{final} already exists; pass --force to overwrite it")
    for directory in sources:
        check_dataset("--sources", directory, ("inter", "item"))
    for directory in exclude:
        check_dataset("--exclude", directory)
    for directory in tokenizer_also:
        check_dataset("--tokenizer-also", directory, ("inter", "item"))
    excluded_users = set()
    for directory in exclude:
        excluded_users |= tokens_of(directory)[0]

    inter_rows, items, report = [], {}, {}
    for directory in sources:
        source = os.path.basename(os.path.normpath(directory))
        rows = _read_table(os.path.join(directory, f"{source}.inter"), INTER_HEADER)
        item_rows = _read_table(os.path.join(directory, f"{source}.item"), ITEM_HEADER)
        remapped_users = all(r[0].isdigit() for r in rows)
        remapped_items = all(r[0].isdigit() for r in item_rows)
        user_of = (lambda u: f"{source}:{u}")  # noqa: E731  (each (source, user) is one user)
        item_of = (lambda i: f"{source}:{i}") if remapped_items else (lambda i: i)  # noqa: E731
        hit = [r for r in rows if r[0] in excluded_users] if not remapped_users else []
        hit_users = {r[0] for r in hit}
        report[source] = {
            "interactions": len(rows), "users": len({r[0] for r in rows}), "items": len(item_rows),
            "removed_users": len(hit_users), "removed_interactions": len(hit),
            "ids": "remapped (prefixed; cannot be matched against --exclude)" if remapped_users else "raw",
        }
        for user, item, rating, stamp in rows:
            if user in hit_users:
                continue
            inter_rows.append((user_of(user), item_of(item), rating, float(stamp), len(inter_rows)))
        for row in item_rows:
            item = item_of(row[0])
            if item in items and items[item][1:] != row[1:]:
                report[source].setdefault("items_with_other_text_kept_first", 0)
                report[source]["items_with_other_text_kept_first"] += 1
            items.setdefault(item, [item, *row[1:]])
    used = {r[1] for r in inter_rows}
    inter_rows.sort(key=lambda r: (r[0], r[3], r[4]))  # user, time, then input order

    with staged_folder(out, name) as tmp:
        with open(os.path.join(tmp, f"{name}.inter"), "w", encoding="utf-8", newline="") as f:
            f.write("\t".join(INTER_HEADER) + "\n")
            f.writelines(f"{u}\t{i}\t{r}\t{t:.0f}\n" for u, i, r, t, _ in inter_rows)
        kept = [items[i] for i in sorted(used)]
        import csv

        with open(os.path.join(tmp, f"{name}.item"), "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, delimiter="\t", lineterminator="\n")
            writer.writerow(ITEM_HEADER)
            writer.writerows(kept)
        titles, brands = [row[1] for row in kept], [row[2] for row in kept]
        for directory in tokenizer_also:  # the target's texts: fine-tuning reuses this tokenizer
            other = os.path.basename(os.path.normpath(directory))
            for row in _read_table(os.path.join(directory, f"{other}.item"), ITEM_HEADER):
                titles.append(row[1])
                brands.append(row[2])
        import numpy as np

        text_path = write_tokenizer(tmp, name, titles, brands, np.arange(len(titles)), tokenizer, vocab_size, final)
        stats = {
            "name": name, "sources": report, "excluded_with": [os.path.abspath(d) for d in exclude],
            "tokenizer_texts_also_from": [os.path.abspath(d) for d in tokenizer_also],
            "interactions": len(inter_rows), "users": len({r[0] for r in inter_rows}), "items": len(kept),
            "items_with_title": sum(1 for row in kept if row[1]), "tokenizer": text_path,
        }
        with open(os.path.join(tmp, "stats.json"), "w", encoding="utf-8") as f:
            json.dump(stats, f, indent=1)
        write_properties(tmp, name, text_path, "the sources' item texts (see stats.json)")
    return stats
