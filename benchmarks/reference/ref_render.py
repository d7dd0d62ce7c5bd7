"""docs/results/reference.md from benchmarks/results/reference.json (sections of modes 'quick' and 'full', each as
run.py wrote it): their code beside ours, the evaluator check, what it cost here, and the commands that ran it."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import harness  # noqa: E402

TABLE1 = {"beauty": "beauty.json", "sports": "sports.json"}  # our Table 1 rows, benchmarks/results/
OURS_FOR = {"SRT-10": ["SRT-10"], "SRT-100": ["SRT-100"], "SRT-300": ["SRT-300"],
            "SRT-1K": ["SRT-1K", "SRT-1K-authors", "SRT-1K tuned"], "CE": []}


def fmt(x, digits=4):
    return "–" if x is None else f"{x:.{digits}f}"


def spread(runs, get, digits=4):
    values = [get(r) for r in runs if get(r) is not None]
    return harness.mean_sd_text(values, digits) if values else "–"


def their_rows(row, entry):
    runs = entry["theirs"]
    return [row, entry["K"], "theirs (SASRecF2)", len(runs), spread(runs, lambda r: r["test"]["ndcg@5"]),
            spread(runs, lambda r: r["test"]["hit@5"]), spread(runs, lambda r: r["valid_ndcg@5"]),
            spread(runs, lambda r: r["epochs_to_best"], 1) + " / " + spread(runs, lambda r: r["epochs_run"], 1),
            spread(runs, lambda r: r["seconds_per_epoch"], 1),
            spread(runs, lambda r: r.get("validation_seconds_per_epoch"), 1),
            spread(runs, lambda r: r["wall_seconds"] / 60, 1)]


def our_rows_quick(row, entry):
    runs = entry["ours"]
    if not runs:
        return []
    return [[row, entry["K"], "ours (SRT, srt-authors preset)", len(runs), spread(runs, lambda r: r["test"]["ndcg@5"]),
             spread(runs, lambda r: r["test"]["hit@5"]), spread(runs, lambda r: r["valid_ndcg@5"]),
             spread(runs, lambda r: r["epochs_to_best"], 1) + " / " + spread(runs, lambda r: r["epochs_run"], 1),
             spread(runs, lambda r: r["seconds_per_epoch"], 1), "–", spread(runs, lambda r: r["wall_seconds"] / 60, 1)]]


def our_rows_table1(row, dataset):
    path = os.path.join(harness.paths.RESULTS, TABLE1[dataset])
    if not os.path.isfile(path):
        return []
    models = harness.load(path).get("models", {})
    out = []
    for name in OURS_FOR[row]:
        if name not in models:
            continue
        r = models[name]
        seeds, mean = r.get("seeds", []), r["mean"]
        out.append([row, "", f"ours: Table 1 '{name}'", len(seeds),
                    spread(seeds, lambda s: s["full"]["ndcg@5"]), spread(seeds, lambda s: s["full"]["hit@5"]),
                    fmt(mean.get("valid_ndcg@5")), f"{mean.get('epochs_to_best', 0):g} / {mean.get('epochs_run', 0):g}",
                    fmt(mean.get("seconds_per_epoch"), 1), "–", fmt(r.get("run", {}).get("minutes"), 1)])
        if r.get("paper_ndcg@5") and not any(o[2] == "paper" for o in out):
            out.insert(0, [row, "", "paper (Table 1)", "", fmt(r["paper_ndcg@5"]), "", "", "", "", "", ""])
    return out


def estimate(d, result):
    """The full mode's training time on the machine of the quick run, scaled from its seconds per epoch by the
    users (training rows grow with them), at the quick run's K."""
    scale = d["users_whole"] / d["users"]
    lines = []
    for row, entry in d["rows"].items():
        runs = entry["theirs"]
        per_epoch = harness.mean_sd(r["seconds_per_epoch"] + (r.get("validation_seconds_per_epoch") or 0)
                                    for r in runs)[0] * scale
        lines.append(f"Their {row} (K = {entry['K']}) on the whole of {d['subset'].split('-u')[0]} "
                     f"({d['users_whole']} users, {scale:.1f} x these): about {per_epoch / 60:.0f} minutes per epoch "
                     f"with its validation on this machine, so up to {per_epoch * 50 / 3600:.1f} hours for the "
                     f"recipe's 50 epochs per seed (early stopping may end sooner); a larger K costs more per step.")
    return lines


HEADER = ["row", "K", "side", "seeds", "test NDCG@5", "test HIT@5", "valid NDCG@5", "epochs to best / run",
          "s / train epoch", "s / validation", "minutes / run"]


def section(result, key):
    """One section of the page; ``key`` names it in reference.json (the mode, or the mode with its settings)."""
    quick = result["mode"] == "quick"
    own = {k: result[k] for k in ("date", "machine", "command")}  # of runs written before each had its own

    def stamp(r):
        return r.get("run") or own

    check = result.get("evaluator_check")
    runs = []  # the commands that ran this section's runs (and its check), in page order
    for d in result["datasets"].values():
        for entry in d["rows"].values():
            for r in entry["theirs"] + entry["ours"]:
                runs += [stamp(r)] if stamp(r) not in runs else []
    runs += [stamp(check)] if check and stamp(check) not in runs else []
    several = len(runs) > 1

    def letters(rs):
        return ", ".join(sorted({chr(65 + runs.index(stamp(r))) for r in rs}))

    code = (f"their code on {result['authors_torch']}, device {result['device']}; authors' commit "
            f"`{(result.get('authors_commit') or 'unknown')[:12]}`")
    lines = [f"## {'Quick' if quick else 'Full'} mode{key[len(result['mode']):]}", ""]
    if several:
        lines += [f"{code[0].upper()}{code[1:]}; {result.get('minutes', '?')} minutes in the last invocation (runs "
                  "kept from earlier ones are not rerun). Its runs come from these commands (column 'runs'):", ""]
        lines += [f"- {chr(65 + i)}: {r['date']}; {harness.describe(r['machine'])}; `{r['command']}`"
                  for i, r in enumerate(runs)] + [""]
    else:
        one = runs[0] if runs else own
        lines += [f"{one['date']}; {harness.describe(one['machine'])}; {code}; {result.get('minutes', '?')} minutes "
                  "in this invocation (runs kept from earlier ones are not rerun).", "", f"    {one['command']}", ""]
    for dataset, d in result["datasets"].items():
        share = "" if result["fraction"] >= 1 else f", {result['fraction']:.0%} of its users"
        lines += [f"### {dataset} (`{d['subset']}`{share}; epochs: {result['epochs']})", ""]
        rows = []
        for row, entry in d["rows"].items():
            ours = our_rows_quick(row, entry) if quick else our_rows_table1(row, dataset)
            if several:  # Table 1's rows name their runs on its own page
                ours = [o + [letters(entry["ours"]) if quick else ""] for o in ours]
            rows += [their_rows(row, entry) + ([letters(entry["theirs"])] if several else [])] + ours
        lines += harness.table(HEADER + (["runs"] if several else []), rows) + [""]
        lines += estimate(d, result) + [""] if quick and d.get("users") else []
    if check:
        lines += [f"### Evaluator check ({check['dataset']}{f'; run {letters([check])}' if several else ''})", "",
                  "The same score matrix through both evaluators: their `Trainer.evaluate` (a model that returns the "
                  "file's rows) and `recbole_srt.evaluation.RankingEvaluation`, full ranking, history kept.", ""]
        rows = [[name, r["ours"]["users"], r["theirs"]["users"], r["ours"]["catalog"], r["theirs"]["catalog"],
                 fmt(r["ours"]["ndcg@5"]), fmt(r["theirs"]["ndcg@5"]), fmt(r["ours"]["hit@5"]),
                 fmt(r["theirs"]["hit@5"]), "yes" if r["equal"] else "**no**"] for name, r in check["files"].items()]
        lines += harness.table(["scores", "users (ours)", "users (theirs)", "catalog (ours)", "catalog (theirs)",
                                "NDCG@5 ours", "NDCG@5 theirs", "HIT@5 ours", "HIT@5 theirs", "equal"], rows) + [""]
    return lines


NOTES = """What runs on their side: their `get_from_scratch_config_dict` and `run_experiment` (SASRecF2: title and brand
pieces summed per field, popularity negatives per row with logQ correction, one-cycle, lr 1e-4, batch 128, dropout
0.5, hidden 64, inner 64, 2 layers, early stopping 5 on validation NDCG@5), with K set on top (their from-scratch
config fixes `nce_num_negatives` at 300) and `loss_type: CE` for the CE row. Their trainer also scores a training
sample after each validation; "s / validation" is their `_valid_epoch` alone. Stand-ins: see
benchmarks/reference/stubs/README.md. Items: our prepared .item texts cut into the pieces of our tokenizer
(benchmarks/reference/ref_data.py), not their all-Amazon 30K BPE."""


def markdown(content):
    lines = ["# Their code on our data (issue 29)", "", NOTES, ""]
    for mode in ("full", "quick"):  # each mode's sections, in the order they were first written
        lines += [line for key, result in content.items() if result["mode"] == mode for line in section(result, key)]
    return "\n".join(lines) + "\n"


def pages(results=None):
    return harness.rendered(markdown, ["reference"], results)
