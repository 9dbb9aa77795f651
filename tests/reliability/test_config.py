"""Config values are checked before anything runs; a work directory remembers its config; an
empty training set is an error."""

import json

import pytest

from handvol import configs
from handvol import training
from handvol.configs import default
from handvol.data import capture
from handvol.training import faults
from handvol.training import train
from handvol.training import workdir as workdir_lib


@pytest.mark.parametrize("setting, message", [
    ("train.steps_per_epoch=0", "train.steps_per_epoch: must be ≥ 1, got 0"),
    ("data.batch_size=-4", "data.batch_size: must be ≥ 1, got -4"),
    ("train.learning_rate=nan", "train.learning_rate: must be a number, got 'nan'"),
    ("train.learning_rate=1e999", "train.learning_rate: must be a finite number, got inf"),
    ("train.learning_rate=0.0", "train.learning_rate: must be > 0, got 0.0"),
    ("train.epochs=2.5", "train.epochs: must be an integer, got 2.5"),
    ("train.strategy=mirored", "train.strategy: must be one of ['default', 'mirrored', "
                               "'multi_worker'], got 'mirored'"),
    ("model.blocks_per_stage=(2, 2)", "model.blocks_per_stage: must be a list of 4, got (2, 2)"),
    ("data.batch_size=6", None),
    ("data.train=[]", "data.train: the training set needs at least one source, got []"),
    ("data.test={'source': 'nyu'}", "data.test.args: missing (expected a section (dict))"),
    ("data.max_skipped_fraction=1.5", "data.max_skipped_fraction: must be ≥ 0 and ≤ 1, got 1.5"),
])
def test_schema_names_the_key_and_what_was_expected(setting, message):
  config = configs.override(configs.load("default"), [setting])
  if message is None:  # A legal value passes.
    assert train.validate_config(config) is config
    return
  with pytest.raises(configs.ConfigError) as error:
    train.validate_config(config)
  assert str(error.value) == message


def test_train_py_refuses_a_bad_value_before_anything_runs(tmp_path, tools):
  workdir = tmp_path / "run"
  run = tools.run(tools.train_command(workdir, "train.steps_per_epoch=0"), tmp_path)
  assert run.returncode == 1
  assert tools.last_line(run.stderr) == ("train.py: error: train.steps_per_epoch: must be ≥ 1, "
                                         "got 0")
  assert not workdir.exists()


def test_a_key_added_to_default_is_type_checked(monkeypatch):
  added = default.get_config()
  added["train"]["new_patience"] = 5
  monkeypatch.setattr(default, "get_config", lambda: json.loads(json.dumps(added)))
  config = default.get_config()
  config["train"]["new_patience"] = "five"
  with pytest.raises(configs.ConfigError, match="^train.new_patience: must be an integer, got "
                                                "'five'$"):
    configs.validate(config)


def test_rerun_with_another_config_is_refused_naming_the_keys(copy_run, tools):
  before = (copy_run / "config.json").read_text()
  other = tools.tiny_config("train.epochs=3", "model.encoder_width=8")
  with pytest.raises(faults.WorkdirMismatchError) as error:
    training.train_and_evaluate(other, str(copy_run))
  assert ("differing keys: model.encoder_width: 4 → 8; train.epochs: 1 → 3. Rerun with the "
          "same config to resume, with --overwrite") in str(error.value)
  assert (copy_run / "config.json").read_text() == before


def test_overwrite_starts_afresh(copy_run, tools):
  (copy_run / "notes.txt").write_text("mine")
  other = tools.tiny_config("train.epochs=3")
  workdir_lib.prepare(str(copy_run), other, overwrite=True)
  assert json.loads((copy_run / "config.json").read_text())["train"]["epochs"] == 3
  assert not (copy_run / "checkpoints").exists() and not (copy_run / "backup").exists()
  assert (copy_run / "notes.txt").read_text() == "mine"  # Only the run's own files go.


def test_empty_training_set_is_a_clear_error(tmp_path, tools):
  folder = tmp_path / "captures"
  folder.mkdir()
  (folder / capture.ANNOTATION_FILE).write_text(json.dumps(
      {"format": capture.FORMAT_NAME, "version": capture.FORMAT_VERSION,
       "intrinsics": [475.0, 475.0, 320.0, 240.0], "frames": []}))
  config = tools.tiny_config(
      f"data.train=[{{'source': 'capture', 'args': {{'root': '{folder}'}}, 'ratio': 1}}]")
  with pytest.raises(faults.BadFramesError,
                     match=r"^data.train.0: no usable frame in root='.*captures': it has none$"):
    training.train_and_evaluate(config, str(tmp_path / "run"))
  assert not (tmp_path / "run" / "summary.json").exists()


def test_subjects_may_be_a_set_name_or_ids_and_nothing_else():
  from handvol import configs as configs_lib  # pylint: disable=import-outside-toplevel
  base = configs_lib.load("default")
  for good in ("unseen_test", (10, 11, 12)):
    configs_lib.validate(configs_lib.override(base, [f"data.train.0.subjects={good!r}"]))
  for bad in ("(1.5, 2)", "()", "3"):
    with pytest.raises(configs_lib.ConfigError, match="data.train.0.subjects: must be a subject"):
      configs_lib.validate(configs_lib.override(base, [f"data.train.0.subjects={bad}"]))
