"""The page in a real headless Chromium: six clicks (one occluded), a reload, two done frames,
and the written files equal to the clicks, to the pixel.

Skipped only where Chromium is missing outside CI; with CI=true a missing browser fails
(`conftest.browser_or_skip`).
"""

import json
import os

import numpy as np

from handvol.annotate import storage
from handvol.data import capture

OCCLUDED = "index_tip"


def targets(helpers, frames_dir, name):
  """The pixels to click on a frame: its true labels, rounded to whole pixels."""
  truth = helpers.true_labels(frames_dir)[name]
  return {k: tuple(int(round(c)) for c in truth[k]["uv"]) for k in storage.KEYPOINTS}


def shown(page):
  return page.evaluate("window.annotator.state.local")


def test_six_clicks_survive_a_reload_and_are_written_to_the_pixel(page, frames_dir, tmp_path,
                                                                 helpers):
  first, second = "depth/000000.png", "depth/000001.png"
  clicks = {first: targets(helpers, frames_dir, first),
            second: targets(helpers, frames_dir, second)}
  with helpers.threaded_server(frames_dir, tmp_path / "out") as (url, store):
    page.goto(url + "/")
    helpers.open_frame(page, first)
    for keypoint in storage.KEYPOINTS:
      assert page.locator("#next-name").text_content() == keypoint
      helpers.click_pixel(page, clicks[first][keypoint], shift=keypoint == OCCLUDED)
    assert "Enter" in page.locator("#prompt").text_content()

    page.reload()
    helpers.open_frame(page, first)
    again = shown(page)
    assert sorted(again) == sorted(storage.KEYPOINTS)
    for keypoint, uv in clicks[first].items():
      assert np.round(again[keypoint]["uv"]).tolist() == list(uv)
      assert again[keypoint]["visible"] == int(keypoint != OCCLUDED)
    states = page.locator("#keypoints .state").all_text_contents()
    assert states == ["occluded" if k == OCCLUDED else "visible" for k in storage.KEYPOINTS]

    page.keyboard.press("Enter")
    helpers.open_frame(page, second)
    for keypoint in storage.KEYPOINTS:
      helpers.click_pixel(page, clicks[second][keypoint])
    page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('frame-name').textContent === "
                           "'depth/000002.png'")
    helpers.wait_saved(page)
    path = store.path

  with open(path, encoding="utf-8") as f:
    meta = json.load(f)
  assert [entry["source"] for entry in meta["frames"]] == [first, second]
  log = meta["annotate"]["log"]
  assert log[first]["status"] == log[second]["status"] == "done"
  assert log[first]["seconds"] > 0
  for entry in meta["frames"]:
    written = entry["keypoints"]
    assert list(written) == list(storage.KEYPOINTS)
    for keypoint, uv in clicks[entry["source"]].items():
      assert np.round(written[keypoint]["uv"]).tolist() == list(uv), keypoint
      expected_visible = int(keypoint != OCCLUDED or entry["source"] == second)
      assert written[keypoint]["visible"] == expected_visible
  # The capture reader takes the folder as it is.
  records = list(capture.read_frames(os.path.dirname(path)))
  assert len(records) == 2
  np.testing.assert_allclose(records[0]["uv"][0], meta["frames"][0]["keypoints"]["wrist"]["uv"])


def test_the_summary_page_shows_progress(page, frames_dir, tmp_path, helpers):
  with helpers.threaded_server(frames_dir, tmp_path / "out") as (url, store):
    for name, seconds in (("depth/000000.png", 7.0), ("depth/000001.png", 31.0)):
      store.set_keypoint(name, "ring_tip", (10, 10), 0)
      store.set_status(name, "done", seconds)
    store.set_status("depth/000002.png", "skipped")
    page.goto(url + "/summary")
    page.wait_for_selector("#histogram rect", state="attached")
    progress = page.locator("#progress").text_content()
    assert "2 of 8" in progress and "19" in progress  # done; mean seconds (7 + 31) / 2
    assert page.locator("#occluded").text_content().count("2") == 1
    counts = [int(bar.get_attribute("data-count"))
              for bar in page.locator("#histogram rect").all()]
    assert counts[1] == 1 and counts[6] == 1 and sum(counts) == 2
