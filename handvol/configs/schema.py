"""The configuration schema: every key's type, and the ranges and choices of those that need them,
checked before anything runs.

Types come from the default configuration (`handvol/configs/default.py`): a key whose default is
an int takes an int, a float any finite number, a bool a bool, a string a string, a tuple a list
or tuple of the same length whose items are typed the same way, a section a dict with exactly
the default's keys. So a key added to `default.py` is type-checked with nothing else to do;
`RANGES` adds bounds, `validate`'s `choices` the allowed names (given by the code that owns
them, e.g. the strategies of `handvol.training.trainer`).

Data sources are the one place where configs differ in shape: a source entry
(`data.train.<i>`, `data.validation`, `data.test`) is checked against `SOURCE_KEYS` of its
"source" instead of the default's synthetic entry.

Every error is a `ConfigError` of one line that names the dotted key, what was expected and
what was given, e.g. "train.steps_per_epoch: must be ≥ 1, got 0".
"""

import dataclasses
import fnmatch
import math
import re


class ConfigError(ValueError):
  """A configuration value that cannot run; the message names the key."""


class ConfigKeyError(ConfigError, KeyError):
  """A key that the configuration does not have (a typo in `--set`, a stale file)."""

  def __str__(self):
    return str(self.args[0]) if self.args else ""


@dataclasses.dataclass(frozen=True)
class Range:
  """Numbers in [low, high]; `open_low` excludes `low` (`> 0` rather than `≥ 0`)."""
  low: float = -math.inf
  high: float = math.inf
  open_low: bool = False

  def check(self, value, key):
    below = value <= self.low if self.open_low else value < self.low
    if below or value > self.high:
      low = f"> {self.low:g}" if self.open_low else f"≥ {self.low:g}"
      bound = low if self.high == math.inf else f"{low} and ≤ {self.high:g}"
      raise ConfigError(f"{key}: must be {bound}, got {value!r}")


POSITIVE = Range(0.0, open_low=True)
AT_LEAST_ONE = Range(1)
NON_NEGATIVE = Range(0)

RANGES = {
    "seed": NON_NEGATIVE,
    "data.batch_size": AT_LEAST_ONE,
    "data.cube_mm": POSITIVE,
    "data.max_gaussians": AT_LEAST_ONE,
    "data.shuffle_buffer": AT_LEAST_ONE,
    "data.max_skipped_fraction": Range(0.0, 1.0),
    "data.augment.rotation_deg": Range(0.0, 180.0),
    "data.augment.translation_px": NON_NEGATIVE,
    "data.augment.scale_range.*": POSITIVE,
    "data.augment.depth_offset_mm": NON_NEGATIVE,
    "data.*.num_frames": AT_LEAST_ONE,
    "data.*.ratio": AT_LEAST_ONE,
    "data.*.seed": NON_NEGATIVE,
    "data.*.him_offset_mm": NON_NEGATIVE,
    "model.encoder_width": AT_LEAST_ONE,
    "model.blocks_per_stage.*": AT_LEAST_ONE,
    "model.head.translation_scale_mm": POSITIVE,
    "model.head.rotation_scale": POSITIVE,
    "model.head.beta_scale": POSITIVE,
    "loss.weights.*": NON_NEGATIVE,
    "loss.slack_mm": NON_NEGATIVE,
    "train.epochs": AT_LEAST_ONE,
    "train.steps_per_epoch": AT_LEAST_ONE,
    "train.learning_rate": POSITIVE,
    "train.finetune_learning_rate": POSITIVE,
    "train.final_learning_rate": POSITIVE,
    "train.warmup_steps": NON_NEGATIVE,
    "train.clip_norm": POSITIVE,
    "train.log_every_steps": AT_LEAST_ONE,
    "train.images_every_epochs": AT_LEAST_ONE,
    "train.num_images": AT_LEAST_ONE,
    "train.verbose": Range(0, 2),
    "track.fps": POSITIVE,
    "track.filter.min_cutoff_hz": POSITIVE,
    "track.filter.beta": NON_NEGATIVE,
    "track.filter.d_cutoff_hz": POSITIVE,
    "track.calibration.frames": AT_LEAST_ONE,
    "track.calibration.steps": NON_NEGATIVE,
    "track.calibration.learning_rate": POSITIVE,
    "track.calibration.bone_weight": NON_NEGATIVE,
}
"""Dotted key (fnmatch pattern: `*` spans dots) → the `Range` of its numbers."""

NULLABLE = ("data.augment",)
"""Sections that may be None (no augmentation)."""

OPTIONAL = {"data.max_skipped_fraction": 0.01, "train.init": "scratch",
            "train.finetune_learning_rate": 1e-3,
            "track.calibration.bone_weight": 1e-2}
"""Keys a config may leave out, with the value used then."""

SOURCE_KEYS = {
    "synthetic": ({"subjects": "", "label_mode": "", "num_frames": 1, "seed": 0},
                  {"views": "", "poses": "", "him_offset_mm": 0.0}),
    "scenes": ({"cameras": "", "subjects": "", "label_mode": "", "num_frames": 1, "seed": 0},
               {"reference": ""}),
    "tfrecords": ({"dir": "", "name": ""}, {}),
    "nyu": ({"args": {}}, {}),
    "hands2017": ({"args": {}}, {}),
    "capture": ({"args": {}}, {}),
}
"""Source name → (required keys, optional keys), each with a value of the key's type."""

SOURCE_ENTRIES = re.compile(r"data\.(train\.\d+|validation|test)")
"""The dotted keys that hold one source entry."""


def _type_name(value):
  if isinstance(value, (list, tuple)):
    return f"a list of {len(value)}"
  return {bool: "true or false", int: "an integer", float: "a number", str: "a string",
          dict: "a section (dict)"}.get(type(value), type(value).__name__)


def _check_leaf(value, reference, key):
  """Type (and finiteness) of a non-section value against its default."""
  if isinstance(reference, bool) or isinstance(value, bool):
    ok = isinstance(value, bool) and isinstance(reference, bool)
  elif isinstance(reference, int):
    ok = isinstance(value, int)
  elif isinstance(reference, float):
    ok = isinstance(value, (int, float))
    if ok and not math.isfinite(value):
      raise ConfigError(f"{key}: must be a finite number, got {value!r}")
  elif key.endswith(".subjects"):
    # A subject set's name, or the ids of its subjects (the reproduction study's sets).
    ok = isinstance(value, str) or (
        isinstance(value, (list, tuple)) and len(value) > 0
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value))
    if not ok:
      raise ConfigError(f"{key}: must be a subject set's name or a list of subject ids, got "
                        f"{value!r}")
  else:
    ok = isinstance(value, type(reference))
  if not ok:
    raise ConfigError(f"{key}: must be {_type_name(reference)}, got {value!r}")


def _walk(value, reference, key, allow_missing):
  """Checks `value` against `reference` (its default) recursively; yields (key, value) of
  every leaf for the ranges and choices."""
  if key in NULLABLE and value is None:
    return
  if SOURCE_ENTRIES.fullmatch(key):
    yield from _walk_source(value, key, allow_missing)
  elif isinstance(reference, dict):
    if not isinstance(value, dict):
      raise ConfigError(f"{key}: must be a section (dict), got {value!r}")
    if reference:  # An empty default section ("args" of a reader) takes any keys.
      yield from _walk_section(value, reference, key, allow_missing)
  elif isinstance(reference, (list, tuple)):
    if not isinstance(value, (list, tuple)) or (key != "data.train"
                                                 and len(value) != len(reference)):
      raise ConfigError(f"{key}: must be {_type_name(reference)}, got {value!r}")
    if key == "data.train" and not value:
      raise ConfigError("data.train: the training set needs at least one source, got []")
    for index, item in enumerate(value):
      yield from _walk(item, reference[min(index, len(reference) - 1)], f"{key}.{index}",
                       allow_missing)
  elif reference is not None:
    _check_leaf(value, reference, key)
    yield key, value


def _walk_section(value, reference, key, allow_missing, optional=None):
  prefix = f"{key}." if key else ""
  optional = {**{k[len(prefix):]: v for k, v in OPTIONAL.items()
                 if k.startswith(prefix) and "." not in k[len(prefix):]}, **(optional or {})}
  unknown = sorted(set(value) - set(reference) - set(optional))
  if unknown:
    raise ConfigKeyError(f"{prefix}{unknown[0]}: unknown key; {key or 'the config'} has "
                         f"{sorted(set(reference) | set(optional))}")
  missing = sorted(set(reference) - set(value))
  if missing and not allow_missing:
    raise ConfigKeyError(f"{prefix}{missing[0]}: missing (expected "
                         f"{_type_name(reference[missing[0]])})")
  for name, item in value.items():
    yield from _walk(item, reference.get(name, optional.get(name)), prefix + name,
                     allow_missing)


def _walk_source(value, key, allow_missing):
  """A source entry against `SOURCE_KEYS` of its "source" (plus "ratio" in `data.train`)."""
  kind = value.get("source") if isinstance(value, dict) else None
  if kind not in SOURCE_KEYS:
    raise ConfigError(f"{key}.source: must be one of {sorted(SOURCE_KEYS)}, got {kind!r}")
  required, optional = SOURCE_KEYS[kind]
  required = dict(required, source="")
  if key.startswith("data.train."):
    required["ratio"] = 1
  yield key + ".source", kind
  yield from _walk_section(value, required, key, allow_missing, optional)


def _check_relations(config):
  """Constraints between keys."""
  data, train = config.get("data", {}), config.get("train", {})
  ratios = [entry.get("ratio", 1) for entry in data.get("train", [])]
  if "batch_size" in data and ratios and data["batch_size"] % sum(ratios):
    raise ConfigError(f"data.batch_size: must be a multiple of the training sources' ratios' sum "
                      f"{sum(ratios)} (ratios {ratios}), got {data['batch_size']}")
  for peak in ("learning_rate", "finetune_learning_rate"):
    if train.get("final_learning_rate", 0) > train.get(peak, math.inf):
      raise ConfigError(f"train.final_learning_rate: must be ≤ train.{peak} "
                        f"{train[peak]!r}, got {train['final_learning_rate']!r}")
  scale = (data.get("augment") or {}).get("scale_range")
  if scale is not None and scale[0] > scale[1]:
    raise ConfigError(f"data.augment.scale_range: must be (low, high) with low ≤ high, got "
                      f"{tuple(scale)}")


def validate(config, reference, choices=None, allow_missing=False):
  """Checks a configuration against the schema; returns it unchanged.

  Args:
    config: The nested dict to check.
    reference: The default configuration whose values give every key's type.
    choices: Optional dict dotted key pattern → the allowed values (e.g.
      {"train.strategy": ("default", "mirrored", "multi_worker")}).
    allow_missing: Accept a config without some of the default's keys (a run's
      `config.json` written before a key was added).

  Returns:
    `config`.

  Raises:
    ConfigError: the first value that breaks the schema, naming its dotted key.
  """
  if not isinstance(config, dict):
    raise ConfigError(f"a config must be a dict, got {type(config).__name__}")
  for key, value in _walk_section(config, reference, "", allow_missing):
    for pattern, allowed in (choices or {}).items():
      # Choices name things; a list (subject ids) was checked by type.
      if (fnmatch.fnmatchcase(key, pattern) and not isinstance(value, (list, tuple))
          and value not in allowed):
        raise ConfigError(f"{key}: must be one of {list(allowed)}, got {value!r}")
    for pattern, bounds in RANGES.items():
      if fnmatch.fnmatchcase(key, pattern) and isinstance(value, (int, float)):
        bounds.check(value, key)
  _check_relations(config)
  return config
