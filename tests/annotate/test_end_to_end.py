"""Record → annotate → fine-tune → predict: eight synthetic frames annotated through the HTTP
API, `train.py` on the output folder as a capture source (two steps of a ResNet of width 4),
and predictions from its checkpoint on the recorded frames; then that checkpoint as `python -m handvol.annotate
--checkpoint`, whose six keypoints the page shows first (pre-annotation)."""

import json
import os
import pathlib
import socket
import subprocess
import sys

import numpy as np
import pytest

from handvol import pretrained
from handvol.annotate import server
from handvol.annotate import storage
from handvol.annotate import suggest
from handvol.data import capture
from handvol.data import png
from handvol.data import records
from handvol.export import predict
from handvol.image import preprocess
from handvol.hand import skeleton
from handvol.model import centre_refiner

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
OCCLUDED = "ring_tip"
TINY = ["data.batch_size=4", "data.max_gaussians=256", "data.validation.num_frames=4",
        "data.test.num_frames=4", "model.encoder_width=4", "model.blocks_per_stage=(1, 1, 1, 1)",
        "train.epochs=1", "train.steps_per_epoch=2", "train.warmup_steps=1",
        "train.images_every_epochs=1", "train.num_images=2", "train.verbose=2"]
"""A run of a few seconds; validation and test stay synthetic (they need the 21 true joints)."""


def _python(*args, timeout=300):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3",
             PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
  run = subprocess.run([sys.executable, *map(str, args)], cwd=REPO_ROOT, env=env,
                       capture_output=True, text=True, timeout=timeout, check=False)
  assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
  return run


def _clicks(helpers, frames_dir):
  """{frame: {keypoint: ([u, v] whole pixels, visible)}}: the labels' pixels, one keypoint
  occluded on every other frame."""
  truth = helpers.true_labels(frames_dir)
  return {name: {k: ([int(round(c)) for c in labels[k]["uv"]],
                     int(not (k == OCCLUDED and i % 2)))
                 for k in storage.KEYPOINTS}
          for i, (name, labels) in enumerate(sorted(truth.items()))}


@pytest.fixture(name="annotated_run", scope="module")
def annotated_run_fixture(frames_dir, tmp_path_factory, helpers):
  """(labels folder, the clicks, work directory): every frame annotated through the API and
  marked done, then `train.py` run on the folder."""
  root = tmp_path_factory.mktemp("end_to_end")
  labels = root / "labels"
  clicks = _clicks(helpers, frames_dir)
  store = helpers.make_store(frames_dir, labels)
  try:
    client = server.create_app(store, suggest.Suggester(store.intrinsics), None).test_client()
    for name, points in clicks.items():
      for keypoint, (uv, visible) in points.items():
        response = client.post("/api/keypoint", json={"frame": name, "keypoint": keypoint,
                                                      "uv": uv, "visible": visible,
                                                      "seconds": 2.0})
        assert response.status_code == 200, response.get_json()
      response = client.post("/api/status", json={"frame": name, "status": "done"})
      assert response.status_code == 200, response.get_json()
  finally:
    store.close()
  source = json.dumps([{"source": "capture", "args": {"root": str(labels)}, "ratio": 1}])
  _python(REPO_ROOT / "train.py", f"--workdir={root / 'run'}", f"--set=data.train={source}",
          *[f"--set={s}" for s in TINY])
  return labels, clicks, root / "run"


def test_annotations_train_and_predict(annotated_run, frames_dir, tmp_path, helpers):
  labels, clicks, run = annotated_run
  # The folder is what training read: every frame, with the clicked pixels and flags.
  frames = list(capture.read_frames(str(labels)))
  assert len(frames) == len(clicks) == 8
  lab6 = list(skeleton.LAB6)
  for record, points in zip(frames, clicks.values()):
    np.testing.assert_array_equal(record["uv"][lab6], [points[k][0] for k in storage.KEYPOINTS])
    np.testing.assert_array_equal(record["visible"][lab6],
                                  [points[k][1] for k in storage.KEYPOINTS])
    assert np.all(record["kind"][lab6] == records.KIND_2D)
  with open(run / "config.json", encoding="utf-8") as f:
    assert json.load(f)["data"]["train"][0]["source"] == "capture"
  with open(run / "summary.json", encoding="utf-8") as f:
    summary = json.load(f)
  assert summary["epochs"] == 1 and summary["steps_per_epoch"] == 2
  assert np.isfinite(summary["all21_mean_mm"])

  # Predict on the recorded frames with the fine-tuned checkpoint (`predict --model ...`'s
  # library function, in this process: a second TensorFlow start would double the time).
  paths = predict.frame_paths([str(frames_dir / capture.DEPTH_DIR)])
  predictor = predict.frame_predictor(str(run / "checkpoints" / "best.keras"))
  predict.predict_files(paths, predictor, helpers.camera(labels)[0], str(tmp_path),
                        overlays=False, verbose=0)
  with open(tmp_path / "predictions.json", encoding="utf-8") as f:
    predicted = json.load(f)
  assert [frame["file"] for frame in predicted["frames"]] == [
      str(frames_dir / name) for name in clicks]
  for frame in predicted["frames"]:
    assert frame["valid"] and frame["reference_source"] == "localizer"
    for key, shape in (("joints_xyz", (21, 3)), ("joints_uvd", (21, 3)),
                       ("bone_lengths", (20,)), ("theta", (26,)), ("reference_uvd", (3,))):
      values = np.asarray(frame[key], np.float64)
      assert values.shape == shape, key
      assert np.all(np.isfinite(values)), key
    assert np.all(np.asarray(frame["joints_xyz"])[:, 2] > 0)


def _free_port():
  with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    return probe.getsockname()[1]


def test_checkpoint_preannotation_is_the_models_six_keypoints(annotated_run, frames_dir,
                                                              tmp_path, helpers, page):
  checkpoint = annotated_run[2] / "checkpoints" / "best.keras"
  name = "depth/000002.png"
  intrinsics, unit = helpers.camera(frames_dir)
  depth = png.read_depth16(str(frames_dir / name), unit)
  expected = predict.frame_predictor(str(checkpoint))(
      depth[None], np.float32([intrinsics]), np.zeros([1, 3], np.float32),
      np.zeros([1], np.float32))
  expected_uv = expected["joints_uvd"][0][list(skeleton.LAB6), :2]

  target = helpers.true_labels(frames_dir)[name]["wrist"]["uv"]
  port = _free_port()
  url = f"http://127.0.0.1:{port}"
  process = helpers.start_process(frames_dir, tmp_path / "out", port, "--checkpoint",
                                  checkpoint)
  try:
    _, session = helpers.call(url, "/api/session")
    assert session["model"] == str(checkpoint)
    status, frame = helpers.call(url, "/api/frame?name=" + name)
    assert status == 200 and frame["keypoints"] == {}
    proposal = frame["suggestion"]
    assert sorted(proposal["keypoints"]) == sorted(storage.KEYPOINTS)
    np.testing.assert_allclose([proposal["keypoints"][k] for k in storage.KEYPOINTS],
                               expected_uv, atol=0.006)
    # The suggested reference point: the localiser's centre, refined by the shipped centre
    # refiner (the serving graph's default) and put on the centre grid, that the model's crop
    # was cut around.
    np.testing.assert_allclose(proposal["reference_uvd"], expected["reference_uvd"][0],
                               atol=0.006)
    np.testing.assert_allclose(
        proposal["reference_uvd"],
        preprocess.on_center_grid(centre_refiner.locate_hands(
            pretrained.load_centre_refiner(), depth[None],
            np.float32([intrinsics]))["center_uvd"]).numpy()[0],
        atol=0.01)
    _drag_one_and_accept(page, url, name, proposal["keypoints"], target, helpers)
  finally:
    helpers.kill(process)
  with open(tmp_path / "out" / capture.ANNOTATION_FILE, encoding="utf-8") as f:
    written = {entry["source"]: entry["keypoints"] for entry in json.load(f)["frames"]}
  assert np.allclose(written[name]["wrist"]["uv"], target, atol=0.5)
  for keypoint in storage.KEYPOINTS[1:]:
    assert written[name][keypoint] == {"uv": proposal["keypoints"][keypoint], "visible": 1}


def _drag_one_and_accept(page, url, name, proposed, target, helpers):
  """In the page: the six proposals are drawn and listed as the model's; the wrist is dragged
  to `target` (pixels) and Enter accepts the other five."""
  page.goto(url + "/")
  helpers.open_frame(page, "depth/000000.png")
  for shown in ("depth/000001.png", name):
    page.keyboard.press("ArrowRight")
    helpers.open_frame(page, shown)
  assert page.evaluate("window.annotator.state.proposals") == proposed
  assert page.locator("#keypoints .state").all_text_contents() == ["model"] * 6
  box = page.locator("#canvas").bounding_box()
  start, end = (page.evaluate("([u, v]) => window.annotator.toScreen(u, v)", list(uv))
                for uv in (proposed["wrist"], target))
  page.mouse.move(box["x"] + start[0], box["y"] + start[1])
  page.mouse.down()
  page.mouse.move(box["x"] + end[0], box["y"] + end[1], steps=5)
  page.mouse.up()
  helpers.wait_saved(page)
  page.keyboard.press("Enter")
  page.wait_for_function("document.getElementById('frame-name').textContent !== "
                         f"'{name}'")
  helpers.wait_saved(page)
