"""The reproduction study's presets and its configurations, as settings on `configs/default`.

Every configuration is the default config (`handvol/configs/default.py`) with two lists of
`key=value` settings applied through `handvol.configs.override`: the preset's (sizes, schedule,
encoder) and the configuration's own (data sources, loss weights, slack). The settings are
written to `reproduction.json`, so any configuration can be retrained alone with
`python train.py --set ...`.

Synthetic subject sets (`handvol.data.synthetic.SUBJECT_SETS`) stand in for the paper's data:
- "NYU-like": one subject, Lab-6 labels in 3D (the paper's NYU train with 6 keypoints);
- "HandID-like": seven subjects, Lab-6 annotator clicks in 2D (the paper's HandID);
- "HIM-like": `HIM_LIKE_SUBJECTS`, ten subjects no other set holds, all 21 keypoints with
  HIM-like systematically wrong 3D labels of HIM's strength (`HIM_OFFSET_MM`; the paper's
  HANDS2017 / BigHand2.2M);
- the clean test set: the two "unseen_test" subjects (the paper's NYU test), scored against the
  true joints; the HIM-like test set: held-out frames of the HIM-like subjects with their wrong
  labels, scored against the true joints and against the wrong labels.
"""

import dataclasses

from handvol import configs

HIM_LIKE_SUBJECTS = tuple(range(10, 20))
"""Subject ids of the HIM-like set: ten hands (as BigHand2.2M's ten subjects) outside every
named set of `handvol.data.synthetic.SUBJECT_SETS`."""

NYU_HANDID_RATIO = (3, 1)
"""Batch shares NYU-like : HandID-like (the paper's 3 : 1)."""

HIM_SLACK_MM = 25.0
"""Slack of the keypoint loss on the wrong labels (paper §IV-D)."""

HIM_OFFSET_MM = 26.0
"""Offset of the HIM-like wrong labels along the dorsal normal. `docs/synthetic.md` measured
that 26 mm gives HIM's label statistics (median MDPC 21.2 mm against the paper's 21.5 mm for
HIM, true joints 7.6 mm); the generator's default of 15 mm gives 12.0 mm."""

LIMIT_WEIGHT = 100.0
"""λ_lim of the study. At the λ_lim = 1 of `configs/paper_*` the prior (rad²) is weak against
the keypoint term (λ_joint = 1e-3 on mm²: a 20 mm error weighs 0.4, a 0.5 rad excess 0.25), and
the network reaches the labelled fingertips of a hand turned the wrong way round by bending the
fingers past their limits. Measured on configuration e1/full of `--preset cpu` with the rest
orientation (2026-11-24; `docs/reproduction.md`, `docs/results/reproduction_variants/`):
λ_lim = 1 → All-21 45.82 mm, Unlab-15 52.96 mm, palm flipped in 46.1 % of the clean test
frames; λ_lim = 100 → 40.75 mm, 45.40 mm, 16.0 % (bounded articulation without the prior:
41.81 mm, 46.81 mm, 16.0 %)."""

EDGE_ON_ROTATION = (1.5707963, 0.0, 1.5707963)
"""Global rotation (Euler angles, radians) of the network's zero outputs in the study
(`model.head.rotation_offset`): the hand edge-on, palm sideways and fingers towards the camera,
half-way in Euler angles between the palm-facing rest orientation (0, 0, 0) and the back-facing
one (π, 0, π). From the rest orientation, a frame that shows the back of the hand starts at the
180° saddle, where turning the hand does not reduce the keypoint error to first order; from
edge-on, both sides are a quarter turn away with a gradient towards each. Measured on e1/full
of `--preset cpu` with λ_lim = 100, clean test set (2026-11-24, `docs/reproduction.md`): rest
orientation → All-21 40.75 mm, Unlab-15 45.40 mm, palm flipped in 16.0 % of frames; edge-on
(the first study's Full, λ_collision 1e-5) → 34.53 mm, 36.64 mm, 3.5 %."""

COLLISION_WEIGHT = 1e-6
"""λ_collision of the study, a tenth of the default config's 1e-5. E_collision is not zero on a
real hand: neighbouring fingers touch, and at the true poses of the NYU-like training subject it
is 22,562 mm³ per frame (mean of 128 frames; `python scripts/collision_at_truth.py`, 2026-11-24).
At 1e-5 that costs a perfect prediction 0.23 per frame, about what the whole dissimilarity
gained in training (≈ 0.26), and the prior pushes the fingers apart: e1/full's training
predictions ended at 14,200 mm³, 37 % below the true hands. At 1e-6 (0.023 per frame) they
ended at 20,600 mm³ (`--preset cpu` at 25 × 100 steps, 2026-11-24; `docs/reproduction.md`)."""

DISSIM_WEIGHT = 10.0
"""λ_dissim of the study (the default config's is 1). E_dissim is a normalised overlap, about
−0.3 to −0.5 per frame, so at λ_dissim = 1 it is worth less than a few mm of keypoint error,
and inside the slack of wrong labels it pulls the joints towards the depth only weakly against
the priors. Measured on e2/full of `--preset cpu` (HIM-like test frames; the variants
`e2_dissim3` and `e2_dissim10` of `docs/results/reproduction_variants/`, 2026-11-25): median
MDPC 1.60× the true joints' at λ_dissim = 1, 1.38× at 3, 1.15× at 10; error to the true joints
20.40, 18.39 and 16.81 mm."""

METHOD_SETTINGS = ("model.head.articulation=free", f"loss.weights.lim={LIMIT_WEIGHT}",
                   f"model.head.rotation_offset={EDGE_ON_ROTATION}",
                   f"loss.weights.collision={COLLISION_WEIGHT}",
                   f"loss.weights.dissim={DISSIM_WEIGHT}")
"""The method of every configuration: the paper's free articulation angles kept plausible by
the joint-limit prior (at `LIMIT_WEIGHT`), the network's rotation starting edge-on
(`EDGE_ON_ROTATION`), the collision prior at `COLLISION_WEIGHT` and the dissimilarity at
`DISSIM_WEIGHT`. (The default config bounds the angles in the head instead and switches E_lim
off, which would make the "w/o Lim." ablation the same training as Full.)"""

SEEDS = {"nyu_like": 0, "handid_like": 1, "him_like": 2, "validation": 3, "clean_test": 4,
         "him_test": 5}
"""Generator seed per frame set, all different, so that no two sets share poses."""

CLEAN_TEST = "clean"
HIM_TEST = "him"
TEST_SETS = (CLEAN_TEST, HIM_TEST)
"""Names of the test sets (`test_source`)."""


@dataclasses.dataclass(frozen=True)
class Preset:
  """The size of a reproduction run.

  Attributes:
    name: The `--preset` name.
    nyu_frames, handid_frames, him_frames: Training frames of each synthetic set (rendered once
      and held in memory: ≈ 1.2 MB per 640×480 frame, twice while the pipeline is built).
    validation_frames: Frames of the validation set.
    test_frames: Frames of each test set.
    settings: `key=value` settings of the default config (schedule, encoder, batch).
  """
  name: str
  nyu_frames: int
  handid_frames: int
  him_frames: int
  validation_frames: int
  test_frames: int
  settings: tuple


SMOKE = Preset(
    name="smoke", nyu_frames=6, handid_frames=2, him_frames=8, validation_frames=4,
    test_frames=16,
    settings=("data.batch_size=4", "data.max_gaussians=256", "model.encoder_width=4",
              "model.blocks_per_stage=(1, 1, 1, 1)", "train.epochs=1",
              "train.steps_per_epoch=2", "train.warmup_steps=1", "train.num_images=2",
              "train.images_every_epochs=1", "train.verbose=2"))
"""A few steps per configuration: proves the driver end to end in minutes; not results."""

CPU = Preset(
    name="cpu", nyu_frames=1024, handid_frames=512, him_frames=1024, validation_frames=32,
    test_frames=256,
    settings=("train.epochs=25", "train.steps_per_epoch=200", "train.warmup_steps=200",
              "train.verbose=2",
              # The committed study (docs/results/reproduction*) ran with Euler angles and a
              # learning rate of 1e-3, before the default config took the 6D rotation and a
              # higher rate; kept until the study is rerun.
              "model.head.rotation=euler", "train.learning_rate=1e-3"))
"""The default config's network (ResNet-18 at width 16, batch 16, every loss term) for 5,000
steps per configuration: the 9 trainings within 2 hours on 2 CPU cores. The study at this
schedule took 61.1 min on the idle 2-core machine (2026-11-24, `docs/reproduction.md`); the
first study, at 25 × 100 steps, 33.9 min and clearly undertrained (validation error still
falling steeply at the end).

The first schedule's basis (25 × 100 steps), measured on the 2-core development machine while
other jobs kept its load average at 5-7. `train_and_evaluate` on configuration e1/full of this
preset, shortened to 3 × 100 steps:
steady steps of 102-103 ms (validation included), a first epoch 31 s longer (graph tracing),
35 s to render and preprocess the run's 1,312 frames then (66 s in another measurement),
11 s of test evaluation. Estimate: ≈ 130 s of overhead per configuration + 2,500 × 0.10 s
≈ 380 s, 57 min for the 9. Then at full length: e1/full 510 s (data 80 s, fit 415 s: steps
of 110-140 ms under that load, evaluation 15 s) and e1/no_dissim 364 s, which put the 9
(7 with the dissimilarity, 2 without) at ≈ 73 min, plus a few seconds each for the study's
own predictions; at that schedule, steps 50 % slower still ended within 2 hours.
"""

PAPER = Preset(
    name="paper", nyu_frames=16384, handid_frames=3601, him_frames=16384,
    validation_frames=256, test_frames=2048,
    settings=("model.encoder_width=64", "data.shuffle_buffer=4096",
              "data.augment.rotation_deg=180.0", "data.augment.translation_px=8.0",
              "data.augment.scale_range=(0.9, 1.1)", "train.epochs=100",
              "train.steps_per_epoch=1000", "train.learning_rate=1e-4",
              "train.final_learning_rate=1e-6", "train.warmup_steps=1000",
              "train.log_every_steps=100", "train.images_every_epochs=5", "train.verbose=2"))
"""The paper's scale for a GPU: the full ResNet-18 and the schedule of
`configs/paper_nyu_handid` (100 × 1000 steps of batch 16), HandID's 3,601 frames, NYU- and
HIM-like sets of 16,384 frames, 2,048 test frames. A training holds up to ≈ 24 GB of rendered
frames (twice that while its pipeline is built) and renders them first (≈ 50 ms a frame on
one CPU core: ≈ 17 min for E1's 20,000)."""

PRESETS = {preset.name: preset for preset in (SMOKE, CPU, PAPER)}


@dataclasses.dataclass(frozen=True)
class Configuration:
  """One training of the study.

  Attributes:
    experiment: "e1" or "e2" (E3 evaluates the E2 models; it trains nothing).
    name: Short name, unique within the experiment (the work subdirectory).
    title: Name in tables and figures.
    settings: The configuration's own `key=value` settings (after the preset's).
    test_sets: Names of `TEST_SETS` its model is evaluated on; the first is the trainer's.
  """
  experiment: str
  name: str
  title: str
  settings: tuple
  test_sets: tuple

  @property
  def key(self):
    """"<experiment>/<name>": the configuration's id and work subdirectory."""
    return f"{self.experiment}/{self.name}"


def synthetic_source(subjects, label_mode, num_frames, seed, ratio=None):
  """A synthetic source entry of a config's "data" section (`handvol.training.data`); wrong
  labels at `HIM_OFFSET_MM`."""
  entry = {"source": "synthetic", "subjects": subjects, "label_mode": label_mode,
           "num_frames": num_frames, "seed": seed}
  if label_mode == "him_wrong_3d":
    entry["him_offset_mm"] = HIM_OFFSET_MM
  if ratio is not None:
    entry["ratio"] = ratio
  return entry


def test_source(name, preset):
  """The source entry of test set `name` (`TEST_SETS`) at the preset's size."""
  if name == CLEAN_TEST:
    return synthetic_source("unseen_test", "lab6_3d", preset.test_frames, SEEDS["clean_test"])
  if name == HIM_TEST:
    return synthetic_source(HIM_LIKE_SUBJECTS, "him_wrong_3d", preset.test_frames,
                            SEEDS["him_test"])
  raise ValueError(f"test set must be one of {TEST_SETS}, got {name!r}")


def _data_settings(train, test, preset):
  """Settings of the data sources; validation: held-out frames like the first training
  source's (it only picks `best.keras`; the study evaluates the last model)."""
  validation = synthetic_source(train[0]["subjects"], train[0]["label_mode"],
                                preset.validation_frames, SEEDS["validation"])
  return (f"data.train={train!r}", f"data.validation={validation!r}",
          f"data.test={test_source(test, preset)!r}")


def configurations(preset):
  """The study's trainings at a preset's size, in the order they run.

  E1 (paper Table Ia, Ic): NYU-like (Lab-6, 3D) and HandID-like (Lab-6, 2D) mixed 3 : 1,
  tested on the clean set: Full, each term or the HandID-like data removed, and a fully
  supervised reference (all 21 true joints of the NYU-like set, no dissimilarity; the priors
  stay, and the HandID-like frames keep their Lab-6 clicks). E2 (paper §IV-D): the HIM-like set
  alone, all 21 wrong labels with a 25 mm slack, with and without the dissimilarity; tested on
  the HIM-like test set and, as E3 (paper Fig. 5c), on the clean set.

  Args:
    preset: A `Preset`.

  Returns:
    A tuple of `Configuration`.
  """
  nyu_ratio, handid_ratio = NYU_HANDID_RATIO
  nyu = synthetic_source("nyu_like", "lab6_3d", preset.nyu_frames, SEEDS["nyu_like"],
                         nyu_ratio)
  handid = synthetic_source("handid_like", "lab6_2d", preset.handid_frames,
                            SEEDS["handid_like"], handid_ratio)
  nyu_all21 = dict(nyu, label_mode="all21_3d")
  # Alone, the NYU-like set fills the whole batch (a ratio is relative).
  nyu_alone = dict(nyu, ratio=1)
  him = synthetic_source(HIM_LIKE_SUBJECTS, "him_wrong_3d", preset.him_frames,
                         SEEDS["him_like"], 1)
  mixed = METHOD_SETTINGS + _data_settings([nyu, handid], CLEAN_TEST, preset)
  e1 = (CLEAN_TEST,)
  e2 = (HIM_TEST, CLEAN_TEST)
  all21 = ("loss.supervised_keypoints=all",)
  him_settings = METHOD_SETTINGS + _data_settings([him], HIM_TEST, preset) + all21 + (
      f"loss.slack_mm={HIM_SLACK_MM}",)
  return (
      Configuration("e1", "full", "Full", mixed, e1),
      Configuration("e1", "no_dissim", "w/o Dissim.", mixed + ("loss.weights.dissim=0.0",), e1),
      Configuration("e1", "no_bone", "w/o Bone prior", mixed + ("loss.weights.bone=0.0",), e1),
      Configuration("e1", "no_handid", "w/o HandID-like",
                    METHOD_SETTINGS + _data_settings([nyu_alone], CLEAN_TEST, preset), e1),
      Configuration("e1", "no_collision", "w/o Collision",
                    mixed + ("loss.weights.collision=0.0",), e1),
      Configuration("e1", "no_limits", "w/o Lim.", mixed + ("loss.weights.lim=0.0",), e1),
      Configuration("e1", "supervised21", "Supervised All-21, no generative loss",
                    METHOD_SETTINGS + _data_settings([nyu_all21, handid], CLEAN_TEST, preset)
                    + all21
                    + ("loss.weights.dissim=0.0",), e1),
      Configuration("e2", "full", "Trained on HIM-like, with Dissim.", him_settings, e2),
      Configuration("e2", "no_dissim", "Trained on HIM-like, w/o Dissim.",
                    him_settings + ("loss.weights.dissim=0.0",), e2),
  )


def preset_config(preset):
  """The default config with the preset's settings (sizes shared by every configuration)."""
  return configs.override(configs.load("default"), preset.settings)


def build_config(preset, configuration):
  """The nested config dict of a configuration at a preset's size."""
  return configs.override(preset_config(preset), configuration.settings)
