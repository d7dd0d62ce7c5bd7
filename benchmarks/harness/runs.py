"""Rows that name the command that measured them. A study whose commands run a subset keeps rows of several commands
in one file; each row holds its command's stamp under "run", so the page can say which command measured it."""

from .results import merge_rows


def runs_of(content, fields, rows="rows"):
    """Each row's run: its own "run", or (a row written before rows named theirs) the file's ``fields``."""
    content = content or {}
    return [r.get("run") or {k: content.get(k) for k in fields} for r in content.get(rows) or []]


def stamped_merge(old, new_rows, key, stamp, rows="rows"):
    """``old[rows]`` with ``new_rows``, each stamped with "run": ``stamp``, in place of the rows of the same
    ``key`` (merge_rows). An old row that names no run gets the old file's stamp (its fields of ``stamp``) first:
    the file's own stamp is about to become this command's."""
    earlier = [{**r, "run": run} for r, run in zip((old or {}).get(rows) or [], runs_of(old, stamp, rows))]
    return merge_rows(earlier, [{**r, "run": stamp} for r in new_rows], key)


def runs_section(runs, line):
    """The lines naming the commands of a page's rows, and each row's number among them. ``runs``: each row's run
    (None: a row no command of the study measured); ``line(run)``: its text. One command: its line alone and None
    (the table needs no "run" column); several: numbered lines and each row's number ("" for None)."""
    named = [None if r is None else line(r) for r in runs]
    lines = list(dict.fromkeys(n for n in named if n is not None))
    if len(lines) < 2:
        return lines, None
    return [f"{i}. {text}" for i, text in enumerate(lines, 1)], ["" if n is None else lines.index(n) + 1 for n in named]


def run_column(columns, cells, numbers):
    """``columns`` and ``cells`` with a last "run" column of ``numbers`` (runs_section's), unless it is None."""
    if numbers is None:
        return columns, cells
    return columns + ["run"], [row + [n] for row, n in zip(cells, numbers)]
