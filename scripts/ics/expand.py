#!/usr/bin/env python3
"""Expands Hearth's calendar and Meeting Guide feed with an independent
RFC 5545 implementation (icalendar + recurring-ical-events), for the core's
calendar test to compare with Hearth's own occurrences.

Reads JSON on stdin:
  {"ics": "<the .ics text>", "from": UNIX, "to": UNIX,
   "feed": [{<a Meeting Guide entry>, "anchor": UNIX, "until": UNIX}, ...]}
`anchor` is the test's first regular occurrence of the entry's series: the
feed states day, time, zone and how often, not which week a fortnightly
meeting falls in. The expander checks that the anchor is on the entry's day
and time, then expands the entry itself.

Writes JSON on stdout:
  {"ics": {UID: [UNIX, ...]}, "feed": {SLUG: [UNIX, ...]}}
Start instants, sorted, within [from, to) for the calendar and [anchor,
until] for the feed. Exits 1 with a message when the input disagrees with
itself (an anchor not on its entry's day).
"""

import json
import sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

# Meeting Guide counts days from Sunday; RFC 5545 names them.
DAYS = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"]
NTH = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}


def calendar_starts(ics, start, end):
    cal = icalendar.Calendar.from_ical(ics)
    out = {}
    for event in recurring_ical_events.of(cal).between(start, end):
        at = event["DTSTART"].dt
        out.setdefault(str(event["UID"]), []).append(int(at.timestamp()))
    return {uid: sorted(v) for uid, v in out.items()}


def feed_rule(entry):
    """The RRULE a Meeting Guide entry states: weekly on its day, every N
    weeks, or monthly on the nth weekday its notes name."""
    notes = entry.get("notes", "")
    day = DAYS[entry["day"]]
    if notes.startswith("Once a month: the "):
        which = notes[len("Once a month: the "):].split(" ", 1)[0]
        return {"FREQ": "MONTHLY", "BYDAY": f"{NTH[which]}{day}"}
    if notes.startswith("Every other week."):
        return {"FREQ": "WEEKLY", "INTERVAL": 2, "BYDAY": day}
    first = notes.split(".")[0]
    if first.startswith("Every ") and first.endswith(" weeks"):
        return {"FREQ": "WEEKLY", "INTERVAL": int(first.split(" ")[1]), "BYDAY": day}
    return {"FREQ": "WEEKLY", "BYDAY": day}


def feed_starts(entry):
    zone = ZoneInfo(entry["timezone"])
    anchor = datetime.fromtimestamp(entry["anchor"], timezone.utc).astimezone(zone)
    if (anchor.isoweekday() % 7, anchor.strftime("%H:%M")) != (entry["day"], entry["time"]):
        sys.exit(f"{entry['slug']}: the anchor {anchor} is not on day {entry['day']} at {entry['time']}")
    hour, minute = (int(x) for x in entry["time"].split(":"))
    dtstart = anchor.replace(hour=hour, minute=minute, second=0)
    event = icalendar.Event()
    event.add("uid", entry["slug"])
    event.add("dtstart", dtstart)
    event.add("rrule", feed_rule(entry))
    cal = icalendar.Calendar()
    cal.add_component(event)
    until = datetime.fromtimestamp(entry["until"], timezone.utc)
    found = recurring_ical_events.of(cal).between(dtstart, until + timedelta(seconds=1))
    return sorted(int(e["DTSTART"].dt.timestamp()) for e in found)


def main():
    req = json.load(sys.stdin)
    start = datetime.fromtimestamp(req["from"], timezone.utc)
    end = datetime.fromtimestamp(req["to"], timezone.utc)
    json.dump(
        {
            "ics": calendar_starts(req["ics"], start, end),
            "feed": {e["slug"]: feed_starts(e) for e in req["feed"]},
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
