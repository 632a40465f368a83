"""The configuration of a training run: one table (`TABLE`) in which every key is written once,
with its default (the paper's value), its rule and the help text of its `irecgan-train` flag.

Everything else is derived from the table: `DEFAULTS` (the keys in the table's order, which is
the order of config.json), `RULES`, the command line's flags (`irecgan.cli.train`) and
`resolve`, which validates a configuration before any data is read, any graph built or
anything written to the run directory. A failure is one line naming the flag as the user types
it (`--key`), the value and what is allowed: a UserError.
"""
import math
import numbers
import os

import numpy as np

from irecgan.data.dataset import SPLITS
from irecgan.data.splits import ratios_ok
from irecgan.data.vocab import N_SPECIAL
from irecgan.errors import UserError
from irecgan.models.discriminator import D_HEADS
from irecgan.models.objectives import (LOGGED_TERMS, OBJECTIVES, OWN_CLICKS, PROPENSITIES,
                                       option_conflict)
from irecgan.rundir.runner import CONFIG, read_json
from irecgan.sim.registry import item_count
from irecgan.training.adversarial import D_DATA, SCHEDULES

METHODS = ("lstm", "pg", "irecgan_nod", "irecgan", "irecgan_true")
BASELINES = ("lstm", "pg")
WITH_USER = ("irecgan_nod", "irecgan")   # irecgan_true plans in the true world (true_world.py)

INT32_MAX = 2 ** 31 - 1   # sizes, counts and k end up in int32 tensors; TF's thread counts


# -- rules: a rule returns the value normalised or raises ValueError; `allowed` says what it
# accepts (for the error line), `flag` which kind of command-line flag carries the key ---------

class Int(object):
    """An integer in lo..hi (numpy integers too, bools not); `or_zero`: 0 is allowed as well
    (a key whose 0 means "off" or "automatic" and whose smallest other value is lo > 1)."""

    flag = "integer"

    def __init__(self, lo, hi=INT32_MAX, or_zero=False):
        self.lo, self.hi, self.or_zero = lo, hi, or_zero
        self.allowed = "%san integer in %d..%d" % ("0 or " if or_zero else "", lo, hi)

    def __call__(self, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ValueError()
        if not (self.lo <= value <= self.hi or (self.or_zero and value == 0)):
            raise ValueError()
        return int(value)


class Float(object):
    """A finite number (or a string of one, as offline_ratio="0.1") above `gt` / at least
    `ge`, at most `le`; kept as a float."""

    flag = "float"

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


class Choice(object):
    """One of `options` (a string); on the command line an enum flag."""

    flag = "enum"

    def __init__(self, options):
        self.options = tuple(options)
        self.allowed = "one of %s" % ", ".join(self.options)

    def __call__(self, value):
        if not isinstance(value, str) or value not in self.options:
            raise ValueError()
        return value


class Bool(object):
    """True or False (numpy bools too)."""

    flag = "boolean"
    allowed = "true or false"

    def __call__(self, value):
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError()
        return bool(value)


class Str(object):
    """A string (a path); `required`: not empty (and the flag has no default)."""

    flag = "string"

    def __init__(self, required=False):
        self.required = required
        self.allowed = "a file path" if required else "a file path or empty"

    def __call__(self, value):
        if not isinstance(value, str) or (self.required and not value):
            raise ValueError()
        return value


class Ratios(object):
    """Three fractions summing to 1 (train, valid, test); a list of floats. On the command
    line a comma-separated list."""

    flag = "list"
    allowed = "three numbers >= 0 summing to 1 (train,valid,test)"

    def __call__(self, value):
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise ValueError()
        ratios = [Float(ge=0.0)(x) for x in value]
        if not ratios_ok(ratios):
            raise ValueError()
        return ratios


class PurchaseWeight(object):
    """reference, auto or a positive number (kept as the string it was given as)."""

    flag = "string"
    allowed = "reference, auto or a number > 0"

    def __call__(self, value):
        if value in ("reference", "auto"):
            return value
        Float(gt=0.0)(value)
        return str(value)


class Key(object):
    """One configuration key: its name, default, rule and the help text of its flag."""

    def __init__(self, name, default, rule, help):
        self.name = name
        self.default = default
        self.rule = rule
        self.help = help


# -- the table: every key once, in the order of config.json ----------------------------------
TABLE = (
    Key("method", "pg", Choice(METHODS),
        "lstm: next-click MLE; pg: return-weighted REINFORCE on offline data; "
        "irecgan_nod: model-based training with the user model, q_D = 1; "
        "irecgan: the full method; irecgan_true (a control): irecgan_nod's training "
        "with the true simulator of --env_params in place of the user model."),
    Key("data", "", Str(required=True),   # processed log (SPEC 2.1)
        "Processed log (session_id;state;click;rec_list;purchase)."),
    Key("split", "fold", Choice(SPLITS),
        "fold: seeded 38/1/1 of 40 folds; ratio: --split_ratios; file: --split_file."),
    Key("split_file", "", Str(),
        "Lines 'session_id;train|valid|test' (--split=file)."),
    Key("split_ratios", (0.8, 0.1, 0.1), Ratios(),
        "train,valid,test fractions for --split=ratio."),
    Key("n_items", 0, Int(0),   # 0: the frequency vocabulary
        "> 0: simulator items 0..n_items-1 in numeric order; 0: frequency vocab."),
    Key("symbols", 40000, Int(N_SPECIAL + 1),   # the 4 special tokens and at least one item
        "Vocabulary size incl. 4 special tokens."),
    Key("lenient", False, Bool(),
        "Skip and count malformed log lines."),
    Key("seed", 0, Int(0),   # RandomState(seed + 2) and TF's graph seed
        "Seed of the split, the initialisation and the batches."),
    Key("embed_dim", 50, Int(1),
        "Item embedding size."),
    Key("hidden", 512, Int(1),
        "LSTM units per layer."),
    Key("layers", 2, Int(1),
        "LSTM layers."),
    Key("k", 10, Int(1),
        "Items recommended per step."),
    Key("batch_size", 32, Int(1),
        "Sessions per batch."),
    Key("bucket_window", 20, Int(0),   # see data.batching.iterate_batches
        "Length bucketing: sort windows of this many batches by session length "
        "before cutting batches, then shuffle the batches (0: off)."),
    Key("batch_weighting", "positions", Choice(("positions", "batch")),
        "positions: scale each training batch's loss by its positions over the mean "
        "per batch (every position weighs the same under bucketing); batch: every "
        "batch weighs the same."),
    Key("agent_epochs", 50, Int(0),   # 0: no training of that phase
        "Epochs of agent training (pretraining)."),
    Key("user_epochs", 50, Int(0),
        "Epochs of user-model pretraining."),
    Key("agent_lr", 1e-4, Float(gt=0.0),
        "Agent learning rate (Adam)."),
    Key("user_lr", 5e-4, Float(gt=0.0),
        "User-model learning rate (Adam)."),
    Key("disc_lr", 1e-4, Float(gt=0.0),
        "Discriminator learning rate (Adam)."),
    Key("clip_norm", 5.0, Float(gt=0.0),
        "Global gradient-norm clip."),
    Key("gamma", 0.9, Float(ge=0.0, le=1.0),
        "Discount of the return R_t."),
    Key("lambda_r", 3.0, Float(ge=0.0),
        "Reward bonus of a purchase: r = 1 + lambda_r * p."),
    Key("lambda_p", 1.0, Float(ge=0.0),
        "Weight of the purchase NLL in U's adversarial loss."),
    Key("purchase_weight", "reference", PurchaseWeight(),
        "Weight of a purchase label in U's purchase cross-entropy: reference (2^5.3 "
        "~ 39, the authors'), auto ((1 - p) / p, p the log's purchase rate) or a number."),
    Key("threads", 0, Int(0),   # a negative count aborts TF
        "TensorFlow threads (0: TensorFlow's default)."),
    Key("fused_lstm", False, Bool(),   # issue 33, models.common.SequenceEncoder
        "Whole-session LSTMs as fused BlockLSTM ops: faster; other last bits."),
    # the agent's objective (issue 34, docs/OBJECTIVES.md; pg, irecgan_nod, irecgan, irecgan_true)
    Key("agent_objective", "paper", Choice(OBJECTIVES),
        "The agent's loss. paper: R_t * -log pi(click) (SPEC 3.2); advantage: (R_t - V(s_t)) "
        "with a value head V; slate: on the agent's own sessions the advantage times the "
        "Plackett-Luce log-probability of each shown list, advantage on logged ones; "
        "topk_correction: Chen et al.'s lambda_K and capped importance weight."),
    Key("normalize_advantage", False, Bool(),
        "advantage / slate: normalise the advantages per batch (zero mean, unit std)."),
    Key("topk_propensity", "estimated", Choice(PROPENSITIES),
        "topk_correction's logging propensity beta of a clicked item: estimated (a behaviour "
        "head fitted to the logged lists) or uniform (1 / items: uniformly random logged "
        "lists, the simulators' random logging policy)."),
    Key("topk_weight_cap", 10.0, Float(gt=0.0),
        "topk_correction: the cap of the importance weight pi / beta."),
    Key("logged_term", "objective", Choice(LOGGED_TERMS),
        "advantage / slate: logged sessions' click term: the advantage or the paper's R_t."),
    Key("own_clicks", "none", Choice(OWN_CLICKS),
        "slate: own sessions carry the list term only (none) or also the paper's click term."),
    Key("aux_lr", 1e-3, Float(gt=0.0),
        "Learning rate (Adam) of the objective's value / behaviour head."),
    Key("gen_temperature", 1.0, Float(gt=0.0),
        "Temperature of the agent's sampled lists in generation (U's or the true "
        "simulator's sessions): Gumbel top-k of log pi / T."),
    # adversarial training (SPEC 5; irecgan, irecgan_nod and irecgan_true)
    Key("schedule", "paper", Choice(SCHEDULES),
        "paper: Algorithm 1; reference: the authors' released training loop."),
    Key("adv_epochs", 10, Int(0),
        "Adversarial epochs (reference: rounds)."),
    Key("g_steps", 3, Int(0),   # 0: an epoch without that kind of step
        "Generator steps per adversarial epoch (paper)."),
    Key("d_steps", 1, Int(0),
        "Discriminator steps per adversarial epoch (paper)."),
    Key("d_epochs", 3, Int(0),
        "D epochs per d-step and in D pretraining."),
    Key("d_head", "authors", Choice(D_HEADS),
        "D's head. authors: the paper's (SPEC 3.3); sequence: an LSTM over clicks, purchases, "
        "positions whose per-step term also reads the shown list, the click's rank."),
    Key("d_data", "authors", Choice(D_DATA),
        "D's training data per D epoch. authors: every offline training session once, "
        "in batches of batch_size real + batch_size generated sessions from the "
        "generated pool; m: m fresh generated vs m offline sessions (Algorithm 1)."),
    Key("d_bucket_window", 0, Int(0),   # issue 33: data.batching.length_bucketed_pairs
        "d_data=authors: pair reals and generated sorted by length per N batches (0: off)."),
    Key("agent_q_d", True, Bool(),   # issue 32's ablation; False: D trains U only
        "irecgan: the agent's returns on generated sessions carry D's q_D (the paper); "
        "false: they do not (D still rewards U)."),
    Key("d_heldout_sessions", 1000, Int(0),   # 0: no held-out scoring of D
        "Validation sessions (vs as many generated) for D's held-out accuracy/AUC."),
    Key("gen_sessions", 200, Int(1),
        "m: sessions generated per step."),
    Key("d_pretrain_sessions", 0, Int(0),
        "Sessions generated for D pretraining (0: the authors' 1000 in the "
        "reference schedule or with --d_data=authors; m with --d_data=m)."),
    Key("offline_ratio", 10.0, Float(ge=0.0),
        "lambda_2/lambda_1: offline sessions per generated one in the agent updates "
        "of the paper schedule (0.1: ten generated per offline one)."),
    Key("pool_size", 6000, Int(1),
        "Most generated sessions kept in the pool (reference schedule's agent "
        "epochs; D's generated data with --d_data=authors)."),
    Key("n_rollouts", 5, Int(1),
        "N: Monte-Carlo rollouts per prefix."),
    Key("max_len", 0, Int(2, or_zero=True),   # else at least 2 steps
        "Longest generated session (0: 2 * floor(mean training length))."),
    # online evaluation against the true simulator (SPEC 7)
    Key("env_params", "", Str(),
        "Simulator parameters (.npz of irecgan-simulate) for online evaluation."),
    Key("online_sessions", 1000, Int(1),
        "Sessions per online evaluation."),
    Key("online_seed", 0, Int(0, 2 ** 32 - 1),   # a RandomState seed
        "Simulator seed of online evaluation."),
    Key("online_every", 1, Int(0),
        "Online evaluation every N agent-pretraining epochs (0: only at the end)."),
    Key("pretrain_cache", "", Str(),   # issue 33, training/shared_pretrain.py
        "Directory of finished pretraining phases shared between runs ('': off): a run whose "
        "pretraining inputs (data, seed, sizes, rates, code, stack) match a stored one's "
        "restores it (irecgan_nod/irecgan share A and U, pg/irecgan_true A); same bytes."),
)

DEFAULTS = dict((key.name, key.default) for key in TABLE)

# Keys the pretraining phases (agent, U) do not read and that build nothing before the agent and
# U in the graph: a shared pretraining's key leaves them out (training/shared_pretrain.py; the
# method is replaced by what its pretraining does). Every other key is part of the key.
NOT_PRETRAINING_KEYS = ("method", "pretrain_cache", "disc_lr", "schedule", "adv_epochs", "g_steps",
                        "d_steps", "d_epochs", "d_head", "d_data", "d_heldout_sessions",
                        "gen_sessions", "d_pretrain_sessions", "offline_ratio", "pool_size",
                        "n_rollouts", "max_len", "d_bucket_window", "agent_q_d")
RULES = dict((key.name, key.rule) for key in TABLE)

# Keys added after run directories existed, with the value that reproduces what those runs did:
# a run directory whose config.json lacks one opens (resumes, evaluates) as if it held it. Only
# keys whose default IS the old behaviour belong here (not batch_weighting: its default changed).
ADDED_KEYS = dict(d_head="authors", agent_objective="paper", normalize_advantage=False,
                  topk_propensity="estimated", topk_weight_cap=10.0, aux_lr=1e-3,
                  gen_temperature=1.0, pretrain_cache="", logged_term="objective",
                  own_clicks="none", fused_lstm=False, d_bucket_window=0, agent_q_d=True)
# Keys that change no number a run writes: a run directory is not bound to them (config_diff).
UNBOUND_KEYS = ("pretrain_cache",)


def run_config(run_dir):
    """The configuration a run directory was made with (its config.json), with ADDED_KEYS
    filled in where it predates them."""
    config = read_json(os.path.join(run_dir, CONFIG))   # its keys first, in their order
    return dict(config, **dict((k, v) for k, v in ADDED_KEYS.items() if k not in config))


def show(value):
    """A value as an error line shows it: a list comma-separated, anything else its repr."""
    return ",".join(str(x) for x in value) if isinstance(value, (list, tuple)) else repr(value)


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
            raise UserError("--%s must be %s, got %s" % (key, rule.allowed, show(config[key])))
    check_combinations(out)
    return out


def check_combinations(config):
    """UserError for the first combination of valid values that cannot work together."""
    k = config["k"]
    if config["method"] == "irecgan_true" and not config["env_params"]:
        raise UserError("--method=irecgan_true needs --env_params (the true simulator answers "
                        "the agent's lists)")
    if config["method"] == "lstm" and config["agent_objective"] != "paper":
        raise UserError("--agent_objective=%s needs returns: --method=lstm trains by MLE "
                        "(use pg, irecgan_nod, irecgan or irecgan_true)"
                        % config["agent_objective"])
    conflict = option_conflict(config["agent_objective"], config)
    if conflict:
        raise UserError("--%s=%s needs --agent_objective=%s, got %s"
                        % (conflict + (config["agent_objective"],)))
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
