"""Synthetic hand depth frames with known truth and realistic annotation errors.

`generate` / `dataset` give frame records for a subject set ("nyu_like", "handid_like",
"unseen_test") and a label mode ("lab6_2d", "lab6_3d", "all21_3d", "him_wrong_3d");
`python -m handvol.data.synthetic --out DIR --frames N --format nyu|hands2017|capture` writes
them in a dataset's on-disk format. `docs/synthetic.md` describes the model.
"""

from handvol.data.synthetic.generator import SyntheticConfig
from handvol.data.synthetic.generator import dataset
from handvol.data.synthetic.generator import generate
from handvol.data.synthetic.generator import generate_frames
from handvol.data.synthetic.generator import make_config
from handvol.data.synthetic.generator import render_frames
from handvol.data.synthetic.labels import LABEL_MODES
from handvol.data.synthetic.subjects import SUBJECT_SETS
