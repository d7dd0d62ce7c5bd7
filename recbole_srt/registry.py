"""Name -> class tables for the parts a model is composed of, chosen by config keys.

A new item encoder, backbone or loss is one new file in its package that registers itself with
``@REGISTRY.register("name")``: :func:`import_modules` imports every module of the package. The class is
checked against the registry's contract (``recbole_srt/contracts.py``) when it registers, and its
``config_keys`` (the keys only it reads, with defaults) join the configuration from there.
"""

import importlib
import pkgutil

from recbole_srt.config_check import ConfigError
from recbole_srt.contracts import class_members, missing


def import_modules(package_name, package_path):
    """Import every module of a package, so that each registers what it defines."""
    for module in pkgutil.iter_modules(package_path):
        importlib.import_module(f"{package_name}.{module.name}")


class Registry:
    def __init__(self, key, contract):
        self.key = key  # the config key that names an entry, for error messages
        self.contract = contract
        self._entries = {}

    def register(self, name):
        def add(cls):
            if name in self._entries:
                raise ValueError(f"{self.key}: '{name}' is registered twice")
            absent = missing(self.contract, cls, class_members(self.contract))
            if absent:
                raise TypeError(f"{self.key} '{name}': {cls.__name__} does not meet the {self.contract.__name__} "
                                f"contract (recbole_srt/contracts.py): missing {', '.join(absent)}")
            cls.registry_name = name
            self._entries[name] = cls
            return cls

        return add

    def get(self, name):
        if name in self._entries:
            return self._entries[name]
        by_lower = {k.lower(): v for k, v in self._entries.items()}
        if isinstance(name, str) and name.lower() in by_lower:
            return by_lower[name.lower()]
        raise ConfigError(f"{self.key}: unknown '{name}'; choose one of {', '.join(self.names())}")

    def names(self):
        return sorted(self._entries)

    def items(self):
        return sorted(self._entries.items())

    def __contains__(self, name):
        return name in self._entries


def config_defaults(*registries):
    """{key: default} of every registered part's ``config_keys``. Two parts may share a key (both losses read
    ``tau``) only with the same default: otherwise the default would depend on which part was imported last."""
    defaults, owner = {}, {}
    for registry in registries:
        for name, cls in registry.items():
            for key, value in cls.config_keys.items():
                if key in defaults and defaults[key] != value:
                    raise TypeError(f"config key '{key}': {registry.key} '{name}' declares the default {value!r}, "
                                    f"{owner[key]} declares {defaults[key]!r}; one default per key")
                defaults[key], owner[key] = value, f"{registry.key} '{name}'"
    return defaults
