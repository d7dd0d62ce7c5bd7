"""Train and evaluate SRT, or any RecBole sequential model, on one split and metric set.

    python -m recbole_srt --model=SRT --dataset=ml-100k [--config_files=a.yaml,b.yaml] [--key=value ...]
    python run_recbole_srt.py ...                          (the same, from a checkout)
    torchrun --nproc_per_node=N run_recbole_srt.py ...     (data-parallel: see the docs' GPU page)

Every --key=value is a RecBole or recbole_srt property (see docs/configuration.md).
"""

import argparse
import sys

from torch.distributed.elastic.multiprocessing.errors import record

import recbole_srt  # noqa: F401  (RecBole compatibility shims first)
from recbole_srt.config_check import ConfigError
from recbole_srt.quick_start import run


@record  # under torchrun: the failing rank's traceback in torchrun's summary
def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m recbole_srt", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", "-m", default="SRT", help="SRT, IDTransformer, MostPop or a RecBole sequential model "
                        "(SASRec, BERT4Rec, ...); case-insensitive")
    parser.add_argument("--dataset", "-d", default="ml-100k", help="dataset name; atomic files in <data_path>/<name>/")
    parser.add_argument("--config_files", default=None, help="comma-separated yaml files")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    parser.add_argument("--verbose", "-v", action="store_true", help="the config and model dumps on the console too "
                        "(else in the log file only)")
    args, properties = parser.parse_known_args(argv)
    config_files = [f for f in (args.config_files or "").replace(" ", ",").split(",") if f]
    try:
        result = run(args.model, args.dataset, config_file_list=config_files or None, argv=properties,
                     verbose=args.verbose)
    except (ConfigError, FileNotFoundError) as error:  # user errors: a bad key, value or file
        if args.debug:
            raise
        message = " ".join(str(error).split())  # one line, whatever the message held
        print(f"error: {message} (--debug: traceback)", file=sys.stderr)
        return 2
    if result is None:  # a torchrun rank other than 0: rank 0 tests and prints
        return 0
    print("test result: " + "  ".join(f"{name} {value:.4f}" for name, value in result["test_result"].items()))
    print(f"results written to {result['results_file']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
