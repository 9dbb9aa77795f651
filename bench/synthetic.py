"""Speed of synthetic frame generation at 640×480 (frames per second, wall clock).

    python bench/synthetic.py [--frames 480] [--workers 1] [--subjects handid_like]

Generates complete frame records (pose sampling, forward kinematics, ray casting, sensor model,
labels) with the default `SyntheticConfig` after one warm-up batch, and prints the time per
stage for one process, then the overall rate. With `--workers N` the batches are split over N
processes (each batch has its own random stream, so the frames are the same). The last line is
one JSON object with `frames_per_s` (wall clock), `cpu_ms_per_frame` (CPU time of the
generating processes per frame: what the rate would be on an idle core, since the machines
are shared) and the load average during the run.
"""

import argparse
import json
import multiprocessing
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # pylint: disable=wrong-import-position

from handvol.data.synthetic import generator  # pylint: disable=wrong-import-position
from handvol.data.synthetic import raycast  # pylint: disable=wrong-import-position
from handvol.data.synthetic import sensor  # pylint: disable=wrong-import-position
from handvol.data.synthetic import subjects  # pylint: disable=wrong-import-position
from handvol.data.synthetic import surface  # pylint: disable=wrong-import-position
import machine_info  # pylint: disable=wrong-import-position,import-error


def _run_batches(args):
  """Generates the records of batches `first, first + stride, …` below `num_batches`."""
  first, stride, num_batches, subject_set, seed = args
  config = generator.SyntheticConfig()
  count = 0
  for batch in range(first, num_batches, stride):
    frames = generator.generate_frames(config.batch_size, subject_set, seed, config,
                                       first_batch=batch)
    for frame in frames:
      generator.to_record(frame, "lab6_2d", config.intrinsics)
      count += 1
  return count


def _timed_batches(args):
  """`_run_batches` and the CPU seconds it took in this process."""
  start = time.process_time()
  count = _run_batches(args)
  return count, time.process_time() - start


def _stage_times(num_frames, subject_set, seed):
  """CPU milliseconds per frame of each stage, one process."""
  config = generator.SyntheticConfig()
  chosen = subjects.subject_set(subject_set)
  rng = np.random.default_rng(seed)
  people = generator.batch_subjects(chosen, num_frames, rng)
  start = time.process_time()
  batch = generator._pose_batch(people, config, rng)  # pylint: disable=protected-access
  poses_s = time.process_time() - start
  render_s = sensor_s = 0.0
  pixels = []
  for i, person in enumerate(people):
    start = time.process_time()
    hand, _ = surface.build_surface(batch["keypoints"][i], batch["bone_frames"][i],
                                    person.bone_radius_scale, person.palm_thickness_scale,
                                    batch["forearm"][i])
    image = raycast.render(hand, config.intrinsics, config.height, config.width)
    render_s += time.process_time() - start
    start = time.process_time()
    sensor.apply_sensor(image["depth"], image["cos_incidence"], config.intrinsics,
                        config.sensor, rng)
    sensor_s += time.process_time() - start
    pixels.append(np.count_nonzero(image["depth"]))
  return {"poses_and_fk_ms": 1e3 * poses_s / num_frames,
          "ray_cast_ms": 1e3 * render_s / num_frames,
          "sensor_ms": 1e3 * sensor_s / num_frames,
          "hand_pixels_mean": float(np.mean(pixels))}


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--frames", type=int, default=480)
  parser.add_argument("--workers", type=int, default=1)
  parser.add_argument("--subjects", default="handid_like")
  parser.add_argument("--seed", type=int, default=0)
  args = parser.parse_args()
  batch_size = generator.SyntheticConfig().batch_size
  num_batches = max(1, args.frames // batch_size)

  _run_batches((0, 1, 1, args.subjects, args.seed + 1))  # Warm-up: imports, TF kernels.
  stages = _stage_times(2 * batch_size, args.subjects, args.seed + 2)
  print("per frame, one process: " + ", ".join(f"{k} {v:.2f}" for k, v in stages.items()))

  start = time.perf_counter()
  if args.workers == 1:
    cpu_start = time.process_time()
    count = _run_batches((0, 1, num_batches, args.subjects, args.seed))
    cpu_s = time.process_time() - cpu_start
  else:
    jobs = [(w, args.workers, num_batches, args.subjects, args.seed)
            for w in range(args.workers)]
    with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
      # Start-up (TF import) is excluded: time from when every worker has warmed up.
      pool.map(_run_batches, [(0, 1, 1, args.subjects, args.seed + 1)] * args.workers)
      start = time.perf_counter()
      results = pool.map(_timed_batches, jobs)
    count = sum(n for n, _ in results)
    cpu_s = sum(s for _, s in results)
  seconds = time.perf_counter() - start
  rate = count / seconds
  print(f"{count} frames of {generator.SyntheticConfig().width}×"
        f"{generator.SyntheticConfig().height} in {seconds:.2f} s with {args.workers} "
        f"process(es): {rate:.1f} frames/s")
  print(f"CPU time {1e3 * cpu_s / count:.2f} ms per frame; load average (1 min) "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
  print(json.dumps({"frames_per_s": round(rate, 1), "frames": count, "workers": args.workers,
                    "cpu_ms_per_frame": round(1e3 * cpu_s / count, 2),
                    "load_average_1min": round(os.getloadavg()[0], 2),
                    "cpu_count": os.cpu_count(), **{k: round(v, 2) for k, v in stages.items()},
                    "machine": machine_info.describe()}))


if __name__ == "__main__":
  main()
