"""irecgan: a reproduction of IRecGAN (Bai, Guan, Wang, NeurIPS 2019) in TF1-style static graphs."""

__version__ = "0.1.0"
