"""Stand-in for mlflow's tracking client: every metric and parameter logged goes to a JSON-lines file.

The file is $REFERENCE_METRICS (nothing is written when it is unset). Each line: {"kind": "metric"|"param",
"key", "value", "step"}. Experiments and runs exist in memory only."""

from .tracking import MlflowClient  # noqa: F401

__version__ = "0+reference-stub"
