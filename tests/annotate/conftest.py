"""Shared fixtures of the annotation tool's tests: synthetic frame folders and servers."""

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest
from werkzeug import serving

from handvol.annotate import server
from handvol.annotate import storage
from handvol.annotate import suggest
from handvol.annotate import synthetic_frames
from handvol.data import capture

CHROMIUM = os.environ.get("HANDVOL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def frames_dir(tmp_path_factory):
  """A capture folder of 8 synthetic frames with their true 2D Lab-6 labels."""
  root = tmp_path_factory.mktemp("frames")
  synthetic_frames.write_capture(str(root), 8, seed=5)
  return root


def true_labels(frames_dir):
  """{frame name: {keypoint: {"uv", "visible"}}} of a synthetic capture folder."""
  with open(os.path.join(frames_dir, capture.ANNOTATION_FILE), encoding="utf-8") as f:
    meta = json.load(f)
  return {entry["depth"]: entry["keypoints"] for entry in meta["frames"]}


def camera(frames_dir):
  with open(os.path.join(frames_dir, capture.ANNOTATION_FILE), encoding="utf-8") as f:
    meta = json.load(f)
  return meta["intrinsics"], meta["depth_unit_mm"]


def make_store(frames_dir, out_dir, annotator=""):
  intrinsics, unit = camera(frames_dir)
  index = storage.FrameIndex(str(frames_dir), skip=str(out_dir))
  return storage.Store(str(out_dir), index, intrinsics, unit, annotator)


@contextlib.contextmanager
def threaded_server(frames_dir, out_dir, annotator="", checkpoint=None):
  """The app served from a thread of the test process on a free port; yields (url, store)."""
  store = make_store(frames_dir, out_dir, annotator)
  http = serving.make_server("127.0.0.1", 0, None, threaded=True)
  port = http.server_port
  http.app = server.create_app(store, suggest.Suggester(store.intrinsics, checkpoint),
                               {f"127.0.0.1:{port}", f"localhost:{port}"})
  thread = threading.Thread(target=http.serve_forever, daemon=True)
  thread.start()
  try:
    yield f"http://127.0.0.1:{port}", store
  finally:
    http.shutdown()
    http.server_close()
    thread.join()
    store.close()


def start_process(frames_dir, out_dir, port, *flags, timeout=180):
  """`python -m handvol.annotate` (with `flags`) as a child process; returns it once it
  answers."""
  process = subprocess.Popen(
      [sys.executable, "-m", "handvol.annotate", "--frames", str(frames_dir), "--out",
       str(out_dir), "--port", str(port), *map(str, flags)],
      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
  deadline = time.time() + timeout
  for line in process.stdout:
    if re.match(r"open http://127\.0\.0\.1:\d+/", line):
      break
    if time.time() > deadline:
      break
  if process.poll() is not None or time.time() > deadline:
    process.kill()
    raise RuntimeError("the annotation server did not start")
  return process


def kill(process):
  process.send_signal(signal.SIGKILL)
  process.wait(timeout=30)
  process.stdout.close()


def call(url, path, body=None, headers=None):
  """(status, JSON answer) of a GET, or of a POST of `body` (a dict is sent as JSON)."""
  data = None
  headers = dict(headers or {})
  if body is not None:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers.setdefault("Content-Type", "application/json")
  request = urllib.request.Request(url + path, data=data, headers=headers)
  try:
    with urllib.request.urlopen(request, timeout=120) as response:
      return response.status, json.loads(response.read())
  except urllib.error.HTTPError as error:
    return error.code, json.loads(error.read())


def browser_or_skip():
  """Playwright's sync API and the Chromium executable, or a skip (a failure in CI)."""
  missing = None
  try:
    from playwright import sync_api  # pylint: disable=import-outside-toplevel
  except ImportError:
    missing, sync_api = "the playwright package is not installed (pip install -e .[test])", None
  if missing is None and not os.access(CHROMIUM, os.X_OK):
    missing = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
  if missing and os.environ.get("CI") == "true":
    pytest.fail(f"the browser test must run in CI: {missing}")
  if missing:
    pytest.skip(missing)
  return sync_api


@pytest.fixture(name="page")
def page_fixture():
  """A page of a headless Chromium (1280×800 CSS pixels), closed after the test."""
  sync_api = browser_or_skip()
  with sync_api.sync_playwright() as playwright:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
      page = browser.new_page(viewport={"width": 1280, "height": 800})
      page.set_default_timeout(60_000)
      yield page
    finally:
      browser.close()


def wait_saved(page):
  """Waits until the page shows a frame and every request it sent is answered."""
  page.wait_for_function("window.annotator && window.annotator.state.frame && "
                         "window.annotator.state.pending === 0")


def open_frame(page, name):
  """Waits until the page shows frame `name`, its prompt drawn and every request answered."""
  page.wait_for_function(f"document.getElementById('frame-name').textContent === '{name}'")
  page.wait_for_function("document.getElementById('next-name') !== null || "
                         "document.getElementById('prompt').textContent.length > 0")
  wait_saved(page)


def click_pixel(page, uv, shift=False):
  """A real mouse click on the centre of image pixel `uv`."""
  x, y = page.evaluate("([u, v]) => window.annotator.toScreen(u, v)", list(uv))
  box = page.locator("#canvas").bounding_box()
  if shift:
    page.keyboard.down("Shift")
  page.mouse.click(box["x"] + x, box["y"] + y)
  if shift:
    page.keyboard.up("Shift")
  wait_saved(page)


@pytest.fixture(name="helpers", scope="session")
def helpers_fixture():
  """This module's helpers, for tests (the tests folder is no package to import from)."""
  return sys.modules[__name__]
