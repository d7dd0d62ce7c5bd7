"""dataset_prep merge: a pre-training corpus from prepared datasets, the target's users removed."""

import json
import os

import pytest

from dataset_prep.cli import main as cli
from dataset_prep.convert import convert
from dataset_prep.merge import merge

from conftest import SHARED

needs_shared = pytest.mark.skipif(not os.path.isdir(SHARED), reason=f"real Amazon data not found at {SHARED}")


def prepare(tmp_path, name, sequences, texts):
    (tmp_path / f"{name}.txt").write_text("".join(f"{u} {' '.join(items)}\n" for u, items in sequences.items()))
    (tmp_path / f"{name}.meta").write_text("".join(f"{i} {t}\n" for i, t in texts.items()))
    convert(str(tmp_path / f"{name}.txt"), name, str(tmp_path / "data"), meta=str(tmp_path / f"{name}.meta"),
            progress=False, vocab_size=60)
    return str(tmp_path / "data" / name)


def test_merge_removes_target_users_prefixes_remapped_ids_and_trains_one_tokenizer(tmp_path):
    words = ["red toy car", "blue ball", "tent for two", "running shoes", "paper clips", "stapler heavy duty"]
    toys = prepare(tmp_path, "toys", {"A1": ["B1", "B2", "B3"], "A2": ["B2", "B3", "B1"], "A3": ["B1", "B3"]},
                   {"B1": words[0], "B2": words[1], "B3": words[2]})
    sports = prepare(tmp_path, "sports", {"A1": ["C1", "C2"], "A4": ["C2", "C1", "C2"]},
                     {"C1": words[3], "C2": words[2]})
    office = prepare(tmp_path, "office", {"0": ["0", "1"], "1": ["1", "0"]}, {"0": words[4], "1": words[5]})
    target = prepare(tmp_path, "beauty", {"A1": ["D1", "D2"], "A9": ["D2", "D1"]}, {"D1": "lip balm", "D2": "face cream"})

    stats = merge([toys, sports, office], "corpus", str(tmp_path / "data"), exclude=[target], tokenizer_also=[target],
                  vocab_size=60)
    assert stats["sources"]["toys"]["removed_users"] == 1 and stats["sources"]["toys"]["removed_interactions"] == 3
    assert stats["sources"]["sports"]["removed_users"] == 1 and stats["sources"]["sports"]["removed_interactions"] == 2
    assert stats["sources"]["office"]["removed_users"] == 0 and "remapped" in stats["sources"]["office"]["ids"]
    rows = [line.rstrip("\n").split("\t") for line in open(tmp_path / "data" / "corpus" / "corpus.inter")][1:]
    assert stats["interactions"] == len(rows) == 3 + 2 + 3 + 4
    users = {r[0] for r in rows}
    assert users == {"toys:A2", "toys:A3", "sports:A4", "office:0", "office:1"}  # sequences stay per source
    assert [r[1] for r in rows if r[0] == "sports:A4"] == ["C2", "C1", "C2"]  # order kept
    assert {r[1] for r in rows if r[0].startswith("office")} == {"office:0", "office:1"}
    items = open(tmp_path / "data" / "corpus" / "corpus.item").read()
    assert "office:1\tstapler heavy duty" in items and "B2\tblue ball" in items
    saved = json.loads((tmp_path / "data" / "corpus" / "stats.json").read_text())
    assert saved["tokenizer"].endswith("corpus.spm.model") and os.path.isfile(saved["tokenizer"])
    import sentencepiece as spm

    # The target's texts are in the tokenizer's training text: they split into fewer pieces than with a
    # tokenizer trained on the sources alone.
    alone = merge([toys, sports, office], "alone", str(tmp_path / "data"), exclude=[target], vocab_size=60)
    with_target, without = (spm.SentencePieceProcessor(model_file=path).encode("face cream lip balm")
                            for path in (saved["tokenizer"], alone["tokenizer"]))
    assert len(with_target) < len(without)

    assert cli(["merge", "--sources", f"{toys},{sports}", "--name", "corpus", "--out", str(tmp_path / "data")]) == 2
    assert cli(["merge", "--sources", f"{toys},{tmp_path}/nothing", "--name", "other",
                "--out", str(tmp_path / "data")]) == 2


def test_lc_rec_json_objects_convert(tmp_path):
    (tmp_path / "inter.json").write_text(json.dumps({"0": [0, 1, 2], "1": [2, 1], "2": "bad"}, indent=4))
    (tmp_path / "item.json").write_text(json.dumps({"0": {"title": "pen", "brand": "Bic", "categories": "Pens, Ballpoint"},
                                                    "1": {"title": "ink", "brand": ""}, "2": {"title": "pad"}}, indent=4))
    stats = convert(str(tmp_path / "inter.json"), "office", str(tmp_path / "out"), meta=str(tmp_path / "item.json"),
                    progress=False, vocab_size=30)
    assert stats["input_formats"] == {"reviews": "json_sequences", "meta": "json_items"}
    assert (stats["interactions"], stats["users"], stats["items_with_brand"]) == (5, 2, 1)
    assert list(stats["bad_lines"].values())[0]["lines"] == 1  # the user without a list
    rows = [line.split("\t")[:2] for line in (tmp_path / "out" / "office" / "office.inter").read_text().split("\n")[1:-1]]
    assert rows == [["0", "0"], ["0", "1"], ["0", "2"], ["1", "2"], ["1", "1"]]
    assert "0\tpen\tBic\tPens Ballpoint" in (tmp_path / "out" / "office" / "office.item").read_text()


@needs_shared
def test_real_office_apao_files(tmp_path):
    office = os.path.join(SHARED, "Office_Products", "APAO")
    stats = convert(f"{office}/Office.inter.json", "office", str(tmp_path), meta=f"{office}/Office.item.json",
                    progress=False)
    assert (stats["users"], stats["items"], stats["interactions"]) == (4905, 2420, 53258)
    assert (stats["items_with_title"], stats["items_with_brand"]) == (2417, 1935)
