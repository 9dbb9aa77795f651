"""handvol's packaging.

TensorFlow comes in two wheels that install the same `tensorflow` module: pick one with an
extra, `handvol[cpu]` (tensorflow-cpu, no CUDA) or `handvol[gpu]` (tensorflow[and-cuda], CUDA
12.5 libraries from pip). Neither is a plain requirement, because requiring `tensorflow` would
pull the 570 MB GPU wheel on top of an installed tensorflow-cpu. Install TensorFlow first and
then this package without build isolation, so that the custom op compiles against the very
TensorFlow it will run with (README, "Install").
"""

import setuptools

TF_VERSION = "2.21.0"

setuptools.setup(
    name="handvol",
    version="0.1.0",
    description=("3D hand pose estimation from depth with a generative model-based loss "
                 "(Wang et al. 2020) in TensorFlow / Keras 3"),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=setuptools.find_packages(include=["handvol", "handvol.*"]),
    include_package_data=True,
    package_data={"handvol": ["**/*.npz", "**/*.json"]},
    install_requires=[
        "keras>=3.10,<4",
        "numpy>=1.26",
        "scipy>=1.11",
        "opencv-python-headless>=4.8",
        "absl-py>=2.0",
        "matplotlib>=3.8",
    ],
    extras_require={
        "cpu": [f"tensorflow-cpu=={TF_VERSION}"],
        "gpu": [f"tensorflow[and-cuda]=={TF_VERSION}"],
        "test": ["pytest>=8"],
    },
)
