"""Aggregate run directories into result tables and learning-curve plots (SPEC 7, 9).

A run directory (made by `irecgan-train`) holds `config.json`, `metrics.jsonl` and, once the run
has finished, `results.json` and `timing.json` (the wall time). The report reads any set of them,
groups the finished runs by (dataset, method), where the dataset is the base name of
`config["data"]` without its extension, and writes:

* `table.md` / `table.csv`: per group the seeds, the model sizes, test P@1/P@5/P@10, the online
  reward, the headroom captured, the authors' online figure and coverage@10 (simulators), the
  user model's test P@1 and LL / step beside the truth's (results.json["user_fit"], or
  user_fit.json from `irecgan-evaluate --user_fit`; irecgan.evaluation.user_fit), the mean wall time per
  run; every figure is the mean and the *sample* standard deviation (n - 1
  denominator) over seeds. Unfinished runs (no `results.json`) are listed in a note and never
  averaged.
* per dataset `<dataset>_online_reward.png`, `<dataset>_precision.png` (learning curves over the
  epoch axis: agent-pretraining epochs 1..A, then adversarial epochs at A + 1, A + 2, ...) and
  `<dataset>_coverage.png` (coverage@k against k, MDP only).

Rows of simulator policies (random, max, mix, belief, imitation; the neural oracle's logging,
random, oracle and oracle_train policies; RecSim's random, quality, oracle and posterior; the
Bayes-optimal offline ranking on MDP logs), each labelled history-based or state-aware, come
from `report.policies`, or from a JSON file of such rows. Published figures can be added as clearly marked comparison rows.

One job per module: `runs` (reading run directories), `stats` (numbers over seeds and epochs,
confidence intervals), `rows` (the table's rows), `policies` (simulator-policy rows), `tables`
(markdown and CSV), `plots` (PNG files); this module writes them all (`write_report`).
`decomposition` (the gaps of issue 22) and `decomposition_tables` (its files' text) make the
decomposition report. No TensorFlow, no absl.
"""
import io
import os

from irecgan.errors import UserError
from irecgan.report.plots import (plot_coverage, plot_online_reward, plot_precision,
                                  safe_file_name)
from irecgan.report.policies import (POLICY_RNG_SEED, bayes_rows, env_spec,
                                     environment_policies, policy_rows)
from irecgan.report.rows import (PUBLISHED, add_headroom, aggregate_rows, method_curves,
                                 policy_row, published_rows, read_policy_rows)
from irecgan.report.runs import (benchmark_row, find_inputs, find_run_dirs, load_inputs, load_run,
                                 load_runs, read_benchmark, unfinished_runs)
from irecgan.report.stats import epoch_axis, mean_std, run_curve
from irecgan.report.tables import markdown, write_csv

__all__ = ["POLICY_RNG_SEED", "PUBLISHED", "add_headroom", "aggregate_rows", "bayes_rows",
           "benchmark_row", "env_spec", "environment_policies", "epoch_axis", "find_inputs",
           "find_run_dirs", "load_inputs", "load_run", "load_runs", "read_benchmark", "markdown",
           "mean_std", "method_curves",
           "policy_row", "policy_rows", "published_rows", "read_policy_rows", "run_curve",
           "unfinished_runs", "write_report"]


def write_report(out_dir, runs, policy_entries=(), title="irecgan results", published=(),
                 policy_source="policy rows", logging=None):
    """Write table.md, table.csv and the plots into `out_dir`; returns (markdown text, list of
    written paths). `logging`: dataset -> the name of the policy row of the policy that wrote
    its log (for the headroom column)."""
    try:
        if not os.path.isdir(out_dir):
            os.makedirs(out_dir)
    except OSError as err:
        raise UserError("cannot create %s: %s" % (out_dir, " ".join(str(err).split())))
    rows = aggregate_rows(runs, policy_entries, policy_source)
    headroom = add_headroom(rows, logging)
    rows += published_rows(published)
    text = markdown(rows, runs, title=title, headroom=headroom)
    written = []
    md_path = os.path.join(out_dir, "table.md")
    csv_path = os.path.join(out_dir, "table.csv")
    try:
        with io.open(md_path, "w", encoding="utf-8") as handle:
            handle.write(text)
        write_csv(csv_path, rows)
    except (IOError, OSError) as err:
        raise UserError("cannot write into %s: %s" % (out_dir, " ".join(str(err).split())))
    written += [md_path, csv_path]
    datasets = sorted(set(r.dataset for r in runs) | set(r["dataset"] for r in rows
                                                         if r["kind"] == "policy"))
    for dataset in datasets:
        ds_runs = [r for r in runs if r.dataset == dataset]
        ds_rows = [r for r in rows if r["dataset"] == dataset and r["kind"] != "published"]
        base = os.path.join(out_dir, safe_file_name(dataset))
        if plot_online_reward(base + "_online_reward.png", dataset, ds_runs,
                              [r for r in ds_rows if r["kind"] == "policy"],
                              (logging or {}).get(dataset)):
            written.append(base + "_online_reward.png")
        if plot_precision(base + "_precision.png", dataset, ds_runs):
            written.append(base + "_precision.png")
        if plot_coverage(base + "_coverage.png", dataset, ds_rows):
            written.append(base + "_coverage.png")
    return text, written
