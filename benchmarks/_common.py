"""Shared by the benchmark scripts: import the package from this checkout's src/ (the scripts
also run without `pip install -e .`), and the model-size options (the paper's sizes)."""
import os
import sys

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)


def add_size_args(parser):
    """--hidden, --layers, --embed with the paper's defaults (2 x 512 LSTM, 50-d embeddings)."""
    parser.add_argument("--hidden", type=int, default=512, help="LSTM units per layer")
    parser.add_argument("--layers", type=int, default=2, help="LSTM layers")
    parser.add_argument("--embed", type=int, default=50, help="embedding size")
