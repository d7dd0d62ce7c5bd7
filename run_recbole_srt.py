"""Train and evaluate SRT, or any RecBole sequential model, on one split and metric set.

    python run_recbole_srt.py --model=SRT --dataset=ml-100k [--config_files=a.yaml,b.yaml] [--key=value ...]
"""

import argparse

import recbole_srt  # noqa: F401  (RecBole compatibility shims first)
from recbole_srt.quick_start import run


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", "-m", default="SRT", help="SRT or a RecBole sequential model (SASRec, BERT4Rec, ...)")
    parser.add_argument("--dataset", "-d", default="ml-100k", help="dataset name; atomic files in <data_path>/<name>/")
    parser.add_argument("--config_files", default=None, help="comma-separated yaml files")
    # Every other --key=value is a RecBole property, read by the Config from the command line.
    args, _ = parser.parse_known_args()
    config_files = [f for f in (args.config_files or "").replace(" ", ",").split(",") if f]
    result = run(args.model, args.dataset, config_file_list=config_files or None)
    print(f"results written to {result['results_file']}")


if __name__ == "__main__":
    main()
