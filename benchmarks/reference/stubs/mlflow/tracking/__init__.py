import json
import os
import uuid
from types import SimpleNamespace

_EXPERIMENTS = {}
_RUNS = {}


def _write(record):
    path = os.environ.get("REFERENCE_METRICS")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, default=str) + "\n")


class MlflowClient:
    def __init__(self, tracking_uri=None, *args, **kwargs):
        self.tracking_uri = tracking_uri

    def create_experiment(self, name, *args, **kwargs):
        if name in _EXPERIMENTS:
            raise ValueError(f"experiment {name} exists")
        _EXPERIMENTS[name] = str(len(_EXPERIMENTS))
        return _EXPERIMENTS[name]

    def get_experiment_by_name(self, name):
        return SimpleNamespace(experiment_id=_EXPERIMENTS.get(name) or self.create_experiment(name), name=name)

    def create_run(self, experiment_id, run_name=None, **kwargs):
        run_id = uuid.uuid4().hex
        run = SimpleNamespace(info=SimpleNamespace(run_id=run_id, run_name=run_name),
                              data=SimpleNamespace(metrics={}, params={}))
        _RUNS[run_id] = run
        return run

    def search_runs(self, experiment_ids=None, filter_string="", **kwargs):
        return [r for r in _RUNS.values() if f"'{r.info.run_name}'" in filter_string]

    def log_param(self, run_id, key, value):
        _RUNS[run_id].data.params[key] = value
        _write({"kind": "param", "key": key, "value": value})

    def log_metric(self, run_id, key, value, step=None, **kwargs):
        _RUNS[run_id].data.metrics[key] = value
        _write({"kind": "metric", "key": key, "value": float(value), "step": step})

    def set_terminated(self, run_id, status=None, **kwargs):
        _write({"kind": "status", "key": "status", "value": status})
