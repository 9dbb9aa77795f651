"""The reproduction study's driver: configurations, targets, and the smoke preset end to end."""

import json
import math

import numpy as np
import pytest

from handvol.experiments import configurations
from handvol.experiments import report
from handvol.experiments import study as study_lib
from handvol.experiments import targets


def _settings_by_key(configuration):
  return dict(setting.split("=", 1) for setting in configuration.settings)


@pytest.mark.parametrize("preset", list(configurations.PRESETS.values()))
def test_every_configuration_builds_at_every_preset(preset):
  studied = configurations.configurations(preset)
  assert len({c.key for c in studied}) == len(studied) == 9
  for configuration in studied:
    config = configurations.build_config(preset, configuration)
    ratios = sum(entry["ratio"] for entry in config["data"]["train"])
    assert config["data"]["batch_size"] % ratios == 0, configuration.key
    seeds = [entry["seed"] for entry in config["data"]["train"]]
    seeds += [config["data"]["validation"]["seed"], config["data"]["test"]["seed"]]
    assert len(set(seeds)) == len(seeds), configuration.key  # no set repeats another's frames
    assert config["data"]["test"] == configurations.test_source(configuration.test_sets[0],
                                                                preset)


def test_ablations_change_one_thing_each():
  studied = {c.key: c for c in configurations.configurations(configurations.SMOKE)}
  full = _settings_by_key(studied["e1/full"])
  expected = {"e1/no_dissim": {"loss.weights.dissim": "0.0"},
              "e1/no_bone": {"loss.weights.bone": "0.0"},
              "e1/no_collision": {"loss.weights.collision": "0.0"},
              "e1/no_limits": {"loss.weights.lim": "0.0"}}
  for key, change in expected.items():
    assert _settings_by_key(studied[key]) == {**full, **change}, key
  for key, configuration in studied.items():
    config = configurations.build_config(configurations.SMOKE, configuration)
    assert config["model"]["head"]["articulation"] == "free", key  # the paper's method
    assert config["loss"]["weights"]["lim"] == (0.0 if key == "e1/no_limits"
                                               else configurations.LIMIT_WEIGHT), key
    assert config["loss"]["weights"]["collision"] == (
        0.0 if key == "e1/no_collision" else configurations.COLLISION_WEIGHT), key
    assert config["loss"]["weights"]["dissim"] == (
        0.0 if key in ("e1/no_dissim", "e1/supervised21", "e2/no_dissim")
        else configurations.DISSIM_WEIGHT), key
  config = configurations.build_config(configurations.SMOKE, studied["e1/no_handid"])
  assert [entry["subjects"] for entry in config["data"]["train"]] == ["nyu_like"]
  reference = configurations.build_config(configurations.SMOKE, studied["e1/supervised21"])
  assert reference["loss"]["weights"]["dissim"] == 0.0
  assert reference["loss"]["supervised_keypoints"] == "all"
  assert reference["data"]["train"][0]["label_mode"] == "all21_3d"
  for key in ("e2/full", "e2/no_dissim"):
    config = configurations.build_config(configurations.SMOKE, studied[key])
    assert config["loss"]["slack_mm"] == configurations.HIM_SLACK_MM
    assert [entry["label_mode"] for entry in config["data"]["train"]] == ["him_wrong_3d"]
    for entry in config["data"]["train"] + [config["data"]["validation"], config["data"]["test"]]:
      assert entry["him_offset_mm"] == configurations.HIM_OFFSET_MM
  assert configurations.build_config(
      configurations.SMOKE, studied["e2/no_dissim"])["loss"]["weights"]["dissim"] == 0.0


def _results(unlab15, f1, mdpc_median, e2_error, e3_all21):
  """A minimal `analyze` result; arguments are per-configuration numbers."""
  e1 = {key: {"unlab15_mean_mm": value, "bone_length_f1": f1.get(key)}
        for key, value in unlab15.items()}
  return {
      "e1": {"methods": e1},
      "e2": {"methods": {key: {"mdpc_median_mm": value, "mdpc_ratio_to_truth": value / 8.0,
                               "all21_mean_mm": e2_error[key]}
                         for key, value in mdpc_median.items()},
             "true_joints": {"mdpc_median_mm": 8.0},
             "wrong_labels": {"error_to_truth_mean_mm": 15.0}},
      "e3": {"methods": {key: {"all21_mean_mm": value} for key, value in e3_all21.items()}},
  }


def _met(results, seconds=0.0, preset="smoke"):
  studied = configurations.configurations(configurations.SMOKE)
  return [t["met"] for t in targets.check_targets(results, studied, seconds, preset)]


def test_targets_follow_the_numbers():
  unlab15 = {"e1/full": 10.0, "e1/no_dissim": 12.0, "e1/no_bone": 11.0, "e1/no_handid": 10.5,
             "e1/no_collision": 10.1, "e1/no_limits": 13.0, "e1/supervised21": 5.0}
  f1 = {"e1/full": {"8": 0.9, "9": 0.85}, "e1/no_handid": {"8": 0.6, "9": 0.5}}
  mdpc = {"e2/full": 9.0, "e2/no_dissim": 14.0}
  e2_error = {"e2/full": 12.0, "e2/no_dissim": 16.0}
  e3 = {"e2/full": 20.0, "e2/no_dissim": 25.0}
  assert _met(_results(unlab15, f1, mdpc, e2_error, e3)) == [True] * 7
  # The supervised reference is no ablation: beating Full does not miss the target.
  missed = [
      _results({**unlab15, "e1/no_collision": 9.9}, f1, mdpc, e2_error, e3),
      _results(unlab15, {**f1, "e1/full": {"8": 0.9, "9": 0.79}}, mdpc, e2_error, e3),
      _results(unlab15, {**f1, "e1/no_handid": {"8": 0.71, "9": 0.5}}, mdpc, e2_error, e3),
      _results(unlab15, f1, {**mdpc, "e2/full": 9.7}, e2_error, e3),
      _results(unlab15, f1, {**mdpc, "e2/no_dissim": 12.7}, e2_error, e3),
      _results(unlab15, f1, mdpc, {**e2_error, "e2/full": 15.0}, e3),
      _results(unlab15, f1, mdpc, e2_error, {**e3, "e2/full": 25.0}),
  ]
  for index, results in enumerate(missed):
    expected = [True] * 7
    expected[index] = False
    assert _met(results) == expected, index
  without_f1 = _results(unlab15, {}, mdpc, e2_error, e3)
  assert _met(without_f1)[1:3] == [None, None]
  assert _met(_results(unlab15, f1, mdpc, e2_error, e3), 7300.0, "cpu")[-1] is False
  assert _met(_results(unlab15, f1, mdpc, e2_error, e3), 7000.0, "cpu")[-1] is True


def test_a_workdir_belongs_to_one_preset(tmp_path):
  study_lib.claim_workdir(tmp_path, configurations.SMOKE)
  study_lib.claim_workdir(tmp_path, configurations.SMOKE)
  with pytest.raises(ValueError, match="another --workdir"):
    study_lib.claim_workdir(tmp_path, configurations.CPU)


def _numbers(value):
  if isinstance(value, dict):
    for item in value.values():
      yield from _numbers(item)
  elif isinstance(value, list):
    for item in value:
      yield from _numbers(item)
  elif isinstance(value, (int, float)) and not isinstance(value, bool):
    yield value


def _mtimes(workdir):
  patterns = ("*/*/summary.json", "*/*/*.npz", "test_sets/*.npz")
  return {path: path.stat().st_mtime_ns for pattern in patterns
          for path in workdir.glob(pattern)}


@pytest.mark.slow
def test_smoke_preset_end_to_end_then_rerun_skips_and_resumes(tmp_path):
  study, written = study_lib.run(configurations.SMOKE, tmp_path, "test")
  keys = [c.key for c in configurations.configurations(configurations.SMOKE)]
  assert list(study["configurations"]) == keys
  on_disk = json.loads((tmp_path / "reproduction.json").read_text())
  assert on_disk == json.loads(json.dumps(study))
  results = on_disk["results"]
  e1_keys = [k for k in keys if k.startswith("e1/")]
  e2_keys = [k for k in keys if k.startswith("e2/")]
  assert list(results["e1"]["methods"]) == e1_keys
  assert list(results["e2"]["methods"]) == list(results["e3"]["methods"]) == e2_keys
  for key in e1_keys:
    result = results["e1"]["methods"][key]
    assert set(result["bone_length_f1"]) == {"8", "9"}  # the two unseen subjects
    assert result["bone_length_subject_distance_mm"] >= 0.0
    for protocol in ("all21", "lab6", "unlab15"):
      assert result[f"{protocol}_mean_mm"] > 0.0
      assert len(result[f"frac_max_le_mm" if protocol == "all21"
                        else f"{protocol}_frac_max_le_mm"]) == 81
    assert 0.0 <= result["palm_flipped_percent"] <= 100.0
    assert result["mdpc_ratio_to_truth"] == pytest.approx(
        result["mdpc_median_mm"] / results["e1"]["true_joints"]["mdpc_median_mm"])
  assert results["e1"]["true_joints"]["error_to_truth_mean_mm"] == 0.0
  for key in e2_keys:
    result = results["e2"]["methods"][key]
    for name in ("all21_mean_mm", "error_to_labels_mean_mm", "mdpc_median_mm", "mdpc_mean_mm"):
      assert result[name] > 0.0, (key, name)
  for name in ("true_joints", "wrong_labels"):
    assert results["e2"][name]["mdpc_median_mm"] > 0.0
  assert results["e2"]["wrong_labels"]["error_to_truth_mean_mm"] > 0.0
  assert len(on_disk["targets"]) == 7
  assert all(isinstance(t["met"], bool) for t in on_disk["targets"])
  assert all(math.isfinite(number) for number in _numbers(on_disk))
  for relative in written:
    assert (tmp_path / relative).stat().st_size > 0, relative
  markdown = (tmp_path / "reproduction.md").read_text()
  assert markdown.count("palm flipped (%)") == 3  # the E1, E2 and E3 tables
  for target in on_disk["targets"]:
    assert target["target"] in markdown
  study_lib.publish(tmp_path, written, tmp_path / "published")
  for relative in written:
    assert (tmp_path / "published" / relative).read_bytes() == (
        tmp_path / relative).read_bytes(), relative
  for figure in ("reproduction_e1/frame_fractions.png", "reproduction_e2_qualitative.png",
                 "reproduction_e3/frame_fractions.png"):
    assert f"]({figure})" in markdown  # links resolve in the published folder too

  # Rerun: every configuration is finished, nothing is trained or predicted again.
  before = _mtimes(tmp_path)
  again, _ = study_lib.run(configurations.SMOKE, tmp_path, "test")
  assert _mtimes(tmp_path) == before
  assert json.loads(json.dumps(again["results"])) == results

  # A configuration stopped before its summary: the trainer resumes it (its backup holds the
  # last epoch, so nothing is retrained), the driver predicts again.
  run_dir = tmp_path / "e2" / "no_dissim"
  (run_dir / "summary.json").unlink()
  for path in run_dir.glob("predictions_*.npz"):
    path.unlink()
  resumed, _ = study_lib.run(configurations.SMOKE, tmp_path, "test")
  assert resumed["configurations"]["e2/no_dissim"]["training"]["fit_seconds"] < (
      study["configurations"]["e2/no_dissim"]["training"]["fit_seconds"])
  for name in ("all21_mean_mm", "error_to_labels_mean_mm", "mdpc_median_mm"):
    assert resumed["results"]["e2"]["methods"]["e2/no_dissim"][name] == pytest.approx(
        results["e2"]["methods"]["e2/no_dissim"][name], rel=1e-5), name


def test_select_configurations_filters_and_appends_settings():
  chosen = study_lib.select_configurations(configurations.SMOKE, ("e2/full", "e1/full"),
                                           ("loss.weights.lim=1.0",))
  assert [c.key for c in chosen] == ["e1/full", "e2/full"]  # the study's order
  for configuration in chosen:
    assert configuration.settings[-1] == "loss.weights.lim=1.0"
    assert configurations.build_config(configurations.SMOKE, configuration)["loss"]["weights"][
        "lim"] == 1.0
  assert len(study_lib.select_configurations(configurations.SMOKE)) == 9
  with pytest.raises(ValueError, match="no configuration"):
    study_lib.select_configurations(configurations.SMOKE, ("e1/fulll",))


def test_summarize_a_variant():
  rng = np.random.default_rng(0)
  frames = 6
  truth = 400.0 + 50.0 * rng.standard_normal((frames, 21, 3))
  test_set = {"truth_xyz": truth, "xyz": truth + 10.0, "subject": np.array([8, 8, 8, 9, 9, 9]),
              "crop_depth": np.full((frames, 16, 16), 450.0),
              "crop_intrinsics": np.tile([20.0, 20.0, 7.5, 7.5], (frames, 1))}
  chosen = study_lib.select_configurations(configurations.SMOKE, ("e1/full", "e2/full"))
  # Bone lengths of 1 mm for subject 8 and 3 mm for subject 9: told apart, 2·√20 mm apart.
  lengths = np.repeat([[1.0], [3.0]], 3, axis=0) * np.ones((frames, 20))
  predictions = {(c.key, name): {"keypoints": truth + 3.0, "bone_lengths": lengths}
                 for c in chosen for name in c.test_sets}
  test_sets = {name: test_set for name in configurations.TEST_SETS}
  summary = report.summarize(chosen, test_sets, predictions)
  assert set(summary) == {"e1/full", "e2/full"}
  assert set(summary["e2/full"]) == {configurations.HIM_TEST, configurations.CLEAN_TEST}
  him = summary["e2/full"][configurations.HIM_TEST]
  assert him["all21_mean_mm"] == pytest.approx(3.0 * math.sqrt(3.0))
  assert him["error_to_labels_mean_mm"] == pytest.approx(7.0 * math.sqrt(3.0))
  assert him["palm_flipped_percent"] == 0.0  # shifted, not turned
  clean = summary["e1/full"][configurations.CLEAN_TEST]
  assert clean["bone_length_f1"] == {"8": 1.0, "9": 1.0}
  assert clean["bone_length_subject_distance_mm"] == pytest.approx(2.0 * math.sqrt(20.0))
  markdown = report.format_summary(summary, "the command")
  assert "the command" in markdown and markdown.count("| e2/full |") == 2
  assert "| 1.00 / 1.00 | 8.94 |" in markdown
