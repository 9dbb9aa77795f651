"""Label six keypoints per depth frame in a browser (docs/annotate.md).

    python -m handvol.annotate --frames DIR --out DIR [--intrinsics fx,fy,cx,cy]
        [--depth_unit_mm U] [--checkpoint MODEL] [--annotator NAME] [--host H] [--port P]

`--frames` is searched for 16-bit depth PNGs (sub-folders too); when it is a capture folder,
its `annotations.json` gives the intrinsics and depth unit that the flags leave out. `--out`
becomes a capture folder that `train.py` reads (`handvol.annotate.storage`).
"""

import argparse
import json
import os
import sys

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


def _intrinsics(text):
  try:
    return [float(value) for value in text.split(",")]
  except ValueError as error:
    raise argparse.ArgumentTypeError(f"expected fx,fy,cx,cy, got {text!r}") from error


def parse_args(argv):
  parser = argparse.ArgumentParser(prog="python -m handvol.annotate",
                                   description=__doc__.splitlines()[0])
  parser.add_argument("--frames", required=True, help="folder of 16-bit depth PNGs")
  parser.add_argument("--out", required=True, help="output capture folder")
  parser.add_argument("--intrinsics", type=_intrinsics, default=None, help="fx,fy,cx,cy")
  parser.add_argument("--depth_unit_mm", type=float, default=None,
                      help="mm per PNG count (default: the frames' capture file, else 1)")
  parser.add_argument("--checkpoint", default=None,
                      help="a .keras checkpoint or an export folder: pre-annotation")
  parser.add_argument("--annotator", default="",
                      help="writes annotations.NAME.json instead of annotations.json")
  parser.add_argument("--host", default="127.0.0.1", help="address to bind (local only)")
  parser.add_argument("--port", type=int, default=8700, help="port (0: any free one)")
  return parser.parse_args(argv)


def main(argv=None):
  args = parse_args(argv)
  intrinsics, depth_unit_mm = _camera(args.frames, args.intrinsics, args.depth_unit_mm)
  index = storage.FrameIndex(args.frames, skip=args.out)
  store = storage.Store(args.out, index, intrinsics, depth_unit_mm, args.annotator)
  suggester = suggest.Suggester(intrinsics, args.checkpoint)
  http = serving.make_server(args.host, args.port, None, threaded=True)
  port = http.server_port
  local = args.host in ("127.0.0.1", "localhost")
  hosts = {f"127.0.0.1:{port}", f"localhost:{port}"} if local else None
  http.app = server.create_app(store, suggester, hosts)
  print(f"handvol annotate: {len(index.names)} frames, writing {store.path}", flush=True)
  print(f"open http://{args.host}:{port}/", flush=True)
  try:
    http.serve_forever()
  except KeyboardInterrupt:
    pass
  finally:
    http.server_close()
    store.close()


if __name__ == "__main__":
  sys.exit(main())
