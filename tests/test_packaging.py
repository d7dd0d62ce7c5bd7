"""An installed wheel (not an editable checkout) runs on the plugin's yaml defaults."""

import os
import shutil
import subprocess
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_wheel_carries_the_properties_and_an_install_uses_them(tmp_path):
    # setuptools builds in the source folder (build/, *.egg-info): build a copy, not the checkout.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "saved", "log", "log_tensorboard", "__pycache__", "docs", "benchmarks"))
    wheels = tmp_path / "wheels"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(source)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next(wheels.glob("recbole_srt-*.whl"))
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
