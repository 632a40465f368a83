"""irecgan: model-based RL with adversarial training for recommendation (IRecGAN, NeurIPS 2019)."""
from setuptools import find_packages, setup

setup(
    name="irecgan",
    version="0.1.0",
    description="Reproduction of IRecGAN (Bai, Guan, Wang, NeurIPS 2019) in TF1-style static graphs",
    long_description=open("README.md").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.6",
    package_dir={"": "src"},
    packages=find_packages("src"),
    install_requires=[
        "numpy>=1.18",
        "scipy>=1.4",
        "absl-py>=0.9",
        "tqdm>=4.40",  # progress bars of long loops (well kept, pure Python)
        "matplotlib>=3.0",  # headless PNG plots of irecgan-report
    ],
    extras_require={
        # TensorFlow 2.x (graph mode through tf.compat.v1): this machine, current GPUs.
        "tf2": ["tensorflow>=2.12,<3"],
        # The paper-era target: the CUDA 10.0 Docker image for V100/P100 hosts (Python 3.6).
        "tf1": ["tensorflow-gpu==1.15.5", "numpy==1.18.5"],
        # pytest-xdist runs the suite on every core (pytest.ini); 2.5.0 is the last for Python 3.6
        # and the first with --dist loadgroup.
        "test": ["pytest>=6", "pytest-xdist>=2.5", "vermin>=1.5"],
        # RecSim's interest-evolution user (irecgan-simulate --env=recsim, sim/recsim_env.py),
        # with the tf2 extra: ".[tf2,recsim]". Tested together on Python 3.11 / TF 2.21 /
        # numpy 2.4; not on the TF 1.15 image. dopamine-rl 2.0.5 is the lightest release that
        # satisfies recsim's requirement (it pulls opencv-python, never imported here).
        # On Python 3.6 (the TF 1.15 stack) opencv-python 4.6.0.66 is the last release with a
        # wheel; without the pin pip builds a newer one from source for tens of minutes.
        "recsim": ["recsim==0.2.4", "dopamine-rl==2.0.5", "gym==0.26.2", "gin-config==0.5.0",
                   "six>=1.12", "opencv-python==4.6.0.66; python_version < '3.7'"],
    },
    entry_points={
        "console_scripts": [
            "irecgan-simulate=irecgan.cli.simulate:run",
            "irecgan-inspect-log=irecgan.cli.inspect_log:run",
            "irecgan-prepare-cikm=irecgan.cli.prepare_cikm:run",
            "irecgan-train=irecgan.cli.train:run",
            "irecgan-evaluate=irecgan.cli.evaluate:run",
            "irecgan-export=irecgan.cli.export:run",
            "irecgan-report=irecgan.cli.report:run",
            "irecgan-benchmark=irecgan.cli.benchmark:run",
        ],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
