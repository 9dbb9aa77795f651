"""Regenerates the annotation page's screenshots in docs/figures: the page in headless
Chromium on a synthetic frame with four keypoints clicked (one occluded), and, with
`--checkpoint`, a frame pre-annotated by that model (its six keypoints dashed).

    python scripts/annotate_screenshot.py [--out docs/figures/annotate_page.png]
    python scripts/annotate_screenshot.py --checkpoint RUN/checkpoints/best.keras \
        --out docs/figures/annotate_preannotation.png
"""

import contextlib
import os
import sys
import tempfile

from absl import app
from absl import flags

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "annotate"))
import conftest as helpers  # pylint: disable=wrong-import-position
from playwright import sync_api  # pylint: disable=wrong-import-position

_OUT = flags.DEFINE_string("out", "docs/figures/annotate_page.png", "The PNG to write.")
_CHECKPOINT = flags.DEFINE_string("checkpoint", None,
                                  "A model: show its pre-annotation instead of clicks.")
CLICKED = ("wrist", "thumb_tip", "index_tip", "middle_tip")
OCCLUDED = "index_tip"


def main(argv):
  del argv
  with contextlib.ExitStack() as stack:
    work = stack.enter_context(tempfile.TemporaryDirectory())
    frames = os.path.join(work, "frames")
    helpers.synthetic_frames.write_capture(frames, 2, seed=5)
    url, store = stack.enter_context(helpers.threaded_server(
        frames, os.path.join(work, "out"), checkpoint=_CHECKPOINT.value))
    if not _CHECKPOINT.value:
      name = store.frames.names[0]
      truth = helpers.true_labels(frames)[name]
      for keypoint in CLICKED:
        store.set_keypoint(name, keypoint, truth[keypoint]["uv"], int(keypoint != OCCLUDED))
    playwright = stack.enter_context(sync_api.sync_playwright())
    browser = playwright.chromium.launch(executable_path=helpers.CHROMIUM,
                                         args=helpers.CHROMIUM_ARGS)
    page = browser.new_page(viewport={"width": 1280, "height": 760})
    page.goto(url + "/")
    helpers.wait_saved(page)
    page.screenshot(path=_OUT.value)
    browser.close()
  print(f"wrote {_OUT.value}")


if __name__ == "__main__":
  app.run(main)
