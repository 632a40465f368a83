"""The fixed corpus of the RecSim world and its parameter file (`sim.paramfile`, kind `KIND`).

The corpus: `n_docs` videos drawn once by RecSim's `UtilityModelVideoSampler` (`random_corpus`);
document i has item id i. The parameter file holds the corpus' arrays and the user settings
(`KEYS`); `load_arrays` reads it with numpy alone (no RecSim), e.g. for the item count.
"""
import collections

import numpy as np

from irecgan.errors import UserError
from irecgan.sim import paramfile
from irecgan.sim.recsim_import import import_recsim

KIND = "irecgan.sim.recsim"
N_DOCS = 100
KEYS = ("features", "cluster_id", "video_length", "quality", "corpus_seed", "list_size",
        "time_budget", "no_click_mass")

Corpus = collections.namedtuple("Corpus", ["features", "cluster_id", "video_length", "quality",
                                           "seed"])


def random_corpus(rng, n_docs=N_DOCS):
    """`n_docs` documents from RecSim's `UtilityModelVideoSampler`, seeded by one draw of `rng`
    (document i is the sampler's i-th document and gets item id i)."""
    if int(n_docs) < 1:
        raise UserError("the corpus needs at least 1 document, got %r" % (n_docs,))
    ie = import_recsim()["ie"]
    seed = int(rng.randint(0, 2 ** 31 - 1))
    sampler = ie.UtilityModelVideoSampler(doc_ctor=ie.IEvVideo, seed=seed)
    docs = [sampler.sample_document() for _ in range(int(n_docs))]
    if [d.doc_id() for d in docs] != list(range(int(n_docs))):
        raise RuntimeError("RecSim's sampler did not number the documents 0..n-1")
    return Corpus(np.array([d.features for d in docs], dtype=np.float64),
                  np.array([d.cluster_id for d in docs], dtype=np.int64),
                  np.array([d.video_length for d in docs], dtype=np.float64),
                  np.array([d.quality for d in docs], dtype=np.float64), seed)


def load_arrays(path):
    """The arrays of a RecSim-world parameter file (`UserError` when bad); needs no RecSim."""
    return paramfile.load_arrays(path, KIND, KEYS)

