#!/usr/bin/env python3
"""Reads a Matrix room back and counts the reminders the bot delivered there.

Shared by the soaks: scripts/soak/kill9.py uses it, and the PostgreSQL
three-process soak (issue 27) is to import it too rather than write its own,
so that every soak counts reminders the same, checked, way. `Reader.titles_in`
and `tally` know nothing of Matrix: a Discord sink's message texts go through
them as they are; `Reader.carried`, `Reader.count` and `read_room` read Matrix
events.

A reminder counts as delivered once for every message of the bot's that
names its meeting: a single card ("Reminder: …"), a digest of several
("Reminders: 5 meetings" and a numbered list), or whatever form comes next.
The soak gives each meeting a title no other meeting's contains, so a title
standing as a whole word in a message's plain body is that reminder, however
the sentence around it is worded. A message counts each title once even when
it names it twice (a digest names it in its entry and again in its button's
legend). Edits (`m.replace`) repeat a message that has already been counted,
reactions (the buttons) name nothing, and the bot's answers to commands
(replies: "Moved …", "Cancelled …") are not reminders: none of them counts.

Why titles rather than `org.hearth.buttons` (the rsvp commands, with meeting
ids, that ride in the content): the title is the part of a reminder a member
reads, and a reminder that does not name its meeting reminds nobody, while
the buttons are an affordance kept in a Matrix-only key that a later card may
cap, move or drop. A plain body also reads the same on any platform.

Standard library only. Run as a script it reads one room and prints, as JSON,
how many messages carried each title given (the test in
adapters/matrix/tests/meetings.rs drives it that way):

    HEARTH_READER_TOKEN=… reader.py --homeserver URL --room ID --sender BOT TITLE…
"""

import argparse
import json
import os
import re
import statistics
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "synapse"))
from matrix_http import call  # noqa: E402


class Reader:
    """Finds known meeting titles in the bot's messages."""

    def __init__(self, titles, sender):
        self.sender = sender
        titles = sorted(set(titles), key=len, reverse=True)
        if not titles or any(not t for t in titles):
            raise ValueError("the reader needs at least one title, none of them empty")
        # Whole words only: "s00001" is not in "s000012". Longest first so
        # that one title that begins another is not matched short.
        self.pattern = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, titles)) + r")(?!\w)")

    def carried(self, event):
        """The titles one event carries: none unless it is the bot's own
        message, neither an edit nor a redacted husk."""
        if event.get("type") != "m.room.message" or event.get("sender") != self.sender:
            return set()
        content = event.get("content") or {}
        relation = content.get("m.relates_to") or {}
        if relation.get("rel_type") == "m.replace" or "m.new_content" in content:
            return set()
        # An answer to a command (a reply to it) is not a reminder, though
        # it names the meeting: "Moved s00302 from 10:06 to 10:07", typed in
        # the group's home room, is the facilitator's answer and the group's
        # notice in one. A reminder answers no one.
        if "m.in_reply_to" in relation:
            return set()
        body = content.get("body")
        return self.titles_in(body) if isinstance(body, str) else set()

    def titles_in(self, text):
        """The titles one message's plain text names, each once."""
        return set(self.pattern.findall(text))

    def count(self, events):
        """Title -> the origin_server_ts of every message that carried it,
        earliest first."""
        seen = {}
        for event in events:
            for title in self.carried(event):
                seen.setdefault(title, []).append(event.get("origin_server_ts", 0))
        for stamps in seen.values():
            stamps.sort()
        return seen


def read_room(hs, room, token):
    """Every event of the room, in timeline order, through /messages."""
    events = []
    frm = None
    while True:
        q = {"dir": "b", "limit": "1000"}
        if frm:
            q["from"] = frm
        r = call(f"{hs}/_matrix/client/v3/rooms/{urllib.parse.quote(room)}/messages?"
                 + urllib.parse.urlencode(q), token=token, timeout=120)
        events.extend(r.get("chunk", []))
        frm = r.get("end")
        if not frm or not r.get("chunk"):
            break
    events.reverse()
    return events


def tally(seen, due):
    """Lost, repeated and lateness of the reminders `due` (title -> due time,
    Unix seconds) given what was `seen` (from `Reader.count`). Lateness is the
    first message's origin_server_ts minus the due time."""
    lost = sorted(t for t in due if t not in seen)
    repeated = sorted(t for t in due if len(seen.get(t, [])) > 1)
    late = sorted(seen[t][0] / 1000 - due[t] for t in due if t in seen)
    p99 = late[min(len(late) - 1, int(len(late) * 0.99))] if late else None
    return {
        "reminders": len(due),
        "seen": sum(1 for t in due if t in seen),
        "lost": len(lost),
        "repeated": len(repeated),
        "lateness_s": {
            "median": round(statistics.median(late), 3) if late else None,
            "p99": round(p99, 3) if late else None,
            "max": round(late[-1], 3) if late else None,
        },
        "lost_examples": lost[:5],
        "repeated_examples": repeated[:5],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--homeserver", required=True)
    ap.add_argument("--room", required=True)
    ap.add_argument("--sender", required=True, help="the bot's user id")
    ap.add_argument("titles", nargs="+")
    a = ap.parse_args()
    # The token comes through the environment, not the command line, where
    # any user of the machine could read it.
    token = os.environ.get("HEARTH_READER_TOKEN")
    if not token:
        sys.exit("set HEARTH_READER_TOKEN to a room member's access token")
    seen = Reader(a.titles, a.sender).count(read_room(a.homeserver, a.room, token))
    print(json.dumps({t: len(seen.get(t, [])) for t in a.titles}))


if __name__ == "__main__":
    main()
