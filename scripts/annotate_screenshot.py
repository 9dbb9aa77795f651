"""Regenerates docs/figures/annotate_page.png: the annotation page in headless Chromium on a
synthetic frame with four keypoints clicked (one occluded).

    python scripts/annotate_screenshot.py [--out docs/figures/annotate_page.png]
"""

import argparse
import contextlib
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "annotate"))
import conftest as helpers  # pylint: disable=wrong-import-position
from playwright import sync_api  # pylint: disable=wrong-import-position

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--out", default="docs/figures/annotate_page.png")
  args = parser.parse_args()
  with contextlib.ExitStack() as stack:
    work = stack.enter_context(tempfile.TemporaryDirectory())
    helpers.synthetic_frames.write_capture(os.path.join(work, "frames"), 2, seed=5)
    url, store = stack.enter_context(helpers.threaded_server(os.path.join(work, "frames"),
                                                             os.path.join(work, "out")))
    name = store.frames.names[0]
    truth = helpers.true_labels(os.path.join(work, "frames"))[name]
    for keypoint in ("wrist", "thumb_tip", "index_tip", "middle_tip"):
      store.set_keypoint(name, keypoint, truth[keypoint]["uv"], int(keypoint != "index_tip"))
    playwright = stack.enter_context(sync_api.sync_playwright())
    browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
    page = browser.new_page(viewport={"width": 1280, "height": 760})
    page.goto(url + "/")
    page.wait_for_function("window.annotator && window.annotator.state.frame && "
                           "window.annotator.state.pending === 0")
    page.screenshot(path=args.out)
    browser.close()
  print(f"wrote {args.out}")


if __name__ == "__main__":
  main()
