"""The transfer curve's page and figure, from its results JSON alone (benchmarks/transfer_curve.py writes both)."""

import os

import harness

VARIANTS = ("most-popular", "zero-shot", "scratch", "fine-tuned")


def long_control(result):
    """The name of scratch given many more epochs at small targets (None in results written before it existed)."""
    epochs = result["mode"].get("long_epochs")
    return None if epochs is None else f"scratch, {epochs} epochs"


def variants(result):
    return [v for v in ("most-popular", "zero-shot", "scratch", long_control(result), "fine-tuned") if v]
GOAL_GAIN, GOAL_P, GOAL_SHARE = 0.10, 0.05, 25  # the goal: +10 % NDCG@5 at <= 25 % of the users, p < 0.05


def values(rows, target, percent, size, variant, group="unmasked", metric="ndcg@5"):
    """The seeds' values of one variant in one cell; most popular has no size."""
    return [r[group][metric] for r in rows if r["target"] == target and r["percent"] == percent
            and r["variant"] == variant and group in r and r["preset"] == (None if variant == "most-popular" else size)]


def text(found, seeds):
    if not found:
        return ""
    return harness.mean_sd_text(found) + (f" ({len(found)} of {seeds})" if len(found) < seeds else "")


def welch(tuned, scratch):
    """Fine-tuned's relative gain over scratch and the Welch t-test's p (None below 2 seeds a side, or no spread)."""
    if not tuned or not scratch:
        return None, None
    base = harness.mean_sd(scratch)[0]
    gain = harness.mean_sd(tuned)[0] / base - 1 if base else float("nan")  # NaN: scratch at 0, no ratio
    if len(tuned) < 2 or len(scratch) < 2:
        return gain, None
    from scipy.stats import ttest_ind

    p = ttest_ind(tuned, scratch, equal_var=False).pvalue
    return gain, None if p != p else float(p)  # NaN: both without spread


def gain_text(gain, p):
    gain = "" if gain is None else "scratch at 0" if gain != gain else f"{100 * gain:+.1f} %"
    return gain + ("" if p is None else f" (p = {p:.2g})")


def cells(result):
    """(target, percent, users, preset) of every cell with a row, in the plan's order."""
    rows, plan = result["rows"], result["plan"]
    users = {(r["target"], r["percent"]): r["users"] for r in rows}
    return [(t, pc, users[(t, pc)], s) for t in plan["targets"] for s in plan["presets"] for pc in plan["fractions"]
            if (t, pc) in users and any(r["preset"] == s and r["target"] == t and r["percent"] == pc for r in rows)]


def goals(result):
    """The issue's three goals per target and preset: 'met', 'missed' or 'not measured', with the figures."""
    rows, n, out = result["rows"], len(result["plan"]["seeds"]), []
    for target in result["plan"]["targets"]:
        for size in result["plan"]["presets"]:
            mine = [c for c in cells(result) if c[0] == target and c[3] == size]
            small = [c for c in mine if c[1] <= GOAL_SHARE]
            tests = {c[1]: welch(values(rows, target, c[1], size, "fine-tuned"), values(rows, target, c[1], size, "scratch"))
                     for c in small}
            gain_met = [pc for pc, (g, p) in tests.items() if g is not None and g >= GOAL_GAIN and p is not None
                        and p < GOAL_P]
            full = [c[1] for c in small if len(values(rows, target, c[1], size, "fine-tuned")) == n]
            planned = [pc for pc in result["plan"]["fractions"] if pc <= GOAL_SHARE]
            # "missed" only once every planned small share has all its seeds: until then the goal is still open
            first = "met at " + ", ".join(f"{pc} %" for pc in gain_met) if gain_met else \
                ("not measured" if not full else "no test with one seed" if n == 1 else "missed"
                 if set(planned) <= set(full) else f"not met so far (all seeds at {', '.join(f'{pc} %' for pc in full)})")
            first += "; " + "; ".join(f"{pc} %: {gain_text(*t)}" for pc, t in tests.items()) if tests else ""

            def above(a, b, group="unmasked"):  # mean over seeds above, at every size measured
                pairs = {c[1]: (values(rows, target, c[1], size, a, group), values(rows, target, c[1], size, b, group))
                         for c in mine}
                pairs = {pc: (x, y) for pc, (x, y) in pairs.items() if x and y}
                if not pairs:
                    return "not measured"
                below = [pc for pc, (x, y) in pairs.items() if harness.mean_sd(x)[0] <= harness.mean_sd(y)[0]]
                sizes = ", ".join(f"{pc} %" for pc in pairs)
                return f"met at {sizes}" if not below else \
                    f"missed at {', '.join(f'{pc} %' for pc in below)} (measured: {sizes})"
            out.append([target, size, first, above("fine-tuned", "most-popular"),
                        above("fine-tuned", "scratch", "cold")])
    return harness.table(["target", "pre-trained", f"fine-tuned ≥ +{100 * GOAL_GAIN:.0f} % over scratch at ≤ "
                          f"{GOAL_SHARE} % of users, Welch p < {GOAL_P}", "fine-tuned > most popular",
                          "cold items: fine-tuned > scratch"], out)


def projection(result):
    """The partial study's remaining time at this machine's pace: each unfinished (preset, share, target, seed) cell
    costs the finished cells' seconds per target user of its preset and target (their fixed overheads make this
    high at small shares). A preset and target without a finished cell cannot be projected: they are named instead."""
    rows, plan = result["rows"], result["plan"]
    upto = result["mode"].get("larger_upto", 100)
    spent, users, total = {}, {}, {}
    for r in rows:
        total[r["target"]] = round(r["users"] * 100 / r["percent"])
        size = r["preset"] or plan["presets"][0]  # most popular runs with the first preset's cells
        spent[size, r["target"]] = spent.get((size, r["target"]), 0) + r["wall_seconds"]
        if r["variant"] == "fine-tuned":
            users[r["preset"], r["target"]] = users.get((r["preset"], r["target"]), 0) + r["users"]
    done = {(r["preset"], r["percent"], r["target"], r["seed"]) for r in rows if r["variant"] == "fine-tuned"}
    seconds, unknown = 0.0, set()
    for size in plan["presets"]:
        for pc in plan["fractions"]:
            if size != plan["presets"][0] and pc > upto:
                continue
            for target in plan["targets"]:
                for seed in plan["seeds"]:
                    if (size, pc, target, seed) in done:
                        continue
                    if (size, target) not in users or target not in total:
                        unknown.add(f"{size} on {target}")
                        continue
                    seconds += spent[size, target] / users[size, target] * total[target] * pc / 100
    return seconds / 3600, sorted(unknown)


def markdown(result, name):
    rows, plan, n, long = result["rows"], result["plan"], len(result["plan"]["seeds"]), long_control(result)
    done = sorted({(r["percent"], r["preset"], r["target"], r["seed"]) for r in rows if r["preset"]})
    status = "complete" if result["complete"] else (
        "**partial**: the study was stopped or is still running; finished cells (percent of users, preset, target, "
        "seed): " + ", ".join(f"{pc} % {s} {t} s{seed}" for pc, s, t, seed in done))
    if not result["complete"]:
        hours, unknown = projection(result)
        status += (f". The unfinished cells would take about {hours:.1f} more hours at one thread on this machine "
                   "(the finished cells' seconds per target user, per preset and target)") + (
            f", plus {', '.join(unknown)}, which no finished cell measures yet (pre-training included)"
            if unknown else "")
    c = result["corpus"]
    lines = [f"# Transfer where it pays: fine-tuning on little data{' (quick mode)' if result['quick'] else ''}", "",
             f"`{result['command']}`; {harness.describe(result['machine'])}; {result['date']}; "
             f"{sum(r['wall_seconds'] for r in rows) / 60:.0f} minutes of target runs and "
             f"{sum(result['pretrain_seconds'].values()) / 60:.0f} of pre-training (the runs' own wall time, kept runs "
             f"included); this invocation took {result['wall_minutes']:.0f} minutes. Plan: seeds {plan['seeds']}, "
             f"{', '.join(f'{p} %' for p in plan['fractions'])} of the users, presets {', '.join(plan['presets'])}, "
             f"targets {', '.join(plan['targets'])}; {status}.", "",
             f"One pre-training corpus for both targets, the paper's rule (both target categories removed): "
             f"{' + '.join(c['sources'])}, {c['interactions']:,} interactions, {c['users']:,} users; one tokenizer "
             f"over it and both targets' texts; one pre-training per preset ({result['mode']['pretrain_epochs']} "
             f"epochs, seed 0)" + (f"; the presets after {plan['presets'][0]} at {result['mode']['larger_upto']} % of the "
                                  "users or fewer only" if result["mode"].get("larger_upto", 100) < 100 else "") +
             f". On each target, the first users of the seed's random order (nested: 5 % ⊂ 10 % ⊂ ...; "
             f"100 % is the whole dataset), leave-one-out, full ranking. Fine-tuned: item encoder first, a layer "
             f"unfrozen every {result['mode']['stage_epochs']} epochs, then {result['mode']['epochs']}, no EWC (the "
             f"best schedule of the transfer study); scratch: as many epochs as fine-tuning trains in all; both stop "
             f"early after {result['mode']['stopping_step']} validations without gain and are tested on their best "
             f"weights. " + (f"At {result['long_share']} % of the users or fewer, scratch is also trained for up to "
                          f"{result['mode']['long_epochs']} epochs (\"{long}\"), early stopping deciding: whether a "
                          "gain at small targets is more than scratch stopped short. " if long else "") +
             f"Zero-shot: the pre-trained weights as they are. Pinned: {result['pinned']}. Unmasked: the "
             "user's earlier items stay ranked (the authors' code); masked: they cannot be recommended. Cold: the "
             "same training with 10 % of the items withheld (`cold_start_items: 0.1`), NDCG@5 of the users whose "
             "held-out item is one of them. Gain: fine-tuned over scratch, means over seeds; p: Welch's t-test "
             "(scipy `ttest_ind`, `equal_var=False`) over the seeds. \"(k of N)\": fewer seeds than planned.", "",
             f"![NDCG@5 against the target's users]({name}/curve.png)", "", *long_control_text(result),
             "## Goals", ""]
    lines += goals(result)
    for target in plan["targets"]:
        mine = [cl for cl in cells(result) if cl[0] == target]
        for metric, group in (("ndcg@5", "unmasked"), ("hit@5", "unmasked"), ("ndcg@5", "masked"),
                              ("hit@5", "masked")):
            lines += ["", f"## {target}: {metric.upper()}, history {'kept' if group == 'unmasked' else 'masked'}", ""]
            controls = ["scratch", *([long] if long else [])]
            lines += harness.table(
                ["users", "share", "pre-trained", *variants(result), *[f"fine-tuned vs {c}" for c in controls]],
                [[f"{u:,}", f"{pc} %", s, *[text(values(rows, t, pc, s, v, group, metric), n) for v in variants(result)],
                  *[gain_text(*welch(values(rows, t, pc, s, "fine-tuned", group, metric),
                                     values(rows, t, pc, s, c, group, metric))) for c in controls]]
                 for t, pc, u, s in mine])
        lines += ["", f"## {target}: cold and warm items (NDCG@5, history kept)", ""]
        lines += harness.table(
            ["users", "share", "pre-trained", "scratch cold", "fine-tuned cold", "fine-tuned vs scratch, cold",
             "scratch warm", "fine-tuned warm"],
            [[f"{u:,}", f"{pc} %", s, *[text(values(rows, t, pc, s, v, "cold"), n) for v in ("scratch", "fine-tuned")],
              gain_text(*welch(values(rows, t, pc, s, "fine-tuned", "cold"), values(rows, t, pc, s, "scratch", "cold"))),
              *[text(values(rows, t, pc, s, v, "warm"), n) for v in ("scratch", "fine-tuned")]]
             for t, pc, u, s in mine])
        lines += paired_section(result, target)
    return "\n".join(lines) + "\n"


def long_control_text(result):
    """What the long scratch control found, from the rows: how many of its runs reached other best weights than
    scratch's."""
    long, rows = long_control(result), result["rows"]
    if not long:
        return []
    key = ("target", "percent", "preset", "seed")
    scratch = {tuple(r[k] for k in key): r for r in rows if r["variant"] == "scratch"}
    pairs = [(scratch[tuple(r[k] for k in key)], r) for r in rows
             if r["variant"] == long and tuple(r[k] for k in key) in scratch]
    if not pairs:
        return []
    same = [a for a, b in pairs if a["unmasked"] == b["unmasked"]]
    return [f"\"{long}\" ended at scratch's test figures in {len(same)} of {len(pairs)} runs. With a constant rate "
            "and the same seed it repeats scratch's run up to scratch's horizon (scratch trained "
            f"{min(a['epochs_trained'] for a, _ in pairs)}–{max(a['epochs_trained'] for a, _ in pairs)} epochs, early "
            "stopping included), and early stopping ended it " + (
                "there or soon after without better weights: scratch was not stopped short by its horizon."
                if len(same) == len(pairs) else "without better weights in those runs; in the others it found better "
                "weights than scratch's."), ""]


def paired_section(result, target):
    """Fine-tuned − scratch user by user, each user's figures averaged over the seeds whose subset holds it (the
    study's ``paired`` entries), beside each seed's own paired difference (its fine-tuned rows)."""
    rows, n, out, gaps = result["rows"], len(result["plan"]["seeds"]), [], []
    for r in rows:  # the ranks must give the figures the runs reported
        if "paired_vs_scratch" in r:
            scratch = next((s for s in rows if s["variant"] == "scratch" and all(
                s[k] == r[k] for k in ("target", "percent", "preset", "seed"))), None)
            for c, pair in r["paired_vs_scratch"].items():
                gaps.append(abs(pair["second"] - r[c]["ndcg@5"]))
                if scratch:
                    gaps.append(abs(pair["first"] - scratch[c]["ndcg@5"]))
    together = {(e["target"], e["percent"], e["preset"]): e for e in result.get("paired", [])}
    for t, pc, users, size in cells(result):
        entry = together.get((t, pc, size))
        if t != target or entry is None:
            continue
        each = sorted((r["seed"], r["paired_vs_scratch"]) for r in rows if (r["target"], r["percent"], r["preset"],
                      r["variant"]) == (t, pc, size, "fine-tuned") and "paired_vs_scratch" in r)
        for convention in ("unmasked", "masked"):
            e = entry[convention]
            out.append([f"{users:,}", f"{pc} %", size, "kept" if convention == "unmasked" else "masked",
                        f"{e['seeds']}" + (f" of {n}" if e["seeds"] < n else ""), f"{e['users']:,}",
                        f"{e['scratch']:.4f}", f"{e['fine-tuned']:.4f}", f"{e['difference']:+.4f} ± {e['se']:.4f}",
                        f"{100 * e['difference'] / e['scratch']:+.1f} %" if e["scratch"] else "scratch at 0",
                        f"{e['p']:.2g}", ", ".join(f"{p[convention]['difference']:+.4f}" for _, p in each)])
    if not out:
        return []
    return ["", f"## {target}: fine-tuned against scratch on the same test users (NDCG@5)", "",
            "Fine-tuned and scratch are tested on their best weights with `test_ranks` and paired user by user "
            "(recbole_srt.evaluation.paired). Each seed draws its own subset, and the subsets overlap (at 100 % they "
            "are the same users), so each user's NDCG@5 is averaged over the seeds whose subset holds the user, and "
            "one paired test runs over those users, each counted once (\"test users\"; scipy `ttest_1samp` of the "
            "differences). This reads the gap against the test users' sampling, which Welch's test over 3 seeds "
            "cannot see; it leaves out how training varies from seed to seed, which the last column shows (each "
            "seed's own difference over its subset). The ranks give the NDCG@5 the runs reported to within "
            f"{max(gaps) if gaps else 0:.1e} (those are rounded to 4 places).", ""] + harness.table(
        ["users", "share", "pre-trained", "history", "seeds", "test users", "scratch", "fine-tuned",
         "fine-tuned − scratch ± se", "relative", "p", "per seed"], out)


STYLE = {"most-popular": ("grey", ":"), "zero-shot": (None, "-."), "scratch": (None, "--"), "fine-tuned": (None, "-"),
         "long": (None, ":")}


def figure(result, folder):
    """<folder>/curve.png: NDCG@5 (history kept) against the target's users, log x, a panel per target, a line per
    variant and preset with a band of ± one sd over the seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, plan = result["rows"], result["plan"]
    colours = dict(zip(plan["presets"], ("tab:blue", "tab:orange", "tab:green", "tab:red")))
    fig, axes = plt.subplots(1, len(plan["targets"]), figsize=(5.5 * len(plan["targets"]), 4.2), squeeze=False)
    for ax, target in zip(axes[0], plan["targets"]):
        for variant in variants(result):
            for size in [None] if variant == "most-popular" else plan["presets"]:
                points = []
                for t, pc, users, s in cells(result):
                    found = values(rows, target, pc, size, variant) if t == target else []
                    if found and (size is None or s == size) and users not in [x[0] for x in points]:
                        points.append((users, *harness.mean_sd(found)))
                if not points:
                    continue
                points.sort()
                x, mean, sd = zip(*points)
                colour, style = STYLE.get(variant, STYLE["long"])
                colour = colour or colours[size]
                ax.plot(x, mean, style, marker="o", ms=3, color=colour,
                        label=variant + ("" if size is None else f" {size}"))
                ax.fill_between(x, [m - d for m, d in zip(mean, sd)], [m + d for m, d in zip(mean, sd)],
                                color=colour, alpha=0.15, lw=0)
        ax.set_xscale("log")
        shares = sorted({(u, pc) for t, pc, u, _ in cells(result) if t == target})
        if shares:  # the subsets' own user counts as ticks, not powers of ten
            ax.set_xticks([u for u, _ in shares], [f"{u:,}\n{pc} %" for u, pc in shares], fontsize=8)
            ax.minorticks_off()
        ax.set_xlabel(f"{target} users (training subset)")
        ax.set_ylabel("test NDCG@5, full ranking, history kept")
        ax.set_title(target)
        ax.grid(alpha=0.3)
    for ax in axes[0]:  # one legend, on the first panel with lines (a stopped study may have none on the other)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
            break
    fig.tight_layout()
    os.makedirs(folder, exist_ok=True)
    fig.savefig(os.path.join(folder, "curve.png"), dpi=110, metadata={"Software": None})
    plt.close(fig)
