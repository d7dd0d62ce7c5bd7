"""python -m dataset_prep convert|subsets ... (see --help of each)."""

import argparse
import json
import sys

from dataset_prep.inputs import check_name
from dataset_prep.readers import DumpError


def report_bad_lines(bad_lines, out=None):
    """The skipped lines that stats.json counts, said on the console too: their count by reason and the first
    line numbers of each (stderr: stdout stays one JSON line)."""
    out = out or sys.stderr
    total = sum(entry["lines"] for entry in bad_lines.values())
    if not total:
        return
    print(f"warning: {total} input line(s) skipped (counted in stats.json):", file=out)
    for reason, entry in bad_lines.items():
        print(f"  {reason}: {entry['lines']} (first at line {', '.join(map(str, entry['examples']))})", file=out)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m dataset_prep", description="Amazon dumps -> RecBole atomic files")  # noqa: E501
    commands = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="a traceback instead of a one-line error")

    convert = commands.add_parser("convert", parents=[common], help="convert review (+ metadata) dumps into DIR/NAME/",
                                  description="Reviews: 2014/2018 JSON lines (reviews_*.json.gz, *_5.json.gz, "
                                  "item_dedup.json.gz, All_Amazon_Review.json.gz), 2023 *.jsonl.gz, ratings CSV "
                                  "(ratings_<Cat>.csv: user,item,...; 2018 <Cat>.csv: item,user,...), 'user item' "
                                  "pair lines, or one 'user item item ...' line per user (GRAM's user_sequence.txt); "
                                  "sequence files get their timestamps from the order. Metadata: 2014 Python-literal "
                                  "lines, 2018/2023 JSON lines, a RecBole .item table, or 'ASIN text' lines "
                                  "(IDGenRec's item_generative_indexing_phase_0.txt: keyword texts as titles, no "
                                  "brands). gz or plain, detected from the file.")
    convert.add_argument("--reviews", required=True)
    convert.add_argument("--meta", default=None)
    convert.add_argument("--name", required=True)
    convert.add_argument("--out", required=True)
    convert.add_argument("--kcore", type=int, default=0, help="iterative k-core on users and items (0: off)")
    convert.add_argument("--drop-untitled", action="store_true", help="drop interactions with items without a title")
    convert.add_argument("--keep-duplicates", action="store_true", help="keep repeated (user, item, time) rows")
    convert.add_argument("--exclude", action="append", default=[], metavar="DIR/NAME",
                         help="drop the users of another prepared dataset (repeatable)")
    convert.add_argument("--category", action="append", default=[], metavar="NAME",
                         help="keep items whose top-level metadata category (or main_cat) is NAME (repeatable; "
                         "for whole-store dumps)")
    convert.add_argument("--exclude-items", action="store_true",
                         help="with --exclude, drop the items of those datasets too")
    convert.add_argument("--tokenizer", default=None, help="reuse this SentencePiece model instead of training one")
    convert.add_argument("--vocab-size", type=int, default=30000)
    convert.add_argument("--force", action="store_true", help="overwrite an existing DIR/NAME")
    convert.add_argument("--quiet", action="store_true")

    subsets = commands.add_parser("subsets", parents=[common], help="nested user-sampled subsets of a prepared dataset")
    subsets.add_argument("--dataset", required=True, metavar="DIR/NAME")
    subsets.add_argument("--sizes", default="100K,500K,1M,5M,10M", help="target interaction counts")
    subsets.add_argument("--seed", type=int, default=0)
    subsets.add_argument("--out", default=None, help="default: beside the dataset")
    subsets.add_argument("--force", action="store_true")

    merge = commands.add_parser("merge", parents=[common], help="prepared datasets -> one pre-training corpus, one "
                                "tokenizer, the users of --exclude removed")
    merge.add_argument("--sources", required=True, help="comma-separated DIR/NAME of prepared datasets")
    merge.add_argument("--name", required=True)
    merge.add_argument("--out", required=True)
    merge.add_argument("--exclude", action="append", default=[], metavar="DIR/NAME",
                       help="remove the users of this prepared dataset (raw ids; repeatable)")
    merge.add_argument("--tokenizer-also", action="append", default=[], metavar="DIR/NAME",
                       help="also train the tokenizer on this dataset's item texts (the fine-tuning target's)")
    merge.add_argument("--tokenizer", default=None, help="reuse this SentencePiece model instead of training one")
    merge.add_argument("--vocab-size", type=int, default=30000)
    merge.add_argument("--force", action="store_true")

    args = parser.parse_args(argv)
    try:
        if args.command in ("convert", "merge"):
            check_name("--name", args.name)
        if args.command == "convert":
            from dataset_prep.convert import convert as run_convert

            stats = run_convert(args.reviews, args.name, args.out, meta=args.meta, kcore_k=args.kcore,
                                force=args.force, drop_untitled=args.drop_untitled, dedupe=not args.keep_duplicates,
                                exclude=args.exclude, exclude_items=args.exclude_items, categories=args.category,
                                tokenizer=args.tokenizer, vocab_size=args.vocab_size, progress=not args.quiet)
            print(json.dumps({k: stats[k] for k in ("interactions", "users", "items", "items_with_title")}))
            report_bad_lines(stats.get("bad_lines") or {})
        elif args.command == "merge":
            from dataset_prep.merge import merge as run_merge

            stats = run_merge([s for s in args.sources.split(",") if s], args.name, args.out, args.exclude,
                              args.tokenizer, args.tokenizer_also, args.vocab_size, args.force)
            print(json.dumps({k: stats[k] for k in ("interactions", "users", "items", "sources")}))
        else:
            from dataset_prep.subsets import subsets as run_subsets

            for stats in run_subsets(args.dataset, args.sizes.split(","), args.seed, args.out, args.force):
                print(json.dumps(stats))
    except (DumpError, OSError, ValueError) as error:  # bad inputs, unwritable --out: the user's to fix
        if args.debug:
            raise
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
