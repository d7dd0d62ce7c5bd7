"""Train and evaluate SRT, or any RecBole sequential model: ``python run_recbole_srt.py --model=SRT``.

The same command as ``python -m recbole_srt`` (recbole_srt/__main__.py), kept at the top of a checkout
for RecBole users who know ``run_recbole.py``; under ``torchrun`` name this file.
"""

import sys

from recbole_srt.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
