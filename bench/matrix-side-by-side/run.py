#!/usr/bin/env python3
"""Hearth side by side with matrix-reminder-bot 0.4.0 and a raw echo bot.

All three on the one test Synapse (scripts/synapse/start), in alternating
rounds, measured from the server's own origin_server_ts:

- reply latency: a command's reply ts minus the command's ts (the peer
  answers `!help`, Hearth `!group info`, the echo bot any message at once,
  with raw HTTP and no SDK: the floor);
- 20 reminders due at one instant: each reminder's ts minus that instant,
  where a reminder's ts is that of the first message naming it (the peer
  sends one message each; Hearth sends reminders due together as digests of
  up to ten), and how many are missing or repeated;
- RSS after the round, and the bot's CPU seconds during it (/proc).

Not a test: run it by hand (bench/matrix-side-by-side/run). Standard library
only; the peer comes from PyPI into its own virtualenv.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts", "synapse"))
from matrix_http import call, register  # noqa: E402


class Timeline:
    """Every room event the tester sees, from a sync loop of its own."""

    def __init__(self, hs, token):
        self.hs, self.token, self.events, self.lock = hs, token, [], threading.Lock()
        self.since = call(f"{hs}/_matrix/client/v3/sync?timeout=0", token=token)["next_batch"]
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while True:
            try:
                r = call(f"{self.hs}/_matrix/client/v3/sync?timeout=30000&since={self.since}", token=self.token,
                         timeout=90)
            except Exception:
                time.sleep(0.5)
                continue
            self.since = r["next_batch"]
            with self.lock:
                for room, data in r.get("rooms", {}).get("join", {}).items():
                    for ev in data.get("timeline", {}).get("events", []):
                        ev["room_id"] = room
                        self.events.append(ev)

    def wait(self, pred, timeout=120):
        end = time.time() + timeout
        while time.time() < end:
            with self.lock:
                for ev in self.events:
                    if pred(ev):
                        return ev
            time.sleep(0.02)
        raise TimeoutError("no such event")

    def all(self, pred):
        with self.lock:
            return [e for e in self.events if pred(e)]


def echo_bot(hs, token, me):
    """The floor: answers every message from someone else at once, raw HTTP."""
    first = call(f"{hs}/_matrix/client/v3/sync?timeout=0", token=token)
    since = first["next_batch"]
    # Invites sent before it started are in its first sync.
    for room in first.get("rooms", {}).get("invite", {}):
        call(f"{hs}/_matrix/client/v3/join/{urllib.parse.quote(room)}", "POST", {}, token)
    n = 0
    while True:
        try:
            r = call(f"{hs}/_matrix/client/v3/sync?timeout=30000&since={since}", token=token, timeout=90)
        except Exception:
            time.sleep(0.5)
            continue
        since = r["next_batch"]
        for room in r.get("rooms", {}).get("invite", {}):
            call(f"{hs}/_matrix/client/v3/join/{urllib.parse.quote(room)}", "POST", {}, token)
        for room, data in r.get("rooms", {}).get("join", {}).items():
            for ev in data.get("timeline", {}).get("events", []):
                if ev.get("type") == "m.room.message" and ev.get("sender") != me:
                    n += 1
                    call(f"{hs}/_matrix/client/v3/rooms/{urllib.parse.quote(room)}/send/m.room.message/e{n}x{time.time()}",
                         "PUT", {"msgtype": "m.notice", "body": "echo"}, token)


def proc_figures(pid):
    status = open(f"/proc/{pid}/status").read()
    rss = int(next(l for l in status.splitlines() if l.startswith("VmRSS:")).split()[1]) / 1024
    stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    cpu = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    return rss, cpu


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=None, help="hearth binary (default: release if built, else debug)")
    ap.add_argument("--peer", default=os.path.join(ROOT, ".bench", "mrb", "bin", "matrix-reminder-bot"))
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--replies", type=int, default=20)
    ap.add_argument("--settle", type=float, default=0.0,
                    help="seconds to wait before each bot's phase, so that what the last phase set going "
                         "(its bot, Synapse) has settled; the same for every bot")
    ap.add_argument("--replies-only", action="store_true",
                    help="measure reply latency only, without the 20-reminder rounds (about a minute a round less)")
    a = ap.parse_args()
    binary = a.binary or next(p for p in [os.path.join(ROOT, "target", "release", "hearth"),
                                          os.path.join(ROOT, "target", "debug", "hearth")] if os.path.exists(p))
    env = dict(l.strip().split("=", 1) for l in open(os.path.join(ROOT, ".synapse", "env")))
    hs, secret = env["HEARTH_SYNAPSE_URL"], env["HEARTH_SYNAPSE_SECRET"]
    tag = f"{os.getpid()}x{int(time.time())}"
    work = tempfile.mkdtemp(prefix="hearth-side-")
    peer_id, _ = register(hs, secret, f"peer{tag}", "pw-peer")
    hearth_id, _ = register(hs, secret, f"hearth{tag}", "pw-hearth")
    echo_id, echo_token = register(hs, secret, f"echo{tag}", "pw-echo")
    alice_id, alice = register(hs, secret, f"alice{tag}", "pw-alice")
    rooms = {}
    for name, bot in [("peer", peer_id), ("hearth", hearth_id), ("echo", echo_id)]:
        rooms[name] = call(f"{hs}/_matrix/client/v3/createRoom", "POST",
                           {"preset": "private_chat", "invite": [bot], "name": name}, alice)["room_id"]
    timeline = Timeline(hs, alice)
    threading.Thread(target=echo_bot, args=(hs, echo_token, echo_id), daemon=True).start()

    os.makedirs(f"{work}/peer-store")
    open(f"{work}/peer.yaml", "w").write(
        f"command_prefix: \"!\"\nmatrix:\n  user_id: \"{peer_id}\"\n  user_password: \"pw-peer\"\n"
        f"  device_id: PEERBENCH\n  device_name: peer\n  homeserver_url: \"{hs}\"\n"
        f"storage:\n  database: \"sqlite://{work}/peer.db\"\n  store_path: \"{work}/peer-store\"\n"
        f"reminders:\n  timezone: \"Etc/UTC\"\nallowlist:\n  enabled: false\n  regexes: []\n"
        f"blocklist:\n  enabled: false\n  regexes: []\nlogging:\n  level: WARNING\n"
        f"  file_logging:\n    enabled: false\n  console_logging:\n    enabled: true\n")
    open(f"{work}/hearth.pw", "w").write("pw-hearth")
    open(f"{work}/hearth.toml", "w").write(
        f'[storage]\npath = "{work}/hearth.db"\n\n[matrix]\nhomeserver = "{hs}"\nuser_id = "{hearth_id}"\n'
        f'password_file = "{work}/hearth.pw"\nstore_dir = "{work}/hearth-store"\n')
    log = open(f"{work}/bots.log", "ab")
    peer = subprocess.Popen([a.peer, f"{work}/peer.yaml"], cwd=work, stdout=log, stderr=log)
    hearth = subprocess.Popen([binary, "--config", f"{work}/hearth.toml"], cwd=work, stdout=log, stderr=log,
                              stdin=subprocess.DEVNULL, env=dict(os.environ, RUST_LOG="warn"))
    txn = [0]

    def say(room, text):
        txn[0] += 1
        return call(f"{hs}/_matrix/client/v3/rooms/{urllib.parse.quote(rooms[room])}/send/m.room.message/b{txn[0]}",
                    "PUT", {"msgtype": "m.text", "body": text}, alice)["event_id"]

    def joined(room, who):
        r = call(f"{hs}/_matrix/client/v3/rooms/{urllib.parse.quote(rooms[room])}/joined_members", token=alice)
        return who in r.get("joined", {})

    for room, who in [("peer", peer_id), ("hearth", hearth_id), ("echo", echo_id)]:
        end = time.time() + 120
        while not joined(room, who):
            if time.time() > end:
                sys.exit(f"{room} bot never joined; see {work}/bots.log")
            time.sleep(0.5)
    say("hearth", "!group create name:Bench topic:bench led_by:peer")
    timeline.wait(lambda e: e.get("sender") == hearth_id and "Bench" in e.get("content", {}).get("body", ""))
    # Its answer is private (a DM the tester has not joined): give it a moment.
    say("hearth", "!reminders group:Bench leads:1m")
    time.sleep(3)

    bots = {"peer": (peer_id, "!help", peer.pid), "hearth": (hearth_id, "!group info group:Bench", hearth.pid),
            "echo": (echo_id, "ping", None)}
    results = {k: {"reply": [], "late": [], "rss": [], "cpu": []} for k in bots}
    for rnd in range(a.rounds):
        order = ["peer", "hearth", "echo"] if rnd % 2 == 0 else ["echo", "hearth", "peer"]
        for name in order:
            who, command, pid = bots[name]
            time.sleep(a.settle)
            before = proc_figures(pid) if pid else None
            for _ in range(a.replies):
                sent = say(name, command)
                cmd = timeline.wait(lambda e: e.get("event_id") == sent)
                reply = timeline.wait(lambda e: e.get("sender") == who and e["room_id"] == rooms[name]
                                      and e["origin_server_ts"] >= cmd["origin_server_ts"]
                                      and e.get("type") == "m.room.message"
                                      and e["event_id"] not in seen_replies)
                seen_replies.add(reply["event_id"])
                results[name]["reply"].append(reply["origin_server_ts"] - cmd["origin_server_ts"])
                time.sleep(0.05)
            results[name].setdefault("rounds", []).append(statistics.median(results[name]["reply"][-a.replies:]))
            if name == "echo" or a.replies_only:
                continue
            # 20 reminders due at one instant, on a minute boundary at least 75 s away.
            due = (int(time.time()) + 75 + 59) // 60 * 60
            label = f"z{rnd}{name}"
            for i in range(20):
                if name == "peer":
                    when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(due))
                    say("peer", f"!remindroom {when}; {label}-{i:02d}")
                else:
                    when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(due + 60))
                    say("hearth", f'!meeting schedule group:Bench when:"{when}" timezone:UTC title:"{label}-{i:02d}" confirm:yes')
            # A reminder arrives with the first message that names it: one
            # each from the peer; Hearth sends reminders that fall due
            # together as digests of up to ten.
            def arrived():
                msgs = timeline.all(lambda e: e.get("sender") == who and e.get("type") == "m.room.message"
                                    and f"{label}-" in e.get("content", {}).get("body", "")
                                    and e["origin_server_ts"] >= due * 1000 - 1000)
                first, count = {}, {}
                for e in sorted(msgs, key=lambda e: e["origin_server_ts"]):
                    body = e["content"]["body"]
                    for i in range(20):
                        title = f"{label}-{i:02d}"
                        if title in body:
                            first.setdefault(title, e["origin_server_ts"])
                            count[title] = count.get(title, 0) + 1
                return first, count

            end = due + 120
            while time.time() < end:
                if len(arrived()[0]) >= 20:
                    break
                time.sleep(0.5)
            first, count = arrived()
            results[name]["late"].extend(ts - due * 1000 for ts in first.values())
            results[name].setdefault("missing", 0)
            results[name]["missing"] += 20 - len(first)
            results[name].setdefault("repeated", 0)
            results[name]["repeated"] += sum(1 for c in count.values() if c > 1)
            results[name].setdefault("messages", 0)
            results[name]["messages"] += len({e["event_id"] for e in timeline.all(
                lambda e: e.get("sender") == who and e.get("type") == "m.room.message"
                and f"{label}-" in e.get("content", {}).get("body", "")
                and e["origin_server_ts"] >= due * 1000 - 1000)})
            after = proc_figures(pid)
            results[name]["rss"].append(after[0])
            results[name]["cpu"].append(after[1] - before[1])
    peer.terminate()
    hearth.terminate()

    def med(xs):
        return statistics.median(xs) if xs else float("nan")

    def p90(xs):
        return sorted(xs)[int(len(xs) * 0.9)] if xs else float("nan")

    rows = [
        ("reply latency median (ms)", lambda k: med(results[k]["reply"])),
        ("reply latency p90 (ms)", lambda k: p90(results[k]["reply"])),
    ]
    if not a.replies_only:
        rows += [
            ("20 at once: lateness median (ms)", lambda k: med(results[k]["late"])),
            ("20 at once: lateness max (ms)", lambda k: max(results[k]["late"]) if results[k]["late"] else float("nan")),
            ("RSS after a round (MiB)", lambda k: med(results[k]["rss"])),
            ("bot CPU per round (s)", lambda k: med(results[k]["cpu"])),
        ]
    print(f"hearth binary: {binary}; {a.rounds} rounds; settle {a.settle} s; work dir {work}")
    print(f"{'figure':36} {'peer':>9} {'hearth':>9} {'echo':>9} {'hearth/peer':>12} {'hearth-echo':>12}")
    for label, f in rows:
        p, h = f("peer"), f("hearth")
        e = f("echo") if "reply" in label else float("nan")
        # CPU is read in clock ticks (10 ms): two decimals tell runs apart that one does not.
        d = 2 if "CPU" in label else 1
        print(f"{label:36} {p:9.{d}f} {h:9.{d}f} {e:9.{d}f} {h / p if p else float('nan'):12.2f} {h - e:12.{d}f}")
    print("reply latency median of each round (ms): " + "; ".join(
        f"{k} " + " ".join(f"{m:.1f}" for m in results[k]["rounds"]) for k in bots))
    for k in ("peer", "hearth"):
        r = results[k]
        if a.replies_only:
            continue
        print(f"{k}: reminders missing {r.get('missing', 0)}, repeated {r.get('repeated', 0)}, "
              f"in {r.get('messages', 0)} messages")


seen_replies = set()

if __name__ == "__main__":
    main()
