"""The paper's NYU + HIM + HandID setting (§IV-E): HANDS2017 ("HIM") added with its
systematically wrong labels, batches mixed 3 : 3 : 2, and a 25 mm slack on the keypoint loss
so that the generative loss, not the labels, decides within that radius.

Differs from `paper_nyu_handid`: the third source and the ratios, and the slack.
"""

from handvol.configs import paper_nyu_handid

HIM_ROOT = "data/hands2017"


def get_config():
  config = paper_nyu_handid.get_config()
  nyu, handid = config["data"]["train"]
  config["data"]["train"] = [
      dict(nyu, ratio=3),
      {"source": "hands2017", "args": {"root": HIM_ROOT}, "ratio": 3},
      dict(handid, ratio=2),
  ]
  config["loss"]["slack_mm"] = 25.0
  return config
