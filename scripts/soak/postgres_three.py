#!/usr/bin/env python3
"""Three-process soak on PostgreSQL (issue 27): reminders arrive exactly once
through SIGKILLs, within Discord's limits, however the work is shared.

With the `hearth` binary (default target/debug/hearth), the fake Discord
(`cargo build -p hearth-discord --example fake_discord`, default
target/debug/examples/fake_discord) and a PostgreSQL server (--server,
default postgres://postgres@127.0.0.1:5544, reached with `psql`):

1. creates a fresh database (hearth_soak_<pid>x<time>), has Hearth migrate
   it (one process started, then stopped) and starts the fake Discord, which
   enforces Discord's global limit (50 requests a second per bot) and its
   per-route buckets (a channel's messages: 5 per 5 s);
2. writes, Hearth stopped, N one-off meetings (default 10,000) and their
   reminders straight into the database, as the planner would, falling due
   over --spread seconds (default 180) across --targets places (default
   1,000): --dms of them (default 200) members' DMs, the rest the home
   channels of groups on four servers, one per shard;
3. starts three `hearth` processes on that database, each running some of
   Discord's 4 shards (--runs, default "0-1,2,3"), and kills them with
   SIGKILL at random moments, each at least --kills times (default 10),
   starting each again at once, until every reminder is due and a minute
   more, then lets them finish;
4. reads what the fake received: every reminder must be in exactly one
   created message (counted by scripts/soak/reader.py, as kill9.py counts
   Matrix's), and no request may have been answered 429. Lateness (the
   fake's receive time minus the due time) is given as median, p99 and max,
   beside the floor the global limit sets: the lateness a sender at exactly
   50 requests a second would have for the same due times (one request a
   reminder, none before it is due), and the time from the first due time
   to the last arrival against that sender's (N/50 s when they fall due
   faster than 50 a second: 200 s for 10,000), each as a ratio.

Every 429 is reported: by route, whether one post (its nonce) was refused
twice, and for each process how many of its own came within 2 s of its own
restart (its pace starts afresh while what it sent in the second before the
kill still counts at Discord).

A message post the fake answers from its nonce (Discord's de-duplication of
a post sent again after a crash) creates nothing, so it is not a repeat at
the sink; how many there were is reported as `nonce_repeats`.

With --matrix N, the Matrix adapter is in the mix as well (against the
test Synapse of scripts/synapse/start): a bot account and a member's room,
every process configured with the same account and one shared store
directory, and N more reminders (titles m00000…) for a group made through
that room, falling due over the same --spread. One process at a time holds
the Matrix sync lease and sends them; the soak polls the lease twice a
second and, for every SIGKILL of its holder, reports how long until another
process held it (bound: the lease's term and one renewal interval, 40 s),
and reads the room back with scripts/soak/reader.py as kill9.py does: every
Matrix reminder exactly once.

Standard library only (and `psql`). Not part of CI: it takes several
minutes. Exits 1 if a reminder was lost or repeated or a 429 was answered.
Start small: --reminders 100 --targets 20 --dms 5 --kills 1 --spread 20.
"""

import argparse
import collections
import datetime
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import re
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts", "soak"))
sys.path.insert(0, os.path.join(ROOT, "scripts", "synapse"))
from matrix_http import call, register, synapse_env  # noqa: E402
from reader import Reader, read_room, tally  # noqa: E402

# One server per shard of 4: Discord puts a guild on shard (id >> 22) % total.
GUILDS = [2_000 + (k << 22) for k in range(4)]
CHANNEL_BASE = 3_000_000   # a group's home channel: CHANNEL_BASE + group
USER_BASE = 10_000         # a DM recipient's Discord id: USER_BASE + member
# The lease's term and one renewal interval (bot_core::leases::{TERM, RENEW_EVERY}):
# the longest a dead holder keeps the Matrix sync from the others.
FAIL_OVER_BOUND_S = 30 + 10
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class Pg:
    """`psql` against one database of the server."""

    def __init__(self, server, database):
        self.url = f"{server.rstrip('/')}/{database}"

    def run(self, sql):
        r = subprocess.run(["psql", self.url, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"],
                           input=sql, capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise RuntimeError(f"psql: {r.stderr.strip()}")
        return r.stdout

    def rows(self, sql):
        return [line.split("|") for line in self.run(sql).splitlines() if line]

    def one(self, sql):
        return self.rows(sql)[0][0]


def seed(pg, reminders, targets, dms, first_due, spread, lead, matrix=None):
    """Communities (one a guild), a group a channel target, a member a DM
    target, and one one-off meeting per reminder with its reminder job as the
    planner writes it. Reminder i goes to target i % targets and falls due at
    first_due + i * spread // reminders. With `matrix` (the Matrix group's
    id, how many), as many one-off meetings of that group and their Matrix
    reminders, falling due over the same spread. Ids follow those already
    in the database (the Matrix group's, made through its room). Returns
    (title -> due time for Discord, the same for Matrix)."""
    channels = targets - dms
    base = {t: int(pg.one(f"SELECT COALESCE(MAX(id), 0) FROM {t}"))
            for t in ("communities", "groups", "members", "meetings")}
    c0, g0, m0, mt0 = base["communities"], base["groups"], base["members"], base["meetings"]
    sql = ["BEGIN;"]
    sql.append("INSERT INTO communities (id, platform, external_id, timezone) VALUES "
               + ", ".join(f"({c0 + n + 1}, 'discord', '{g}', 'UTC')" for n, g in enumerate(GUILDS)) + ";")
    sql.append("INSERT INTO groups (id, community_id, name, name_key, topic, led_by, format, home_channel, "
               "guideline, reminder_leads) VALUES "
               + ", ".join(f"({g0 + g + 1}, {c0 + g % 4 + 1}, 'Group {g}', 'group {g}', 'soak', 'peer', 'online', "
                           f"'{CHANNEL_BASE + g}', 'Be kind.', '{lead // 60}m')" for g in range(channels)) + ";")
    if dms:
        sql.append("INSERT INTO members (id, platform, external_id, display_name) VALUES "
                   + ", ".join(f"({m0 + m + 1}, 'discord', '{USER_BASE + m}', 'member {m}')"
                               for m in range(dms)) + ";")
    due = {}
    meetings, jobs = [], []

    def meeting(mid, group, title, at):
        local = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at))
        return (f"({mid}, {group}, '{title}', '{local}', 'UTC', 'once', 'FREQ=DAILY;COUNT=1', 60, "
                f"{int(time.time())})")

    for i in range(reminders):
        title = f"s{i:05d}"
        due_at = first_due + (i * spread) // reminders
        due[title] = due_at
        at = due_at + lead
        t = i % targets
        group = t if t < channels else (t - channels) % channels
        mid = mt0 + i + 1
        meetings.append(meeting(mid, g0 + group + 1, title, at))
        who = "c" if t < channels else f"m{m0 + t - channels + 1}"
        member = "NULL" if t < channels else str(m0 + t - channels + 1)
        jobs.append(f"('r:{mid}:{at}:{at}:{lead}:{who}', 'reminder', {due_at}, {due_at}, 'discord', {mid}, "
                    f"{at}, {at}, {lead}, {member})")
    matrix_due = {}
    group, count = matrix or (None, 0)
    for i in range(count):
        title = f"m{i:05d}"
        due_at = first_due + (i * spread) // count
        matrix_due[title] = due_at
        at = due_at + lead
        mid = mt0 + reminders + i + 1
        meetings.append(meeting(mid, group, title, at))
        jobs.append(f"('r:{mid}:{at}:{at}:{lead}:c', 'reminder', {due_at}, {due_at}, 'matrix', {mid}, "
                    f"{at}, {at}, {lead}, NULL)")
    for start in range(0, len(meetings), 2000):
        sql.append("INSERT INTO meetings (id, group_id, title, start_local, timezone, repeat, rrule, "
                   "duration_minutes, created_at) VALUES " + ", ".join(meetings[start:start + 2000]) + ";")
        sql.append("INSERT INTO jobs (key, kind, due_at, run_at, platform, meeting_id, occurrence, starts_at, "
                   "lead_secs, member_id) VALUES " + ", ".join(jobs[start:start + 2000]) + ";")
    for table in ("communities", "groups", "members", "meetings"):
        sql.append(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                   f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false);")
    sql.append("COMMIT;")
    pg.run("\n".join(sql))
    return due, matrix_due


class Process:
    """One child: started, SIGKILLed and started again, stopped."""

    def __init__(self, name, argv, log):
        self.name, self.argv, self.log, self.proc, self.kills = name, argv, log, None, 0
        self.starts = []

    def start(self):
        self.starts.append(time.time())
        env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "warn,bot_core=info"))
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, env=env)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.kills += 1

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


def fetch(url):
    with urllib.request.urlopen(url, timeout=120) as r:
        return json.load(r)


def ideal(due, per_second):
    """Lateness of each reminder for a sender at exactly `per_second`
    requests a second, one request a reminder, in due order, none early."""
    late, last = [], None
    for due_at in sorted(due.values()):
        at = due_at if last is None else max(due_at, last + 1 / per_second)
        late.append(at - due_at)
        last = at
    drain = last - min(due.values())
    late.sort()
    return {"median": round(statistics.median(late), 3),
            "p99": round(late[min(len(late) - 1, int(len(late) * 0.99))], 3),
            "max": round(late[-1], 3),
            "drain_s": round(drain, 3)}


def matrix_result(due, events, bot_id, samples, kills):
    """The Matrix reminders counted in the room, and the sync lease's
    fail-overs: for every SIGKILL of the process holding the lease, the time
    until another held it (the sampled holder changed), from the lease
    samples (time, holder) and the kills (time, name, pid). A holder's id is
    HOSTNAME:PID."""
    result = tally(Reader(due, bot_id).count(events), due)
    fail_overs, untaken, pending = [], 0, 0
    sampled_until = samples[-1][0] if samples else 0
    for at, _name, pid in kills:
        before = [h for t, h in samples if t <= at]
        if not before or not before[-1] or not before[-1].endswith(f":{pid}"):
            continue
        after = [t for t, h in samples if t > at and h and not h.endswith(f":{pid}")]
        if after:
            fail_overs.append(after[0] - at)
        elif sampled_until - at > FAIL_OVER_BOUND_S + 0.5:
            untaken += 1
        else:
            # Killed near the end: the soak stopped sampling within the bound.
            pending += 1
    fail_overs.sort()
    holders = {h for _, h in samples if h}
    result["fail_over_s"] = {
        "holder_kills": len(fail_overs) + untaken + pending,
        "median": round(statistics.median(fail_overs), 1) if fail_overs else None,
        "max": round(fail_overs[-1], 1) if fail_overs else None,
        "all": [round(f, 1) for f in fail_overs],
        "bound": FAIL_OVER_BOUND_S,
        # Sampled twice a second: half a second of slack.
        "over_bound": sum(1 for f in fail_overs if f > FAIL_OVER_BOUND_S + 0.5) + untaken,
        "never_taken_within_the_bound": untaken,
        "killed_less_than_the_bound_before_the_end": pending,
    }
    result["lease_holders_seen"] = len(holders)
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "debug", "hearth"))
    ap.add_argument("--fake", default=os.path.join(ROOT, "target", "debug", "examples", "fake_discord"))
    ap.add_argument("--server", default="postgres://postgres@127.0.0.1:5544")
    ap.add_argument("--reminders", type=int, default=10_000)
    ap.add_argument("--targets", type=int, default=1_000, help="channels and DMs the reminders go to")
    ap.add_argument("--dms", type=int, default=200, help="how many of the targets are members' DMs")
    ap.add_argument("--runs", default="0-1,2,3", help="each process's shards of 4, comma-separated")
    ap.add_argument("--kills", type=int, default=10, help="at least this many SIGKILLs of each process")
    ap.add_argument("--every", type=float, default=12.0,
                    help="mean seconds between two kills of one process (while reminders fall due)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--spread", type=int, default=180, help="seconds over which the reminders fall due")
    ap.add_argument("--lead", type=int, default=3600, help="seconds from a reminder to its meeting (whole minutes)")
    ap.add_argument("--matrix", type=int, default=0,
                    help="also this many Matrix reminders, through the test Synapse (0: Discord only)")
    ap.add_argument("--keep", action="store_true", help="keep the database (dropped by default)")
    a = ap.parse_args()
    if not 0 <= a.dms < a.targets:
        sys.exit("--dms must leave at least one channel among --targets")
    rng = random.Random(a.seed)
    tag = f"{os.getpid()}x{int(time.time())}"
    work = tempfile.mkdtemp(prefix="hearth-soak-pg-")
    print(f"soak: work dir {work}", flush=True)
    database = f"hearth_soak_{tag}"
    Pg(a.server, "postgres").run(f"CREATE DATABASE {database};")
    pg = Pg(a.server, database)
    children = []
    try:
        url_file = os.path.join(work, "fake.urls")
        fake = Process("fake", [a.fake, "--url-file", url_file], open(os.path.join(work, "fake.log"), "ab"))
        fake.start()
        children.append(fake)
        deadline = time.time() + 30
        while not os.path.exists(url_file):
            if time.time() > deadline or fake.proc.poll() is not None:
                sys.exit(f"the fake Discord did not start; see {work}/fake.log")
            time.sleep(0.1)
        discord_url, report_url = open(url_file).read().split()
        token = os.path.join(work, "discord.token")
        open(token, "w").write("fake-token\n")
        matrix_section = ""
        if a.matrix:
            # One bot account for every process, one store directory shared
            # by them all: whichever holds the sync lease logs in there.
            hs, secret = synapse_env(ROOT)
            bot_pw = "soak-" + tag
            bot_id, _ = register(hs, secret, f"hearth{tag}", bot_pw)
            alice_id, alice = register(hs, secret, f"alice{tag}", "pw-" + tag)
            room = call(f"{hs}/_matrix/client/v3/createRoom", "POST",
                        {"preset": "private_chat", "invite": [bot_id], "name": "soak"}, alice)["room_id"]
            pw_file = os.path.join(work, "bot.password")
            open(pw_file, "w").write(bot_pw)
            matrix_section = (f'\n[matrix]\nhomeserver = "{hs}"\nuser_id = "{bot_id}"\n'
                              f'password_file = "{pw_file}"\nstore_dir = "{os.path.join(work, "matrix-store")}"\n')
        runs = a.runs.split(",")
        hearths = []
        for n, run in enumerate(runs):
            config = os.path.join(work, f"hearth-{n}.toml")
            open(config, "w").write(
                f'[storage]\nurl = "{pg.url}"\n\n'
                f'[discord]\ntoken_file = "{token}"\napi_base_url = "{discord_url}"\n'
                f'guilds = [{", ".join(map(str, GUILDS))}]\n'
                f'shards = {{ total = 4, run = "{run}" }}\n' + matrix_section)
            h = Process(f"hearth-{n} ({run})", [a.binary, "--config", config],
                        open(os.path.join(work, f"hearth-{n}.log"), "ab"))
            hearths.append(h)
        children.extend(hearths)

        # The schema is Hearth's to make: one process migrates, then stops.
        hearths[0].start()
        deadline = time.time() + 120
        while pg.one("SELECT to_regclass('public.leases') IS NOT NULL") != "t":
            if time.time() > deadline or hearths[0].proc.poll() is not None:
                sys.exit(f"Hearth did not migrate the database; see {work}/hearth-0.log")
            time.sleep(0.3)
        matrix_group = None
        if a.matrix:
            # The Matrix group is made through its room, as a member would.
            def joined():
                r = call(f"{hs}/_matrix/client/v3/rooms/{urllib.parse.quote(room)}/joined_members", token=alice)
                return bot_id in r.get("joined", {})

            deadline = time.time() + 120
            while not joined():
                if time.time() > deadline or hearths[0].proc.poll() is not None:
                    sys.exit(f"the bot never joined the Matrix room; see {work}/hearth-0.log")
                time.sleep(0.3)
            txn = [0]

            def say(text):
                txn[0] += 1
                call(f"{hs}/_matrix/client/v3/rooms/{urllib.parse.quote(room)}/send/m.room.message/soak{txn[0]}",
                     "PUT", {"msgtype": "m.text", "body": text}, alice)

            for command, check in (
                    ("!group create name:Soak topic:soak led_by:peer",
                     "SELECT COUNT(*) FROM groups g JOIN communities c ON c.id = g.community_id "
                     "WHERE c.platform = 'matrix'"),
                    # Its lead is the soak's, as the Discord groups'.
                    (f"!reminders group:Soak leads:{a.lead // 60}m",
                     "SELECT COUNT(*) FROM groups WHERE name = 'Soak' AND reminder_leads IS NOT NULL")):
                say(command)
                deadline = time.time() + 60
                while pg.one(check) == "0":
                    if time.time() > deadline:
                        sys.exit(f"the bot did not do {command!r}; see {work}/hearth-0.log")
                    time.sleep(0.3)
            matrix_group = int(pg.one("SELECT id FROM groups WHERE name = 'Soak'"))
        time.sleep(1)
        hearths[0].stop()

        # Straight into the database while Hearth is stopped, as kill9.py
        # does: what is tested is delivery, not planning.
        first_due = int(time.time()) + 30
        due, matrix_due = seed(pg, a.reminders, a.targets, a.dms, first_due, a.spread, a.lead,
                               (matrix_group, a.matrix) if a.matrix else None)
        last_due = first_due + a.spread
        print(f"soak: {a.reminders} reminders to {a.targets - a.dms} channels and {a.dms} DMs, due from "
              f"{time.strftime('%H:%M:%S', time.gmtime(first_due))} to "
              f"{time.strftime('%H:%M:%S', time.gmtime(last_due))} UTC; processes on shards {runs}"
              + (f"; and {a.matrix} Matrix reminders over the same time" if a.matrix else ""),
              flush=True)
        for h in hearths:
            h.start()

        # Who holds the Matrix sync lease, twice a second, and every kill:
        # how long each SIGKILL of the holder kept the sync from the others.
        lease_samples, kill_log, polling = [], [], threading.Event()

        def poll_lease():
            while not polling.is_set():
                try:
                    rows = pg.rows("SELECT holder, until FROM leases WHERE name = 'matrix-sync'")
                except RuntimeError:
                    rows = []
                lease_samples.append((time.time(), rows[0][0] if rows else None))
                polling.wait(0.5)

        poller = threading.Thread(target=poll_lease, daemon=True)
        if a.matrix:
            poller.start()

        def pending():
            return int(pg.one("SELECT COUNT(*) FROM jobs WHERE kind = 'reminder' AND state = 'pending'"))

        while a.kills == 0 and time.time() < last_due + 60:
            time.sleep(1)
        while a.kills > 0 and (time.time() < last_due + 60 or any(h.kills < a.kills for h in hearths)):
            time.sleep(rng.uniform(0.1, 2 * a.every) / len(hearths))
            short = [h for h in hearths if h.kills < a.kills]
            victim = rng.choice(short if short and time.time() >= last_due + 60 else hearths)
            kill_log.append((time.time(), victim.name, victim.proc.pid))
            victim.kill9()
            victim.start()
        killed_until = time.time()
        print(f"soak: kills done at {time.strftime('%H:%M:%S', time.gmtime(killed_until))} UTC: "
              + ", ".join(f"{h.name} {h.kills}" for h in hearths), flush=True)
        # Then let them finish whatever is still pending, without kills
        # (a killed process's claims run out after the jobs lease).
        deadline = time.time() + 900
        while pending() > 0 and time.time() < deadline:
            time.sleep(1)
        time.sleep(5)
        polling.set()
        for h in hearths:
            h.stop()

        report = fetch(report_url)
        reader = Reader(due, None)
        seen = {}
        for m in report["messages"]:
            for title in reader.titles_in(m["text"]):
                seen.setdefault(title, []).append(m["at_ms"])
        for stamps in seen.values():
            stamps.sort()
        result = tally(seen, due)
        states = dict(pg.rows("SELECT state, COUNT(*) FROM jobs WHERE kind = 'reminder' GROUP BY state"))
        arrived = [min(seen[t]) / 1000 for t in due if t in seen]
        drain = round(max(arrived) - first_due, 3) if arrived else None
        floor = ideal(due, 50)
        measured = dict(result["lateness_s"], drain_s=drain)
        ratio = {k: (round(measured[k] / floor[k], 2) if floor[k] and measured[k] is not None else None)
                 for k in floor}
        messages_posted = sum(v for k, v in report["requests_by_route"].items()
                              if k == "POST /channels/{id}/messages")
        # Whether the same post (its nonce) was refused more than once.
        refused_again, once = 0, set()
        for t in report["throttled"]:
            key = (t["method"], t["path"], t["nonce"])
            if t["nonce"] and key in once:
                refused_again += 1
            once.add(key)
        # Each process's own 429s (from its log), and how many came within
        # 2 s of its own latest start: a restarted process paces afresh
        # while what it sent just before the kill still counts at Discord.
        per_process = {}
        for h in hearths:
            stamps = []
            with open(h.log.name, errors="replace") as f:
                for line in f:
                    line = ANSI.sub("", line)
                    if "HTTP 429" in line and "hearth_discord" in line:
                        stamps.append(datetime.datetime.fromisoformat(line[:26]).replace(
                            tzinfo=datetime.timezone.utc).timestamp())
            near = sum(1 for t in stamps if any(0 <= t - st < 2 for st in h.starts[1:]))
            per_process[h.name] = {"429s": len(stamps), "within_2s_of_its_restart": near}
        summary = dict(
            result,
            global_429=report["global_429"],
            route_429=report["route_429"],
            posts_429_again=refused_again,
            seen_by_each_process=per_process,
            nonce_repeats=report["nonce_repeats"],
            messages_created=len(report["messages"]),
            message_posts=messages_posted,
            requests=sum(report["requests_by_route"].values()),
            requests_by_route=report["requests_by_route"],
            throttled_by_route=dict(sorted(collections.Counter(
                f"{t['method']} {t['path'].split('/')[1] if t['path'].count('/') > 1 else t['path']}"
                + (" (global)" if t["global"] else " (route)") for t in report["throttled"]).items())),
            floor_at_50_per_s=floor,
            lateness_over_floor=ratio,
            drain_s=drain,
            kills={h.name: h.kills for h in hearths},
            job_states=states,
            matrix=matrix_result(matrix_due, read_room(hs, room, alice), bot_id, lease_samples, kill_log)
            if a.matrix else None,
            database=database if a.keep else None,
            work_dir=work,
        )
        print(json.dumps(summary, indent=2), flush=True)
        bad = result["lost"] or result["repeated"] or report["global_429"] or report["route_429"]
        if a.matrix:
            m = summary["matrix"]
            bad = bad or m["lost"] or m["repeated"] or m["fail_over_s"]["over_bound"]
    finally:
        for child in reversed(children):
            child.stop()
        if not a.keep:
            Pg(a.server, "postgres").run(f"DROP DATABASE IF EXISTS {database} WITH (FORCE);")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
