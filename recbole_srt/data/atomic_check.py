"""Check a dataset's atomic files before RecBole's reader sees them, and say what is wrong in one line.

RecBole 1.2.1 reads ``<dataset>.inter``, ``.item`` and ``.user`` with pandas and fails, when a file is not what
it expects, with a traceback from deep inside pandas or numpy (``could not convert string to float``,
``UnicodeDecodeError``, ``not enough values to unpack``) or not at all (a header with no rows trains on
nothing). :func:`check_atomic_files` reads each file the way RecBole will and raises a :class:`ConfigError` that
names the file, the line and the column: a header that is not ``name:type`` columns, an unknown type, a column
named twice, no item (or user) column in the ``.inter`` file, a header without rows, bytes that are not the
configured encoding, the header repeated as a data line, a row with more fields than the header, a value of a
``float`` column that is not a number.

It reads the loaded ``float`` columns and the first column only, in chunks, so its memory stays small on large
corpora; the file is read once more than RecBole reads it.
"""

import codecs
import os

import numpy as np
import pandas as pd

from recbole_srt.config_check import ConfigError

TYPES = ("token", "token_seq", "float", "float_seq")
SUFFIXES = ("inter", "item", "user")
CHUNK_ROWS = 500_000


def atomic_file(config, suffix):
    return os.path.join(config["data_path"], f"{config['dataset']}.{suffix}")


def loaded_columns(config, suffix, names):
    """The columns of ``names`` RecBole loads from the ``suffix`` file (load_col / unload_col), or None for none."""
    load_col, unload_col = config["load_col"], config["unload_col"]
    if isinstance(load_col, dict):
        if suffix not in load_col:
            return None
        if load_col[suffix] != "*":
            return [n for n in names if n in set(load_col[suffix] or [])]
    if isinstance(unload_col, dict) and suffix in unload_col:
        return [n for n in names if n not in set(unload_col[suffix] or [])]
    return list(names)


def check_atomic_files(config):
    """Check every atomic file RecBole will read for ``config``; the ``.inter`` file must exist."""
    inter = atomic_file(config, "inter")
    if not os.path.isfile(inter):
        folder = config["data_path"]
        there = sorted(os.listdir(folder))[:8] if os.path.isdir(folder) else None
        where = f"the folder holds {there}" if there is not None else "the folder does not exist"
        raise ConfigError(f"dataset '{config['dataset']}': no interaction file '{inter}' ({where}); set data_path "
                          "to the folder that holds <dataset>/<dataset>.inter")
    for suffix in SUFFIXES:
        path = atomic_file(config, suffix)
        if os.path.isfile(path):
            check_atomic_file(config, path, suffix)


def _header(config, path):
    encoding, separator = config["encoding"] or "utf-8", config["field_separator"]
    with open(path, "rb") as f:
        first = f.readline()
    if not first.strip():
        raise ConfigError(f"{path} line 1: empty; an atomic file starts with a header of name:type columns")
    try:
        line = first.decode(encoding)
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path} line 1, byte {error.start + 1}: not {encoding} text") from None
    if line.endswith("\r\n"):
        raise ConfigError(f"{path} line 1: Windows line endings (\\r\\n); convert the file to \\n line endings")
    columns = line.rstrip("\n").split(separator)
    names, types = [], []
    for number, column in enumerate(columns, 1):
        name, colon, kind = column.partition(":")
        if not colon or not name or ":" in kind:
            raise ConfigError(f"{path} line 1, column {number} '{column}': expected name:type (types: {', '.join(TYPES)})")
        if kind not in TYPES:
            raise ConfigError(f"{path} line 1, column {number} '{column}': unknown type '{kind}' (types: {', '.join(TYPES)})")
        if name in names:
            raise ConfigError(f"{path} line 1: column '{name}' appears twice (columns {names.index(name) + 1} and {number})")
        names.append(name)
        types.append(kind)
    return columns, names, types


def _check_encoding(path, encoding):
    """The first line and byte that the encoding cannot read, named."""
    decoder = codecs.getincrementaldecoder(encoding)()
    line = 1
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 22)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as error:
                lines = chunk[: max(error.start, 0)].split(b"\n")
                raise ConfigError(f"{path} line {line + len(lines) - 1}, byte {len(lines[-1]) + 1}: not {encoding} "
                                  f"text ({error.reason}); re-encode the file or set encoding") from None
            if not chunk:
                return
            line += chunk.count(b"\n")


def _line_of_row(path, row):
    """The line number of data row ``row`` (0-based) as pandas counts rows: blank lines are skipped."""
    seen = -1
    with open(path, "rb") as f:
        f.readline()
        for number, line in enumerate(f, 2):
            if line.strip(b"\r\n"):
                seen += 1
                if seen == row:
                    return number
    return row + 2


def check_atomic_file(config, path, suffix):
    encoding = config["encoding"] or "utf-8"
    columns, names, types = _header(config, path)
    if suffix == "inter":
        for key in ("ITEM_ID_FIELD", "USER_ID_FIELD"):
            field = config[key]
            if field and field not in names:
                raise ConfigError(f"{key} '{field}' is not a column of {path} (columns: {names}); "
                                  f"set {key} to the column that holds the {key.split('_')[0].lower()} ids")
    _check_encoding(path, encoding)
    loaded = loaded_columns(config, suffix, names)
    if loaded is None:
        return
    numeric = [c for c, n, t in zip(columns, names, types) if n in loaded and t.startswith("float")]
    wanted = [columns[0]] + [c for c in numeric if c != columns[0]]
    rows = 0
    try:
        reader = pd.read_csv(path, delimiter=config["field_separator"], usecols=wanted, dtype=str,
                             keep_default_na=False, encoding=encoding, engine="c", chunksize=CHUNK_ROWS)
        for chunk in reader:
            first = chunk[columns[0]].to_numpy()
            repeated = np.flatnonzero(first == columns[0])
            if len(repeated):
                raise ConfigError(f"{path} line {_line_of_row(path, rows + int(repeated[0]))}: repeats the header "
                                  "(two files concatenated?); keep one header line")
            for column in numeric:
                values = chunk[column]
                if column.endswith(":float_seq"):  # RecBole splits these on seq_separator, then reads floats
                    values = values.str.split(config["seq_separator"]).explode()
                values = values[values != ""]
                bad = values[pd.to_numeric(values, errors="coerce").isna() & ~values.str.lower().isin(("nan", "-nan"))]
                if len(bad):  # the chunk's index is the row number in the file (pandas numbers rows on)
                    raise ConfigError(f"{path} line {_line_of_row(path, int(bad.index[0]))}, column '{column}': "
                                      f"{str(bad.iloc[0])[:40]!r} is not a number")
            rows += len(chunk)
    except pd.errors.ParserError as error:
        reason = " ".join(str(error).split()).replace("Error tokenizing data. C error: ", "")
        raise ConfigError(f"{path}: {reason} (a row with more fields than the header; tabs inside a value?)") from None
    except pd.errors.EmptyDataError:
        rows = 0
    if rows == 0:
        raise ConfigError(f"{path}: a header but no rows")
