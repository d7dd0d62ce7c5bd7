"""Streaming readers for the Amazon review releases (2014, 2018, 2023), sequence files and item texts.

Every reader yields records and counts each skipped line by reason in a ``BadLines``;
a corrupt or truncated gzip raises ``DumpError`` naming the file and the last good line.
"""

import ast
import gzip
import html
import json
import os
import re
import zlib


class DumpError(RuntimeError):
    """An input that cannot be read to the end (truncated or corrupt compressed stream)."""


class BadLines:
    """Counts of skipped lines by reason, with a few example line numbers each."""

    EXAMPLES = 5

    def __init__(self):
        self.counts, self.examples = {}, {}

    def add(self, source, reason, line_no):
        key = f"{source}: {reason}"
        self.counts[key] = self.counts.get(key, 0) + 1
        examples = self.examples.setdefault(key, [])
        if len(examples) < self.EXAMPLES:
            examples.append(line_no)

    def as_dict(self):
        return {k: {"lines": v, "examples": self.examples[k]} for k, v in sorted(self.counts.items())}

    @property
    def total(self):
        return sum(self.counts.values())


def open_binary(path):
    with open(path, "rb") as f:
        magic = f.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def lines(path, bad, progress=None, fallback=None):
    """(line number, decoded line) for each non-empty line; undecodable lines are counted (or, with
    ``fallback``, decoded with that encoding: GroupLens' .dat files are ISO-8859-1)."""
    name = os.path.basename(path)
    line_no = 0
    f = open_binary(path)  # outside the try: a missing or unreadable file is not a corrupt one
    try:
        with f:
            for line_no, raw in enumerate(f, 1):
                if progress is not None and not line_no % 8192:  # tqdm per line would cost a third of the time
                    progress.update(8192)
                try:
                    text = raw.decode("utf-8").strip()
                except UnicodeDecodeError:
                    if fallback is None:
                        bad.add(name, "not UTF-8", line_no)
                        continue
                    text = raw.decode(fallback).strip()
                if text:
                    yield line_no, text
    except (EOFError, OSError, zlib.error) as error:
        raise DumpError(f"{path}: corrupt or truncated after line {line_no}: {error}") from None
    if progress is not None:
        progress.update(line_no % 8192)


def _no_constant(name):
    raise ValueError(f"{name} is not a Python literal")


def parse_object(text):
    """A JSON object, or a Python literal dict (2014 metadata uses single quotes); never eval."""
    try:
        value = json.loads(text)
    except ValueError:
        value = parse_literal(text) if text.startswith("{") else None
    return value if isinstance(value, dict) else None


# Python literals as repr() writes them: each string literal is rewritten as a JSON string and json.loads
# parses the line, several times faster than ast.literal_eval. A line this does not cover (True/None,
# tuples, int keys, trailing commas) fails in json.loads and goes to ast.literal_eval.
_LITERAL_STRING = re.compile(r"""'([^'\\\n]*)'|"([^"\\\n]*)"|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*\"""")


def _json_string(match):
    plain = match.group(1)
    if plain is not None:
        return '"' + plain.replace('"', '\\"') + '"'
    if match.group(2) is not None:
        return match.group(0)
    return json.dumps(ast.literal_eval(match.group(0)))  # backslash escapes: rare


def parse_literal(text):
    try:
        return json.loads(_LITERAL_STRING.sub(_json_string, text), parse_constant=_no_constant)
    except (ValueError, SyntaxError):
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


# The 2014 metadata's 'related' lists (up to hundreds of asins) are most of a line and are never used.
# The prefix pattern walks the literal's top-level tokens, whole strings at a time, so a 'related'
# inside a string is never taken for the key; a line it does not fit is parsed whole.
_STR = r"'[^'\\\n]*(?:\\.[^'\\\n]*)*'" + "|" + r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"'
_PLAIN = r"""[^'"{}\\]+"""
_RELATED = re.compile(
    rf"""(\{{(?:(?!'related': \{{)(?:{_STR})|{_PLAIN}|\{{(?:{_STR}|{_PLAIN})*\}})*+)"""
    rf"""'related': \{{(?:{_PLAIN}|'[^'"\\]*')*+\}}(?:, )?"""
)


def parse_meta_object(text):
    """parse_object for metadata lines, without the 2014 'related' field when it is there."""
    if text.startswith("{'"):
        match = _RELATED.match(text)
        if match is not None:
            head, tail = match.group(1), text[match.end():]
            if tail.startswith("}") and head.endswith(", "):
                head = head[:-2]
            value = parse_object(head + tail)
            if value is not None:
                return value
    return parse_object(text)


# ----- interactions ------------------------------------------------------------------------
REVIEW_KEYS = (  # (user, item, rating, time, time unit in seconds)
    ("reviewerID", "asin", "overall", "unixReviewTime", 1),  # 2014 and 2018 JSON lines
    ("user_id", "parent_asin", "rating", "timestamp", 1e-3),  # 2023 JSON lines, milliseconds
)


# A field of a RecBole atomic-file header (user_id:token, rating:float, ...): a prepared file, not a dump.
ATOMIC_HEADER = re.compile(r"^\w+:(?:token|token_seq|float|float_seq)$")
SEQUENCE_SAMPLE = 2000  # lines looked at to tell 'user item' pairs from one-line-per-user sequences


def detect_review_format(path):
    """'json', 'csv_user_item', 'csv_item_user', 'sequence' ('user item' pairs, one per line) or 'user_sequence'
    (one line per user: 'user item item ...', e.g. GRAM's user_sequence.txt) from the file's name and first lines.

    Whitespace-separated lines: a file whose first line is a pair and whose users repeat is a pair file (a wider
    line later is a bad line, as before). A file whose users never repeat in the first lines and that has a line
    of more than two fields is one line per user. A first line of more than two fields with repeating users is
    'user item rating/time' columns, which would otherwise be read as sequences with ratings or times for items:
    refused."""
    name = os.path.basename(path).lower()
    sample = []
    for _, text in lines(path, BadLines()):
        if not sample:
            if text == "{":
                return "json_sequences"  # one pretty-printed object {user: [item, ...]} (LC-Rec / APAO)
            if text.startswith("{"):
                return "json"
            if "::" in text:
                return "movielens_dat"  # GroupLens ML-1M / ML-10M ratings.dat: user::item::rating::time
            if text.lower().startswith("userid,"):
                return "csv_user_item"  # GroupLens ML-20M / ML-25M ratings.csv, with its header
            if "," in text:
                # 2014 ratings_<Cat>.csv are user,item,...; 2018 <Cat>.csv and all_csv_files.csv are item,user,...
                return "csv_user_item" if name.startswith("ratings_") else "csv_item_user"
        fields = text.split()
        sample.append(fields)
        if len(sample) == SEQUENCE_SAMPLE:
            break
    first = sample[0] if sample else []
    if len(first) < 2 or any(ATOMIC_HEADER.match(f) for f in first):
        raise DumpError(f"{path}: not a known review format (JSON lines, ratings CSV, 'user item' lines, or one "
                        "'user item item ...' line per user)")
    users = [fields[0] for fields in sample if len(fields) >= 2]
    if len(set(users)) == len(users):  # one line per user
        return "sequence" if all(len(fields) == 2 for fields in sample) else "user_sequence"
    if len(first) == 2:
        return "sequence"
    raise DumpError(f"{path}: lines of more than two fields and users on several lines: 'user item rating/time' "
                    "columns are not a supported format (sequence files are 'user item' pairs, one per line, or "
                    "one 'user item item ...' line per user)")


def read_reviews(path, bad, progress=None):
    """Yield (user, item, rating, timestamp in seconds) from any supported review file."""
    fmt = detect_review_format(path)
    name = os.path.basename(path)
    if fmt == "json":
        for line_no, text in lines(path, bad, progress):
            obj = parse_object(text)
            if obj is None:
                bad.add(name, "malformed JSON", line_no)
                continue
            keys = next((k for k in REVIEW_KEYS if k[0] in obj), REVIEW_KEYS[0])
            user, item = obj.get(keys[0]), obj.get(keys[1]) or obj.get("asin")
            if not isinstance(user, str) or not user or not isinstance(item, str) or not item:
                bad.add(name, "missing user or item", line_no)
                continue
            try:
                rating = float(obj.get(keys[2], 0.0) or 0.0)
                stamp = float(obj[keys[3]]) * keys[4]
            except (KeyError, TypeError, ValueError):
                bad.add(name, "missing or non-numeric time", line_no)
                continue
            yield user, item, rating, stamp
    elif fmt == "json_sequences":
        # {user: [item, ...]} in time order per user, as sequence files: the position is the clock.
        try:
            with open_binary(path) as f:
                data = json.load(f)
        except (ValueError, EOFError, OSError, zlib.error) as error:
            raise DumpError(f"{path}: not one JSON object of user sequences: {error}") from None
        if not isinstance(data, dict):
            raise DumpError(f"{path}: expected a JSON object {{user: [items]}}, got {type(data).__name__}")
        position = 0
        for k, (user, items) in enumerate(data.items(), 1):
            if not isinstance(items, list) or not items:
                bad.add(name, "user without a list of items", k)
                continue
            for item in items:
                position += 1
                yield str(user), str(item), 0.0, float(position)
        if progress is not None:
            progress.update(position)
    elif fmt == "movielens_dat":
        for line_no, text in lines(path, bad, progress):
            parts = text.split("::")
            if len(parts) != 4 or not parts[0] or not parts[1]:
                bad.add(name, "not 'user::item::rating::time'", line_no)
                continue
            try:
                rating, stamp = float(parts[2]), float(parts[3])
            except ValueError:
                bad.add(name, "non-numeric rating or time", line_no)
                continue
            yield parts[0], parts[1], rating, stamp
    elif fmt.startswith("csv"):
        user_col, item_col = (0, 1) if fmt == "csv_user_item" else (1, 0)
        for line_no, text in lines(path, bad, progress):
            parts = text.split(",")
            if len(parts) != 4 or not parts[user_col] or not parts[item_col]:
                bad.add(name, "not 4 CSV columns", line_no)
                continue
            try:
                rating, stamp = float(parts[2]), float(parts[3])
            except ValueError:
                if line_no == 1:  # a header line
                    continue
                bad.add(name, "non-numeric rating or time", line_no)
                continue
            yield parts[user_col], parts[item_col], rating, stamp
    elif fmt == "sequence":
        # 'user item' pairs in time order per user: the order is the only clock there is.
        for line_no, text in lines(path, bad, progress):
            parts = text.split()
            if len(parts) != 2:
                bad.add(name, "not a 'user item' pair", line_no)
                continue
            yield parts[0], parts[1], 0.0, float(line_no)
    else:
        # One line per user, items in time order: the timestamp is the interaction's position in the file
        # (1, 2, ...), so items keep their order within a user and users their order in the file.
        position = 0
        for line_no, text in lines(path, bad, progress):
            parts = text.split()
            if len(parts) < 2:
                bad.add(name, "user without items", line_no)
                continue
            user = parts[0]
            for item in parts[1:]:
                position += 1
                yield user, item, 0.0, float(position)


# ----- metadata ----------------------------------------------------------------------------
TAG = re.compile(r"<[^>]*>")
SPACE = re.compile(r"\s+")
JUNK = re.compile(r"getTime\(|var\s+\w+\s*=|function\s*\(|\{\s*display\s*:", re.IGNORECASE)


def clean_text(value):
    """Plain one-line text: no HTML, no tabs or newlines (they would break atomic files)."""
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    if not isinstance(value, str):
        return ""
    if JUNK.search(value):
        return ""
    return SPACE.sub(" ", html.unescape(TAG.sub(" ", value))).strip()


def categories_of(obj):
    """(every category name, once; the top-level categories) of a metadata object.

    2014: 'categories' is a list of paths; 2018: 'category' is one path, 'main_cat' the store's
    department; 2023: 'categories' is one path, 'main_category' the department."""
    cats = obj.get("categories", obj.get("category"))
    flat, top = [], set()
    paths = cats if cats and all(isinstance(e, list) for e in cats) else [cats or []]
    for path in paths:
        for depth, cat in enumerate(path):
            cat = clean_text(cat)
            if cat and depth == 0:
                top.add(cat)
            if cat and cat not in flat:
                flat.append(cat)
    for key in ("main_cat", "main_category"):
        if isinstance(obj.get(key), str) and clean_text(obj[key]):
            top.add(clean_text(obj[key]))
    return flat, top


ASIN = re.compile(r"""["'](?:parent_asin|asin)["']\s*:\s*["']([^"'\\]+)["']""")


META_FORMATS = {  # detected metadata format -> what the item texts are (stats.json's text_source)
    "json": "titles and brands of Amazon metadata (2014 Python-literal or 2018/2023 JSON lines)",
    "item_table": "title and brand columns of a RecBole .item table",
    "json_items": "titles and brands of a JSON object {item: {title, brand, categories}} (LC-Rec / APAO)",
    "movielens": "movie titles (with the year) and genres of GroupLens movies.dat / movies.csv",
    "id_text": "keyword texts from 'ASIN text' lines (e.g. IDGenRec's item_generative_indexing_phase_0.txt): "
               "lowercased, punctuation-stripped, mostly truncated titles, not the raw titles; no brands",
}


def detect_meta_format(path):
    """'json' (2014 Python-literal or 2018/2023 JSON lines), 'item_table' (a RecBole .item TSV with its
    'name:type' header) or 'id_text' (one 'ASIN text' line per item, space-separated, no header)."""
    first = next((text for _, text in lines(path, BadLines(), fallback="latin-1")), "")
    if first == "{":
        return "json_items"
    if first.startswith("{"):
        return "json"
    if "::" in first or first.lower().startswith("movieid,"):
        return "movielens"
    fields = first.split(None, 1)
    if "\t" in first or not fields or ATOMIC_HEADER.match(fields[0]):
        return "item_table"  # read_item_table says what is wrong with a table that lacks item_id
    return "id_text"


def read_id_texts(path, bad, progress=None, wanted=None):
    """(item, text as title, no brand, no categories) from 'ASIN text' lines."""
    name = os.path.basename(path)
    for line_no, text in lines(path, bad, progress):
        parts = text.split(None, 1)
        if wanted is not None and parts[0] not in wanted:
            continue
        title = clean_text(parts[1]) if len(parts) == 2 else ""
        if not title:
            bad.add(name, "item id without text", line_no)
            continue
        yield parts[0], title, "", [], set()


def read_meta(path, bad, progress=None, wanted=None):
    """Yield (item, title, brand, categories, top-level categories) from 2014/2018/2023 metadata, a
    RecBole .item TSV (whose categories are flat: each counts as top-level) or 'ASIN text' lines (the text
    is the title; no brand, no categories).

    With ``wanted`` (a container of item ids), lines whose only asin key names another item are
    skipped before parsing: whole-store metadata with a one-category review file parses only its items.
    """
    name = os.path.basename(path)
    fmt = detect_meta_format(path)
    if fmt == "item_table":
        yield from read_item_table(path, bad)
        return
    if fmt == "id_text":
        yield from read_id_texts(path, bad, progress, wanted)
        return
    if fmt == "movielens":
        yield from read_movies(path, bad, progress)
        return
    if fmt == "json_items":
        yield from read_json_items(path)
        return
    for line_no, text in lines(path, bad, progress):
        if wanted is not None:
            found = ASIN.findall(text)
            if len(found) == 1 and found[0] not in wanted:
                continue
        obj = parse_meta_object(text)
        if obj is None:
            bad.add(name, "malformed metadata line", line_no)
            continue
        item = obj.get("parent_asin") or obj.get("asin")
        if not isinstance(item, str) or not item:
            bad.add(name, "metadata without asin", line_no)
            continue
        brand = obj.get("brand", obj.get("store", ""))
        yield (item, clean_text(obj.get("title", "")), clean_text(brand), *categories_of(obj))


def read_json_items(path):
    """(item, title, brand, categories, top) from one JSON object {item: {title, brand, categories}};
    categories are a comma-joined path (APAO's, without the store's top level)."""
    try:
        with open_binary(path) as f:
            data = json.load(f)
    except (ValueError, EOFError, OSError, zlib.error) as error:
        raise DumpError(f"{path}: not one JSON object of items: {error}") from None
    for item, fields in data.items():
        fields = fields if isinstance(fields, dict) else {}
        cats = fields.get("categories") or []
        cats = [clean_text(c) for c in (cats.split(",") if isinstance(cats, str) else cats) if clean_text(c)]
        yield str(item), clean_text(fields.get("title", "")), clean_text(fields.get("brand", "")), cats, set(cats[:1])


def read_movies(path, bad, progress=None):
    """(movie id, title, no brand, genres, genres) from GroupLens movies.dat ('id::title::A|B', ISO-8859-1)
    or movies.csv ('movieId,title,genres' header; titles with commas are quoted)."""
    import csv

    name = os.path.basename(path)
    for line_no, text in lines(path, bad, progress, fallback="latin-1"):
        if "::" in text:
            parts = text.split("::")
        else:
            parts = next(csv.reader([text]))
            if line_no == 1 and parts[:1] == ["movieId"]:
                continue
        if len(parts) != 3 or not parts[0]:
            bad.add(name, "not 'movie::title::genres'", line_no)
            continue
        genres = [g.replace(" ", "_") for g in parts[2].split("|") if g and g != "(no genres listed)"]
        yield parts[0], clean_text(parts[1]), "", genres, set(genres)


def read_item_table(path, bad):
    """A RecBole atomic item file (tab-separated, 'name:type' header), e.g. PLRec's Beauty items."""
    import csv
    import io

    name = os.path.basename(path)
    with open_binary(path) as f:
        reader = csv.reader(io.TextIOWrapper(f, encoding="utf-8", errors="replace", newline=""), delimiter="\t")
        header = [h.split(":")[0] for h in next(reader)]
        index = {h: i for i, h in enumerate(header)}
        if "item_id" not in index:
            raise DumpError(f"{path}: item table without an item_id column (header {header})")
        for row_no, row in enumerate(reader, 2):
            if len(row) != len(header):
                bad.add(name, "wrong number of columns", row_no)
                continue

            def col(key):
                return row[index[key]] if key in index else ""

            cats = [c for c in SPACE.split(col("categories")) if c]
            yield col("item_id"), clean_text(col("title")), clean_text(col("brand")), cats, set(cats)
