"""The authors' code's own virtual environment, under saved/reference/ (git-ignored), built once.

Their requirements pin torch 2.0.0, mlflow 2.3, faiss-cpu 1.7.2, pynvml 11.5 and ``fda`` (internal, not public).
This environment installs torch of the 2.0 series and the libraries their RecBole fork imports; mlflow, pynvml,
faiss and fda's ``melitk`` are not installed: stubs.py stands in for them (their folder goes first on PYTHONPATH).
"""

import hashlib
import os
import subprocess
import sys

# torch 2.0.1: the newest of the 2.0 series their pin (torch==2.0.0) names; PyPI's wheel is the CUDA 11.7 build
# (it pulls the nvidia-* libraries, about 2.5 GB; it runs on a CPU as well). numpy < 2: torch 2.0 is built on 1.x.
REQUIREMENTS = [
    "torch==2.0.1", "numpy<2", "pandas~=1.5.3", "scipy<1.14", "tqdm~=4.65.0", "colorlog==4.7.2", "colorama==0.4.4",
    "pyyaml", "tensorboard", "thop", "texttable", "tabulate", "psutil~=5.9.4", "frozendict==2.4.4",
    "sentencepiece==0.2.0", "typing_extensions==4.12.2", "scikit-learn<1.6",
]


def digest(requirements):
    return hashlib.sha256("\n".join(requirements).encode()).hexdigest()[:12]


def python_of(venv):
    return os.path.join(venv, "bin", "python")


def ensure(venv, requirements=None, log=print):
    """The venv's python, created and installed unless a marker says these requirements are in it already."""
    requirements = list(requirements or REQUIREMENTS)
    marker = os.path.join(venv, f"installed-{digest(requirements)}")
    if os.path.isfile(marker):
        return python_of(venv)
    if not os.path.isfile(python_of(venv)):
        log(f"creating {venv}")
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    log("installing: " + " ".join(requirements))
    subprocess.run([python_of(venv), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    *requirements], check=True)
    open(marker, "w").close()
    return python_of(venv)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from harness import paths

    print(ensure(os.path.join(paths.SAVED, "reference", "venv")))
