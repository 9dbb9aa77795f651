"""The shipped model fine-tuned on scenes of a person and on many hand shapes (issues 18, 19).

`cpu_long` (`handvol/pretrained/sphere_cpu_long`) saw one subject's hand, floating alone, always
centred on its labels. This run starts from it (`train.init` "sphere_cpu_long") and trains on an
even mix of
- hand scenes (`input_pipeline`'s "scenes" source): a person behind the hand, sleeves, tables
  and walls, five cameras' sensor models, 25–120 cm away, each crop made about the point the
  serving graph's localiser and centre refiner find (the crops a user's frames get);
- the generator's floating hands over the whole view sphere, as `cpu_long`'s,
both drawn from 200 training subjects' hand shapes (`TRAIN_SUBJECTS`; subjects 8 and 9, the
test subjects, are never among them). Validation and test are scenes of the test subjects,
through the localiser, on other seeds than `bench/scenes_end_to_end.py`'s.

Run: `nohup python train.py --config=scenes --workdir=RUN > RUN.log 2>&1 &`. The shipped
`handvol/pretrained/scenes` is this run stopped after 11,000 of its 30,000 steps (0.2 s a step
on the 2-core CPU: the whole schedule takes about 1 h 50 min); its numbers and the commands are
in `docs/results/scenes/`.
"""

from handvol.configs import cpu_long

TRAIN_SUBJECTS = list(range(8)) + list(range(10, 202))
"""Subject ids of the training frames: the generator's named training subjects (0–7) and 192
more drawn from the bone-length model; 8 and 9 (`unseen_test`) are held out."""


def get_config():
  config = cpu_long.get_config()
  data = config["data"]
  synthetic = dict(data["train"][0], subjects=TRAIN_SUBJECTS, num_frames=1536, seed=10)
  scenes = {"source": "scenes", "cameras": "all", "subjects": TRAIN_SUBJECTS,
            "label_mode": "lab6_3d"}
  data["train"] = [dict(scenes, ratio=1, num_frames=4000, seed=200), synthetic]
  data["validation"] = dict(scenes, subjects="unseen_test", num_frames=100, seed=300)
  data["test"] = dict(scenes, subjects="unseen_test", num_frames=200, seed=400)
  config["train"].update(init="sphere_cpu_long", epochs=300, steps_per_epoch=100,
                         finetune_learning_rate=5e-4, final_learning_rate=1e-5,
                         warmup_steps=500,
                         images_every_epochs=50)
  return config
