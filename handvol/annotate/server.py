"""The annotation tool's web app (Flask): the page, the summary and a small JSON API.

API (every body is a JSON object; anything else, an unknown key, a frame that is not listed,
a keypoint outside the six, a click outside the image or a number that is not finite answers
4xx with {"error": message} and writes nothing):

| request | answer |
| --- | --- |
| GET /api/session | annotator, keypoint names in order, frames and statuses, position, camera |
| GET /api/frame?name=N | width, height, saved keypoints, status, seconds, suggestion |
| GET /api/depth?name=N | the depth in whole mm, uint16 little-endian, row-major |
| POST /api/keypoint {frame, keypoint, uv, visible, seconds} | the frame's state |
| POST /api/remove {frame, keypoint, seconds} | the frame's state |
| POST /api/status {frame, status, seconds} | the frame's state |
| POST /api/visit {frame, seconds} | the frame's state |
| GET /api/summary | progress, occluded counts, seconds per frame, histogram |

`seconds` is the active time since the page last reported on that frame, added to the frame's
total. Requests must carry `Content-Type: application/json`, which a foreign web page cannot
send without a CORS pre-flight that this app never grants, and a Host header naming this
server, which defeats DNS rebinding.
"""

import math
import os

import flask
import numpy as np

from handvol.annotate import storage
from handvol.data import png
from handvol.data import records

MAX_BODY_BYTES = 16 * 1024
HISTOGRAM_BIN_SECONDS = 5.0
HISTOGRAM_BINS = 12
"""Seconds-per-frame histogram: 12 bins of 5 s, the last one open (≥ 55 s)."""


class Frames:
  """Depth of the listed frames in mm, read on demand and kept (frames are small)."""

  def __init__(self, index, depth_unit_mm):
    self.index = index
    self.depth_unit_mm = depth_unit_mm
    self._depth = {}

  def depth(self, name):
    if name not in self._depth:
      try:
        self._depth[name] = png.read_depth16(self.index.path(name), self.depth_unit_mm)
      except records.FrameError as error:
        raise storage.Refused(str(error), status=422) from error
    return self._depth[name]


def _number(body, key, low, high, required=True):
  value = body.get(key)
  if value is None and not required:
    return 0.0
  if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
    raise storage.Refused(f"{key!r} must be a finite number, got {value!r}")
  if not low <= value <= high:
    raise storage.Refused(f"{key!r} must lie in [{low}, {high}], got {value}")
  return float(value)


def _body(allowed):
  if flask.request.mimetype != "application/json":
    raise storage.Refused("the body must be JSON (Content-Type: application/json)", 415)
  body = flask.request.get_json(silent=True)
  if not isinstance(body, dict):
    raise storage.Refused("the body must be a JSON object")
  unknown = sorted(set(body) - set(allowed))
  if unknown:
    raise storage.Refused(f"unknown keys {unknown}; allowed: {sorted(allowed)}")
  return body


def _keypoint_name(body):
  name = body.get("keypoint")
  if name not in storage.KEYPOINTS:
    raise storage.Refused(f"keypoint {name!r} is not one of {list(storage.KEYPOINTS)}")
  return name


def _uv(body, depth):
  uv = body.get("uv")
  if not isinstance(uv, list) or len(uv) != 2:
    raise storage.Refused(f"'uv' must be [u, v] (pixels), got {uv!r}")
  height, width = depth.shape
  # Pixel centres at integers: the image spans [−0.5, W − 0.5] × [−0.5, H − 0.5].
  u = _number({"u": uv[0]}, "u", -0.5, width - 0.5)
  v = _number({"v": uv[1]}, "v", -0.5, height - 0.5)
  return u, v


def summary(store):
  """Progress, occluded counts per keypoint, seconds per frame and their histogram."""
  names = store.frames.names
  states = [store.frame_state(name) for name in names]
  done = [s for s in states if s["status"] == "done"]
  seconds = [s["seconds"] for s in done]
  counts = np.zeros(HISTOGRAM_BINS, int)
  for value in seconds:
    counts[min(int(value // HISTOGRAM_BIN_SECONDS), HISTOGRAM_BINS - 1)] += 1
  occluded = {k: sum(1 for s in states if s["keypoints"].get(k, {}).get("visible") == 0)
              for k in storage.KEYPOINTS}
  return {
      "annotator": store.annotator, "file": store.path, "frames": len(names),
      "done": len(done), "skipped": sum(s["status"] == "skipped" for s in states),
      "labelled_keypoints": sum(len(s["keypoints"]) for s in states),
      "occluded": occluded, "occluded_total": sum(occluded.values()),
      "seconds_total": round(sum(s["seconds"] for s in states), 1),
      "seconds_per_frame_mean": round(float(np.mean(seconds)), 1) if seconds else None,
      "seconds_per_frame_median": round(float(np.median(seconds)), 1) if seconds else None,
      "histogram": {"bin_seconds": HISTOGRAM_BIN_SECONDS, "counts": counts.tolist()},
  }


def create_app(store, suggester, allowed_hosts):
  """The Flask app over a `storage.Store` and a `suggest.Suggester`.

  Args:
    store: The annotator's `storage.Store`.
    suggester: A `suggest.Suggester`.
    allowed_hosts: Host header values the app answers (e.g. {"127.0.0.1:8700",
      "localhost:8700"}); None answers any.
  """
  app = flask.Flask(__name__, static_folder=os.path.join(os.path.dirname(__file__), "static"))
  app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
  frames = Frames(store.frames, store.depth_unit_mm)

  _register_checks(app, allowed_hosts)
  _register_pages(app, store)
  _register_reads(app, store, suggester, frames)
  _register_writes(app, store, frames)
  return app


def _frame_state(store, name):
  return dict(store.frame_state(name), name=name, index=store.frames.index(name))


def _frame_of(store, body):
  name = body.get("frame")
  store.frames.path(name)
  return name


def _register_checks(app, allowed_hosts):
  """Error pages as JSON with a message, and the Host check (no DNS rebinding)."""
  @app.errorhandler(storage.Refused)
  def refused(error):
    return flask.jsonify(error=str(error)), error.status

  @app.errorhandler(413)
  def too_large(error):
    del error
    return flask.jsonify(error=f"the body is larger than {MAX_BODY_BYTES} bytes"), 413

  @app.errorhandler(404)
  def not_found(error):
    del error
    return flask.jsonify(error=f"no such page: {flask.request.path}"), 404

  @app.before_request
  def check_host():
    if allowed_hosts is not None and flask.request.host not in allowed_hosts:
      raise storage.Refused(f"host {flask.request.host!r} is not this server", 421)


def _register_pages(app, store):
  """The annotation page, the summary page and the summary's JSON."""
  @app.get("/")
  def page():
    return app.send_static_file("index.html")

  @app.get("/summary")
  def summary_page():
    return app.send_static_file("summary.html")

  @app.get("/api/summary")
  def summary_json():
    return flask.jsonify(summary(store))


def _register_reads(app, store, suggester, frames):
  """The session, a frame's state and suggestion, and its depth in mm."""
  def frame_state(name):
    return _frame_state(store, name)

  @app.get("/api/session")
  def session():
    return flask.jsonify(annotator=store.annotator, keypoints=list(storage.KEYPOINTS),
                         frames=store.frames.names, position=store.position,
                         statuses=[store.frame_state(n)["status"] for n in store.frames.names],
                         intrinsics=store.intrinsics, file=store.path,
                         model=suggester.checkpoint, cube_mm=suggester.cube_mm)

  @app.get("/api/frame")
  def frame():
    name = flask.request.args.get("name")
    store.frames.path(name)
    depth = frames.depth(name)
    return flask.jsonify(dict(frame_state(name), width=depth.shape[1], height=depth.shape[0],
                              suggestion=suggester.suggest(name, depth)))

  @app.get("/api/depth")
  def depth():
    name = flask.request.args.get("name")
    store.frames.path(name)
    millimetres = np.clip(np.rint(frames.depth(name)), 0, 65535).astype("<u2")
    response = flask.make_response(millimetres.tobytes())
    response.headers["Content-Type"] = "application/octet-stream"
    response.headers["X-Depth-Shape"] = f"{millimetres.shape[0]},{millimetres.shape[1]}"
    return response


def _register_writes(app, store, frames):
  """Keypoint, removal, status and visit writes: each validated, then saved atomically."""
  def frame_state(name):
    return _frame_state(store, name)

  def frame_of(body):
    return _frame_of(store, body)

  @app.post("/api/keypoint")
  def keypoint():
    body = _body({"frame", "keypoint", "uv", "visible", "seconds"})
    name = frame_of(body)
    keypoint_name = _keypoint_name(body)
    uv = _uv(body, frames.depth(name))
    visible = body.get("visible", 1)
    if visible not in (0, 1) or isinstance(visible, bool):
      raise storage.Refused(f"'visible' must be 1 (visible) or 0 (occluded), got {visible!r}")
    seconds = _number(body, "seconds", 0, storage.MAX_SECONDS, required=False)
    store.set_keypoint(name, keypoint_name, uv, visible, seconds)
    return flask.jsonify(frame_state(name))

  @app.post("/api/remove")
  def remove():
    body = _body({"frame", "keypoint", "seconds"})
    name = frame_of(body)
    keypoint_name = _keypoint_name(body)
    seconds = _number(body, "seconds", 0, storage.MAX_SECONDS, required=False)
    store.remove_keypoint(name, keypoint_name, seconds)
    return flask.jsonify(frame_state(name))

  @app.post("/api/status")
  def status():
    body = _body({"frame", "status", "seconds"})
    name = frame_of(body)
    if body.get("status") not in storage.STATUSES:
      raise storage.Refused(f"status {body.get('status')!r} is not one of "
                            f"{list(storage.STATUSES)}")
    seconds = _number(body, "seconds", 0, storage.MAX_SECONDS, required=False)
    store.set_status(name, body["status"], seconds)
    return flask.jsonify(frame_state(name))

  @app.post("/api/visit")
  def visit():
    body = _body({"frame", "seconds"})
    name = frame_of(body)
    store.visit(name, _number(body, "seconds", 0, storage.MAX_SECONDS, required=False))
    return flask.jsonify(frame_state(name))
