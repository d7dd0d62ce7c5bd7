"""Where a run's results JSON goes, checked before any data is loaded, and written so that nothing is lost.

- the default name, ``<checkpoint_dir>/<model>-<dataset>-<time>-<pid>[-n].json``, is new for every run: two runs
  started in the same second no longer share (and overwrite) one file;
- every file is written under a temporary name, flushed and then published: with a hard link (which fails when
  the name exists: never over another run's results) or, with ``overwrite_results: True``, a rename;
- an explicit ``results_file`` that exists is refused before training unless ``overwrite_results: True``; one that
  names a folder, or lies under a file or an unwritable folder, is refused before any data is loaded. If another
  run creates the same file while this one trains, this one's results go beside it (``<name>-<pid>.json``) with
  a warning, rather than over it.
"""

import json
import os
from logging import getLogger

from recbole.utils import get_local_time

from recbole_srt.config_check import ConfigError


def check_folder(key, folder):
    """``folder`` is, or can become, a writable folder: not a file, not under a file, not read-only."""
    path = os.path.abspath(folder)
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    if not os.path.isdir(path):
        raise ConfigError(f"{key}: '{folder}' cannot be a folder: '{path}' is a file")
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"{key}: '{folder}' is not writable (no write permission on '{path}')")


def check_results_file(config):
    """Refuse, before any data is loaded, a results file that would fail or overwrite at the end of the run."""
    path = config["results_file"]
    overwrite = config["overwrite_results"]
    if not isinstance(overwrite, bool):
        raise ConfigError(f"overwrite_results must be True or False, got {overwrite!r}")
    if path is None:
        check_folder("checkpoint_dir", config["checkpoint_dir"])
        return
    if not isinstance(path, str) or not path.strip():
        raise ConfigError(f"results_file must be a file name (~ for the default), got {path!r}")
    if os.path.isdir(path) or path.endswith(("/", os.sep)):
        raise ConfigError(f"results_file: '{path}' is a folder; name a file in it (e.g. {os.path.join(path, 'run.json')})")
    if os.path.lexists(path) and not overwrite:
        raise ConfigError(f"results_file: '{path}' exists; choose another name or set overwrite_results: True")
    check_folder("results_file", os.path.dirname(os.path.abspath(path)))


def _publish(tmp, path):
    """Give ``tmp`` the name ``path`` only if no file has it (FileExistsError otherwise)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: an exclusive create, then the bytes
        with open(tmp, "rb") as source, open(path, "xb") as target:
            target.write(source.read())
            target.flush()
            os.fsync(target.fileno())
    os.remove(tmp)


def _candidates(stem):
    yield stem + ".json"
    n = 1
    while True:
        n += 1
        yield f"{stem}-{n}.json"


def write_results(config, result):
    """Write ``result`` (JSON-ready) and return the path it was written to."""
    text = json.dumps(result, indent=1)
    explicit = config["results_file"]
    folder = os.path.dirname(os.path.abspath(explicit)) if explicit else config["checkpoint_dir"]
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".results-{os.getpid()}-{id(result)}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    if explicit and config["overwrite_results"]:
        os.replace(tmp, explicit)
        return explicit
    if explicit:
        try:
            _publish(tmp, explicit)
            return explicit
        except FileExistsError:
            stem = os.path.splitext(explicit)[0] + f"-{os.getpid()}"
            names = _candidates(stem)
    else:
        names = _candidates(os.path.join(folder, f"{config['model']}-{config['dataset']}-{get_local_time()}-{os.getpid()}"))
    for path in names:
        try:
            _publish(tmp, path)
        except FileExistsError:
            continue
        if explicit:
            getLogger().warning(f"results_file: '{explicit}' was created by another run while this one trained; "
                                f"this run's results are in '{path}'")
        return path
