"""Scoring items the model never saw, from their text (recbole_srt/new_items.py)."""

import logging

import pytest
import torch

from recbole_srt import new_items
from recbole_srt.checkpoint import save_checkpoint
from recbole_srt.compat import loader_dataset
from recbole_srt.config_check import ConfigError
from recbole_srt.tokenizer import item_texts

from conftest import make_run


def test_new_item_texts_score_as_the_catalog_items_with_the_same_text_and_the_cli_ranks_them(tmp_path, capsys, caplog):
    run = make_run("SRT", epochs=1)
    model, config = run.model.eval(), run.config
    train = loader_dataset(run.train_data)
    fields = list(config["text_fields"])
    texts = item_texts(train, fields)
    items = torch.tensor([5, 50, 500, 1000])
    records = [{f: texts[f][i] for f in fields} for i in items.tolist()]
    history = torch.tensor([1, 2, 3, 4, 7, 9])
    scores = new_items.score_new_items(model, config, history, records)
    with torch.no_grad():
        state = model.forward(history[None], torch.tensor([len(history)]))
        catalog = (state @ model.item_representations().T)[0, items]
    torch.testing.assert_close(scores, catalog, rtol=1e-5, atol=1e-5)
    # A field left out is encoded empty; a column that is no text field is refused.
    assert new_items.score_new_items(model, config, history, [{fields[0]: records[0][fields[0]]}]).shape == (1,)
    with pytest.raises(ConfigError, match="not text fields"):
        new_items.score_new_items(model, config, history, [{"price": "3"}])

    checkpoint = tmp_path / "srt.pth"
    save_checkpoint(str(checkpoint), {"state_dict": model.state_dict()}, config, model)
    table = tmp_path / "new.tsv"
    table.write_text("\t".join(fields) + "\n" + "".join("\t".join(r[f] for f in fields) + "\n" for r in records))
    user = train.id2token(train.uid_field, 1)
    caplog.set_level(logging.WARNING)
    caplog.clear()  # the warnings of make_run above: a training run's
    assert new_items.main(["--model=SRT", "--dataset=ml-100k", f"--checkpoint={checkpoint}", f"--items={table}",
                           f"--user={user}", "--top=3", f"--checkpoint_dir={tmp_path}", "--log_dir=~",
                           f"--tokenizer_dir={config['tokenizer_dir']}"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.strip().split("\n")
    # A scoring call does not evaluate: the protocol's warnings (uni10000 over a catalog of 1682) are not its news.
    assert not [r for r in caplog.records if "negatives but the catalog has" in r.getMessage()]
    assert lines[0].split("\t") == ["rank", "score", *fields] and len(lines) == 4
    ranked = [float(line.split("\t")[1]) for line in lines[1:]]
    assert ranked == sorted(ranked, reverse=True)
    assert new_items.main(["--model=SRT", f"--checkpoint={checkpoint}", f"--items={table}", "--user=nobody",
                           f"--tokenizer_dir={config['tokenizer_dir']}", "--log_dir=~"]) == 2
    assert "'nobody' is not a user" in capsys.readouterr().err


def test_id_models_cannot_score_new_items():
    run = make_run("IDTransformer")
    with pytest.raises(ConfigError, match="only text models"):
        new_items.score_new_items(run.model, run.config, torch.tensor([1, 2]), [{"title": "x"}])
