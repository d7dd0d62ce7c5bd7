"""An installed wheel (not an editable checkout) runs on the plugin's yaml defaults, and its console script
``recbole-srt`` trains from outside the repository."""

import json
import os
import shutil
import site as site_module
import subprocess
import sys
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel of this checkout, built once for the module's tests."""
    tmp_path = tmp_path_factory.mktemp("wheel")
    # setuptools builds in the source folder (build/, *.egg-info): build a copy, not the checkout.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "saved", "log", "log_tensorboard", "__pycache__", "docs", "benchmarks"))
    wheels = tmp_path / "wheels"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(source)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-2000:]
    return next(wheels.glob("recbole_srt-*.whl"))


def test_wheel_carries_the_properties_and_an_install_uses_them(tmp_path, wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("overall.yaml", "model/SRT.yaml", "model/IDTransformer.yaml", "dataset/ml-100k.yaml"):
        assert f"recbole_srt/properties/{name}" in names, name
    # Every subpackage travels (recbole_srt/training/ once had no __init__.py, and a wheel left it out).
    for module in ("training/trainer.py", "data/dataset.py", "model/backbones/sasrec.py", "scaling/sweep.py"):
        assert f"recbole_srt/{module}" in names, module

    site = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site),
                                str(wheel)], capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr[-2000:]
    # From another folder, with only the installed copy importable: defaults come from the wheel.
    probe = ("import recbole_srt.config as c; from recbole_srt.build import load_config; "
             "cfg = load_config('SRT', 'ml-100k', config_dict={'log_dir': None}); "
             "print(c.PROPERTIES_DIR); print(cfg['num_negatives'], cfg['metrics'], cfg['text_fields'])")
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(site), "PYTHONNOUSERSITE": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    where, values = done.stdout.strip().splitlines()[-2:]
    assert where.startswith(str(site))
    assert values == "1000 ['NDCG', 'Hit'] ['movie_title', 'class']"


@pytest.mark.slow
def test_the_installed_command_trains_from_outside_the_repository(tmp_path, wheel):
    """A fresh venv with the wheel (torch, RecBole & co. reused from this environment, not reinstalled): the console
    script ``recbole-srt`` answers --help for every command and trains SRT for one epoch in an empty folder."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=300)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / "python"
    # --system-site-packages reaches the base interpreter's packages; this environment's (a venv itself, where torch
    # and RecBole live) are added behind the new venv's own by a path file. Path files in them are not run, so the
    # checkout's editable install stays out: recbole_srt comes from the wheel alone.
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    with open(os.path.join(purelib, "outer_env.pth"), "w", encoding="utf-8") as f:
        f.write("\n".join(p for p in site_module.getsitepackages() if os.path.isdir(p)) + "\n")
    installed = subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)],
                               capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr[-2000:]
    command = str(bin_dir / "recbole-srt")
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update({"PYTHONNOUSERSITE": "1", "OMP_NUM_THREADS": "2"})

    def call(*args, timeout=300):
        return subprocess.run([command, *args], cwd=work, env=env, capture_output=True, text=True, timeout=timeout)

    done = call("--help")
    assert done.returncode == 0 and "recbole-srt train" in done.stdout, done.stderr[-2000:]
    # Every command's --help through the installed package's dispatcher, in one process (a process a command
    # spent 3-6 s of CI's time importing torch and RecBole)
    probe = ("import contextlib, io, sys\nfrom recbole_srt.cli.__main__ import main\n"
             "for sub in sys.argv[1:]:\n    out = io.StringIO()\n    try:\n"
             "        with contextlib.redirect_stdout(out):\n            code = main([sub, '--help'])\n"
             "    except SystemExit as stop:\n        code = stop.code\n"
             "    print(sub, code, 'usage:' in out.getvalue())\n")
    commands = ("train", "prep", "stats", "search", "scaling", "new-items", "fisher")
    done = subprocess.run([str(python), "-c", probe, *commands], cwd=work, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.stdout.split("\n")[:-1] == [f"{sub} 0 True" for sub in commands], done.stderr[-2000:]
    where = subprocess.run([str(python), "-c", "import recbole_srt; print(recbole_srt.__file__)"], cwd=work, env=env,
                           capture_output=True, text=True, timeout=120).stdout.strip()
    assert where.startswith(str(venv)), where

    results = tmp_path / "result.json"
    done = call("--model=SRT", "--epochs=1", "--n_layers=1", "--hidden_size=16", "--inner_size=32", "--n_heads=2",
                "--train_batch_size=256", "--eval_args={'mode': 'full'}", "--show_progress=False",
                f"--checkpoint_dir={tmp_path / 'saved'}", f"--tokenizer_dir={tmp_path / 'tokenizers'}",
                f"--log_dir={tmp_path / 'log'}", f"--tensorboard_dir={tmp_path / 'tb'}", f"--results_file={results}",
                timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == f"results written to {results}"
    assert results.is_file() and os.listdir(tmp_path / "tb") and not os.listdir(work)  # nothing in the working folder

    # A search's trials run as `python -m recbole_srt` processes: the installed package's, with no source tree.
    trials = tmp_path / "search.jsonl"
    done = call("search", "--model=SRT", "--dataset=ml-100k", f"--results={trials}", "--space", "hidden_size=16",
                "--set", "epochs=1", "--set", "n_layers=1", "--set", "inner_size=32", "--set",
                "eval_args={'mode':'full'}", "--set", f"tokenizer_dir={tmp_path / 'tokenizers'}", timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads(trials.read_text().splitlines()[0])
    assert record["status"] == "ok" and "ndcg@5" in record["best_valid_result"] and not os.listdir(work)
