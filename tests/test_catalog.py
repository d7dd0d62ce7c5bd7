import torch

from conftest import make_run, copy_ml100k, ml100k_files, write_dataset


def test_parameter_count_does_not_depend_on_catalog_size(tmp_path):
    run = make_run("SRT")
    config, model = run.config, run.model
    n_params = sum(p.numel() for p in model.parameters())

    # The same interactions plus 500 new items (texts reusing known words) and their users.
    folder = copy_ml100k(str(tmp_path), "ml-grown")
    with open(f"{folder}/ml-grown.item", "a", encoding="utf-8") as f:
        for k in range(500):
            f.write(f"{5000 + k}\tNew Story {k} Returns\t1999\tComedy Drama\n")
    with open(f"{folder}/ml-grown.inter", "a", encoding="utf-8") as f:
        for k in range(500):
            for j in range(3):
                f.write(f"{2000 + k}\t{5000 + (k + j) % 500}\t4\t{900000000 + j}\n")
    grown = make_run(
        "SRT", "ml-grown", data_path=str(tmp_path), tokenizer_path=run.catalog.tokenizer["path"],
        text_fields=["movie_title", "class"], text_max_tokens=config["text_max_tokens"], load_col={"inter": ["user_id", "item_id", "rating", "timestamp"],
                                                         "item": ["item_id", "movie_title", "class"]},
    ).model
    assert grown.n_items == model.n_items + 500
    assert sum(p.numel() for p in grown.parameters()) == n_params
    # Weights trained on one catalog score the other: new items get representations from text.
    grown.load_state_dict(model.state_dict())
    grown.eval()
    reps = grown.item_representations()
    assert reps.shape == (model.n_items + 500, config["hidden_size"])
    assert torch.isfinite(reps).all()


def test_one_tokenizer_gives_same_ids_for_same_text_in_two_datasets(tmp_path):
    run = make_run("SRT")
    config, train, model = run.config, run.train_data, run.model
    # A second dataset: the last 800 ml-100k movies under new ids, with interactions in another order,
    # so RecBole assigns them different internal ids and different token-field ids.
    with open(f"{ml100k_files()}/ml-100k.item", encoding="utf-8") as f:
        header, *items = f.read().splitlines()
    kept = {line.split("\t")[0]: line for line in items[-800:]}
    with open(f"{ml100k_files()}/ml-100k.inter", encoding="utf-8") as f:
        inter_header, *inters = f.read().splitlines()
    inter_lines = [l.replace("\t", "\tx", 1) for l in reversed(inters) if l.split("\t")[1] in kept]
    item_lines = ["x" + line for line in kept.values()]
    write_dataset(str(tmp_path), "ml-other", inter_lines, item_lines, inter_header, header)
    other_run = make_run(
        "SRT", "ml-other", data_path=str(tmp_path), tokenizer_path=run.catalog.tokenizer["path"],
        text_fields=["movie_title", "class"], text_max_tokens=config["text_max_tokens"], user_inter_num_interval="[3,inf)",
        load_col={"inter": ["user_id", "item_id", "rating", "timestamp"], "item": ["item_id", "movie_title", "class"]},
    )
    other, other_train = other_run.model, other_run.train_data
    ids_a = train.dataset.field2id_token["item_id"]
    ids_b = {token: i for i, token in enumerate(other_train.dataset.field2id_token["item_id"])}
    compared = 0
    for internal_a, token in enumerate(ids_a):
        if internal_a == 0 or "x" + token not in ids_b:
            continue
        internal_b = ids_b["x" + token]
        compared += internal_a != internal_b
        for k in range(2):
            table_a = getattr(model.item_encoder, f"item_tokens_{k}")
            table_b = getattr(other.item_encoder, f"item_tokens_{k}")
            assert torch.equal(table_a[internal_a], table_b[internal_b])
    assert compared > 500  # most shared items have different internal ids in the two datasets
