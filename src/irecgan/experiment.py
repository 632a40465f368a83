"""One training run: data, models, runner, the method's phases, final evaluation.

`DEFAULTS` is the single list of configuration keys with the paper's values; the command line
(`irecgan.cli.train`) only maps flags onto it. The resolved configuration is written to the run
directory, which is bound to it (see runner.py).
"""

from irecgan import stopping
from irecgan.adversarial import D_DATA, SCHEDULES, AdversarialTraining
from irecgan.dataset import load_dataset
from irecgan.errors import UserError
from irecgan.models.graph import ModelGraph
from irecgan.models.user import REFERENCE_PURCHASE_WEIGHT
from irecgan.offline import BatchMaker
from irecgan.online_eval import AgentPolicy, load_environment
from irecgan.pretrain import agent_task, evaluate, pretrain, user_task
from irecgan.runner import Runner
from irecgan.sim import online

METHODS = ("lstm", "pg", "irecgan_nod", "irecgan")
BASELINES = ("lstm", "pg")

DEFAULTS = dict(
    method="pg",            # lstm | pg | irecgan_nod | irecgan
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
    bucket_window=20,       # length bucketing of training batches over windows of this many
                            # batches (0: plain shuffled batches); see batching.iterate_batches
    batch_weighting="positions",  # positions: each training batch's loss is scaled by its
                            # positions over the mean per batch, so every position weighs the
                            # same under bucketing; batch: every batch weighs the same
    agent_epochs=50,
    user_epochs=50,
    agent_lr=1e-4,
    user_lr=5e-4,
    disc_lr=1e-4,
    clip_norm=5.0,
    gamma=0.9,
    lambda_r=3.0,
    lambda_p=1.0,
    purchase_weight="reference",  # weight of a purchase label in U's purchase cross-entropy:
                            # reference = 2 ** 5.3 (~39, the authors' (p + 1) ** 5.3), auto =
                            # (1 - p) / p for the training log's purchase rate p, or a number
    threads=0,              # TF intra/inter-op threads (0: TensorFlow's default)
    # adversarial training (SPEC 5; irecgan and irecgan_nod)
    schedule="paper",       # paper (Algorithm 1) | reference (the authors' released loop)
    adv_epochs=10,          # adversarial epochs (reference schedule: rounds)
    g_steps=3,              # generator steps per epoch (paper)
    d_steps=1,              # discriminator steps per epoch (paper)
    d_epochs=3,             # D epochs per d-step and in D pretraining
    d_data="authors",       # authors: a D epoch is every offline training session once, with
                            # as many generated sessions from the pool; m: m vs m (Algorithm 1)
    d_heldout_sessions=1000,  # validation sessions (vs as many generated) scoring D held out
    gen_sessions=200,       # m: sessions generated per g-step / d-step
    d_pretrain_sessions=0,  # sessions generated for D pretraining (0: the authors' 1000 in the
                            # reference schedule or with d_data=authors; m with d_data=m)
    offline_ratio=10.0,     # lambda_2 / lambda_1: offline sessions per generated one in the A
                            # updates of the paper schedule (0.1: ten generated per offline one)
    pool_size=6000,         # most generated sessions kept in the pool (reference schedule's
                            # agent epochs; D's generated data with d_data=authors)
    n_rollouts=5,           # N Monte-Carlo continuations per prefix
    max_len=0,              # longest generated session (0: 2 * floor(mean training length))
    # online evaluation against the true simulator (SPEC 7)
    env_params="",          # simulator parameter file (.npz from irecgan-simulate); "" = none
    online_sessions=1000,   # sessions per online evaluation
    online_seed=0,          # the simulator's RandomState seed in online evaluation
    online_every=1,         # evaluate online every this many agent-pretraining epochs (0: never)
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
    if config["schedule"] not in SCHEDULES:
        raise UserError("unknown schedule %r (one of %s)" % (config["schedule"],
                                                              ", ".join(SCHEDULES)))
    if config["d_data"] not in D_DATA:
        raise UserError("unknown d_data %r (one of %s)" % (config["d_data"], ", ".join(D_DATA)))
    if config["batch_weighting"] not in ("positions", "batch"):
        raise UserError("unknown batch_weighting %r (positions or batch)"
                        % (config["batch_weighting"],))
    try:
        config["offline_ratio"] = float(config["offline_ratio"])
    except (TypeError, ValueError):
        raise UserError("offline_ratio must be a number, got %r" % (config["offline_ratio"],))
    if config["offline_ratio"] < 0:
        raise UserError("offline_ratio must be >= 0, got %r" % config["offline_ratio"])
    config["purchase_weight"] = str(config["purchase_weight"])
    if config["purchase_weight"] not in ("reference", "auto"):
        try:
            if float(config["purchase_weight"]) <= 0:
                raise ValueError()
        except ValueError:
            raise UserError("purchase_weight must be reference, auto or a positive number, got "
                            "%r" % config["purchase_weight"])
    if not config["data"]:
        raise UserError("no data file given (--data)")
    return config


def load_data(config):
    return load_dataset(config["data"], split=config["split"], seed=config["seed"],
                        split_file=config["split_file"] or None,
                        ratios=tuple(config["split_ratios"]), n_items=config["n_items"],
                        symbols=config["symbols"], lenient=config["lenient"])


def purchase_weight(config, data):
    """The purchase class weight of U (SPEC 3.1): reference = 2 ** 5.3; auto = (1 - p) / p
    for the training log's purchase rate p (data.purchase_rate; 1 when p is 0 or 1); or the
    configured number."""
    value = config["purchase_weight"]
    if value == "reference":
        return REFERENCE_PURCHASE_WEIGHT
    if value == "auto":
        p = data.purchase_rate
        return (1.0 - p) / p if 0.0 < p < 1.0 else 1.0
    return float(value)


def build_models(config, data):
    build = {"lstm": ("agent",), "pg": ("agent",), "irecgan_nod": ("user", "agent"),
             "irecgan": ("user", "agent", "discriminator")}[config["method"]]
    return ModelGraph(data.vocab.size, embed_dim=config["embed_dim"], hidden=config["hidden"],
                      layers=config["layers"], k=config["k"], purchase_head=data.has_purchase,
                      seed=config["seed"], user_lr=config["user_lr"],
                      agent_lr=config["agent_lr"], disc_lr=config["disc_lr"],
                      clip_norm=config["clip_norm"], lambda_p=config["lambda_p"], build=build,
                      purchase_weight=purchase_weight(config, data))


def open_run(run_dir, config, log=None, read_only=False):
    """Data, models and a Runner for `config` (resumes when `run_dir` has a checkpoint;
    `read_only`: only restores, see runner.Runner)."""
    data = load_data(config)
    models = build_models(config, data)
    runner = Runner(run_dir, models, config, threads=config["threads"], log=log,
                    read_only=read_only)
    batch_maker = BatchMaker(data.vocab.size, gamma=config["gamma"],
                             lambda_r=config["lambda_r"])
    return data, models, runner, batch_maker


class Evaluator(object):
    """Offline (agent P@k, loss) and online (true simulator) evaluation of the current agent."""

    def __init__(self, runner, models, data, config, batch_maker):
        self.runner = runner
        self.models = models
        self.data = data
        self.config = config
        self.batch_maker = batch_maker
        self.env = load_environment(config["env_params"]) if config["env_params"] else None
        self.policy = AgentPolicy(models, runner.session, data.vocab) if self.env else None
        # the authors' online figure: the agent's Gumbel-sampled lists (final evaluation only)
        self.sampled = (AgentPolicy(models, runner.session, data.vocab, sample=True,
                                    seed=config["online_seed"]) if self.env else None)

    def offline(self, split):
        sessions = getattr(self.data, split)
        if not sessions:
            return {}
        return evaluate(self.runner.session, agent_task(self.models, "mle"), sessions,
                        self.config["batch_size"], self.batch_maker)

    def online(self):
        if self.env is None:
            return {}
        return online.evaluate(self.env, self.policy, n_sessions=self.config["online_sessions"],
                               seed=self.config["online_seed"])

    def pretrain_epoch(self, epoch):
        every = self.config["online_every"]
        if self.env is None or every <= 0 or epoch % every:
            return {}
        return dict(("online_" + k, v) for k, v in self.online().items())

    def adversarial_epoch(self, epoch):
        out = dict(("valid_" + k, v) for k, v in self.offline("valid").items())
        out.update(("online_" + k, v) for k, v in self.online().items())
        return out

    def final(self):
        out = {"offline": dict((split, self.offline(split)) for split in ("valid", "test")
                               if getattr(self.data, split))}
        if self.env is not None:
            out["online"] = self.online()
            out["online_sampled"] = online.evaluate(
                self.env, self.sampled, n_sessions=self.config["online_sessions"],
                seed=self.config["online_seed"])
        return out


def run(run_dir, config, show_progress=True, log=None):
    """Train `config["method"]` in `run_dir` to the end and write results.json; returns it.
    SIGTERM / SIGINT stop it at the next safe point (`stopping.Stopped`; see stopping.py)."""
    with stopping.handlers():
        return _run(run_dir, config, show_progress, log)


def _run(run_dir, config, show_progress, log):
    data, models, runner, batch_maker = open_run(run_dir, config, log)
    try:
        stopping.before_training(runner.state.get("where"))
        evaluator = Evaluator(runner, models, data, config, batch_maker)
        method = config["method"]
        weighting = "mle" if method == "lstm" else "returns"
        by_position = config["batch_weighting"] == "positions"
        pretrain(runner, agent_task(models, weighting, by_position), data.train, data.valid,
                 config["agent_epochs"], config["batch_size"], batch_maker,
                 seed=config["seed"], phase="agent", show_progress=show_progress,
                 extra_metrics=evaluator.pretrain_epoch, bucket_window=config["bucket_window"])
        if method not in BASELINES:
            pretrain(runner, user_task(models, by_position), data.train, data.valid, config["user_epochs"],
                     config["batch_size"], batch_maker, seed=config["seed"] + 1, phase="user",
                     show_progress=show_progress, bucket_window=config["bucket_window"])
            AdversarialTraining(runner, models, data, batch_maker, config,
                                evaluator.adversarial_epoch,
                                use_disc=(method == "irecgan")).run(seed=config["seed"] + 2)
        results = {"method": method, "seed": config["seed"], "data": data.summary(),
                   "purchase_weight": models.config["purchase_weight"]}
        with stopping.anywhere("during the final evaluation: it runs again from the last "
                               "checkpoint (%s)" % runner.state.get("where", "none")):
            results.update(evaluator.final())
        runner.write_results(results)  # and timing.json: the wall time stays out of results
        return results
    finally:
        runner.close()
