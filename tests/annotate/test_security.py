"""Every refusal of the annotation server: 4xx with a message, and nothing written."""

import json
import os
import shutil

import pytest

from handvol.annotate import server
from handvol.annotate import storage
from handvol.annotate import suggest

FRAME = "depth/000000.png"
GOOD = {"frame": FRAME, "keypoint": "wrist", "uv": [320, 240], "visible": 1, "seconds": 1.5}


@pytest.fixture(name="client")
def client_fixture(frames_dir, tmp_path, helpers):
  store = helpers.make_store(frames_dir, tmp_path / "out")
  app = server.create_app(store, suggest.Suggester(store.intrinsics), {"localhost"})
  store.set_keypoint(FRAME, "thumb_tip", (300, 200), 1)  # a file to keep unchanged
  yield app.test_client(), store
  store.close()


def _snapshot(store):
  with open(store.path, "rb") as f:
    return f.read(), sorted(os.listdir(store.out_dir))


def _assert_refused(response, status, store, before, words):
  assert response.status_code == status, response.get_data(as_text=True)
  message = response.get_json()["error"]
  assert words in message
  assert _snapshot(store) == before


def test_a_good_click_is_written(client):
  client, store = client
  response = client.post("/api/keypoint", json=GOOD)
  assert response.status_code == 200
  with open(store.path, encoding="utf-8") as f:
    assert json.load(f)["frames"][0]["keypoints"]["wrist"] == {"uv": [320, 240], "visible": 1}


@pytest.mark.parametrize("name,status,words", [
    ("../annotations.json", 400, "'..'"),
    ("depth/../depth/000000.png", 400, "'..'"),
    ("depth/./000000.png", 400, "'..'"),
    ("depth//000000.png", 400, "empty"),
    ("/etc/passwd", 400, "absolute"),
    ("C:/windows/win.ini", 400, "absolute"),
    ("depth\\000000.png", 400, "absolute"),
    ("annotations.json", 404, "no such frame"),
    ("depth/999999.png", 404, "no such frame"),
    ("", 400, "required"),
])
def test_frame_names_are_refused(client, name, status, words):
  client, store = client
  before = _snapshot(store)
  for response in (client.get("/api/frame", query_string={"name": name}),
                   client.get("/api/depth", query_string={"name": name}),
                   client.post("/api/keypoint", json=dict(GOOD, frame=name)),
                   client.post("/api/status", json={"frame": name, "status": "done"})):
    _assert_refused(response, status, store, before, words)


def test_links_out_of_the_frames_folder_are_not_served(frames_dir, tmp_path):
  frames = tmp_path / "frames"
  shutil.copytree(frames_dir / "depth", frames)
  outside = tmp_path / "secret.png"
  shutil.copy(frames_dir / "depth" / "000001.png", outside)
  os.symlink(outside, frames / "link_out.png")
  os.symlink(frames / "000002.png", frames / "link_in.png")
  index = storage.FrameIndex(str(frames))
  assert "link_out.png" not in index.names and "link_in.png" in index.names
  with pytest.raises(storage.Refused, match="no such frame"):
    index.path("link_out.png")
  # A link that turns outwards after the listing is refused when it is read.
  os.remove(frames / "link_in.png")
  os.symlink(outside, frames / "link_in.png")
  with pytest.raises(storage.Refused, match="links out"):
    index.path("link_in.png")


def test_the_output_folder_inside_the_frames_folder_is_not_listed(frames_dir, tmp_path):
  shutil.copytree(frames_dir / "depth", tmp_path / "frames")
  shutil.copytree(frames_dir / "depth", tmp_path / "frames" / "labels" / "depth")
  index = storage.FrameIndex(str(tmp_path / "frames"), skip=str(tmp_path / "frames" / "labels"))
  assert index.names == sorted(os.listdir(frames_dir / "depth"))


@pytest.mark.parametrize("change,words", [
    ({"uv": [640, 10]}, "'u' must lie in"),
    ({"uv": [-0.6, 10]}, "'u' must lie in"),
    ({"uv": [10, 479.6]}, "'v' must lie in"),
    ({"uv": ["10", 10]}, "finite number"),
    ({"uv": [True, 10]}, "finite number"),
    ({"uv": [10]}, "'uv' must be [u, v]"),
    ({"uv": None}, "'uv' must be [u, v]"),
    ({"keypoint": "index_pip"}, "is not one of"),
    ({"keypoint": "Wrist"}, "is not one of"),
    ({"visible": 2}, "'visible' must be"),
    ({"visible": True}, "'visible' must be"),
    ({"seconds": -1}, "'seconds' must lie in"),
    ({"seconds": "5"}, "finite number"),
    ({"colour": "red"}, "unknown keys"),
])
def test_bad_keypoint_bodies_are_refused(client, change, words):
  client, store = client
  before = _snapshot(store)
  _assert_refused(client.post("/api/keypoint", json=dict(GOOD, **change)), 400, store, before,
                  words)


def test_non_finite_numbers_are_refused(client):
  client, store = client
  before = _snapshot(store)
  for text in ('[NaN, 10]', '[10, Infinity]'):
    body = json.dumps(GOOD).replace("[320, 240]", text)
    _assert_refused(client.post("/api/keypoint", data=body, content_type="application/json"),
                    400, store, before, "finite number")


@pytest.mark.parametrize("data,content_type,status,words", [
    ("[1, 2]", "application/json", 400, "JSON object"),
    ("{not json", "application/json", 400, "JSON object"),
    (json.dumps(GOOD), "text/plain", 415, "Content-Type"),
    (json.dumps(dict(GOOD, pad="x" * 20000)), "application/json", 413, "larger than"),
])
def test_bodies_that_are_not_small_json_objects_are_refused(client, data, content_type, status,
                                                            words):
  client, store = client
  before = _snapshot(store)
  _assert_refused(client.post("/api/keypoint", data=data, content_type=content_type), status,
                  store, before, words)


@pytest.mark.parametrize("path,body,words", [
    ("/api/status", {"frame": FRAME, "status": "finished"}, "status 'finished'"),
    ("/api/remove", {"frame": FRAME, "keypoint": "elbow"}, "is not one of"),
    ("/api/visit", {"frame": FRAME, "seconds": float("1e9")}, "'seconds' must lie in"),
])
def test_bad_bodies_of_the_other_requests_are_refused(client, path, body, words):
  client, store = client
  before = _snapshot(store)
  _assert_refused(client.post(path, json=body), 400, store, before, words)


def test_a_foreign_host_header_is_refused(client):
  client, store = client
  before = _snapshot(store)
  _assert_refused(client.post("/api/keypoint", json=GOOD, headers={"Host": "evil.example"}),
                  421, store, before, "not this server")


def test_the_default_address_is_local_only():
  from handvol.annotate import __main__ as main  # pylint: disable=import-outside-toplevel
  assert main.flags.FLAGS["host"].default == "127.0.0.1"


def test_a_second_server_on_the_same_file_is_refused(frames_dir, tmp_path, helpers):
  first = helpers.make_store(frames_dir, tmp_path / "out")
  try:
    with pytest.raises(RuntimeError, match="another annotation server"):
      helpers.make_store(frames_dir, tmp_path / "out")
    other = helpers.make_store(frames_dir, tmp_path / "out", annotator="bob")
    other.set_keypoint(FRAME, "wrist", (1, 2), 1)
    first.set_keypoint(FRAME, "wrist", (3, 4), 0)
    other.close()
  finally:
    first.close()
  with open(tmp_path / "out" / "annotations.bob.json", encoding="utf-8") as f:
    assert json.load(f)["frames"][0]["keypoints"]["wrist"]["uv"] == [1, 2]
  with open(tmp_path / "out" / "annotations.json", encoding="utf-8") as f:
    assert json.load(f)["frames"][0]["keypoints"]["wrist"]["uv"] == [3, 4]
