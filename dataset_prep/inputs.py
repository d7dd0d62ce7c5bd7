"""Checks of the input paths before any work starts.

A missing input would otherwise surface minutes into a conversion, or from inside the gzip reader
as a "corrupt or truncated" dump. Each message names the option and the path."""

import os
import shutil
from contextlib import contextmanager


def check_name(option, name):
    """Raise a ValueError naming ``option`` unless ``name`` is a plain file name: it becomes OUT/NAME/NAME.inter,
    so a separator or '..' would write outside OUT (``--name ../x`` made a folder named '...')."""
    if not name or not name.strip() or "/" in name or "\\" in name or os.sep in name or ".." in name or name.startswith("."):
        raise ValueError(f"{option}: {name!r} is used as a folder and file name, so it may not be empty, start with "
                         "'.' or contain '/', '\\' or '..'; put the folder in --out instead")
    return name


def check_file(option, path):
    """Raise an OSError naming ``option`` unless ``path`` is a file this process can open."""
    try:
        with open(path, "rb"):
            pass
    except FileNotFoundError:
        raise FileNotFoundError(f"{option}: file not found: {path}") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"{option}: a directory, not a file: {path}") from None
    except OSError as error:
        raise type(error)(f"{option}: cannot open {path}: {error.strerror or error}") from None


def check_dataset(option, directory, extensions=("inter",)):
    """Raise an OSError naming ``option`` unless ``directory`` (DIR/NAME) holds NAME.<ext> files."""
    directory = os.path.normpath(directory)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"{option}: prepared dataset not found: {directory} (expected DIR/NAME written "
                                "by 'python -m dataset_prep convert')")
    name = os.path.basename(directory)
    for ext in extensions:
        check_file(option, os.path.join(directory, f"{name}.{ext}"))


@contextmanager
def staged_folder(out, name):
    """A temporary folder beside OUT/NAME that replaces OUT/NAME when the block ends without error:
    an interrupted or failed run never leaves a folder that looks complete."""
    final, tmp = os.path.join(out, name), os.path.join(out, f".{name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    try:
        yield tmp
        if os.path.exists(final):
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
