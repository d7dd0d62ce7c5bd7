"""recbole-srt: the plugin's one installed command.

    recbole-srt --model=SRT --dataset=ml-100k [--key=value ...]   train and test (as python run_recbole_srt.py)
    recbole-srt train --model=SRT ...                              the same, named
    recbole-srt prep ...        Amazon / MovieLens dumps -> RecBole atomic files (python -m dataset_prep)
    recbole-srt stats ...       dataset statistics (python -m recbole_srt.stats)
    recbole-srt search ...      hyper-parameter search (python -m recbole_srt.search)
    recbole-srt scaling ...     the scaling-law sweep, fit and plots (python -m recbole_srt.scaling)
    recbole-srt new-items ...   score items a text model never saw (python -m recbole_srt.new_items)
    recbole-srt fisher ...      the Fisher information for EWC fine-tuning (python -m recbole_srt.fisher)

``recbole-srt COMMAND --help`` shows a command's options. Each command is the ``main(argv)`` of its module, so
``python -m ...`` and ``recbole-srt ...`` run the same code. This dispatcher is an entry point like the modules'
``__main__`` files: it may reach the study code (the scaling sweep), which the core never imports.
"""

import sys


def _train(argv):
    from recbole_srt.__main__ import main

    return main(argv)


def _prep(argv):
    from dataset_prep.cli import main

    return main(argv)


def _stats(argv):
    from recbole_srt.stats import main

    return main(argv)


def _search(argv):
    from recbole_srt.search import main

    return main(argv)


def _scaling(argv):
    from recbole_srt.scaling.__main__ import main

    return main(argv)


def _new_items(argv):
    from recbole_srt.new_items import main

    return main(argv)


def _fisher(argv):
    from recbole_srt.fisher import main

    return main(argv)


COMMANDS = {"train": _train, "prep": _prep, "stats": _stats, "search": _search, "scaling": _scaling,
            "new-items": _new_items, "fisher": _fisher}


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__.strip())
        return 0
    if argv[0] in ("--version", "-V"):
        from recbole_srt import __version__

        print(f"recbole-srt {__version__}")
        return 0
    command = argv[0] if argv[0] in COMMANDS or not argv[0].startswith("-") else "train"
    if command not in COMMANDS:
        print(f"recbole-srt: unknown command '{command}'; commands: {', '.join(COMMANDS)} "
              "(or training options alone: recbole-srt --model=SRT ...)", file=sys.stderr)
        return 2
    rest = argv[1:] if argv[0] == command else argv
    return COMMANDS[command](rest) or 0


if __name__ == "__main__":
    sys.exit(main())
