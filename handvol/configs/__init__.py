"""Training configurations as files, and the two helpers that read them.

A configuration is a nested dict returned by `get_config()` of a module in this package (or of
any file); variants import `default` and override only what differs. `load` reads one by name
or path; `override` applies command-line `key.sub=value` settings; `validate` checks one
against the schema (`schema`: types from `default`, ranges, choices) before anything runs.
"""

import ast
import copy
import importlib
import importlib.util
import os

from handvol.configs import default
from handvol.configs import schema
from handvol.configs.schema import ConfigError

def load(name_or_path):
  """Returns the configuration of a module of this package ("default") or a `.py` file.

  Args:
    name_or_path: A module name in `handvol.configs` or the path of a file with `get_config()`.

  Returns:
    A fresh nested dict.
  """
  if name_or_path.endswith(".py") or os.sep in name_or_path:
    spec = importlib.util.spec_from_file_location("handvol_config", name_or_path)
    if spec is None:
      raise FileNotFoundError(f"no config file at {name_or_path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
  else:
    try:
      module = importlib.import_module(f"handvol.configs.{name_or_path}")
    except ModuleNotFoundError as error:
      names = sorted(n[:-3] for n in os.listdir(os.path.dirname(__file__))
                     if n.endswith(".py") and not n.startswith("_") and n != "schema.py")
      raise ConfigError(f"--config={name_or_path}: no such config in handvol/configs "
                        f"({', '.join(names)}) and not a .py file") from error
  if not hasattr(module, "get_config"):
    raise ConfigError(f"{name_or_path}: a config file must define get_config()")
  return module.get_config()


def _parse(text):
  try:
    return ast.literal_eval(text)
  except (ValueError, SyntaxError):
    return text  # A bare word such as `mirrored` is a string.


def override(config, settings):
  """Returns a copy of `config` with `key.sub=value` settings applied.

  Values are Python literals (`3`, `1e-4`, `(0, 4)`, `{"synthetic": 1}`) or bare strings. A
  numeric part indexes a list (`data.train.0.args.root=/data/nyu`). A key must already exist
  (or be one of `schema.OPTIONAL`), so that a typo fails instead of being ignored.

  Args:
    config: A nested dict.
    settings: An iterable of "dotted.key=value" strings.

  Returns:
    A new nested dict.
  """
  config = copy.deepcopy(config)
  for setting in settings:
    key, separator, text = setting.partition("=")
    if not separator:
      raise ConfigError(f"a setting must read key=value, got {setting!r}")
    *parents, leaf = key.strip().split(".")
    node = config
    for part in parents:
      node = _child(node, part, key)
      if not isinstance(node, (dict, list)):
        raise schema.ConfigKeyError(f"{key}: {part!r} is a value, not a section")
    if not (key.strip() in schema.OPTIONAL and isinstance(node, dict)):
      _child(node, leaf, key)
    node[int(leaf) if isinstance(node, list) else leaf] = _parse(text.strip())
  return config


def _child(node, part, key):
  if isinstance(node, list):
    if not part.isdigit() or int(part) >= len(node):
      raise schema.ConfigKeyError(f"{key}: {part!r} is not an index of a list of {len(node)}")
    return node[int(part)]
  if part not in node:
    raise schema.ConfigKeyError(f"{key}: the config has no key {part!r} (keys: {sorted(node)})")
  return node[part]


def validate(config, choices=None, allow_missing=False):
  """Checks `config` against the schema whose types are `default`'s (`schema.validate`).

  Args:
    config: A nested config dict.
    choices: Optional dotted key pattern → allowed values, from the code that owns them.
    allow_missing: Accept keys of `default` that `config` lacks (an older run's config.json).

  Returns:
    `config`, unchanged.

  Raises:
    ConfigError: naming the first bad key, what it must be and what it is.
  """
  return schema.validate(config, default.get_config(), choices, allow_missing)
