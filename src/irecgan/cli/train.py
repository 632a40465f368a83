"""irecgan-train: train one method on a processed log into a run directory.

    irecgan-train --method=pg --data=runs/sim/random.log --n_items=50 --run_dir=runs/pg_s1 --seed=1
    irecgan-train --flagfile=configs/cpu.cfg --method=lstm --data=... --run_dir=...

Restarting the same command resumes from the run directory's newest complete checkpoint.
"""
from absl import flags

from irecgan import experiment
from irecgan.cli.common import guarded, run_cli

D = experiment.DEFAULTS
FLAGS = flags.FLAGS

flags.DEFINE_enum("method", D["method"], list(experiment.METHODS),
                  "lstm: next-click MLE; pg: return-weighted REINFORCE on offline data; "
                  "irecgan_nod: model-based training with the user model, q_D = 1; "
                  "irecgan: the full method; irecgan_true (a control): irecgan_nod's training "
                  "with the true simulator of --env_params in place of the user model.")
flags.DEFINE_string("data", None, "Processed log (session_id;state;click;rec_list;purchase).")
flags.DEFINE_string("run_dir", None, "Run directory (config, metrics, checkpoints, results).")
flags.DEFINE_enum("split", D["split"], ["fold", "ratio", "file"],
                  "fold: seeded 38/1/1 of 40 folds; ratio: --split_ratios; file: --split_file.")
flags.DEFINE_string("split_file", "", "Lines 'session_id;train|valid|test' (--split=file).")
flags.DEFINE_list("split_ratios", [str(x) for x in D["split_ratios"]],
                  "train,valid,test fractions for --split=ratio.")
flags.DEFINE_integer("n_items", D["n_items"],
                     "> 0: simulator items 0..n_items-1 in numeric order; 0: frequency vocab.")
flags.DEFINE_integer("symbols", D["symbols"], "Vocabulary size incl. 4 special tokens.")
flags.DEFINE_boolean("lenient", D["lenient"], "Skip and count malformed log lines.")
flags.DEFINE_integer("seed", D["seed"], "Seed of the split, the initialisation and the batches.")
flags.DEFINE_integer("embed_dim", D["embed_dim"], "Item embedding size.")
flags.DEFINE_integer("hidden", D["hidden"], "LSTM units per layer.")
flags.DEFINE_integer("layers", D["layers"], "LSTM layers.")
flags.DEFINE_integer("k", D["k"], "Items recommended per step.")
flags.DEFINE_integer("batch_size", D["batch_size"], "Sessions per batch.")
flags.DEFINE_integer("bucket_window", D["bucket_window"],
                     "Length bucketing: sort windows of this many batches by session length "
                     "before cutting batches, then shuffle the batches (0: off).")
flags.DEFINE_enum("batch_weighting", D["batch_weighting"], ["positions", "batch"],
                  "positions: scale each training batch's loss by its positions over the mean "
                  "per batch (every position weighs the same under bucketing); batch: every "
                  "batch weighs the same.")
flags.DEFINE_integer("agent_epochs", D["agent_epochs"], "Epochs of agent training (pretraining).")
flags.DEFINE_integer("user_epochs", D["user_epochs"], "Epochs of user-model pretraining.")
flags.DEFINE_float("agent_lr", D["agent_lr"], "Agent learning rate (Adam).")
flags.DEFINE_float("user_lr", D["user_lr"], "User-model learning rate (Adam).")
flags.DEFINE_float("disc_lr", D["disc_lr"], "Discriminator learning rate (Adam).")
flags.DEFINE_float("clip_norm", D["clip_norm"], "Global gradient-norm clip.")
flags.DEFINE_float("gamma", D["gamma"], "Discount of the return R_t.")
flags.DEFINE_float("lambda_r", D["lambda_r"], "Reward bonus of a purchase: r = 1 + lambda_r * p.")
flags.DEFINE_float("lambda_p", D["lambda_p"], "Weight of the purchase NLL in U's adversarial loss.")
flags.DEFINE_string("purchase_weight", D["purchase_weight"],
                    "Weight of a purchase label in the user model's purchase cross-entropy: "
                    "reference (2^5.3 ~ 39, the authors'), auto ((1 - p) / p for the training "
                    "log's purchase rate p) or a positive number.")
flags.DEFINE_integer("threads", D["threads"], "TensorFlow threads (0: TensorFlow's default).")
flags.DEFINE_enum("schedule", D["schedule"], ["paper", "reference"],
                  "paper: Algorithm 1; reference: the authors' released training loop.")
flags.DEFINE_integer("adv_epochs", D["adv_epochs"], "Adversarial epochs (reference: rounds).")
flags.DEFINE_integer("g_steps", D["g_steps"], "Generator steps per adversarial epoch (paper).")
flags.DEFINE_integer("d_steps", D["d_steps"], "Discriminator steps per adversarial epoch (paper).")
flags.DEFINE_integer("d_epochs", D["d_epochs"], "D epochs per d-step and in D pretraining.")
flags.DEFINE_enum("d_head", D["d_head"], list(experiment.D_HEADS),
                  "The discriminator's head. authors: the paper's (SPEC 3.3); sequence: an LSTM "
                  "over clicks, purchases and positions whose per-step term also reads the "
                  "shown list and the clicked item's rank (not the paper's).")
flags.DEFINE_enum("d_data", D["d_data"], ["authors", "m"],
                  "D's training data per D epoch. authors: every offline training session once, "
                  "in batches of batch_size real + batch_size generated sessions from the "
                  "generated pool; m: m fresh generated vs m offline sessions (Algorithm 1).")
flags.DEFINE_integer("d_heldout_sessions", D["d_heldout_sessions"],
                     "Validation sessions (vs as many generated) for D's held-out accuracy/AUC.")
flags.DEFINE_integer("gen_sessions", D["gen_sessions"], "m: sessions generated per step.")
flags.DEFINE_integer("d_pretrain_sessions", D["d_pretrain_sessions"],
                     "Sessions generated for D pretraining (0: the authors' 1000 in the "
                     "reference schedule or with --d_data=authors; m with --d_data=m).")
flags.DEFINE_float("offline_ratio", D["offline_ratio"],
                   "lambda_2/lambda_1: offline sessions per generated one in the agent updates "
                   "of the paper schedule (0.1: ten generated per offline one).")
flags.DEFINE_integer("pool_size", D["pool_size"],
                     "Most generated sessions kept in the pool (reference schedule's agent "
                     "epochs; D's generated data with --d_data=authors).")
flags.DEFINE_integer("n_rollouts", D["n_rollouts"], "N: Monte-Carlo rollouts per prefix.")
flags.DEFINE_integer("max_len", D["max_len"],
                     "Longest generated session (0: 2 * floor(mean training length)).")
flags.DEFINE_string("env_params", D["env_params"],
                    "Simulator parameters (.npz of irecgan-simulate) for online evaluation.")
flags.DEFINE_integer("online_sessions", D["online_sessions"], "Sessions per online evaluation.")
flags.DEFINE_integer("online_seed", D["online_seed"], "Simulator seed of online evaluation.")
flags.DEFINE_integer("online_every", D["online_every"],
                     "Online evaluation every N agent-pretraining epochs (0: only at the end).")
flags.DEFINE_boolean("progress", True, "Show progress bars.")

flags.mark_flags_as_required(["data", "run_dir"])


def config_from_flags():
    overrides = dict((key, FLAGS[key].value) for key in experiment.DEFAULTS)
    try:
        overrides["split_ratios"] = [float(x) for x in FLAGS.split_ratios]
    except ValueError:
        raise experiment.UserError("--split_ratios must be numbers, got %s" % FLAGS.split_ratios)
    return experiment.resolve(overrides)


@guarded
def main(argv):
    if len(argv) > 1:
        raise experiment.UserError("unexpected arguments: %s" % " ".join(argv[1:]))
    results = experiment.run(FLAGS.run_dir, config_from_flags(), show_progress=FLAGS.progress)
    for split, metrics in sorted(results["offline"].items()):
        print("%s: %s" % (split, ", ".join("%s %.2f" % (k, v) for k, v in sorted(metrics.items())
                                           if k.startswith("P@") and "batch" not in k)))
    if "online" in results:
        o = results["online"]
        print("online: reward %.3f +- %.3f over %d sessions%s" % (
            o["reward_mean"], o["reward_std"], o["n_sessions"],
            (", coverage@10 %.3f" % o["coverage@10"]) if "coverage@10" in o else ""))


def run():
    run_cli(main, __name__)


if __name__ == "__main__":
    run()
