#!/usr/bin/env python3
"""Crash-anywhere soak of trainyard, one process or a cluster: kill -9 at random instants.

Kills many times over, then checks that nothing was lost. Two modes: one process (`trainyard
run`, the default) and a cluster (--cluster).

    scripts/soak.py [--cluster] [--kills N] [--seed S] [--binary build/trainyard] [--keep DIR]
                    [--json]

ONE PROCESS. A campaign of four small jobs (one deterministic) on a slice of Fashion-MNIST runs
in a scratch workspace. Each round starts `trainyard run` and kills it with SIGKILL after a
random delay (0.2 to 6 s: during start-up, the batch-size probe, a training step, a checkpoint or
tool-file write, a SQLite commit, an evaluation), then starts it again, until N kills were made;
the last run goes to its end. Whenever a run ends by itself (the campaign finished before the
kill), and after the last one, the invariants are checked, and a finished workspace starts over:
  1. every job is in the workspace exactly once and completed;
  2. the jobs ran in queue order (run order = file order, nothing was reordered);
  3. every tool folder loads and evaluates (`trainyard evaluate` exits 0);
  4. the deterministic job's evaluation equals that of the same campaign run once, without
     kills, in another workspace (same accuracy, same confusion matrix), and so do its best.pt
     bytes.

CLUSTER (--cluster). A real cluster on 127.0.0.1: `trainyard scheduler` (a free port, a scratch
workspace) and two `trainyard node` processes, A and B, every one with TRAINYARD_SECRET in its
environment. The same four jobs (12 iterations of one thread each here) are submitted with
`trainyard submit`, four more by a second submit at a random moment. Each round kills one member
with SIGKILL (the scheduler, node A or node B, at random, after 0.2 to 4 s) and starts it again.
Before a round, at random, the second submit is sent or a never started queued job is moved
(`queue move JOB POS`, POS up to one past the tail, or `queue top JOB`); some of those are
followed by a kill of the scheduler right after the answer, or while the request is under way.
Half of the moves race with dispatch; for the other half both nodes are frozen (SIGSTOP, then
0.3 s for what they sent to be handled, SIGCONT after), so that nothing can leave or join the
queue meanwhile. After every kill of the scheduler its database is read (`queue -w`) before it
starts again. A finished campaign is checked, and a fresh workspace and cluster start over;
after N kills the last campaign goes to its end without kills. Invariants:
  1. every job is in the workspace exactly once and ends completed;
  2. no acknowledged submit or reorder is lost: every job id a submit answered is in every later
     listing, in the database after every kill and in the workspace; after a frozen move the
     queue (listed, or in the database after the kill) is exactly the one listed before it with
     the move applied (the one before or after it, when the scheduler died unanswered; checked
     only when the same jobs are queued in both); after every restart the scheduler queues what
     the database held (running jobs first, in the order they started), less jobs dispatched;
  3. the execution order follows the queue. The scheduler dispatches only the head of the queue;
     queued jobs keep their relative order unless one of them is moved; a job interrupted by a
     kill goes back to the head and keeps its run order (the order of first starts). So each
     time the soak learns that never started job X is queued ahead of never started job Y, it
     records "X starts before Y", and forgets the pair when X or Y is moved later. It learns
     that from every listing, and from the answer (position P) of a move that raced dispatch,
     keeping only what any number of dispatches from the head since the listing leaves true:
     the jobs listed P - 1 or more places behind the job's old place stay behind it, the first
     P - 1 listed start before it, and all of them do when it went to the tail (P before the
     place asked for). No later listing or database may show Y queued ahead of X, and in the end
     run_order(X) < run_order(Y). The one legitimate exception: a node killed in the
     milliseconds between a dispatch to it and the job's start while the other node starts the
     next job; the job goes back to the head and starts right after it (run orders n + 1 and n).
     Only that pattern, seen in the listings just before and 0.5 s after a node kill, is excused;
  4. every tool folder loads and evaluates (`trainyard evaluate` exits 0);
  5. the deterministic job's evaluation and best.pt bytes equal those of a one-process
     `trainyard run` of it alone, without kills: same settings, split and threads give the same
     bits, and a deterministic job resumed on any node ends bit-identical (docs/cluster.md,
     "Faults").
The order checks assume that a node's death is noticed within 0.5 s (its connection closes), that
a job takes longer than that, and that a frozen node's messages are handled within 0.3 s; and at
most 15 moves are made per workspace, so the queue's sort keys are never renumbered (a job being
dispatched at a kill keeps its old key in the database).
Every process the soak starts is killed at the end, also on an error or a signal (and, through
PR_SET_PDEATHSIG, when the soak itself is killed).

Prints one line per kill (and per move or submit in the cluster) and the result; with --json a
JSON summary on stdout. Exit 0 when every invariant holds, 1 when one does not (it says which),
2 on bad use.
"""
import argparse
import ctypes
import hashlib
import json
import os
import random
import re
import secrets
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
iterations = {iterations}
batch_size = {batch}
threads = {threads}
seed = {seed}
deterministic = {deterministic}
"""

JOBS = [("steady", "true", 64, 1), ("alpha", "false", 32, 2), ("bravo", "false", "auto", 3),
        ("charlie", "false", 64, 4)]
# The cluster's second submit: four more jobs, queued behind the first four.
LATER_JOBS = [("delta", "false", 32, 5), ("echo", "false", 64, 6), ("foxtrot", "false", "auto", 7),
              ("golf", "false", 64, 8)]
# Each cluster job: one thread, since two nodes share this 2-core machine (two threads each make
# an iteration 10 to 100 times slower: 0.13 s alone, up to 15 s beside the other node); twelve
# iterations of about 0.3 s, so that the queue stays deep for a few rounds.
CLUSTER_JOB = {"threads": 1, "iterations": 12}


def write_campaign(folder, jobs=JOBS, name="soak.ini", threads=2, iterations=3):
    tools = "".join(TOOL_AND_JOB.format(name=n, deterministic=d, batch=b, seed=s, threads=threads,
                                        iterations=iterations)
                    for n, d, b, s in jobs)
    path = os.path.join(folder, name)
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


def jobs_of(binary, workspace, env=None):
    out = subprocess.run([binary, "queue", "-w", workspace, "--json"], capture_output=True,
                         text=True, timeout=120, env=env)
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


def best_digest(workspace, tool="steady"):
    return digest(os.path.join(workspace, "tools", tool, "best.pt"))


def same_evaluation(a, b):
    return a["confusion"] == b["confusion"] and a["accuracy"] == b["accuracy"]


# --- one process -----------------------------------------------------------------------------

def soak_one_process(args):
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
    reference_best = best_digest(reference)

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
                if not same_evaluation(result, reference_eval[1]):
                    problems.append("the deterministic job's evaluation differs from an "
                                    "uninterrupted run's")
                if best_digest(ws) != reference_best:
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


# --- cluster: processes ----------------------------------------------------------------------

class SoakError(Exception):
    """Something the soak needs did not happen (a member did not start, a listing failed)."""


_STARTED = []  # every process the cluster mode started; kill_everything() ends those left


def _die_with_parent():
    """In the child, before exec: it gets SIGKILL when the soak dies (PR_SET_PDEATHSIG), so not
    even a soak killed by a test timeout leaves a scheduler or a node behind."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def spawn(argv, env, **kwargs):
    _STARTED[:] = [p for p in _STARTED if p.poll() is None]
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                            preexec_fn=_die_with_parent, **kwargs)
    _STARTED.append(proc)
    return proc


def finish(proc, timeout):
    """(exit code, stdout, stderr) of a client started with spawn; one still running after
    `timeout` seconds is killed (exit code None)."""
    try:
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out, err
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return None, out, err


def unanswered(code, err=""):
    said = err.strip().splitlines()[-1:] if code == 1 else []  # 1: refused, and why
    return "still waiting, killed" if code is None else f"exit {code}" + "".join(
        ": " + line.replace("trainyard queue: ", "", 1)[:100] for line in said)


def kill_everything():
    for proc in _STARTED:
        if proc.poll() is None:
            try:
                proc.kill()  # SIGKILL ends a frozen (SIGSTOP) process too
                proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
    _STARTED.clear()


class Member:
    """One process of the cluster (the scheduler, node A or node B), started again after each
    kill. Its output is appended to a log file, which says when it is ready."""

    def __init__(self, name, log, env):
        self.name, self.log, self.env = name, log, env
        self.argv, self.proc, self.offset, self.frozen = None, None, 0, False

    def start(self, argv):
        self.argv = argv
        self.offset = os.path.getsize(self.log) if os.path.exists(self.log) else 0
        with open(self.log, "ab") as out:
            self.proc = spawn(argv, self.env, stdout=out, stderr=subprocess.STDOUT)
        self.frozen = False

    def output(self):
        with open(self.log, "rb") as f:
            f.seek(self.offset)
            return f.read().decode(errors="replace")

    def wait_for(self, pattern, seconds):
        """The match of `pattern` in what this start printed; SoakError when none comes."""
        deadline = time.time() + seconds
        while True:
            match = re.search(pattern, self.output())
            if match:
                return match
            if self.proc.poll() is not None or time.time() > deadline:
                raise SoakError(f"{self.name} did not say '{pattern}' (exit code "
                                f"{self.proc.poll()}): {self.output()[-800:]!r}")
            time.sleep(0.05)

    def exited(self):
        return self.proc is not None and self.proc.poll() is not None

    def kill(self):
        self.proc.kill()
        self.proc.wait(timeout=30)
        self.frozen = False

    def freeze(self):
        if not self.exited():
            self.proc.send_signal(signal.SIGSTOP)
            self.frozen = True

    def thaw(self):
        if self.frozen and not self.exited():
            self.proc.send_signal(signal.SIGCONT)
        self.frozen = False


class Listing:
    """The jobs as `trainyard queue --json` lists them: live from the scheduler, or read from
    the workspace's database."""

    def __init__(self, jobs):
        self.jobs = {j["name"]: j for j in jobs}
        queued = sorted((j for j in jobs if j["state"] == "queued" and j["queue_position"] >= 0),
                        key=lambda j: j["queue_position"])
        self.queue = [j["name"] for j in queued]  # every queued job, head first
        self.fresh = [n for n in self.queue if not self.started(n)]  # those never started

    def started(self, name):
        return self.jobs.get(name, {}).get("run_order", 0) > 0

    def running(self):
        """Jobs the database says were running, in the order they first started: a restarted
        scheduler puts them back at the head in this order."""
        return [n for n, j in sorted(self.jobs.items(), key=lambda i: i[1]["run_order"])
                if j["state"] == "running"]


class Cluster:
    """A scheduler and nodes A and B on 127.0.0.1, on one workspace."""

    def __init__(self, binary, folder, workspace, secret):
        base = {k: v for k, v in os.environ.items()
                if k not in ("TRAINYARD_SCHEDULER", "TRAINYARD_SECRET")}
        self.env = dict(base, TRAINYARD_SECRET=secret)
        self.offline_env = base  # `queue -w` reads the database (TRAINYARD_SCHEDULER would not)
        self.binary, self.folder, self.workspace = binary, folder, workspace
        self.port = 0  # picked by the first scheduler (--listen 127.0.0.1:0), kept after
        self.scheduler = Member("the scheduler", os.path.join(folder, "scheduler.log"), self.env)
        self.nodes = {n: Member("node " + n, os.path.join(folder, f"node-{n}.log"), self.env)
                      for n in "AB"}

    def members(self):
        return [self.scheduler] + list(self.nodes.values())

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def start_scheduler(self):
        self.scheduler.start([self.binary, "scheduler", "--listen", self.address,
                              "--workspace", self.workspace])
        self.port = int(self.scheduler.wait_for(r"listening on 127\.0\.0\.1:(\d+)", 60).group(1))

    def start_node(self, name):
        self.nodes[name].start([self.binary, "node", "--scheduler", self.address, "--name", name,
                                "--cache", os.path.join(self.folder, "cache-" + name)])

    def start(self):
        self.start_scheduler()
        for name in self.nodes:
            self.start_node(name)
        for node in self.nodes.values():
            node.wait_for("joined the scheduler", 120)

    def stop(self):
        for member in self.members():
            if member.proc is not None and not member.exited():
                member.kill()

    def client(self, *args):
        """A client command started in the background (see finish())."""
        return spawn([self.binary, *args, "--scheduler", self.address], self.env,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def ask(self, *args, timeout=90):
        return finish(self.client(*args), timeout)

    def listing(self):
        code, out, err = self.ask("queue", "list", "--json")
        if code != 0:
            raise SoakError(f"queue list exited {code}: {err.strip()}")
        return Listing(json.loads(out[out.index("["):]))

    def stored(self):
        """The queue as the database has it (the scheduler is dead: what it will load)."""
        return Listing(jobs_of(self.binary, self.workspace, self.offline_env))


# --- cluster: the order jobs must start in (invariant 3) -------------------------------------

class StartOrder:
    """Pairs (X, Y): never started job X must start before never started job Y, each with where
    the soak learned it. A pair is forgotten when X or Y is moved afterwards (whatever the
    move's outcome); it is learned again from the next listing."""

    def __init__(self):
        self.facts = {}
        self.node_kills = []  # (listing just before, listing 0.5 s after) for each node killed

    def forget(self, job):
        self.facts = {pair: why for pair, why in self.facts.items() if job not in pair}

    def learn(self, first, then, why):
        self.facts.setdefault((first, then), why)

    def learn_listing(self, listing, why):
        for i, first in enumerate(listing.fresh):
            for then in listing.fresh[i + 1:]:
                self.learn(first, then, why)

    def check_listing(self, listing, when):
        """A pair that this listing shows queued the other way round."""
        place = {name: i for i, name in enumerate(listing.fresh)}
        return [f"{when}: {then} is queued ahead of {first}, which goes first ({why}); queue "
                f"{listing.queue}"
                for (first, then), why in self.facts.items()
                if first in place and then in place and place[then] < place[first]]

    def lost_dispatch(self, first, then):
        """`first` was dispatched to a node killed before it started, while the other node
        started `then`: never started both just before a node kill, `then` started and
        `first` not 0.5 s after it."""
        return any(not before.started(first) and not before.started(then) and
                   after.started(then) and not after.started(first)
                   for before, after in self.node_kills)

    def check_run_order(self, run_order):
        """(problems, excused) against the final run orders (the order of first starts)."""
        problems, excused = [], 0
        for (first, then), why in sorted(self.facts.items()):
            a, b = run_order.get(first, 0), run_order.get(then, 0)
            if a == 0 or b == 0 or a < b:
                continue  # a job that never started is invariant 1's
            if a == b + 1 and self.lost_dispatch(first, then):
                excused += 1
                continue
            problems.append(f"{then} started before {first} (run order {b}, {a}), but {first} "
                            f"goes first ({why})")
        return problems, excused


# --- cluster: the soak -----------------------------------------------------------------------

class ClusterSoak:
    # Each move to a middle place halves the gap between two sort keys (2^20 apart); 15 moves
    # per workspace can never crowd them into a renumbering, which would make the keys a job
    # being dispatched left in the database meaningless.
    MOVES_PER_WORKSPACE = 15

    def __init__(self, args, folder):
        self.args, self.folder = args, folder
        self.rng = random.Random(args.seed)
        self.secret = secrets.token_hex(32)
        self.say = (lambda text: None) if args.json else (lambda text: print(text, flush=True))
        self.first = write_campaign(folder, JOBS, "first.ini", **CLUSTER_JOB)
        self.later = write_campaign(folder, LATER_JOBS, "later.ini", **CLUSTER_JOB)
        self.expected = [n for n, _, _, _ in JOBS + LATER_JOBS]
        self.workspace = os.path.join(folder, "cluster")
        self.problems, self.checks, self.kills, self.campaigns, self.completed = [], 0, 0, 0, 0
        self.by_member = {"scheduler": 0, "A": 0, "B": 0}
        self.stats = dict(moves=0, moves_acknowledged=0, moves_frozen=0,
                          moves_with_scheduler_kill=0, exact_move_checks=0, restart_checks=0,
                          submits=0, submits_with_scheduler_kill=0, order_pairs_checked=0,
                          lost_dispatches_excused=0)
        # Seconds an answered client takes (a listing or a move; the last submit), nearly all of
        # it the program's start, so that a kill "while under way" lands around the request.
        self.latency = {"move": 0.8, "submit": 1.5}
        self.cluster = None

    # -- the reference and the campaigns --

    def make_reference(self):
        """The deterministic job's result without kills: a one-process run of it alone."""
        workspace = os.path.join(self.folder, "reference")
        campaign = write_campaign(self.folder, JOBS[:1], "reference.ini", **CLUSTER_JOB)
        proc = spawn([self.args.binary, "run", campaign, "-w", workspace, "--plain"], None,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        code = proc.wait(timeout=900)
        self.reference_eval = evaluation(self.args.binary, workspace, "steady")
        if code != 0 or self.reference_eval[0] != 0:
            raise SoakError(f"the uninterrupted one-process run of the deterministic job exited "
                            f"{code}; evaluate: {self.reference_eval[1]}")
        self.reference_best = best_digest(workspace)

    def new_campaign(self):
        """A fresh workspace and cluster; the first four jobs submitted."""
        if self.cluster:
            self.cluster.stop()
        shutil.rmtree(self.workspace, ignore_errors=True)
        self.campaigns += 1
        self.cluster = Cluster(self.args.binary, self.folder, self.workspace, self.secret)
        self.order = StartOrder()
        self.submitted = {}  # job name -> the id an acknowledged submit answered
        self.later_sent, self.moves_here, self.last = False, 0, None
        self.cluster.start()
        self.submit(self.first, "none", must=True)
        self.observe("after the first submit")

    def campaign_done(self):
        states = {n: self.last.jobs.get(n, {}).get("state") for n in self.expected}
        ended = [f"{n} {s}" for n, s in states.items() if s in ("failed", "stopped", "cancelled")]
        if ended:
            self.problems.append("jobs ended without completing: " + ", ".join(ended))
        return self.later_sent and all(s == "completed" for s in states.values())

    def check_campaign(self):
        """Invariants 1 to 5 on a finished campaign (the cluster stopped)."""
        self.cluster.stop()
        binary, workspace = self.args.binary, self.workspace
        jobs = jobs_of(binary, workspace, self.cluster.offline_env)
        names = [j["name"] for j in jobs]
        self.checks += 1
        if sorted(names) != sorted(self.expected):
            self.problems.append(f"jobs in the workspace {sorted(names)}, expected each of "
                                 f"{self.expected} once")
        for j in jobs:
            self.checks += 1
            if j["state"] != "completed":
                self.problems.append(f"job {j['name']} is {j['state']}: {j.get('message', '')}")
        ids = {j["name"]: j["id"] for j in jobs}
        for name, job_id in self.submitted.items():
            self.checks += 1
            if ids.get(name) != job_id:
                self.problems.append(f"job {name}: a submit answered id {job_id}, the workspace "
                                     f"has {ids.get(name)}")
        run_order = {j["name"]: j["run_order"] for j in jobs}
        found, excused = self.order.check_run_order(run_order)
        self.problems += found
        self.checks += len(self.order.facts)
        self.stats["order_pairs_checked"] += len(self.order.facts)
        self.stats["lost_dispatches_excused"] += excused
        for name in self.expected:
            self.checks += 1
            code, result = evaluation(binary, workspace, name)
            if code != 0:
                self.problems.append(f"tool {name} does not evaluate: {result}")
            elif name == "steady":
                self.checks += 2
                if not same_evaluation(result, self.reference_eval[1]):
                    self.problems.append("the deterministic job's evaluation differs from an "
                                         "uninterrupted one-process run's")
                if best_digest(workspace) != self.reference_best:
                    self.problems.append("the deterministic job's best.pt differs from an "
                                         "uninterrupted one-process run's")
        self.completed += 1
        ran = [n for n, _ in sorted(run_order.items(), key=lambda i: i[1])]
        self.say(f"campaign {self.campaigns} finished: ran {' '.join(ran)}; "
                 f"{len(self.order.facts)} ordered pairs checked"
                 + (f", {excused} lost dispatches excused" if excused else ""))

    # -- what the soak sees --

    def observe(self, when, learn=True):
        """A live listing: acknowledged submits present, no ordered pair reversed; its queue
        order is learned."""
        started = time.time()
        listing = self.cluster.listing()
        self.latency["move"] = 0.7 * self.latency["move"] + 0.3 * (time.time() - started)
        self.check_listing(listing, when)
        if learn:
            self.order.learn_listing(listing, "listed " + when)
        self.last = listing
        return listing

    def check_listing(self, listing, when):
        self.checks += 1
        for name, job_id in self.submitted.items():
            if listing.jobs.get(name, {}).get("id") != job_id:
                self.problems.append(f"{when}: job {name} (id {job_id}), which a submit "
                                     f"acknowledged, is missing")
        self.problems += self.order.check_listing(listing, when)

    def check_members(self):
        for member in self.cluster.members():
            if member.exited():
                self.problems.append(f"{member.name} exited by itself (exit code "
                                     f"{member.proc.returncode}): {member.output()[-600:]!r}")

    # -- what the soak does --

    def kill(self, member):
        (self.cluster.scheduler if member == "scheduler" else self.cluster.nodes[member]).kill()
        self.kills += 1
        self.by_member[member] += 1
        return self.kills

    def restart_scheduler(self, n, stored):
        """After kill n of the scheduler (the database read as `stored`): start it again and
        compare its queue with the database's: the jobs that were running at the head in the
        order they started, then the queued ones; only jobs dispatched since may be gone."""
        time.sleep(self.rng.uniform(0, 1.0))
        self.cluster.start_scheduler()
        live = self.observe(f"after the scheduler's restart (kill {n})")
        expected = stored.running() + stored.queue
        self.checks += 1
        self.stats["restart_checks"] += 1
        if len(live.queue) > len(expected) or \
           expected[len(expected) - len(live.queue):] != live.queue:
            self.problems.append(f"after kill {n} the restarted scheduler queues {live.queue}; "
                                 f"the database had {stored.running()} running and "
                                 f"{stored.queue} queued")

    def read_database(self, n):
        for node in self.cluster.nodes.values():
            node.thaw()
        stored = self.cluster.stored()
        self.check_listing(stored, f"in the database after kill {n}")
        return stored

    def kill_round(self):
        member = self.rng.choice(["scheduler", "A", "B"])
        delay = self.rng.uniform(0.2, 4.0)
        time.sleep(delay)
        n = self.kills + 1
        before = self.observe(f"before kill {n}")
        time.sleep(self.rng.uniform(0, 0.3))
        self.kill(member)
        self.say(f"kill {n}: {'the scheduler' if member == 'scheduler' else 'node ' + member} "
                 f"after {delay:.2f} s")
        if member == "scheduler":
            self.restart_scheduler(n, self.read_database(n))
            return
        time.sleep(0.5)  # its connection closed: the scheduler has requeued its job
        after = self.observe(f"0.5 s after kill {n} (node {member})")
        self.order.node_kills.append((before, after))
        time.sleep(self.rng.uniform(0, 1.0))
        self.cluster.start_node(member)

    def submit(self, campaign, after, must=False):
        """`trainyard submit`; after = none, after (the scheduler killed right after the
        answer) or flight (killed while the request is under way). Whether it was answered."""
        self.stats["submits"] += 1
        n, started = None, time.time()
        if after == "flight":
            proc = self.cluster.client("submit", campaign, "--json")
            time.sleep(self.rng.uniform(0.8, 1.1) * self.latency["submit"])
            n = self.kill("scheduler")
            code, out, err = finish(proc, 2.0)
        else:
            code, out, err = self.cluster.ask("submit", campaign, "--json", timeout=120)
            if code == 0:
                self.latency["submit"] = time.time() - started
                if after == "after":
                    n = self.kill("scheduler")
        answer = json.loads(out[out.index("["):]) if code == 0 else []
        for entry in answer:
            self.submitted[entry["job"]] = entry["id"]
        if code != 0 and must:
            raise SoakError(f"submit {campaign} exited {code}: {err.strip()}")
        self.say(f"submit {os.path.basename(campaign)}: "
                 + ("answered " + ", ".join(f"{e['job']} = {e['id']}" for e in answer)
                    if code == 0 else f"not answered ({unanswered(code)}); sent again later")
                 + (f"; kill {n}: the scheduler, "
                    + ("right after the answer" if after == "after" else "while under way")
                    if n else ""))
        if n:
            self.stats["submits_with_scheduler_kill"] += 1
            self.restart_scheduler(n, self.read_database(n))
        return code == 0

    def reorder(self):
        """Moves a never started queued job, maybe killing the scheduler right after the answer
        or while the request is under way; with the nodes frozen or racing their dispatch.
        Whether it killed the scheduler."""
        frozen = self.rng.random() < 0.5
        after = self.rng.choice(["none", "none", "none", "none", "after", "flight"])
        try:
            if frozen:
                for node in self.cluster.nodes.values():
                    node.freeze()
                time.sleep(0.3)  # whatever the nodes sent before is handled by then
            return self.move(frozen, after)
        finally:
            for node in self.cluster.nodes.values():
                node.thaw()

    def move(self, frozen, after):
        before = self.observe("before a move")
        if len(before.queue) < 2 or not before.fresh:
            return False
        job = self.rng.choice(before.fresh)
        job_id = str(before.jobs[job]["id"])
        if self.rng.random() < 0.35:
            argv, target, what = ["queue", "top", job_id, "--json"], 0, f"top {job}"
        else:
            position = self.rng.randint(1, len(before.queue) + 1)
            argv = ["queue", "move", job_id, str(position), "--json"]
            target, what = min(position, len(before.queue)) - 1, f"move {job} {position}"
        moved = [name for name in before.queue if name != job]
        moved.insert(target, job)
        self.order.forget(job)  # whatever comes of it, the job's place is learned anew
        self.moves_here += 1
        self.stats["moves"] += 1
        self.stats["moves_frozen"] += frozen
        n, started = None, time.time()
        if after == "flight":
            proc = self.cluster.client(*argv)
            time.sleep(self.rng.uniform(0.8, 1.1) * self.latency["move"])
            n = self.kill("scheduler")
            code, out, err = finish(proc, 2.0)
        else:
            code, out, err = self.cluster.ask(*argv)
            if code == 0:
                self.latency["move"] = 0.7 * self.latency["move"] + 0.3 * (time.time() - started)
                if after == "after":
                    n = self.kill("scheduler")
        answer = json.loads(out[out.index("{"):]) if code == 0 else None
        self.stats["moves_acknowledged"] += answer is not None
        self.say(f"{what} ({'nodes frozen' if frozen else 'racing dispatch'}): "
                 + (f"answered, position {answer['queue_position'] + 1}" if answer
                    else f"not answered ({unanswered(code, err)})")
                 + (f"; kill {n}: the scheduler, "
                    + ("right after the answer" if after == "after" else "while under way")
                    if n else ""))
        if answer and not frozen and answer["run_order"] == 0:
            self.learn_move(before, job, answer["queue_position"], target, what)
        if n:
            self.stats["moves_with_scheduler_kill"] += 1
            stored = self.read_database(n)
            if frozen:
                self.exact_move(before, moved, stored.queue, answer, what, err,
                                f"the database after kill {n}", killed=True)
            self.restart_scheduler(n, stored)
        elif frozen:
            listed = self.observe(f"after {what}")
            self.exact_move(before, moved, listed.queue, answer, what, err,
                            "the queue listed after it", killed=False)
        return n is not None

    def learn_move(self, before, job, position, target, what):
        """What an acknowledged move racing dispatch says for sure. Between the listing and the
        move only jobs at the head were dispatched (any number of them), so: the jobs listed at
        least `position` places behind the job's old place are behind its new one; the first
        `position` jobs listed (dispatched since, or still ahead) start before it; and when it
        went to the tail (an answer before the place asked for), every job listed does."""
        rest = [name for name in before.queue if name != job]
        old = before.queue.index(job)
        why = f"{what} answered with position {position + 1}"
        ahead = rest if position < target else rest[:position]
        for other in rest[old + position:] if position >= target else []:
            if other in before.fresh:
                self.order.learn(job, other, why)
        for other in ahead:
            if other in before.fresh:
                self.order.learn(other, job, why)

    def exact_move(self, before, moved, queue, answer, what, err, where, killed):
        """With the nodes frozen, nothing left or joined the queue (checked: same jobs in it),
        so the move acted on exactly the queue listed before it."""
        if set(queue) != set(before.queue):
            return  # a job was dispatched or requeued all the same: nothing exact to say
        self.checks += 1
        self.stats["exact_move_checks"] += 1
        if answer:
            if answer["queue_position"] != moved.index(answer["name"]):
                self.problems.append(f"{what} answered position {answer['queue_position'] + 1} "
                                     f"in {before.queue}")
            if queue != moved:
                self.problems.append(f"{what} was acknowledged, but {where} is {queue}; "
                                     f"expected {moved} (before it: {before.queue})")
        elif killed:
            if queue not in (before.queue, moved):
                self.problems.append(f"{what} was cut by a kill, and {where} is {queue}: neither "
                                     f"the queue before it {before.queue} nor after it {moved}")
        else:
            self.problems.append(f"{what} of a queued job, with nothing racing it, was refused: "
                                 f"{err.strip()}")

    def round(self):
        """A kill, maybe after a move or the second submit (which may kill the scheduler)."""
        self.check_members()
        if self.problems:
            return
        if not self.later_sent and self.rng.random() < 0.5:
            kills = self.kills
            self.later_sent = self.submit(self.later,
                                          self.rng.choice(["none", "none", "after", "flight"]))
            if self.kills > kills:
                return
        if self.moves_here < self.MOVES_PER_WORKSPACE and self.rng.random() < 0.85:
            if self.reorder():
                return
        if not self.problems:
            self.kill_round()

    def finish(self):
        """After the last kill: the campaign goes to its end without kills, then is checked."""
        if not self.later_sent:
            self.later_sent = self.submit(self.later, "none")
            if not self.later_sent:
                self.problems.append("the second submit, without a kill, was not answered")
                return
        deadline = time.time() + 900
        while not self.campaign_done() and not self.problems:
            self.check_members()
            if time.time() > deadline:
                states = {n: j["state"] for n, j in self.last.jobs.items()}
                self.problems.append(f"the campaign did not finish 900 s after the last kill: "
                                     f"{states}")
                return
            time.sleep(2)
            self.observe("while the last campaign finishes")
        if not self.problems:
            self.check_campaign()


def soak_cluster(args):
    folder = args.keep or tempfile.mkdtemp(prefix="trainyard-soak-cluster-")
    os.makedirs(folder, exist_ok=True)
    started = time.time()
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    soak = ClusterSoak(args, folder)
    try:
        soak.make_reference()
        soak.new_campaign()
        done = False
        while not soak.problems and not done:
            if soak.kills >= args.kills:
                soak.finish()  # the last campaign goes to its end without kills
                done = True
                continue
            soak.round()
            if not soak.problems and soak.campaign_done():
                # Finished before the kills did: checked, then a fresh one, so that the kills
                # keep landing in training.
                soak.check_campaign()
                done = soak.kills >= args.kills
                if not done and not soak.problems:
                    soak.new_campaign()
    except Exception as e:  # noqa: BLE001 - said as a problem, after every process is killed
        soak.problems.append(f"the soak could not go on: {type(e).__name__}: {e}")
    finally:
        kill_everything()

    summary = {"mode": "cluster", "kills": soak.kills, "kills_by_member": soak.by_member,
               **soak.stats, "completed_campaigns": soak.completed,
               "invariants_checked": soak.checks, "seconds": round(time.time() - started, 1),
               "seed": args.seed, "problems": soak.problems}
    if args.json:
        print(json.dumps(summary))
    else:
        s = soak.stats
        print(f"soak --cluster: {soak.kills} kills (scheduler {soak.by_member['scheduler']}, "
              f"node A {soak.by_member['A']}, node B {soak.by_member['B']}), {s['moves']} moves "
              f"({s['moves_acknowledged']} answered, {s['moves_frozen']} with the nodes frozen, "
              f"{s['moves_with_scheduler_kill']} with the scheduler killed), {s['submits']} "
              f"submits, {soak.completed} campaigns completed, {soak.checks} invariants checked "
              f"in {summary['seconds']} s; "
              + ("every one holds" if not soak.problems else "; ".join(soak.problems)))
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return 0 if not soak.problems else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cluster", action="store_true",
                        help="a scheduler and two nodes instead of one `trainyard run`")
    parser.add_argument("--binary", default=os.path.join(os.path.dirname(__file__), "..",
                                                         "build", "trainyard"))
    parser.add_argument("--keep", help="folder to work in (kept); default a temporary one")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.kills < 0 or not os.access(args.binary, os.X_OK):
        print("soak: --kills must be >= 0 and --binary an executable trainyard", file=sys.stderr)
        return 2
    return soak_cluster(args) if args.cluster else soak_one_process(args)


if __name__ == "__main__":
    sys.exit(main())
