"""Synthetic sequences: one hand (one subject, one shape) in continuous, plausible motion.

A sequence is four motion channels on one clock of `SequenceConfig.fps` frames per second:
the articulation θ[6:26], the global rotation, the hand's centre and the wrist's angles (the
forearm's direction). Each channel moves through key values drawn as the generator draws its
single frames (`poses.sample_articulations` through the prototypes, `poses.sample_rotations`,
`poses.sample_centres`, the view's wrist ranges): it holds a key for a while, then moves to
the next along a smoothstep s(u) = 3u² − 2u³ (zero velocity at both ends). The move's duration
T = 1.5·d / v makes its peak speed exactly the channel's limit v (the smoothstep's peak slope
is 1.5), where d is the largest angle change (articulations, wrist), the rotation angle or the
distance moved (centre). A move is fast, `fast_factor` times the limit, with probability
`fast_prob`: the occasional quick gesture a filter has to follow.

The frames are then rendered by `generator.render_frames` with the channels as its `motion`:
the same hand model, skin, ray caster, sensor noise (independent per frame) and labels as the
single frames, so every on-disk format of `export` holds sequences too
(`export.write_sequences`, `python -m handvol.data.synthetic --sequences K`).

Sequence i of a run with seed s draws its motion from the stream (s, `STREAM_TAG`, i) and the
frames of its chunk k from (s, `STREAM_TAG`, i, k + 1): sequences are reproducible one by one.
"""

import dataclasses

import numpy as np
from scipy.spatial import transform

from handvol.data.synthetic import generator
from handvol.data.synthetic import poses
from handvol.data.synthetic import subjects as subjects_lib

STREAM_TAG = 7919
"""Second entry of a sequence's random stream, apart from the single frames' (seed, batch)."""

SMOOTHSTEP_PEAK_SLOPE = 1.5
"""max ds/du of s(u) = 3u² − 2u³ (at u = ½)."""


@dataclasses.dataclass(frozen=True)
class SpeedLimits:
  """Peak speeds of the motion channels in a normal move."""
  articulation: float = 3.0
  """Any articulation angle, rad/s."""
  rotation_deg: float = 60.0
  """The global rotation, degrees/s."""
  translation_mm: float = 200.0
  """The hand's centre, mm/s."""
  wrist: float = 1.5
  """The wrist's flexion and deviation, rad/s."""

  def __post_init__(self):
    for name, value in dataclasses.asdict(self).items():
      if not value > 0:
        raise ValueError(f"speed limit {name} must be > 0, got {value}")


@dataclasses.dataclass(frozen=True)
class SequenceConfig:
  """The motion of a sequence (each attribute's docstring below its default)."""
  fps: float = 30.0
  """Frames per second (the frames' times are k / fps)."""
  speeds: SpeedLimits = SpeedLimits()
  """The channels' speed limits."""
  hold_s: tuple = (0.1, 0.8)
  """(min, max) time a channel rests at a key value, uniform, seconds."""
  fast_prob: float = 0.15
  """Chance that a move is fast."""
  fast_factor: float = 3.0
  """A fast move's speed limit over the normal one."""
  flip_prob: float = 0.1
  """Chance that a key rotation turns the hand over (palm ↔ back to the camera); otherwise it
  keeps the side of the previous key (the first key's side is drawn with the view's
  `back_prob`)."""

  def __post_init__(self):
    if self.fps <= 0:
      raise ValueError(f"fps must be > 0, got {self.fps}")
    if not 0.0 <= self.hold_s[0] <= self.hold_s[1]:
      raise ValueError(f"hold_s must be (min, max) with 0 ≤ min ≤ max, got {self.hold_s}")
    if not (0.0 <= self.fast_prob <= 1.0 and 0.0 <= self.flip_prob <= 1.0
            and self.fast_factor >= 1.0):
      raise ValueError(f"fast_prob and flip_prob must be in [0, 1] and fast_factor ≥ 1, got "
                       f"{self.fast_prob}, {self.flip_prob}, {self.fast_factor}")


@dataclasses.dataclass(frozen=True)
class _Channel:
  """One motion channel: how to draw, measure and blend its key values."""
  draw: callable  # rng → a key value
  distance: callable  # (a, b) → the move's size in the speed's unit
  blend: callable  # (a, b, s `[n]`) → `[n, ...]` values
  speed: float


def _max_abs(vector):
  return np.max(np.abs(vector))


def _vector_channel(draw, speed, norm):
  return _Channel(draw, lambda a, b: float(norm(b - a)),
                  lambda a, b, s: a + (b - a) * s.reshape((-1,) + (1,) * np.ndim(a)), speed)


def _rotation_channel(draw, speed):
  def distance(a, b):
    return float((transform.Rotation.from_matrix(a).inv()
                  * transform.Rotation.from_matrix(b)).magnitude())

  def blend(a, b, s):
    slerp = transform.Slerp([0.0, 1.0], transform.Rotation.from_matrix(np.stack([a, b])))
    return slerp(s).as_matrix()

  return _Channel(draw, distance, blend, speed)


def channel_track(channel, times, config, rng):
  """Values of one channel at `times`: holds and smoothstep moves between random keys.

  Args:
    channel: A `_Channel`.
    times: `[N]` increasing times in seconds, from 0.
    config: A `SequenceConfig` (holds, fast moves).
    rng: A `numpy.random.Generator`.

  Returns:
    `[N, ...]` values; between any two times the channel moves at most `channel.speed ×
    fast_factor` per second (exactly `channel.speed` at the peak of a normal move).
  """
  values = [None] * len(times)
  start, key = 0.0, channel.draw(rng)
  index = 0
  while index < len(times):
    hold = rng.uniform(*config.hold_s)
    target = channel.draw(rng)
    fast = rng.uniform() < config.fast_prob
    speed = channel.speed * (config.fast_factor if fast else 1.0)
    duration = max(SMOOTHSTEP_PEAK_SLOPE * channel.distance(key, target) / speed, 1e-9)
    end = start + hold + duration
    stop = int(np.searchsorted(times, end, side="right"))
    if stop > index:
      u = np.clip((np.asarray(times[index:stop]) - start - hold) / duration, 0.0, 1.0)
      blended = channel.blend(key, target, u * u * (3.0 - 2.0 * u))
      values[index:stop] = list(blended)
      index = stop
    start, key = end, target
  return np.stack(values)


def _rotation_keys(view, flip_prob):
  """A draw of key rotations that keeps the hand's side (palm or back) but for flips."""
  side = []

  def draw(rng):
    if not side:
      side.append(rng.uniform() < view.back_prob)
    elif rng.uniform() < flip_prob:
      side[0] = not side[0]
    fixed = dataclasses.replace(view, back_prob=float(side[0]))
    return poses.sample_rotations(1, fixed, rng)[0]

  return draw


def _channels(config, sequence_config):
  """The four channels of `generator.MOTION_KEYS` for a `generator.SyntheticConfig`."""
  view, image = config.view, np.asarray(config.intrinsics)
  size = (config.height, config.width)
  wrist_low = np.radians([view.wrist_flexion_deg[0], view.wrist_deviation_deg[0]])
  wrist_high = np.radians([view.wrist_flexion_deg[1], view.wrist_deviation_deg[1]])
  return {
      "articulations": _vector_channel(
          lambda rng: poses.sample_articulations(1, config.pose, rng)[0],
          sequence_config.speeds.articulation, _max_abs),
      "rotations": _rotation_channel(_rotation_keys(view, sequence_config.flip_prob),
                                     np.radians(sequence_config.speeds.rotation_deg)),
      "centres": _vector_channel(
          lambda rng: poses.sample_centres(1, image, size, view, rng)[0],
          sequence_config.speeds.translation_mm, np.linalg.norm),
      "wrist_angles": _vector_channel(lambda rng: rng.uniform(wrist_low, wrist_high),
                                      sequence_config.speeds.wrist, _max_abs),
  }


def sample_motion(num_frames, config=None, sequence_config=None, rng=None):
  """The motion of one sequence (`generator.MOTION_KEYS`), one row per frame.

  Args:
    num_frames: Frames of the sequence.
    config: A `generator.SyntheticConfig` (its pose, view and camera give the keys' ranges).
    sequence_config: A `SequenceConfig`.
    rng: A `numpy.random.Generator`.

  Returns:
    A dict: the `MOTION_KEYS` arrays and "time_s" `[num_frames]`.
  """
  config = config or generator.SyntheticConfig()
  sequence_config = sequence_config or SequenceConfig()
  times = np.arange(num_frames) / sequence_config.fps
  motion = {name: channel_track(channel, times, sequence_config, rng)
            for name, channel in _channels(config, sequence_config).items()}
  motion["time_s"] = times
  return motion


def sequence_subject(subjects, index):
  """The subject of sequence `index`: the set's subjects in turn."""
  subject_list = subjects_lib.subject_set(subjects)
  return subject_list[index % len(subject_list)]


def generate_sequence(num_frames, subject, seed=0, index=0, config=None, sequence_config=None):
  """Yields the frames of one sequence of one subject.

  Args:
    num_frames: Frames of the sequence.
    subject: A `subjects.Subject` (the hand of every frame).
    seed: The run's seed.
    index: The sequence's index in the run (its random stream, module docstring).
    config: A `generator.SyntheticConfig`.
    sequence_config: A `SequenceConfig`.

  Yields:
    Dicts of `generator.render_frames` with "time_s" (seconds from the first frame) and
    "sequence" (`index`).
  """
  config = config or generator.SyntheticConfig()
  motion = sample_motion(num_frames, config, sequence_config,
                         np.random.default_rng([seed, STREAM_TAG, index]))
  for chunk, start in enumerate(range(0, num_frames, config.batch_size)):
    stop = min(start + config.batch_size, num_frames)
    rng = np.random.default_rng([seed, STREAM_TAG, index, chunk + 1])
    part = {key: motion[key][start:stop] for key in generator.MOTION_KEYS}
    frames = generator.render_frames([subject] * (stop - start), config, rng, part)
    for offset, frame in enumerate(frames):
      yield dict(frame, time_s=float(motion["time_s"][start + offset]), sequence=index)
