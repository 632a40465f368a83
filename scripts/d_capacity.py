"""Can the discriminator separate real from generated sessions at all, given more budget?

Opens a finished irecgan run directory read-only (nothing is written to it), then keeps training
its D with the authors' D epoch (every offline training session once against a generated pool)
for --epochs more epochs at learning rate --lr, against a fresh pool of --pool sessions generated
by the run's final agent and user model, and prints D's held-out accuracy / ROC AUC
(validation vs freshly generated sessions) after each epoch.

    python scripts/d_capacity.py --run_dir=runs/ablation/runs/mdp_random/authors_r10/seed1 \
        --epochs=10 --lr=1e-3
"""
import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from irecgan import experiment  # noqa: E402
from irecgan.config import DEFAULTS, resolve  # noqa: E402
from irecgan.training.adversarial import AdversarialTraining  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run_dir", required=True)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--pool", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with open(os.path.join(args.run_dir, "config.json")) as handle:
        saved = json.load(handle)
    config = resolve(dict((k, v) for k, v in saved.items() if k in DEFAULTS))
    data, models, runner, batch_maker = experiment.open_run(args.run_dir, config,
                                                            read_only=True)
    try:
        adv = AdversarialTraining(runner, models, data, batch_maker, lambda e: {},
                                  use_disc=True, log=lambda msg: None,
                                  **experiment.adversarial_settings(config))
        d = models.disc
        runner.session.run(d.trainer.learning_rate.assign(args.lr))
        rng = np.random.RandomState(args.seed)
        pool = adv.generate(args.pool, rng, False)
        out = {"run_dir": args.run_dir, "lr": args.lr, "pool": args.pool, "epochs": []}
        start = adv.heldout_disc(10 ** 6)
        print("before: %s" % json.dumps(start, sort_keys=True))
        out["before"] = start
        for epoch in range(1, args.epochs + 1):
            t = time.time()
            stats = adv.train_disc_authors(pool, rng, 1)
            held = adv.heldout_disc(10 ** 6 + epoch)
            held.update(train_loss=stats["loss"], train_accuracy=stats["accuracy"],
                        updates=stats["steps"], seconds=time.time() - t)
            out["epochs"].append(held)
            print("epoch %d: %s" % (epoch, json.dumps(held, sort_keys=True)))
            sys.stdout.flush()
        print(json.dumps(out))
    finally:
        runner.close()


if __name__ == "__main__":
    main()
