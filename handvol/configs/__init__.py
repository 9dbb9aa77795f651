"""Training configurations as files, and the two helpers that read them.

A configuration is a nested dict returned by `get_config()` of a module in this package (or of
any file); variants import `default` and override only what differs. `load` reads one by name
or path; `override` applies command-line `key.sub=value` settings.
"""

import ast
import copy
import importlib
import importlib.util
import os


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
    module = importlib.import_module(f"handvol.configs.{name_or_path}")
  return module.get_config()


def _parse(text):
  try:
    return ast.literal_eval(text)
  except (ValueError, SyntaxError):
    return text  # A bare word such as `mirrored` is a string.


def override(config, settings):
  """Returns a copy of `config` with `key.sub=value` settings applied.

  Values are Python literals (`3`, `1e-4`, `(0, 4)`, `{"synthetic": 1}`) or bare strings. A
  numeric part indexes a list (`data.train.0.args.root=/data/nyu`). A key must already exist,
  so that a typo fails instead of being ignored.

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
      raise ValueError(f"a setting must read key=value, got {setting!r}")
    *parents, leaf = key.strip().split(".")
    node = config
    for part in parents:
      node = _child(node, part, key)
      if not isinstance(node, (dict, list)):
        raise KeyError(f"{key}: {part!r} is a value, not a section")
    _child(node, leaf, key)
    node[int(leaf) if isinstance(node, list) else leaf] = _parse(text.strip())
  return config


def _child(node, part, key):
  if isinstance(node, list):
    if not part.isdigit() or int(part) >= len(node):
      raise KeyError(f"{key}: {part!r} is not an index of a list of {len(node)}")
    return node[int(part)]
  if part not in node:
    raise KeyError(f"{key}: the config has no key {part!r} (keys: {sorted(node)})")
  return node[part]
