"""One training run: data, models, runner, the method's phases, final evaluation.

`DEFAULTS` is the single list of configuration keys with the paper's values; the command line
(`irecgan.cli.train`) only maps flags onto it. The resolved configuration is written to the run
directory, which is bound to it (see runner.py).
"""
import time

from irecgan.dataset import load_dataset
from irecgan.errors import UserError
from irecgan.models.graph import ModelGraph
from irecgan.offline import BatchMaker
from irecgan.pretrain import agent_task, evaluate, pretrain
from irecgan.runner import Runner

METHODS = ("lstm", "pg")

DEFAULTS = dict(
    method="pg",            # lstm | pg
    data="",                # processed log (SPEC 2.1)
    split="fold",           # fold (38/1/1) | ratio | file
    split_file="",
    split_ratios=(0.8, 0.1, 0.1),
    n_items=0,              # > 0: simulator items 0..n_items-1; 0: frequency vocabulary
    symbols=40000,          # vocabulary size incl. 4 specials (frequency vocabulary)
    lenient=False,
    seed=0,
    embed_dim=50,
    hidden=512,
    layers=2,
    k=10,                   # items recommended per step
    batch_size=32,
    agent_epochs=50,
    user_epochs=50,
    agent_lr=1e-4,
    user_lr=5e-4,
    disc_lr=1e-4,
    clip_norm=5.0,
    gamma=0.9,
    lambda_r=3.0,
    lambda_p=1.0,
    threads=0,              # TF intra/inter-op threads (0: TensorFlow's default)
)


def resolve(overrides):
    """DEFAULTS updated with `overrides`; unknown keys are an error."""
    unknown = sorted(set(overrides) - set(DEFAULTS))
    if unknown:
        raise UserError("unknown configuration keys: %s" % ", ".join(unknown))
    config = dict(DEFAULTS)
    config.update(overrides)
    config["split_ratios"] = list(config["split_ratios"])
    if config["method"] not in METHODS:
        raise UserError("unknown method %r (one of %s)" % (config["method"], ", ".join(METHODS)))
    if not config["data"]:
        raise UserError("no data file given (--data)")
    return config


def load_data(config):
    return load_dataset(config["data"], split=config["split"], seed=config["seed"],
                        split_file=config["split_file"] or None,
                        ratios=tuple(config["split_ratios"]), n_items=config["n_items"],
                        symbols=config["symbols"], lenient=config["lenient"])


def build_models(config, data):
    build = ("agent",) if config["method"] in ("lstm", "pg") else ("user", "agent",
                                                                  "discriminator")
    return ModelGraph(data.vocab.size, embed_dim=config["embed_dim"], hidden=config["hidden"],
                      layers=config["layers"], k=config["k"], purchase_head=data.has_purchase,
                      seed=config["seed"], user_lr=config["user_lr"],
                      agent_lr=config["agent_lr"], disc_lr=config["disc_lr"],
                      clip_norm=config["clip_norm"], lambda_p=config["lambda_p"], build=build)


def open_run(run_dir, config, log=None):
    """Data, models and a Runner for `config` (resumes when `run_dir` has a checkpoint)."""
    data = load_data(config)
    models = build_models(config, data)
    runner = Runner(run_dir, models, config, threads=config["threads"], log=log)
    batch_maker = BatchMaker(data.vocab.size, gamma=config["gamma"],
                             lambda_r=config["lambda_r"])
    return data, models, runner, batch_maker


def final_evaluation(runner, models, data, config, batch_maker):
    task = agent_task(models, "mle")
    out = {}
    for name, sessions in (("valid", data.valid), ("test", data.test)):
        if sessions:
            out[name] = evaluate(runner.session, task, sessions, config["batch_size"],
                                 batch_maker)
    return out


def run(run_dir, config, show_progress=True, log=None):
    """Train `config["method"]` in `run_dir` to the end and write results.json; returns it."""
    start = time.time()
    data, models, runner, batch_maker = open_run(run_dir, config, log)
    try:
        weighting = "mle" if config["method"] == "lstm" else "returns"
        pretrain(runner, agent_task(models, weighting), data.train, data.valid,
                 config["agent_epochs"], config["batch_size"], batch_maker,
                 seed=config["seed"], phase="agent", show_progress=show_progress)
        results = {"method": config["method"], "seed": config["seed"],
                   "data": data.summary(),
                   "offline": final_evaluation(runner, models, data, config, batch_maker),
                   "wall_time_s_this_process": time.time() - start}
        runner.write_results(results)
        return results
    finally:
        runner.close()
