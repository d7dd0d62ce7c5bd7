"""GroupLens MovieLens files (ML-1M/ML-10M ratings.dat + movies.dat, ML-20M CSVs) through dataset_prep."""

import json
import os
import random
import subprocess
import sys

from dataset_prep.convert import convert

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GENRES = ["Action", "Comedy", "Drama", "Sci-Fi", "Children's", "Film-Noir"]


def write_ml1m(folder, users=30, movies=40, per_user=12, seed=0):
    """A small ratings.dat + movies.dat in the ML-1M layout: '::' separators, ISO-8859-1 titles,
    users' lines not in time order, and one pair of ratings in the same second."""
    rng = random.Random(seed)
    folder.mkdir()
    with open(folder / "movies.dat", "wb") as f:
        for m in range(1, movies + 1):
            title = "Misérables, Les (1995)" if m == 7 else f"Movie {m} ({1980 + m % 20})"
            genres = "|".join(rng.sample(GENRES, rng.randint(1, 3)))
            f.write(f"{m}::{title}::{genres}\n".encode("latin-1"))
    rows = []
    for u in range(1, users + 1):
        start = 978_300_000 + 1000 * u
        for k, m in enumerate(rng.sample(range(1, movies + 1), per_user)):
            rows.append((u, m, rng.randint(1, 5), start + 60 * k))
    rows[1] = (rows[1][0], rows[1][1], rows[1][2], rows[0][3])  # a tie: file order must decide
    later = rows[2:per_user]
    rng.shuffle(later)
    rows[2:per_user] = later  # the first user's later lines out of time order
    (folder / "ratings.dat").write_text("".join(f"{u}::{m}::{r}::{t}\n" for u, m, r, t in rows))
    return rows


def read_inter(path):
    with open(path, encoding="utf-8") as f:
        next(f)
        return [line.rstrip("\n").split("\t") for line in f]


def test_ml1m_dat_files_convert_with_times_ratings_and_genres(tmp_path):
    rows = write_ml1m(tmp_path / "ml-1m")
    stats = convert(str(tmp_path / "ml-1m" / "ratings.dat"), "ml1m", str(tmp_path / "out"),
                    meta=str(tmp_path / "ml-1m" / "movies.dat"), progress=False, vocab_size=200)
    assert stats["input_formats"] == {"reviews": "movielens_dat", "meta": "movielens"}
    assert stats["interactions"] == len(rows) and stats["users"] == 30 and stats["bad_lines"] == {}
    inter = read_inter(tmp_path / "out" / "ml1m" / "ml1m.inter")
    expected = sorted(((u, t, n), (u, m, r, t)) for n, (u, m, r, t) in enumerate(rows))
    assert [[int(x) for x in (u, i)] + [float(r), float(t)] for u, i, r, t in inter] == \
        [[u, m, float(r), float(t)] for _, (u, m, r, t) in expected]
    items = (tmp_path / "out" / "ml1m" / "ml1m.item").read_text(encoding="utf-8")
    assert "Misérables, Les (1995)" in items  # decoded from ISO-8859-1, not dropped as "not UTF-8"
    assert "Children's" in items
    properties = (tmp_path / "out" / "ml1m" / "ml1m.yaml").read_text()
    assert "text_fields: [title, categories]" in properties


def test_ml20m_csv_files_convert(tmp_path):
    (tmp_path / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,10,4.5,1000\n1,11,3.0,900\n"
                                          "2,10,5.0,1200\n2,12,1.0,1100\n")
    (tmp_path / "movies.csv").write_text('movieId,title,genres\n10,"Hours, The (2002)",Drama\n'
                                         "11,Heat (1995),Action|Crime\n12,Shorts (2009),(no genres listed)\n")
    stats = convert(str(tmp_path / "ratings.csv"), "ml20", str(tmp_path / "out"), meta=str(tmp_path / "movies.csv"),
                    progress=False, vocab_size=40)
    assert stats["bad_lines"] == {} and stats["items_with_title"] == 3
    inter = read_inter(tmp_path / "out" / "ml20" / "ml20.inter")
    assert [(u, i, float(r)) for u, i, r, _ in inter] == [("1", "11", 3.0), ("1", "10", 4.5), ("2", "12", 1.0),
                                                           ("2", "10", 5.0)]
    assert "Hours, The (2002)" in (tmp_path / "out" / "ml20" / "ml20.item").read_text()


def test_hstu_trains_on_prepared_ml1m_format_with_full_ranking(tmp_path):
    """The README's ML-1M command on a small file of that format: dataset_prep, then the ID model
    with the hstu backbone, full ranking, HR@10 / NDCG@10 and the catalog cross-entropy."""
    write_ml1m(tmp_path / "raw", users=40, per_user=15)
    done = subprocess.run([sys.executable, "-m", "dataset_prep", "convert", "--reviews", str(tmp_path / "raw" / "ratings.dat"),
                           "--meta", str(tmp_path / "raw" / "movies.dat"), "--name", "ml1m", "--out", str(tmp_path),
                           "--vocab-size", "200", "--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    results = tmp_path / "result.json"
    done = subprocess.run(
        [sys.executable, "run_recbole_srt.py", "--model=IDTransformer", "--backbone=hstu", "--dataset=ml1m",
         f"--data_path={tmp_path}", "--epochs=2", "--show_progress=False", f"--checkpoint_dir={tmp_path}",
         f"--log_dir={tmp_path}", f"--tensorboard_dir={tmp_path}", f"--results_file={results}", "--topk=[10]", "--valid_metric=NDCG@10",
         "--eval_cross_entropy=True",
         "--eval_args={'split':{'LS':'valid_and_test'},'group_by':'user','order':'TO','mode':'full'}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    test = json.loads(results.read_text())["test_result"]
    assert 0 <= test["ndcg@10"] <= test["hit@10"] <= 1
    assert 0 < test["cross_entropy"] < 10  # ln(40 movies) = 3.7 for a uniform model
