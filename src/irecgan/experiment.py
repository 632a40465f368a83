"""One training run: data, models, runner, the method's phases, final evaluation.

The configuration (its keys, defaults, rules and validation) is irecgan.config's; this module
maps a resolved configuration onto the parts of a run, each of which takes explicit arguments.
The resolved configuration is written to the run directory, which is bound to it (see
rundir/runner.py).
"""
import functools
import sys

from irecgan.config import ADDED_KEYS, NOT_PRETRAINING_KEYS, UNBOUND_KEYS, WITH_USER
# docs/API.md's experiment.resolve and experiment.DEFAULTS (they live in irecgan.config)
from irecgan.config import DEFAULTS, resolve  # noqa: F401
from irecgan.data.dataset import load_dataset
from irecgan.data.logfile import read_log
from irecgan.data.vocab import N_SPECIAL
from irecgan.errors import DiskFullError, UserError
from irecgan.evaluation import user_fit
from irecgan.evaluation.agent_policy import AgentPolicy
from irecgan.models.graph import ModelGraph
from irecgan.models.user import REFERENCE_PURCHASE_WEIGHT
from irecgan.rundir import machine, stopping
from irecgan.rundir.pretraincache import PretrainCache
from irecgan.rundir.rundata import DATA, RunData, read_run_data, write_run_data
from irecgan.rundir.runner import Runner
from irecgan.sim import online
from irecgan.sim.registry import load_environment
from irecgan.training import model_value
from irecgan.training.adversarial import AdversarialTraining
from irecgan.training.generation import generation_cap
from irecgan.training.offline import BatchMaker
from irecgan.training import shared_pretrain
from irecgan.training.pretrain import agent_task, evaluate, pretrain, user_task
from irecgan.training.true_world import TrueWorldTraining


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


# the models each method builds, in build order (which fixes their initial values)
BUILDS = {"lstm": ("agent",), "pg": ("agent",), "irecgan_nod": ("user", "agent"),
          "irecgan": ("user", "agent", "discriminator"), "irecgan_true": ("agent",)}


def build_models(config, data):
    build = BUILDS[config["method"]]
    return ModelGraph(data.vocab.size, embed_dim=config["embed_dim"], hidden=config["hidden"],
                      layers=config["layers"], k=config["k"], purchase_head=data.has_purchase,
                      seed=config["seed"], user_lr=config["user_lr"],
                      agent_lr=config["agent_lr"], disc_lr=config["disc_lr"],
                      clip_norm=config["clip_norm"], lambda_p=config["lambda_p"], build=build,
                      purchase_weight=purchase_weight(config, data), d_head=config["d_head"],
                      agent_options=agent_options(config),
                      fused_lstm=config.get("fused_lstm", False))


def agent_options(config):
    """The Agent's objective arguments (models.objectives) from `config`; none for the paper's
    objective at temperature 1, which builds today's graph."""
    if config["agent_objective"] == "paper" and config["gen_temperature"] == 1.0:
        return None
    return dict(objective=config["agent_objective"],
                normalize_advantage=config["normalize_advantage"],
                propensity=config["topk_propensity"], weight_cap=config["topk_weight_cap"],
                aux_lr=config["aux_lr"], gen_temperature=config["gen_temperature"],
                logged_term=config["logged_term"], own_clicks=config["own_clicks"])


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
                    read_only=read_only, defaults=ADDED_KEYS,
                    unbound=UNBOUND_KEYS)
    if not read_only:
        write_run_data(run_dir, data)   # what export / evaluate --data read without the log
    return data, models, runner, batch_maker_of(config, data)


def batch_maker_of(config, data):
    """The BatchMaker of a run (`data`: a Dataset or a RunData)."""
    return BatchMaker(data.vocab.size, gamma=config["gamma"], lambda_r=config["lambda_r"])


def run_data(run_dir, config, log=None):
    """The vocabulary and data facts a run's models are built from (`rundir.rundata.RunData`):
    RUN/data.json, or, in a run directory made before runs kept it, rebuilt from the run's log
    as training built them (one line says so)."""
    facts = read_run_data(run_dir)
    if facts is None:
        (log or (lambda msg: sys.stderr.write(msg + "\n")))(
            "note: %s has no %s (made before run directories kept their vocabulary): "
            "rebuilt from %s" % (run_dir, DATA, config["data"]))
        facts = RunData.of(load_data(config))
    return facts


def open_model(run_dir, config, log=None):
    """The models and a read-only Runner of a trained run, from its run directory alone
    (run_data: no log is read when it has data.json). Returns (run data, models, runner,
    batch maker), as open_run."""
    facts = run_data(run_dir, config, log)
    models = build_models(config, facts)
    runner = Runner(run_dir, models, config, threads=config["threads"], log=log,
                    read_only=True, defaults=ADDED_KEYS,
                    unbound=UNBOUND_KEYS)
    return facts, models, runner, batch_maker_of(config, facts)


def evaluate_log(run_dir, config, path):
    """Offline P@k of the run's newest checkpoint on every session of the log at `path`, encoded
    with the run's vocabulary; the run's own log is not read (open_model)."""
    sessions, _ = read_log(path, lenient=config["lenient"])
    if not sessions:
        raise UserError("%s: no session of 2..40 steps" % path)
    facts, models, runner, batch_maker = open_model(run_dir, config)
    try:
        if not runner.resumed:
            raise UserError("%s has no complete checkpoint to evaluate" % run_dir)
        metrics = evaluate(runner.session, agent_task(models, "mle"),
                           facts.vocab.encode_sessions(sessions), config["batch_size"],
                           batch_maker)
        metrics.update(data=path, sessions=len(sessions), checkpoint=runner.state.get("where"))
        return metrics
    finally:
        runner.close()


def model_value_of(runner, models, data, config):
    """`training.model_value.model_value`'s figures for a run's restored agent and U: its
    sampled lists answered by U and by the run's simulator (config env_params), at the
    adversarial phase's length cap, with the online evaluation's number of sessions and seed;
    and "fit": U's next-click fit beside the truth's (`user_fit.user_fit`, as results.json's
    "user_fit") on the simulator's sessions of those lists with a click after the start."""
    if models.user is None:
        raise UserError("method %s has no user model" % config["method"])
    if not config["env_params"]:
        raise UserError("%s has no simulator (env_params): nothing to compare U with"
                        % config["data"])
    figures, sessions = model_value.model_value(
        models, runner.session, data, load_environment(config["env_params"]),
        generation_cap(config["max_len"], data), config["online_sessions"],
        config["online_seed"], temperature=models.agent.gen_temperature)
    sessions = [s for s in sessions if len(s.clicks) >= 2]   # a next click to predict
    batch_maker = batch_maker_of(config, data)
    truth = user_fit.truth_model(config["env_params"], data)
    figures["fit"] = user_fit.user_fit(
        user_fit.user_figures(runner.session, models, sessions, config["batch_size"],
                              batch_maker),
        user_fit.truth_figures(truth, sessions, config["batch_size"], batch_maker))
    return figures


def evaluator(runner, models, data, config, batch_maker, log=None):
    """The run's Evaluator, with its configuration keys from `config`."""
    return Evaluator(runner, models, data, batch_maker, batch_size=config["batch_size"],
                     env_params=config["env_params"], online_sessions=config["online_sessions"],
                     online_seed=config["online_seed"], online_every=config["online_every"],
                     user_epochs=config["user_epochs"], log=log)


# the configuration keys AdversarialTraining takes under their own names
ADVERSARIAL_KEYS = ("schedule", "adv_epochs", "g_steps", "d_steps", "d_epochs", "d_data",
                    "gen_sessions", "d_pretrain_sessions", "d_heldout_sessions", "offline_ratio",
                    "pool_size", "n_rollouts", "max_len", "batch_size", "bucket_window",
                    "d_bucket_window", "agent_q_d")


def adversarial_settings(config):
    """AdversarialTraining's (and TrueWorldTraining's) keyword-only arguments from `config`:
    the one place that maps the configuration onto the adversarial phase."""
    settings = dict((key, config[key]) for key in ADVERSARIAL_KEYS)
    settings.update(position_weighted=config["batch_weighting"] == "positions",
                    heldout_seed=config["seed"])
    return settings


class Evaluator(object):
    """Offline (agent P@k, loss) and online (true simulator) evaluation of the current agent;
    U's fit on the test split (irecgan.evaluation.user_fit) when the run has a user model."""

    def __init__(self, runner, models, data, batch_maker, batch_size, env_params,
                 online_sessions, online_seed, online_every, user_epochs, log=None):
        """The arguments after batch_maker are the configuration keys of the same names
        (irecgan.config): env_params "" means no online evaluation and no truth in U's fit."""
        self.runner = runner
        self.models = models
        self.data = data
        self.batch_maker = batch_maker
        self.batch_size = batch_size
        self.env_params = env_params
        self.online_sessions = online_sessions
        self.online_seed = online_seed
        self.online_every = online_every
        self.user_epochs = user_epochs
        self.log = log
        self._truth = None   # the truth's figures on the test steps: computed once (deterministic)
        self._truth_done = False
        self.env = load_environment(env_params) if env_params else None
        self.policy = AgentPolicy(models, runner.session, data.vocab) if self.env else None
        # the authors' online figure: the agent's Gumbel-sampled lists (final evaluation only)
        self.sampled = (AgentPolicy(models, runner.session, data.vocab, sample=True,
                                    seed=online_seed) if self.env else None)

    def offline(self, split):
        sessions = getattr(self.data, split)
        if not sessions:
            return {}
        return evaluate(self.runner.session, agent_task(self.models, "mle"), sessions,
                        self.batch_size, self.batch_maker)

    def online(self):
        if self.env is None:
            return {}
        return online.evaluate(self.env, self.policy, n_sessions=self.online_sessions,
                               seed=self.online_seed)

    def pretrain_epoch(self, epoch):
        every = self.online_every
        if self.env is None or every <= 0 or epoch % every:
            return {}
        return dict(("online_" + k, v) for k, v in self.online().items())

    def user_fit(self):
        """results.json["user_fit"]: U's test P@1 and LL / step beside the truth's (see
        irecgan.evaluation.user_fit); None without a user model or test sessions. Draws no
        randomness but the fixed evaluation RandomState and adds no op to the graph."""
        if self.models.user is None or not self.data.test:
            return None
        if not self._truth_done:
            truth = user_fit.truth_model(self.env_params, self.data)
            self._truth = user_fit.truth_figures(truth, self.data.test,
                                                 self.batch_size, self.batch_maker,
                                                 log=self.log)
            self._truth_done = True
        figures = user_fit.user_figures(self.runner.session, self.models, self.data.test,
                                        self.batch_size, self.batch_maker)
        return user_fit.user_fit(figures, self._truth)

    def user_fit_metrics(self):
        """The metrics.jsonl keys of `user_fit` ({} without a user model)."""
        fit = self.user_fit()
        return {} if fit is None else user_fit.record_keys(fit)

    def user_epoch(self, epoch):
        """After the last epoch of U's pretraining: U's fit (user_fit_metrics)."""
        return self.user_fit_metrics() if epoch == self.user_epochs else {}

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
                self.env, self.sampled, n_sessions=self.online_sessions,
                seed=self.online_seed)
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
        evaluation = evaluator(runner, models, data, config, batch_maker, log=runner.log)
        method = config["method"]
        pretrain_phases = functools.partial(_pretrain, runner, models, data, config,
                                            batch_maker, evaluation, show_progress)
        if config["pretrain_cache"]:
            _pretrain_shared(runner, models, config, pretrain_phases)
        else:
            pretrain_phases()
        if method in WITH_USER:
            AdversarialTraining(runner, models, data, batch_maker, evaluation.adversarial_epoch,
                                use_disc=(method == "irecgan"),
                                **adversarial_settings(config)).run(seed=config["seed"] + 2)
        elif method == "irecgan_true":
            TrueWorldTraining(runner, models, data, batch_maker, evaluation.adversarial_epoch,
                              evaluation.env,
                              **adversarial_settings(config)).run(seed=config["seed"] + 2)
        results = {"method": method, "seed": config["seed"], "data": data.summary(),
                   "purchase_weight": models.config["purchase_weight"]}
        with stopping.anywhere("during the final evaluation: it runs again from the last "
                               "checkpoint (%s)" % runner.state.get("where", "none")):
            results.update(evaluation.final())
        results["machine"] = machine.describe()  # the stack and how its CPU rounds
        runner.write_results(results)  # and timing.json: the wall time stays out of results
        return results
    finally:
        runner.close()


def _pretrain(runner, models, data, config, batch_maker, evaluation, show_progress):
    """The pretraining phases of the method: the agent (MLE for lstm, returns otherwise), then U
    for irecgan_nod and irecgan."""
    method = config["method"]
    weighting = "mle" if method == "lstm" else "returns"
    by_position = config["batch_weighting"] == "positions"
    pretrain(runner, agent_task(models, weighting, by_position), data.train, data.valid,
             config["agent_epochs"], config["batch_size"], batch_maker,
             seed=config["seed"], phase="agent", show_progress=show_progress,
             extra_metrics=evaluation.pretrain_epoch, bucket_window=config["bucket_window"])
    if method in WITH_USER:
        pretrain(runner, user_task(models, by_position), data.train, data.valid,
                 config["user_epochs"], config["batch_size"], batch_maker,
                 seed=config["seed"] + 1, phase="user", show_progress=show_progress,
                 bucket_window=config["bucket_window"], extra_metrics=evaluation.user_epoch)


def pretraining_material(config):
    """What a method's pretraining reads, as shared_pretrain.key_of hashes it: what it does (the
    agent's weighting, the models built before D, the phases), every configuration key but
    NOT_PRETRAINING_KEYS (file paths replaced by the files' SHA-256), the code and the stack."""
    method = config["method"]
    paths = ("data", "split_file", "env_params")
    kind = {"weighting": "mle" if method == "lstm" else "returns",
            "models": [s for s in BUILDS[method] if s != "discriminator"],
            "phases": ["agent", "user"] if method in WITH_USER else ["agent"]}
    keys = dict((k, "" if k in paths else v) for k, v in config.items()
                if k not in NOT_PRETRAINING_KEYS)
    return {"format": shared_pretrain.FORMAT, "kind": kind, "config": keys,
            "files": dict((k, shared_pretrain.file_sha256(config[k])) for k in paths),
            "code": shared_pretrain.code_digest(), "machine": dict(machine.describe())}


def _pretrain_shared(runner, models, config, pretrain_phases):
    """`pretrain_phases()` through the cache at config["pretrain_cache"]: a fresh run restores a
    stored pretraining of the same key; one that trains stores its outcome when it ends with
    nothing but pretraining done (a run resumed after its pretraining stores nothing)."""
    epochs = config["agent_epochs"] + (config["user_epochs"]
                                       if config["method"] in WITH_USER else 0)
    if epochs == 0:
        return pretrain_phases()
    material = pretraining_material(config)
    key = shared_pretrain.key_of(material)
    cache = PretrainCache(config["pretrain_cache"], log=runner.log)
    if not runner.resumed and runner.state.get("n_metrics", 0) == 0:
        payload = cache.load(key)
        problem = payload and shared_pretrain.mismatch(payload, models)
        if payload is not None and problem is None:
            where = shared_pretrain.restore(runner, models, payload)
            runner.log("pretraining (%s) restored from %s" % (where, cache.path(key)))
            return
        if problem:
            runner.log("pretraining cache %s not used: %s" % (cache.path(key), problem))
    pretrain_phases()
    if (shared_pretrain.pretraining_state(runner.state)
            and runner.state.get("n_metrics") == epochs):
        try:
            if cache.store(key, material, shared_pretrain.capture(runner, models)):
                runner.log("pretraining stored in %s" % cache.path(key))
        except (OSError, DiskFullError) as err:   # the run goes on; only the sharing is lost
            runner.log("pretraining not stored in %s: %s" % (cache.path(key), err))
