"""recbole_srt: the Scalable Recommendation Transformer (Zivic et al., SIGIR 2024) on RecBole."""

import recbole_srt.compat  # noqa: F401  (must run before recbole is imported)

__version__ = "0.1.0"
