# irecgan on the paper's GPUs (V100/P100): TensorFlow 1.15.5, CUDA 10.0, Python 3.6, numpy 1.18.5.
#   docker build -t irecgan:tf1 .
#   docker run --gpus all --rm -v "$PWD/results:/irecgan/results" irecgan:tf1
#   docker run --gpus all --rm -v "$PWD/results:/irecgan/results" irecgan:tf1 ./run_sim.sh --preset=paper
FROM tensorflow/tensorflow:1.15.5-gpu-py3

WORKDIR /irecgan
# Dependencies first, so this layer is cached while the code changes.
COPY requirements/tf1.txt requirements/tf1.txt
RUN python3 -m pip install --no-cache-dir --upgrade "pip<22" \
    && python3 -m pip install --no-cache-dir -r requirements/tf1.txt

COPY . .
RUN python3 -m pip install --no-cache-dir --no-deps -e .

CMD ["bash", "-c", "SMOKE=1 ./run_sim.sh"]
