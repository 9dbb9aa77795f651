"""Label six keypoints per depth frame in a browser (docs/annotate.md).

    python -m handvol.annotate --frames=DIR --out=DIR [--intrinsics=fx,fy,cx,cy]
        [--depth_unit_mm=U] [--checkpoint=MODEL] [--annotator=NAME] [--host=H] [--port=P]

`--frames` is searched for 16-bit depth PNGs (sub-folders too); when it is a capture folder,
its `annotations.json` gives the intrinsics and depth unit that the flags leave out. `--out`
becomes a capture folder that `train.py` reads (`handvol.annotate.storage`).
"""

import json
import os

from absl import app
from absl import flags
from werkzeug import serving

from handvol.annotate import server
from handvol.annotate import storage
from handvol.annotate import suggest
from handvol.data import capture


def _camera(frames_dir, intrinsics, depth_unit_mm):
  """Intrinsics and depth unit from the flags, else from a capture folder's annotation file."""
  meta = {}
  path = os.path.join(frames_dir, capture.ANNOTATION_FILE)
  if os.path.isfile(path):
    with open(path, encoding="utf-8") as f:
      meta = json.load(f)
  if intrinsics is None:
    if "intrinsics" not in meta:
      raise SystemExit(f"--intrinsics fx,fy,cx,cy is required ({path} does not give them)")
    intrinsics = meta["intrinsics"]
  if depth_unit_mm is None:
    depth_unit_mm = meta.get("depth_unit_mm", 1.0)
  if len(intrinsics) != 4 or min(intrinsics[:2]) <= 0 or depth_unit_mm <= 0:
    raise SystemExit(f"need 4 intrinsics with fx, fy > 0 and a depth unit > 0, got "
                     f"{intrinsics} and {depth_unit_mm}")
  return [float(value) for value in intrinsics], float(depth_unit_mm)


_FRAMES = flags.DEFINE_string("frames", None, "Folder of 16-bit depth PNGs.", required=True)
_OUT = flags.DEFINE_string("out", None, "Output capture folder.", required=True)
_INTRINSICS = flags.DEFINE_list("intrinsics", None, "fx,fy,cx,cy in pixels.")
_DEPTH_UNIT_MM = flags.DEFINE_float("depth_unit_mm", None,
                                    "mm per PNG count (default: the frames' capture file, "
                                    "else 1).")
_CHECKPOINT = flags.DEFINE_string("checkpoint", None,
                                  "A .keras checkpoint or an export folder: pre-annotation.")
_ANNOTATOR = flags.DEFINE_string("annotator", "",
                                 "Writes annotations.NAME.json instead of annotations.json.")
_HOST = flags.DEFINE_string("host", "127.0.0.1", "Address to bind (local only by default).")
_PORT = flags.DEFINE_integer("port", 8700, "Port (0: any free one).", lower_bound=0)


def _intrinsics(values):
  if values is None:
    return None
  try:
    return [float(value) for value in values]
  except ValueError:
    raise SystemExit(f"--intrinsics: expected fx,fy,cx,cy, got {','.join(values)!r}") from None


def main(argv):
  del argv
  intrinsics, depth_unit_mm = _camera(_FRAMES.value, _intrinsics(_INTRINSICS.value),
                                      _DEPTH_UNIT_MM.value)
  index = storage.FrameIndex(_FRAMES.value, skip=_OUT.value)
  store = storage.Store(_OUT.value, index, intrinsics, depth_unit_mm, _ANNOTATOR.value)
  suggester = suggest.Suggester(intrinsics, _CHECKPOINT.value)
  host = _HOST.value
  http = serving.make_server(host, _PORT.value, None, threaded=True)
  port = http.server_port
  local = host in ("127.0.0.1", "localhost")
  hosts = {f"127.0.0.1:{port}", f"localhost:{port}"} if local else None
  http.app = server.create_app(store, suggester, hosts)
  print(f"handvol annotate: {len(index.names)} frames, writing {store.path}", flush=True)
  print(f"open http://{host}:{port}/", flush=True)
  try:
    http.serve_forever()
  except KeyboardInterrupt:
    pass
  finally:
    http.server_close()
    store.close()


if __name__ == "__main__":
  app.run(main)
