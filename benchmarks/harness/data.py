"""The Amazon datasets the studies train on, converted once from ../shared/data/amazon with dataset_prep."""

import os

from . import paths

# name: (reviews, item texts) under ../shared/data/amazon
AMAZON = {
    "beauty": ("Beauty/PLRec/Beauty.txt", "Beauty/PLRec/item_description.csv"),
    "sports": ("Sports_and_Outdoors/GRAM/user_sequence.txt",
               "Sports_and_Outdoors/IDGenRec/item_generative_indexing_phase_0.txt"),
    "toys": ("Toys_and_Games/GRAM/user_sequence.txt", "Toys_and_Games/IDGenRec/item_generative_indexing_phase_0.txt"),
    "office": ("Office_Products/APAO/Office.inter.json", "Office_Products/APAO/Office.item.json"),
    "gift_cards": ("Gift_Cards/AmazonSearchEngine/Gift_Cards_5.json.gz",
                   "Gift_Cards/AmazonSearchEngine/meta_Gift_Cards.json.gz"),
    "beauty_gram": ("Beauty/GRAM/user_sequence.txt", None),  # Beauty's users by raw id, to remove from corpora
}


def prepare(name, data_path=None):
    """<data_path>/<name>/<name>.inter, converted unless it exists; returns data_path."""
    data_path = data_path or paths.DATA
    if os.path.isfile(os.path.join(data_path, name, f"{name}.inter")):
        return data_path
    files = [os.path.join(paths.AMAZON, f) if f else None for f in AMAZON[name]]
    for path in filter(None, files):
        if not os.path.isfile(path):
            raise SystemExit(f"{name} is prepared from {path}, which does not exist (see ../shared/data/amazon)")
    from dataset_prep.convert import convert

    convert(files[0], name, data_path, meta=files[1], progress=False)
    return data_path
