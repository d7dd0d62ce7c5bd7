"""Bad inputs, table-driven: each stops the CLI with exit code 2, one line on stderr, no traceback, and nothing left
behind in the data, checkpoint, log or tokenizer folders. The CLI runs in-process (``recbole_srt.__main__.main``);
two cases run as real processes to prove the exit code."""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import torch

from recbole_srt.__main__ import main

from conftest import QUIET, copy_ml100k

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INTER_HEADER = "user_id:token\titem_id:token\ttimestamp:float"
ITEM_HEADER = "item_id:token\ttitle:token_seq\tbrand:token"
TITLES = ["red running shoe", "blue rain coat", "green tea", "black coffee mug", "paper notebook", "ink pen",
          "wool hat", "silk scarf", "oak table", "steel lamp", "glass vase", "cotton shirt"]
TINY = ["--model=SRT", "--dataset=tiny", "--epochs=1", "--hidden_size=16", "--inner_size=32", "--n_layers=1",
        "--n_heads=1", "--MAX_ITEM_LIST_LENGTH=5", "--train_batch_size=16", "--eval_args={'mode': 'full'}",
        "--state=ERROR", "--show_progress=False", "--tensorboard_dir=~", "--text_fields=['title', 'brand']"]


def inter_lines(users=30, per_user=5):
    return [f"u{u}\ti{(u + k) % len(TITLES)}\t{1000 + 10 * u + k}" for u in range(users) for k in range(per_user)]


def item_lines():
    return [f"i{k}\t{title}\tbrand{k % 3}" for k, title in enumerate(TITLES)]


def write_tiny(data, name="tiny", inter=None, items=None, inter_header=INTER_HEADER, item_header=ITEM_HEADER,
               item_bytes=None):
    folder = os.path.join(data, name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, f"{name}.inter"), "w", encoding="utf-8") as f:
        f.write("\n".join([inter_header, *(inter_lines() if inter is None else inter)]) + "\n")
    with open(os.path.join(folder, f"{name}.item"), "wb") as f:
        f.write(item_bytes if item_bytes is not None else
                ("\n".join([item_header, *(item_lines() if items is None else items)]) + "\n").encode("utf-8"))
    return folder


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """tmp/data/tiny (good atomic files), tmp/saved, tmp/log, tmp/tok, and a finished tiny run's checkpoint
    (with optimizer state) in tmp/finished/."""
    root = tmp_path_factory.mktemp("bad_inputs")
    write_tiny(str(root / "data"))
    finished = root / "finished"
    argv = [*TINY, f"--data_path={root / 'data'}", f"--checkpoint_dir={finished}", "--log_dir=~",
            f"--tokenizer_dir={root / 'tok'}", "--checkpoint_optimizer=True", f"--results_file={finished / 'r.json'}"]
    assert main(argv) == 0
    with open(finished / "r.json") as f:
        checkpoint = json.load(f)["checkpoint"]
    # The same weights as a checkpoint of earlier versions: one torch file named .pth, with its sidecar.
    from recbole_srt.checkpoint import load_checkpoint

    state, meta = load_checkpoint(checkpoint)
    torch.save({k: v for k, v in state.items() if k not in ("optimizer", "scheduler")}, finished / "old.pth")
    with open(finished / "old.pth.json", "w") as f:
        json.dump({k: meta[k] for k in ("model", "tokenizer", "config")}, f)
    return root, checkpoint


def truncated(source, target):
    data = open(source, "rb").read()
    with open(target, "wb") as f:
        f.write(data[: len(data) // 2])
    return target


def setup_case(root, name, checkpoint):
    """Extra files a case needs, under root/case/; returns {placeholder: value} for its argv."""
    case = root / "case" / name
    shutil.rmtree(case, ignore_errors=True)
    case.mkdir(parents=True)
    data = case / "data"
    values = {"{data}": str(root / "data"), "{case}": str(case), "{checkpoint}": checkpoint,
              "{old}": str(root / "finished" / "old.pth")}
    bad_data = {
        "no_item_column": dict(inter_header="user_id:token\tproduct:token\ttimestamp:float"),
        "non_numeric_time": dict(inter=inter_lines()[:7] + ["u9\ti3\tyesterday"] + inter_lines()[8:]),
        "header_only": dict(inter=[]),
        "repeated_header_line": dict(inter=inter_lines()[:20] + [INTER_HEADER] + inter_lines()[20:]),
        "repeated_column": dict(inter_header="user_id:token\titem_id:token\titem_id:token",
                                inter=[f"u{u}\ti{u % 5}\ti{u % 5}" for u in range(40)]),
        "unknown_type": dict(inter_header="user_id:token\titem_id:token\ttimestamp:int"),
        "non_utf8_item": dict(item_bytes=("\n".join([ITEM_HEADER, *item_lines()[:4]]) + "\n").encode()
                              + b"i4\tcaf\xe9 cr\xe8me\tbrand1\n"),
    }
    if name in bad_data:
        write_tiny(str(data), **bad_data[name])
        values["{data}"] = str(data)
    if name == "truncated_pth":
        truncated(values["{old}"], case / "old.pth")
        shutil.copy(values["{old}"] + ".json", case / "old.pth.json")
        values["{old}"] = str(case / "old.pth")
    if name == "truncated_safetensors":
        for end in (".json", ".optim.pt"):
            shutil.copy(checkpoint + end, str(case / "ck.safetensors") + end)
        values["{checkpoint}"] = str(truncated(checkpoint, case / "ck.safetensors"))
    if name == "truncated_sidecar":
        shutil.copy(values["{old}"], case / "old.pth")
        truncated(values["{old}"] + ".json", case / "old.pth.json")
        values["{old}"] = str(case / "old.pth")
    if name == "bad_yaml":
        (case / "bad.yaml").write_text("epochs: 1\nhidden_size: [16\nn_layers: 1\n")
    if name == "list_yaml":
        (case / "list.yaml").write_text("- epochs: 1\n- hidden_size: 16\n")
    if name == "results_exist":
        (case / "r.json").write_text("{}")
    if name == "results_under_a_file":
        (case / "file").write_text("")
    return values


# (name, extra argv, the one line's pattern). {data} {case} {checkpoint} {old} are filled in by setup_case.
CASES = [
    # ranges, by what each key means
    ("batch_size_zero", ["--train_batch_size=0"], r"train_batch_size must be a size: an integer >= 1, got 0"),
    ("batch_size_negative", ["--train_batch_size=-4"], r"train_batch_size must be a size: an integer >= 1, got -4"),
    ("learning_rate_negative", ["--learning_rate=-1"], r"learning_rate must be a rate: a number > 0, got -1"),
    ("dropout_two", ["--hidden_dropout_prob=2.0"], r"hidden_dropout_prob must be a probability in \[0, 1\), got 2\.0"),
    ("max_length_zero", ["--MAX_ITEM_LIST_LENGTH=0"], r"MAX_ITEM_LIST_LENGTH must be a size: an integer >= 1, got 0"),
    ("epochs_negative", ["--epochs=-1"], r"epochs must be a count: an integer >= 0, got -1"),
    # numpy's seeding takes no string, and the negative sampler adds the rank to the seed
    ("seed_not_an_integer", ["--seed=abc"], r"seed: expected an integer, got 'abc'"),
    ("load_col_without_items", ["--load_col={'inter': ['user_id', 'timestamp']}"],
     r"load_col.inter is \['user_id', 'timestamp'\], without ITEM_ID_FIELD 'item_id'"),
    # yaml files
    ("bad_yaml", ["--config_files={case}/bad.yaml"], r"file .*bad\.yaml line \d+, column \d+: not valid yaml"),
    ("list_yaml", ["--config_files={case}/list.yaml"], r"file .*list\.yaml: expected 'key: value' lines at the top "
                                                       r"level, got a list"),
    ("missing_yaml", ["--config_files={case}/none.yaml"], r"file .*none\.yaml: not found"),
    # atomic files
    ("no_item_column", [], r"ITEM_ID_FIELD 'item_id' is not a column of .*tiny\.inter"),
    ("non_numeric_time", [], r"tiny\.inter line 9, column 'timestamp:float': 'yesterday' is not a number"),
    ("header_only", [], r"tiny\.inter: a header but no rows"),
    ("repeated_header_line", [], r"tiny\.inter line 22: repeats the header"),
    ("repeated_column", [], r"tiny\.inter line 1: column 'item_id' appears twice \(columns 2 and 3\)"),
    ("unknown_type", [], r"tiny\.inter line 1, column 3 'timestamp:int': unknown type 'int'"),
    ("non_utf8_item", [], r"tiny\.item line 6, byte 7: not utf-8 text"),
    ("no_dataset", ["--dataset=nothing"], r"dataset 'nothing': no interaction file '.*nothing\.inter'"),
    # RecBole 1.2.1 took its bundled ml-100k whatever data_path said
    ("ml100k_not_in_data_path", ["--dataset=ml-100k"], r"dataset 'ml-100k': no interaction file '.*data.ml-100k.ml-100k\.inter'"),
    # checkpoints
    ("truncated_pth", ["--init_from={old}"], r"init_from: '.*old\.pth' is truncated or not a torch checkpoint"),
    ("truncated_safetensors", ["--init_from={checkpoint}"], r"init_from: '.*ck\.safetensors' is truncated"),
    ("truncated_sidecar", ["--init_from={old}"], r"init_from: '.*old\.pth\.json' line \d+, column \d+: truncated"),
    ("missing_checkpoint", ["--init_from={case}/none.safetensors"], r"init_from: checkpoint not found"),
    ("resume_finished", ["--resume_from={checkpoint}"], r"resume_from: .* finished epoch 1 of epochs: 1; nothing is "
                                                        r"left to train"),
    # results and names
    ("results_exist", ["--results_file={case}/r.json"], r"results_file: '.*r\.json' exists; choose another name or "
                                                         r"set overwrite_results: True"),
    ("results_folder", ["--results_file={case}"], r"results_file: '.*' is a folder; name a file in it"),
    ("results_under_a_file", ["--results_file={case}/file/r.json"], r"results_file: '.*' cannot be a folder: '.*file' "
                                                                     r"is a file"),
    ("dataset_climbs_out", ["--dataset=../tiny"], r"dataset: '\.\./tiny' is used as a file name"),
    ("recbole_check", ["--topk=abc"], r"RecBole's config: The topk \[abc\] must be a integer, list"),
    ("code_in_a_value", ["--learner=__import__('os').system('touch {case}/pwned')"], r"learner: unknown"),
    # the earlier one-line errors (tests/test_config_errors.py)
    ("unknown_key", ["--epoch=1"], r"unknown config key 'epoch' \(from the command line\); did you mean 'epochs'\?"),
    ("wrong_type", ["--learning_rate=abc"], r"learning_rate: expected a number, got 'abc'"),
    ("not_key_value", ["epochs"], r"command line: expected --key=value, got 'epochs'"),
    ("heads", ["--hidden_size=15", "--n_heads=2"], r"hidden_size \(15\) must be divisible by n_heads \(2\)"),
    ("num_negatives", ["--num_negatives=0", "--loss=sampled_softmax"], r"num_negatives must be an integer >= 1"),
    ("window_stride", ["--window_stride=51"], r"window_stride must be an integer in \[1, MAX_ITEM_LIST_LENGTH=5\]"),
    ("time_budget", ["--time_budget=-1"], r"time_budget must be a number of seconds > 0"),
    ("unknown_model", ["--model=NoSuchModel"], r"--model=NoSuchModel: no such sequential model"),
    ("general_model", ["--model=bpr"], r"RecBole's BPR is a general model"),
    ("time_field", ["--TIME_FIELD=time"], r"eval_args.order TO sorts by TIME_FIELD 'time', which is not a column"),
    ("text_field", ["--text_fields=['title', 'colour']"], r"text_fields: 'colour' is not a column of .*tiny\.item"),
    ("popularity_prior", ["--score_popularity_prior=-1"], r"score_popularity_prior must be a number >= 0"),
]


def merged(*groups):
    """argv of the groups, a later --key=value replacing an earlier one of the same key."""
    argv = {}
    for arg in (arg for group in groups for arg in group):
        argv[arg.split("=", 1)[0] if arg.startswith("--") else arg] = arg
    return list(argv.values())


def snapshot(root):
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, files in os.walk(root) for f in files)


@pytest.mark.parametrize("name, extra, pattern", CASES, ids=[case[0] for case in CASES])
def test_a_bad_input_stops_in_one_line_with_exit_code_2_and_leaves_nothing(workspace, capsys, name, extra, pattern):
    root, checkpoint = workspace
    values = setup_case(root, name, checkpoint)
    argv = merged(TINY, ["--data_path={data}", f"--checkpoint_dir={root / 'saved'}", f"--log_dir={root / 'log'}",
                         f"--tokenizer_dir={root / 'tok'}"], extra)
    for key, value in values.items():
        argv = [arg.replace(key, value) for arg in argv]
    before = snapshot(root)
    capsys.readouterr()
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    assert re.search(pattern, lines[0], re.IGNORECASE), lines[0]
    assert snapshot(root) == before  # no log, checkpoint, tokenizer or results file
    assert not os.path.exists(os.path.join(values["{case}"], "pwned"))


def test_a_library_config_dict_string_is_never_run(tmp_path):
    from recbole_srt.build import load_config

    marker = tmp_path / "pwned"
    payload = f"__import__('os').system('touch {marker}')"
    for key in ("learner", "hidden_act", "eval_args", "topk", "seed"):
        try:
            load_config("SRT", "ml-100k", config_dict={**QUIET, key: payload})
        except (ValueError, TypeError):  # refused as a value of the wrong kind, or kept as a harmless string
            pass
    assert not marker.exists()
    # A yaml tag that would build a Python object is refused, not run.
    (tmp_path / "evil.yaml").write_text(f"learner: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(ValueError, match=r"evil\.yaml line 1, column \d+: not valid yaml"):
        load_config("SRT", "ml-100k", config_file_list=[str(tmp_path / "evil.yaml")], config_dict=QUIET)
    assert not marker.exists()
    # Literals still read as values, as RecBole's eval read them.
    config = load_config("SRT", "ml-100k", config_dict={**QUIET, "learning_rate": "1e-3", "topk": "[5, 10]",
                                                         "valid_metric": "NDCG@10", "show_progress": "false"})
    assert config["learning_rate"] == 0.001 and config["topk"] == [5, 10] and config["show_progress"] is False


def test_dataset_prep_names_that_climb_out_are_refused(tmp_path, capsys):
    from dataset_prep.cli import main as prep

    reviews = tmp_path / "reviews.json"
    reviews.write_text(json.dumps({"reviewerID": "U1", "asin": "I1", "overall": 5, "unixReviewTime": 1}) + "\n")
    for name in ("../x", "a/b", "..", ".hidden"):
        assert prep(["convert", "--reviews", str(reviews), "--name", name, "--out", str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: --name: ") and len(err.splitlines()) == 1, err
    assert sorted(os.listdir(tmp_path)) == ["reviews.json"]


@pytest.mark.parametrize("extra, pattern", [
    (["--hidden_dropout_prob=2.0"], "hidden_dropout_prob must be a probability"),
    (["--data_path={data}"], r"tiny\.inter line 9, column 'timestamp:float'"),
])
def test_the_real_process_exits_with_code_2_and_one_line(workspace, extra, pattern):
    root, _ = workspace
    data = root / "case" / "subprocess"
    write_tiny(str(data), inter=inter_lines()[:7] + ["u9\ti3\tyesterday"] + inter_lines()[8:])
    argv = merged(TINY, [f"--data_path={root / 'data'}", f"--checkpoint_dir={root / 'saved'}",
                         f"--log_dir={root / 'log'}"], [arg.replace("{data}", str(data)) for arg in extra])
    done = subprocess.run([sys.executable, "-m", "recbole_srt", *argv], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 2, done.stderr[-2000:]
    assert len(done.stderr.splitlines()) == 1 and pattern.split("\\")[0] in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
