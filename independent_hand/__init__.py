"""An independent hand renderer for testing handvol: a hand geometry unlike handvol's own
generator (palm of ellipsoids, fingers of elliptic frusta with knuckles, its own proportions,
thumb, forearm, pose distribution, viewpoints over the whole sphere and sensor model), written
as a capture folder with the true 21 joints.

It imports nothing of handvol (numpy and OpenCV; absl for the command line), and handvol's
training code cannot import it (it is not part of the installed package).
`python -m independent_hand --out DIR` writes frames; `docs/independent_hand.md` describes the
model.
"""
