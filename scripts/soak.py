#!/usr/bin/env python3
"""Crash-anywhere soak of `trainyard run`: kill -9 at random instants, many times, then check
that nothing was lost.

    scripts/soak.py [--kills N] [--seed S] [--binary build/trainyard] [--keep DIR] [--json]

A campaign of four small jobs (one deterministic) on a slice of Fashion-MNIST runs in a scratch
workspace. Each round starts `trainyard run` and kills it with SIGKILL after a random delay
(0.2 to 6 s: during start-up, the batch-size probe, a training step, a checkpoint or tool-file
write, a SQLite commit, an evaluation), then starts it again, until N kills were made; the last
run goes to its end. Whenever a run ends by itself (the campaign finished before the kill), and
after the last one, the invariants are checked, and a finished workspace starts over:
  1. every job is in the workspace exactly once and completed;
  2. the jobs ran in queue order (run order = file order, nothing was reordered);
  3. every tool folder loads and evaluates (`trainyard evaluate` exits 0);
  4. the deterministic job's evaluation equals that of the same campaign run once, without
     kills, in another workspace (same accuracy, same confusion matrix), and so do its best.pt
     bytes.
Prints one line per kill and the result; with --json a JSON summary on stdout. Exit 0 when every
invariant holds, 1 when one does not (it says which), 2 on bad use.
"""
import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

CAMPAIGN = """
[dataset.fashion]
kind = fashion-mnist
path = /usr/share/datasets/fashion-mnist
subset = train

[split.small]
dataset = fashion
mode = count
train = 1200
validation = 300
test = 300
seed = 7

{tools}
"""

TOOL_AND_JOB = """
[tool.{name}]
kind = classify
dataset = fashion
model_width = 8

[job.{name}]
tool = {name}
split = small
iterations = 3
batch_size = {batch}
threads = 2
seed = {seed}
deterministic = {deterministic}
"""

JOBS = [("steady", "true", 64, 1), ("alpha", "false", 32, 2), ("bravo", "false", "auto", 3),
        ("charlie", "false", 64, 4)]


def write_campaign(folder):
    tools = "".join(TOOL_AND_JOB.format(name=n, deterministic=d, batch=b, seed=s)
                    for n, d, b, s in JOBS)
    path = os.path.join(folder, "soak.ini")
    with open(path, "w") as f:
        f.write(CAMPAIGN.format(tools=tools))
    return path


def run(binary, campaign, workspace, kill_after=None):
    """Runs the campaign; kills it after `kill_after` seconds. Returns the exit code, or None
    when it was killed before it ended."""
    proc = subprocess.Popen([binary, "run", campaign, "-w", workspace, "--plain"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if kill_after is None:
        return proc.wait(timeout=900)
    try:
        return proc.wait(timeout=kill_after)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return None


def jobs_of(binary, workspace):
    out = subprocess.run([binary, "queue", "-w", workspace, "--json"], capture_output=True,
                         text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError("queue --json failed: " + out.stderr)
    return json.loads(out.stdout)


def evaluation(binary, workspace, tool):
    out = subprocess.run([binary, "evaluate", tool, "-w", workspace, "--json"],
                         capture_output=True, text=True, timeout=300)
    return out.returncode, (json.loads(out.stdout) if out.returncode == 0 else out.stderr)


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--binary", default=os.path.join(os.path.dirname(__file__), "..",
                                                         "build", "trainyard"))
    parser.add_argument("--keep", help="folder to work in (kept); default a temporary one")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.kills < 0 or not os.access(args.binary, os.X_OK):
        print("soak: --kills must be >= 0 and --binary an executable trainyard", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    folder = args.keep or tempfile.mkdtemp(prefix="trainyard-soak-")
    os.makedirs(folder, exist_ok=True)
    campaign = write_campaign(folder)
    workspace = os.path.join(folder, "killed")
    reference = os.path.join(folder, "reference")
    started = time.time()

    expected = [n for n, _, _, _ in JOBS]
    run(args.binary, campaign, reference)  # the deterministic job's uninterrupted result
    reference_eval = evaluation(args.binary, reference, "steady")
    if reference_eval[0] != 0:
        print("soak: the uninterrupted run does not evaluate: " + str(reference_eval[1]),
              file=sys.stderr)
        return 1
    best = lambda ws: digest(os.path.join(ws, "tools", "steady", "best.pt"))
    reference_best = best(reference)

    def check(ws):
        """The invariants on a workspace whose run ended by itself; (problems, checks)."""
        problems, checks = [], 0
        jobs = jobs_of(args.binary, ws)
        names = [j["name"] for j in jobs]
        checks += 1
        if sorted(names) != sorted(expected):
            problems.append(f"jobs in the workspace {sorted(names)}, expected each of "
                            f"{expected} once")
        for j in jobs:
            checks += 1
            if j["state"] != "completed":
                problems.append(f"job {j['name']} is {j['state']}: {j.get('message', '')}")
        ran = [j["name"] for j in sorted(jobs, key=lambda j: j["run_order"])]
        checks += 1
        if ran != expected:
            problems.append(f"run order {ran}, queue order {expected}")
        for name in expected:
            checks += 1
            code, result = evaluation(args.binary, ws, name)
            if code != 0:
                problems.append(f"tool {name} does not evaluate: {result}")
            elif name == "steady":
                checks += 2
                if result["confusion"] != reference_eval[1]["confusion"] or \
                   result["accuracy"] != reference_eval[1]["accuracy"]:
                    problems.append("the deterministic job's evaluation differs from an "
                                    "uninterrupted run's")
                if best(ws) != reference_best:
                    problems.append("the deterministic job's best.pt differs from an "
                                    "uninterrupted run's")
        return problems, checks

    kills, runs, completions, checks, problems = 0, 0, 0, 0, []
    while kills < args.kills and not problems:
        delay = rng.uniform(0.2, 6.0)
        runs += 1
        code = run(args.binary, campaign, workspace, kill_after=delay)
        if code is None:
            kills += 1
            if not args.json:
                print(f"kill {kills}: after {delay:.2f} s", flush=True)
            continue
        # The campaign finished before the kill: check it, then start over in a fresh
        # workspace, so the kills keep landing in training.
        if code != 0:
            problems.append(f"run {runs} exited {code}")
            break
        completions += 1
        found, n = check(workspace)
        problems += found
        checks += n
        shutil.rmtree(workspace, ignore_errors=True)
    if not problems:
        runs += 1
        code = run(args.binary, campaign, workspace)
        if code != 0:
            problems.append(f"the last run, without a kill, exited {code}")
        else:
            completions += 1
            found, n = check(workspace)
            problems += found
            checks += n

    summary = {"kills": kills, "runs": runs, "completed_campaigns": completions,
               "invariants_checked": checks, "seconds": round(time.time() - started, 1),
               "seed": args.seed, "problems": problems}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"soak: {kills} kills over {runs} runs, {completions} campaigns completed, "
              f"{checks} invariants checked in {summary['seconds']} s; "
              + ("every one holds" if not problems else "; ".join(problems)))
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
