"""Name -> class tables for the parts a model is composed of, chosen by config keys.

A new item encoder, backbone or loss is one new file in its package that registers itself with
``@REGISTRY.register("name")``: :func:`import_modules` imports every module of the package.
"""

import importlib
import pkgutil

from recbole_srt.config_check import ConfigError


def import_modules(package_name, package_path):
    """Import every module of a package, so that each registers what it defines."""
    for module in pkgutil.iter_modules(package_path):
        importlib.import_module(f"{package_name}.{module.name}")


class Registry:
    def __init__(self, key):
        self.key = key  # the config key that names an entry, for error messages
        self._entries = {}

    def register(self, name):
        def add(cls):
            if name in self._entries:
                raise ValueError(f"{self.key}: '{name}' is registered twice")
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

    def __contains__(self, name):
        return name in self._entries
