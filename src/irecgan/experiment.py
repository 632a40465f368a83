"""One training run: data, models, runner, the method's phases, final evaluation.

`DEFAULTS` is the single list of configuration keys with the paper's values; the command line
(`irecgan.cli.train`) only maps flags onto it. The resolved configuration is written to the run
directory, which is bound to it (see runner.py).
"""

import math
import numbers
import os

import numpy as np

from irecgan.data.dataset import SPLITS, load_dataset
from irecgan.data.splits import ratios_ok
from irecgan.data.vocab import N_SPECIAL
from irecgan.errors import UserError
from irecgan.evaluation import user_fit
from irecgan.evaluation.agent_policy import AgentPolicy
from irecgan.models.discriminator import D_HEADS
from irecgan.models.graph import ModelGraph
from irecgan.models.user import REFERENCE_PURCHASE_WEIGHT
from irecgan.rundir import stopping
from irecgan.rundir.runner import CONFIG, Runner, read_json
from irecgan.sim import online
from irecgan.sim.registry import item_count, load_environment
from irecgan.training.adversarial import D_DATA, SCHEDULES, AdversarialTraining
from irecgan.training.offline import BatchMaker
from irecgan.training.pretrain import agent_task, evaluate, pretrain, user_task
from irecgan.training.true_world import TrueWorldTraining

METHODS = ("lstm", "pg", "irecgan_nod", "irecgan", "irecgan_true")
BASELINES = ("lstm", "pg")
WITH_USER = ("irecgan_nod", "irecgan")   # irecgan_true plans in the true world (true_world.py)

DEFAULTS = dict(
    method="pg",            # lstm | pg | irecgan_nod | irecgan | irecgan_true (a control)
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
    # adversarial training (SPEC 5; irecgan, irecgan_nod and irecgan_true)
    schedule="paper",       # paper (Algorithm 1) | reference (the authors' released loop)
    adv_epochs=10,          # adversarial epochs (reference schedule: rounds)
    g_steps=3,              # generator steps per epoch (paper)
    d_steps=1,              # discriminator steps per epoch (paper)
    d_epochs=3,             # D epochs per d-step and in D pretraining
    d_head="authors",       # D's head: authors (SPEC 3.3) | sequence (sees the lists, ranks,
                            # purchases and positions; not the paper's)
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


# Keys added after run directories existed, with the value that reproduces what those runs did:
# a run directory whose config.json lacks one opens (resumes, evaluates) as if it held it. Only
# keys whose default IS the old behaviour belong here (not, e.g., batch_weighting, whose default
# changed the objective).
ADDED_KEYS = dict(d_head="authors")


def run_config(run_dir):
    """The configuration a run directory was made with (its config.json), with ADDED_KEYS
    filled in where it predates them."""
    config = read_json(os.path.join(run_dir, CONFIG))
    for key, value in ADDED_KEYS.items():
        config.setdefault(key, value)
    return config

# -- validation of the resolved configuration -------------------------------------------------
# `RULES` gives every key of DEFAULTS its rule (type and range); `_check_combinations` the
# combinations that cannot work. A failure is one line naming the flag as the user types it
# (`--key`), the value and what is allowed: a UserError, raised before any data is read, any
# graph built or anything written to the run directory.

INT32_MAX = 2 ** 31 - 1   # sizes, counts and k end up in int32 tensors; TF's thread counts


class _Int(object):
    """An integer in lo..hi (numpy integers too, bools not); `or_zero`: 0 is allowed as well
    (a key whose 0 means "off" or "automatic" and whose smallest other value is lo > 1)."""

    def __init__(self, lo, hi=INT32_MAX, or_zero=False):
        self.lo, self.hi, self.or_zero = lo, hi, or_zero
        self.allowed = "%san integer in %d..%d" % ("0 or " if or_zero else "", lo, hi)

    def __call__(self, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ValueError()
        if not (self.lo <= value <= self.hi or (self.or_zero and value == 0)):
            raise ValueError()
        return int(value)


class _Float(object):
    """A finite number (or a string of one, as offline_ratio="0.1") above `gt` / at least
    `ge`, at most `le`; kept as a float."""

    def __init__(self, gt=None, ge=None, le=None):
        self.gt, self.ge, self.le = gt, ge, le
        if ge is not None and le is not None:
            self.allowed = "a number in [%g, %g]" % (ge, le)
        elif gt is not None:
            self.allowed = "a number > %g" % gt
        else:
            self.allowed = "a number >= %g" % ge

    def __call__(self, value):
        if isinstance(value, bool) or not isinstance(value, (numbers.Real, str)):
            raise ValueError()
        value = float(value)   # ValueError for a string that is no number
        if (not math.isfinite(value) or (self.gt is not None and not value > self.gt)
                or (self.ge is not None and not value >= self.ge)
                or (self.le is not None and not value <= self.le)):
            raise ValueError()
        return value


class _Choice(object):
    def __init__(self, options):
        self.options = tuple(options)
        self.allowed = "one of %s" % ", ".join(self.options)

    def __call__(self, value):
        if not isinstance(value, str) or value not in self.options:
            raise ValueError()
        return value


class _Bool(object):
    allowed = "true or false"

    def __call__(self, value):
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError()
        return bool(value)


class _Str(object):
    """A string (a path); `required`: not empty."""

    def __init__(self, required=False):
        self.required = required
        self.allowed = "a file path" if required else "a file path or empty"

    def __call__(self, value):
        if not isinstance(value, str) or (self.required and not value):
            raise ValueError()
        return value


class _Ratios(object):
    allowed = "three numbers >= 0 summing to 1 (train,valid,test)"

    def __call__(self, value):
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise ValueError()
        ratios = [_Float(ge=0.0)(x) for x in value]
        if not ratios_ok(ratios):
            raise ValueError()
        return ratios


class _PurchaseWeight(object):
    allowed = "reference, auto or a number > 0"

    def __call__(self, value):
        if value in ("reference", "auto"):
            return value
        _Float(gt=0.0)(value)
        return str(value)


RULES = dict(
    method=_Choice(METHODS),
    data=_Str(required=True),
    split=_Choice(SPLITS),
    split_file=_Str(),
    split_ratios=_Ratios(),
    n_items=_Int(0),                # 0: the frequency vocabulary
    symbols=_Int(N_SPECIAL + 1),    # the 4 special tokens and at least one item
    lenient=_Bool(),
    seed=_Int(0),                   # RandomState(seed + 2) and TF's graph seed
    embed_dim=_Int(1),
    hidden=_Int(1),
    layers=_Int(1),
    k=_Int(1),
    batch_size=_Int(1),
    bucket_window=_Int(0),          # 0: plain shuffled batches
    batch_weighting=_Choice(("positions", "batch")),
    agent_epochs=_Int(0),           # 0: no training of that phase
    user_epochs=_Int(0),
    agent_lr=_Float(gt=0.0),
    user_lr=_Float(gt=0.0),
    disc_lr=_Float(gt=0.0),
    clip_norm=_Float(gt=0.0),
    gamma=_Float(ge=0.0, le=1.0),
    lambda_r=_Float(ge=0.0),
    lambda_p=_Float(ge=0.0),
    purchase_weight=_PurchaseWeight(),
    threads=_Int(0),                # 0: TensorFlow's default (a negative count aborts TF)
    schedule=_Choice(SCHEDULES),
    adv_epochs=_Int(0),
    g_steps=_Int(0),                # 0: an epoch without that kind of step
    d_steps=_Int(0),
    d_epochs=_Int(0),
    d_head=_Choice(D_HEADS),
    d_data=_Choice(D_DATA),
    d_heldout_sessions=_Int(0),     # 0: no held-out scoring of D
    gen_sessions=_Int(1),
    d_pretrain_sessions=_Int(0),    # 0: the schedule's default
    offline_ratio=_Float(ge=0.0),
    pool_size=_Int(1),
    n_rollouts=_Int(1),
    max_len=_Int(2, or_zero=True),  # 0: from the mean training length; else >= 2 steps
    env_params=_Str(),
    online_sessions=_Int(1),
    online_seed=_Int(0, 2 ** 32 - 1),   # a RandomState seed
    online_every=_Int(0),           # 0: only at the end
)


def _show(value):
    if isinstance(value, (list, tuple)):
        return ",".join(str(x) for x in value)
    return repr(value)


def validate(config):
    """`config` (every key of DEFAULTS, no other) checked against RULES and the combinations
    that cannot work; returns it with the values normalised (floats, lists, plain ints).
    Raises `UserError` (one line, naming `--key`) at the first bad value. Reads the simulator
    parameter file of env_params (numpy only) for its item count."""
    out = {}
    for key in DEFAULTS:
        rule = RULES[key]
        try:
            out[key] = rule(config[key])
        except (TypeError, ValueError):
            raise UserError("--%s must be %s, got %s" % (key, rule.allowed, _show(config[key])))
    _check_combinations(out)
    return out


def _check_combinations(config):
    k = config["k"]
    if config["method"] == "irecgan_true" and not config["env_params"]:
        raise UserError("--method=irecgan_true needs --env_params (the true simulator answers "
                        "the agent's lists)")
    if config["split"] == "file" and not config["split_file"]:
        raise UserError("--split=file needs --split_file")
    if config["n_items"] and k > config["n_items"]:
        raise UserError("--k must be at most --n_items (%d), got %d" % (config["n_items"], k))
    if not config["n_items"] and k > config["symbols"] - N_SPECIAL:
        raise UserError("--k must be at most the %d items of --symbols=%d (the 4 special tokens "
                        "excluded), got %d" % (config["symbols"] - N_SPECIAL, config["symbols"],
                                               k))
    path = config["env_params"]
    if path:
        try:
            items = item_count(path)
        except UserError as err:
            raise UserError("--env_params: %s" % err)
        if config["n_items"] > items:
            raise UserError("--n_items must be at most the %d items of the simulator of "
                            "--env_params=%s, got %d" % (items, path, config["n_items"]))
        if k > items:
            raise UserError("--k must be at most the %d items of the simulator of "
                            "--env_params=%s, got %d" % (items, path, k))


def resolve(overrides):
    """DEFAULTS updated with `overrides`, validated (see `validate`); unknown keys are an
    error."""
    unknown = sorted(set(overrides) - set(DEFAULTS))
    if unknown:
        raise UserError("unknown configuration keys: %s" % ", ".join(unknown))
    config = dict(DEFAULTS)
    config.update(overrides)
    return validate(config)


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
             "irecgan": ("user", "agent", "discriminator"),
             "irecgan_true": ("agent",)}[config["method"]]
    return ModelGraph(data.vocab.size, embed_dim=config["embed_dim"], hidden=config["hidden"],
                      layers=config["layers"], k=config["k"], purchase_head=data.has_purchase,
                      seed=config["seed"], user_lr=config["user_lr"],
                      agent_lr=config["agent_lr"], disc_lr=config["disc_lr"],
                      clip_norm=config["clip_norm"], lambda_p=config["lambda_p"], build=build,
                      purchase_weight=purchase_weight(config, data), d_head=config["d_head"])


def open_run(run_dir, config, log=None, read_only=False):
    """Data, models and a Runner for `config` (resumes when `run_dir` has a checkpoint;
    `read_only`: only restores, see runner.Runner)."""
    data = load_data(config)
    items = data.vocab.size - N_SPECIAL
    if config["k"] > items:   # a frequency vocabulary smaller than --symbols
        raise UserError("--k must be at most the %d items of the training vocabulary of %s, "
                        "got %d" % (items, config["data"], config["k"]))
    models = build_models(config, data)
    runner = Runner(run_dir, models, config, threads=config["threads"], log=log,
                    read_only=read_only, defaults=ADDED_KEYS)
    batch_maker = BatchMaker(data.vocab.size, gamma=config["gamma"],
                             lambda_r=config["lambda_r"])
    return data, models, runner, batch_maker


class Evaluator(object):
    """Offline (agent P@k, loss) and online (true simulator) evaluation of the current agent;
    U's fit on the test split (irecgan.evaluation.user_fit) when the run has a user model."""

    def __init__(self, runner, models, data, config, batch_maker, log=None):
        self.runner = runner
        self.models = models
        self.data = data
        self.config = config
        self.batch_maker = batch_maker
        self.log = log
        self._truth = None   # the truth's figures on the test steps: computed once (deterministic)
        self._truth_done = False
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

    def user_fit(self):
        """results.json["user_fit"]: U's test P@1 and LL / step beside the truth's (see
        irecgan.evaluation.user_fit); None without a user model or test sessions. Draws no randomness
        but the fixed evaluation RandomState and adds no op to the graph."""
        if self.models.user is None or not self.data.test:
            return None
        if not self._truth_done:
            truth = user_fit.truth_model(self.config["env_params"], self.data)
            self._truth = user_fit.truth_figures(truth, self.data.test,
                                                 self.config["batch_size"], self.batch_maker,
                                                 log=self.log)
            self._truth_done = True
        figures = user_fit.user_figures(self.runner.session, self.models, self.data.test,
                                        self.config["batch_size"], self.batch_maker)
        return user_fit.user_fit(figures, self._truth)

    def user_fit_metrics(self):
        """The metrics.jsonl keys of `user_fit` ({} without a user model)."""
        fit = self.user_fit()
        return {} if fit is None else user_fit.record_keys(fit)

    def user_epoch(self, epoch):
        """After the last epoch of U's pretraining: U's fit (user_fit_metrics)."""
        return self.user_fit_metrics() if epoch == self.config["user_epochs"] else {}

    def adversarial_epoch(self, epoch):
        out = dict(("valid_" + k, v) for k, v in self.offline("valid").items())
        out.update(("online_" + k, v) for k, v in self.online().items())
        out.update(self.user_fit_metrics())
        return out

    def final(self):
        out = {"offline": dict((split, self.offline(split)) for split in ("valid", "test")
                               if getattr(self.data, split))}
        if self.models.user is not None:
            out["user_fit"] = self.user_fit()
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
        evaluator = Evaluator(runner, models, data, config, batch_maker, log=runner.log)
        method = config["method"]
        weighting = "mle" if method == "lstm" else "returns"
        by_position = config["batch_weighting"] == "positions"
        pretrain(runner, agent_task(models, weighting, by_position), data.train, data.valid,
                 config["agent_epochs"], config["batch_size"], batch_maker,
                 seed=config["seed"], phase="agent", show_progress=show_progress,
                 extra_metrics=evaluator.pretrain_epoch, bucket_window=config["bucket_window"])
        if method in WITH_USER:
            pretrain(runner, user_task(models, by_position), data.train, data.valid, config["user_epochs"],
                     config["batch_size"], batch_maker, seed=config["seed"] + 1, phase="user",
                     show_progress=show_progress, bucket_window=config["bucket_window"],
                     extra_metrics=evaluator.user_epoch)
            AdversarialTraining(runner, models, data, batch_maker, config,
                                evaluator.adversarial_epoch,
                                use_disc=(method == "irecgan")).run(seed=config["seed"] + 2)
        elif method == "irecgan_true":
            TrueWorldTraining(runner, models, data, batch_maker, config,
                              evaluator.adversarial_epoch,
                              evaluator.env).run(seed=config["seed"] + 2)
        results = {"method": method, "seed": config["seed"], "data": data.summary(),
                   "purchase_weight": models.config["purchase_weight"]}
        with stopping.anywhere("during the final evaluation: it runs again from the last "
                               "checkpoint (%s)" % runner.state.get("where", "none")):
            results.update(evaluator.final())
        runner.write_results(results)  # and timing.json: the wall time stays out of results
        return results
    finally:
        runner.close()
