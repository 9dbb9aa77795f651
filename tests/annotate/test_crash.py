"""Killing the server between clicks loses nothing saved; a failed write keeps the old file."""

import json
import socket

import pytest

from handvol.annotate import storage

FRAME = "depth/000003.png"


def _free_port():
  with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    return probe.getsockname()[1]


def test_a_killed_server_restarts_with_every_saved_click(frames_dir, tmp_path, helpers):
  port, out = _free_port(), tmp_path / "out"
  url = f"http://127.0.0.1:{port}"
  process = helpers.start_process(frames_dir, out, port)
  try:
    for i, keypoint in enumerate(storage.KEYPOINTS[:3]):
      status, _ = helpers.call(url, "/api/keypoint", {"frame": FRAME, "keypoint": keypoint,
                                                      "uv": [100 + i, 50], "visible": i % 2})
      assert status == 200
  finally:
    helpers.kill(process)
  process = helpers.start_process(frames_dir, out, port)
  try:
    status, session = helpers.call(url, "/api/session")
    assert status == 200 and session["position"] == FRAME
    _, frame = helpers.call(url, "/api/frame?name=" + FRAME)
    assert frame["keypoints"] == {k: {"uv": [100 + i, 50], "visible": i % 2}
                                  for i, k in enumerate(storage.KEYPOINTS[:3])}
  finally:
    helpers.kill(process)


def test_a_write_that_fails_halfway_leaves_the_previous_file(frames_dir, tmp_path, helpers,
                                                             monkeypatch):
  store = helpers.make_store(frames_dir, tmp_path / "out")
  try:
    store.set_keypoint(FRAME, "wrist", (1, 2), 1)
    with open(store.path, "rb") as f:
      before = f.read()

    def torn_dump(content, f, **kwargs):
      f.write(json.dumps(content, **kwargs)[:20])
      raise OSError("power cut")

    monkeypatch.setattr(storage.json, "dump", torn_dump)
    with pytest.raises(OSError, match="power cut"):
      store.set_keypoint(FRAME, "thumb_tip", (3, 4), 1)
    with open(store.path, "rb") as f:
      assert f.read() == before
    assert not [n for n in (tmp_path / "out").iterdir() if n.name.endswith(".tmp")]
  finally:
    store.close()
