//! End to end through the real `hearth` binary: scripts on standard input,
//! replies on standard output, a SQLite file on disk.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test harness should fail loudly"
)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

struct Run {
    stdout: String,
    stderr: String,
    success: bool,
}

fn hearth(dir: &Path, args: &[&str], script: &str) -> Run {
    hearth_logging(dir, args, script, None)
}

/// The console on `t.db` in `dir`, its clock starting at `clock` (RFC 3339).
fn console_at(dir: &Path, clock: &str, script: &str) -> Run {
    hearth(dir, &["console", "--db", "t.db", "--clock", clock], script)
}

/// The same, the first speaker being `who`.
fn console_as_at(dir: &Path, who: &str, clock: &str, script: &str) -> Run {
    hearth(dir, &["console", "--db", "t.db", "--as", who, "--clock", clock], script)
}

/// Like [`hearth`], with `RUST_LOG` set to `log` when given.
fn hearth_logging(dir: &Path, args: &[&str], script: &str, log: Option<&str>) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hearth"));
    match log {
        Some(log) => command.env("RUST_LOG", log),
        None => command.env_remove("RUST_LOG"),
    };
    let mut child = command
        .args(args)
        .current_dir(dir)
        .env_remove("HEARTH_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the hearth binary starts");
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    Run {
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
        success: out.status.success(),
    }
}

/// The block printed after the input line `said` (up to the next input line).
fn answer_to<'a>(stdout: &'a str, said: &str) -> &'a str {
    let start = stdout
        .find(said)
        .unwrap_or_else(|| panic!("{said:?} not echoed in:\n{stdout}"))
        + said.len();
    let rest = &stdout[start..];
    let end = rest
        .find("@#")
        .and_then(|i| rest[..i].rfind('\n'))
        .unwrap_or(rest.len());
    &rest[..end]
}

#[test]
fn a_scripted_session_runs_groups_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
# the first speaker is the community's admin
/group create name:"Grief circle" topic:grief led_by:peer capacity:12 description:"For anyone who has lost someone."
/group facilitator group:"Grief circle" user:bob action:add
/as carol
/group create name:Sneaky topic:x led_by:peer
/group join Grief circle
/timezone zone:Europe/Berlin
/timezone
/as bob
/group edit group:"grief circle" cost:free
/group list
/group info group:#1
"#;

    let run = hearth(dir.path(), &["console", "--db", "t.db", "--as", "alice"], script);

    assert!(run.success, "{}", run.stderr);
    let out = &run.stdout;
    assert!(answer_to(out, "alice@#general> /group create").contains("-> #general\n   == Grief circle =="));
    assert!(answer_to(out, "/group facilitator").contains("@bob now facilitates Grief circle."));
    assert!(
        answer_to(out, "/group create name:Sneaky")
            .contains("-> #general (private: only carol sees this)\n   Only a community admin can use /group create.")
    );
    assert!(answer_to(out, "/group join Grief circle").contains("You've joined Grief circle."));
    assert!(answer_to(out, "/timezone zone:Europe/Berlin").contains("Your time zone is now Europe/Berlin"));
    assert!(answer_to(out, "carol@#general> /timezone\n").contains("Your time zone is Europe/Berlin"));
    assert!(answer_to(out, "/group edit").contains("Cost: free"));
    assert!(answer_to(out, "/group list").contains("Grief circle (#1): grief · peer-led · online · 1 member"));
    let card = answer_to(out, "/group info group:#1");
    for expected in [
        "Led: Peer-led, by @bob",
        "Size: 1 of 12 places taken",
        "[➕ Join] /group join group:#1",
    ] {
        assert!(card.contains(expected), "{expected:?} not in {card}");
    }
    assert!(!out.contains("Sneaky ("), "a refused command changed nothing");
}

#[test]
fn bad_input_gets_clear_errors_and_the_session_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let long = "x".repeat(10_000);
    let script = format!(
        "/frobnicate\n/group create name:x topic:y\n/group create name:{long} topic:y led_by:peer\n/timezone zone:Europe/Berln\n/group info group:\"Grief\nhello there\n/group list\n"
    );

    let run = hearth(dir.path(), &["console", "--db", "t.db"], &script);

    assert!(run.success);
    let out = &run.stdout;
    assert!(answer_to(out, "/frobnicate").contains("I don't know that command."));
    assert!(answer_to(out, "/group create name:x topic:y\n").contains("/group create needs led_by:…"));
    assert!(out.contains("That is too long for a command (10038 characters; at most 4000)."));
    assert!(answer_to(out, "/timezone zone:Europe/Berln").contains("Did you mean Europe/Berlin,"));
    assert!(answer_to(out, "/group info group:\"Grief").contains("A quote was left open."));
    assert!(answer_to(out, "hello there").contains("commands start with /"));
    assert!(answer_to(out, "/group list").contains("No groups yet"));
    assert!(!run.stdout.contains("panicked") && !run.stderr.contains("panicked"));
}

#[test]
fn a_second_run_on_the_same_database_is_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    hearth(
        dir.path(),
        &["console", "--db", "t.db", "--as", "alice"],
        "/group create name:Caregivers topic:caregiving led_by:peer\n",
    );

    // Bob speaks first this time, but the community already has its admin.
    let run = hearth(
        dir.path(),
        &["console", "--db", "t.db", "--as", "bob"],
        "/group list\n/group create name:Mine topic:x led_by:peer\n/as alice\n/group edit group:Caregivers cost:free\n",
    );

    assert!(answer_to(&run.stdout, "/group list").contains("Caregivers (#1)"));
    assert!(answer_to(&run.stdout, "/group create").contains("Only a community admin"));
    assert!(answer_to(&run.stdout, "/group edit").contains("Cost: free"));
}

#[test]
fn with_no_arguments_hearth_runs_the_console_on_hearth_db_here() {
    let dir = tempfile::tempdir().unwrap();

    let run = hearth(dir.path(), &[], "/help\n");

    assert!(run.success, "{}", run.stderr);
    assert!(run.stdout.contains("== Hearth commands =="));
    assert!(dir.path().join("hearth.db").exists());
}

#[test]
fn manual_clock_moves_with_wait() {
    let dir = tempfile::tempdir().unwrap();

    let run = console_at(
        dir.path(),
        "2026-03-19T10:00:00Z",
        "/now\n/wait 90m\n/now\n/wait soon\n",
    );

    assert!(run.stdout.contains("· it is Thu 19 Mar 2026 10:00 UTC"));
    assert!(run.stdout.contains("· it is now Thu 19 Mar 2026 11:30 UTC"));
    assert!(run.stdout.contains("/wait takes a duration such as 90m, 2h or 7d"));
}

#[test]
fn a_config_file_runs_the_adapters_it_names() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hearth.toml"),
        "[storage]\npath = \"from-config.db\"\n[community]\ntimezone = \"Europe/Berlin\"\n[console]\nspeaker = \"alice\"\n",
    )
    .unwrap();

    let run = hearth(
        dir.path(),
        &["--config", "hearth.toml"],
        "/group create name:A topic:b led_by:peer\n/timezone\n",
    );

    assert!(run.success, "{}", run.stderr);
    assert!(run.stdout.contains("alice@#general> /group create"));
    assert!(run.stdout.contains("I use this community's: Europe/Berlin"));
    assert!(dir.path().join("from-config.db").exists());
}

#[test]
fn a_wrong_config_stops_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.toml"), "[storage]\npth = \"x.db\"\n[console]\n").unwrap();
    std::fs::write(
        dir.path().join("zone.toml"),
        "[community]\ntimezone = \"Mars/Base\"\n[console]\n",
    )
    .unwrap();

    let bad_key = hearth(dir.path(), &["--config", "bad.toml"], "");
    let bad_zone = hearth(dir.path(), &["--config", "zone.toml"], "");
    let missing = hearth(dir.path(), &["--config", "nowhere.toml"], "");

    assert!(!bad_key.success && bad_key.stderr.contains("pth"), "{}", bad_key.stderr);
    assert!(
        !bad_zone.success && bad_zone.stderr.contains("timezone"),
        "{}",
        bad_zone.stderr
    );
    assert!(
        !missing.success && missing.stderr.contains("nowhere.toml"),
        "{}",
        missing.stderr
    );
}

/// The deliveries the scheduler printed: block heads stamped with a time.
fn scheduled_deliveries(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter(|l| l.starts_with("-> ") && l.ends_with(" UTC]"))
        .collect()
}

#[test]
fn reminders_arrive_once_on_time_and_a_restart_repeats_none_and_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    let first = hearth(
        dir.path(),
        &["console", "--db", "t.db", "--clock", "2026-03-19T10:00:00Z"],
        r#"/group create name:"Grief circle" topic:grief led_by:peer
/meeting schedule group:"Grief circle" when:"thu 19:00" repeat:weekly timezone:Europe/Berlin
/as bob
/timezone zone:Europe/London
/meeting rsvp meeting:1 answer:yes
/wait 8h
"#,
    );

    // Restarted after the next 24-hour reminder was due, and before its meeting.
    let second = console_at(dir.path(), "2026-03-25T20:00:00Z", "/now\n/wait 1d\n");

    assert!(first.success && second.success, "{}{}", first.stderr, second.stderr);
    // Due together, the channel's and bob's go out side by side, in either order.
    let mut first_deliveries = scheduled_deliveries(&first.stdout);
    first_deliveries.sort();
    assert_eq!(
        first_deliveries,
        vec![
            "-> #general  [Thu 19 Mar 2026 17:00 UTC]",
            "-> DM bob  [Thu 19 Mar 2026 17:00 UTC]"
        ]
    );
    assert!(
        first
            .stdout
            .contains("Starts in 1 hour: Thu 19 Mar 2026, 19:00 CET (90 min).")
    );
    assert!(
        first.stdout.contains("Starts in 1 hour: Thu 19 Mar 2026, 18:00 GMT"),
        "a DM shows the reader's zone:\n{}",
        first.stdout
    );
    assert_eq!(
        scheduled_deliveries(&second.stdout),
        vec![
            "-> #general  [Wed 25 Mar 2026 20:00 UTC]",
            "-> #general  [Thu 26 Mar 2026 17:00 UTC]"
        ]
    );
    let caught_up = answer_to(&second.stdout, "");
    // Sent late, it says how long is really left: 22 hours, not 24.
    assert!(
        caught_up.contains("Starts in 22 hours: Thu 26 Mar 2026, 19:00 CET"),
        "{caught_up}"
    );
    assert!(caught_up.contains("(Sent late: I was offline when this was due.)"));
    assert!(
        !second.stdout.contains("19 Mar"),
        "nothing repeated:\n{}",
        second.stdout
    );
}

#[test]
fn reminders_due_together_in_one_room_are_one_digest_whose_numbered_buttons_rsvp() {
    let dir = tempfile::tempdir().unwrap();
    let run = hearth(
        dir.path(),
        &["console", "--db", "t.db", "--clock", "2026-03-19T10:00:00Z"],
        r#"/group create name:"Grief circle" topic:grief led_by:peer
/group create name:"Carers evening" topic:caregiving led_by:peer
/group create name:"New parents" topic:parenting led_by:peer
/meeting schedule group:#1 when:"thu 19:00" timezone:Europe/Berlin
/meeting schedule group:#2 when:"thu 19:00" timezone:Europe/Berlin
/meeting schedule group:#3 when:"thu 19:00" timezone:Europe/Berlin
/wait 7h30m
/as bob
/meeting rsvp meeting:2 occurrence:2026-03-19 answer:yes
"#,
    );

    assert!(run.success, "{}", run.stderr);
    // One message for the three, not three pings.
    assert_eq!(
        scheduled_deliveries(&run.stdout),
        vec!["-> #general  [Thu 19 Mar 2026 17:00 UTC]"],
        "{}",
        run.stdout
    );
    let digest = answer_to(&run.stdout, "/wait 7h30m");
    in_order(
        digest,
        &[
            "== Reminders: 3 meetings ==",
            "1. Grief circle",
            "starts in 1 hour",
            "2. Carers evening",
            "3. New parents",
            "/meeting rsvp",
            "/crisis",
            "[1\u{fe0f}\u{20e3} Going: Grief circle] /meeting rsvp meeting:1 occurrence:2026-03-19 answer:yes",
            "[2\u{fe0f}\u{20e3} Going: Carers evening] /meeting rsvp meeting:2 occurrence:2026-03-19 answer:yes",
            "[3\u{fe0f}\u{20e3} Going: New parents] /meeting rsvp meeting:3 occurrence:2026-03-19 answer:yes",
        ],
    );
    // Typing what the second button shows is pressing it.
    let pressed = answer_to(
        &run.stdout,
        "bob@#general> /meeting rsvp meeting:2 occurrence:2026-03-19 answer:yes",
    );
    assert!(pressed.contains("you're going to Carers evening"), "{pressed}");
}

#[test]
fn cancel_and_move_reach_those_who_rsvped_through_the_console() {
    let dir = tempfile::tempdir().unwrap();

    let run = hearth(
        dir.path(),
        &["console", "--db", "t.db", "--clock", "2026-03-19T10:00:00Z"],
        r#"/group create name:"Grief circle" topic:grief led_by:peer
/meeting schedule group:#1 when:"2026-03-21 19:00" repeat:weekly timezone:UTC
/as ann
/meeting rsvp meeting:1 occurrence:2026-03-28 answer:yes
/as admin
/meeting move meeting:1 occurrence:2026-03-28 when:"2026-03-29 18:00"
/meeting cancel meeting:1 occurrence:2026-03-29
/meeting calendar
"#,
    );

    let moved = answer_to(&run.stdout, "/meeting move");
    // Notices are jobs: delivered at once by the console's scheduler, stamped with the time.
    assert!(
        moved.contains("-> DM ann  [Thu 19 Mar 2026 10:00 UTC]\n   == Moved: Grief circle =="),
        "{moved}"
    );
    let cancelled = answer_to(&run.stdout, "/meeting cancel");
    assert!(cancelled.contains("-> DM ann"), "{cancelled}");
    assert!(
        cancelled.contains("The meeting on Sun 29 Mar 2026, 18:00 UTC is cancelled."),
        "{cancelled}"
    );
    let calendar = answer_to(&run.stdout, "/meeting calendar");
    assert!(calendar.contains("EXDATE;TZID=UTC:20260328T190000"), "{calendar}");
}

#[test]
fn the_readme_lists_every_command_of_the_spec() {
    let readme = include_str!("../README.md");
    let (_, table) = readme.split_once("## Commands").unwrap();
    for command in bot_core::spec::COMMANDS {
        assert!(
            table.contains(&format!("`/{}`", command.name)),
            "README's command table lacks /{}",
            command.name
        );
    }
}

#[test]
fn with_a_config_the_one_scheduler_delivers_the_consoles_reminders_and_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    // Two hours ago, on a manual clock: a meeting 2 h 30 min ahead of then,
    // that is, 30 minutes from now; its 1-hour reminder fell due 30 minutes ago.
    let then = chrono::Utc::now() - chrono::Duration::hours(2);
    let when = (then + chrono::Duration::minutes(150))
        .format("%Y-%m-%d %H:%M")
        .to_string();
    let first = hearth(
        dir.path(),
        &["console", "--db", "t.db", "--clock", &then.to_rfc3339()],
        &format!(
            "/group create name:Caregivers topic:caregiving led_by:peer\n/meeting schedule group:Caregivers when:\"{when}\" timezone:UTC\n"
        ),
    );
    assert!(first.stdout.contains("Scheduled: Caregivers"), "{}", first.stdout);
    std::fs::write(
        dir.path().join("hearth.toml"),
        "[storage]\npath = \"t.db\"\n[console]\nspeaker = \"admin\"\n",
    )
    .unwrap();

    // Standard input stays open for a moment, so the scheduler has its first tick.
    let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["--config", "hearth.toml"])
        .current_dir(dir.path())
        .env_remove("HEARTH_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"/now\n").unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();

    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(scheduled_deliveries(&stdout).len(), 1, "{stdout}");
    // About half an hour is left, said as it really is when it goes out.
    assert!(
        stdout.contains("Starts in 2") || stdout.contains("Starts in 30 minutes"),
        "{stdout}"
    );
    assert!(
        stdout.contains("(Sent late: I was offline when this was due.)"),
        "{stdout}"
    );
}

/// Who may read each output line: the speaker of an echoed input line, the
/// one person a private reply or DM is for, or everyone (`None`).
fn readers(stdout: &str) -> Vec<(Option<String>, &str)> {
    let mut owner: Option<String> = None;
    stdout
        .lines()
        .map(|line| {
            if let Some((who, _)) = line.split_once("@#").filter(|(who, _)| !who.contains(' ')) {
                owner = Some(who.to_string());
            } else if let Some(head) = line.strip_prefix("-> ") {
                owner = if let Some(rest) = head.split_once("(private: only ").map(|(_, r)| r) {
                    rest.split_once(' ').map(|(who, _)| who.to_string())
                } else if let Some(rest) = head.strip_prefix("DM ") {
                    rest.split_whitespace().next().map(str::to_string)
                } else {
                    None
                };
            } else if !line.starts_with("   ") {
                owner = None;
            }
            (owner.clone(), line)
        })
        .collect()
}

#[test]
fn check_in_notes_reach_only_their_authors_and_console_presses_record_answers() {
    let dir = tempfile::tempdir().unwrap();
    let prompt = format!(
        "n1-{}",
        chrono::DateTime::parse_from_rfc3339("2026-03-19T10:00:00Z")
            .unwrap()
            .timestamp()
    );
    let script = format!(
        r#"
/group create name:"Grief circle" topic:grief led_by:peer
/group facilitator group:#1 user:fran action:add
/as ann
/group join group:#1
/checkin remind tell_facilitators:on
/as ben
/group join group:#1
/as fran
/checkin schedule group:#1 when:now question:"How was your week?"
/as ann
/checkin share mood:1 group:#1 prompt:{prompt}
/checkin share mood:1 note:"ann-private-words" group:#1 prompt:{prompt}
/checkin history
/as ben
/checkin share mood:pass group:#1 prompt:{prompt}
/checkin share mood:4 note:"ben-private-words"
/checkin history
/as fran
/checkin summary group:#1
/checkin history
"#
    );

    // Every log line, at every level, goes to standard error: none may carry a note.
    let run = hearth_logging(
        dir.path(),
        &[
            "console",
            "--db",
            "t.db",
            "--as",
            "admin",
            "--clock",
            "2026-03-19T10:00:00Z",
        ],
        &script,
        Some("trace"),
    );

    assert!(run.success, "{}", run.stderr);
    let out = &run.stdout;
    // The presses typed are the buttons the prompt showed.
    let posted = answer_to(out, "/checkin schedule group:#1 when:now");
    assert!(
        posted.contains("-> #general\n   == Check-in: Grief circle =="),
        "{posted}"
    );
    assert!(posted.contains("How was your week?"));
    for press in [
        format!("[😣 1 struggling] /checkin share mood:1 group:#1 prompt:{prompt}"),
        format!("[🤍 Pass] /checkin share mood:pass group:#1 prompt:{prompt}"),
    ] {
        assert!(posted.contains(&press), "{press:?} not in {posted}");
    }
    let pressed = answer_to(
        out,
        &format!("ann@#general> /checkin share mood:1 group:#1 prompt:{prompt}"),
    );
    assert!(
        pressed.contains("(private: only ann sees this)\n   Thank you for checking in: 1 struggling."),
        "{pressed}"
    );
    assert!(pressed.contains("/crisis"));
    assert!(
        pressed.contains("-> DM fran\n   == A check-in from Grief circle =="),
        "{pressed}"
    );
    let ann = answer_to(out, "ann@#general> /checkin history");
    assert!(
        ann.contains("1 struggling · “ann-private-words”"),
        "one answer per prompt, note kept: {ann}"
    );
    assert_eq!(ann.matches("1 struggling").count(), 1, "{ann}");
    let ben = answer_to(out, "ben@#general> /checkin history");
    assert!(
        ben.contains("· pass") && ben.contains("4 good · “ben-private-words”"),
        "{ben}"
    );
    assert!(answer_to(out, "/checkin summary group:#1").contains("Not enough check-ins in Grief circle"));
    assert!(answer_to(out, "fran@#general> /checkin history").contains("No check-ins in the last 14 days."));
    for (note, author) in [("ann-private-words", "ann"), ("ben-private-words", "ben")] {
        let seen: Vec<_> = readers(out)
            .into_iter()
            .filter(|(_, line)| line.contains(note))
            .collect();
        assert!(seen.len() >= 2, "{note} is echoed and read back: {seen:?}");
        for (reader, line) in seen {
            assert_eq!(reader.as_deref(), Some(author), "{note} reached {reader:?}: {line}");
        }
    }
    assert!(run.stderr.contains("command"), "the log is captured: {}", run.stderr);
    assert!(
        !run.stderr.contains("private-words"),
        "a note was logged: {}",
        run.stderr
    );
}

/// Asserts that `fragments` appear in `out` in this order.
fn in_order(out: &str, fragments: &[&str]) {
    let mut rest = out;
    for fragment in fragments {
        let Some(at) = rest.find(fragment) else {
            panic!("{fragment:?} not found (in order) in:\n{out}");
        };
        rest = &rest[at + fragment.len()..];
    }
}

#[test]
fn a_talking_circle_goes_round_then_by_queue_then_by_balance_and_the_facilitator_alone_gets_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
/circle start share_time:2m
/as bob
/circle join
/as carol
/circle join
/as alice
/wait 20s
/circle next
/as bob
/wait 60s
/circle next
/as carol
/circle pass
/as alice
/circle mode mode:queue
/as carol
/hand raise
/as bob
/hand raise
/as alice
/circle next
/wait 100s
/as carol
/circle next
/as alice
/circle mode mode:balanced
/as carol
/hand raise
/as alice
/hand raise
/as bob
/circle next
/as carol
/circle end
/as alice
/circle next
/circle end
/circle status
"#;

    let run = console_as_at(dir.path(), "alice", "2026-03-19T10:00:00Z", script);

    assert!(run.success, "{}", run.stderr);
    let out = &run.stdout;
    in_order(
        out,
        &[
            "== Talking circle ==",
            "A talking circle has begun. Share as much or as little as you like; passing is always okay.",
            "Each share has 2 min; I'll give a gentle notice shortly before the end",
            "@alice has the stick.",
            "[✋ Raise hand] /hand raise",
        ],
    );
    in_order(
        out,
        &[
            // A round: alice, bob, carol passes, and it comes round to alice.
            "alice@#general> /circle next",
            "Thank you, alice.\n   @bob has the stick.",
            "Next: carol",
            "bob@#general> /circle next",
            "Thank you, bob.\n   @carol has the stick.",
            "carol@#general> /circle pass",
            "carol passed — that's always okay.\n   @alice has the stick.",
            // A queue: first raised, first heard.
            "alice@#general> /circle mode mode:queue",
            "Now in queue mode.",
            "carol@#general> /hand raise",
            "carol raised a hand.",
            "bob@#general> /hand raise",
            "Raised hands: carol, bob",
            // Handed on at once: a pass, whichever button (issue 30).
            "alice@#general> /circle next",
            "alice passed — that's always okay.\n   @carol has the stick.",
            "Next: bob",
            // The gentle timer, 30 s before the end of carol's 2 minutes.
            "alice@#general> /wait 100s",
            "-> #general  [Thu 19 Mar 2026 10:02 UTC]\n   @carol, about 30 s left — no rush, just a gentle heads-up.",
            "carol@#general> /circle next",
            "Thank you, carol.\n   @bob has the stick.",
            // Balanced: alice (20 s) goes before carol (100 s), though carol raised first.
            "alice@#general> /circle mode mode:balanced",
            "carol@#general> /hand raise",
            "alice@#general> /hand raise",
            "Raised hands: alice, carol",
            "bob@#general> /circle next",
            "bob passed — that's always okay.\n   @alice has the stick.",
            "Next: carol",
            // Only a facilitator ends it; the summary is alice's alone.
            "carol@#general> /circle end",
            "(private: only carol sees this)\n   Only a facilitator or a community admin can use /circle end.",
            "alice@#general> /circle next",
            "@carol has the stick.",
            "alice@#general> /circle end",
            "-> #general (private: only alice sees this)\n   == Circle summary (only you see this) ==",
            // Counted as lived (issue 30): a turn handed on at once is a
            // pass, and the one the end cut off at once is neither.
            "3 people: 3 shares, 4 passes.",
            "alice: 1 share, 2 passes, 0:20 speaking",
            "bob: 1 share, 1 pass, 1:00 speaking",
            "carol: 1 share, 1 pass, 1:40 speaking",
            "Hearth keeps these counts and times only; nothing of what was said.",
            "-> #general\n   == Talking circle ==\n   The circle has ended. Thank you all for being here.",
            "alice@#general> /circle status",
            "There's no circle running here.",
        ],
    );
    let summary = answer_to(out, "alice@#general> /circle end");
    assert_eq!(summary.matches("(private: only alice sees this)").count(), 1);
}

#[test]
fn resources_and_local_crisis_lines_through_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
/resources add title:"Grief reading" url:https://example.org/grief topic:reading description:"Books that helped"
/resources add title:@everyone url:https://example.org/x
/resources add title:"Town helpline" url:https://town.example/help topic:crisis
/as carol
/resources add title:Mine url:https://example.org/mine
/resources list
/resources list topic:reading
/crisis country:GB
/as alice
/resources remove resource:"grief READING"
/resources add title:Bad url:ftp://example.org
"#;

    let run = hearth(dir.path(), &["console", "--db", "t.db", "--as", "alice"], script);

    assert!(run.success, "{}", run.stderr);
    let out = &run.stdout;
    assert!(answer_to(out, "/resources add title:\"Grief reading\"").contains("Added resource 1 to reading"));
    assert!(answer_to(out, "/resources add title:Mine").contains("Only a facilitator or a community admin"));
    let list = answer_to(out, "carol@#general> /resources list\n");
    assert!(list.contains("(private: only carol sees this)"), "{list}");
    assert!(
        list.contains("Grief reading <https://example.org/grief> (example.org) — Books that helped"),
        "{list}"
    );
    assert!(list.contains("Town helpline"), "{list}");
    let reading = answer_to(out, "/resources list topic:reading");
    assert!(!reading.contains("Town helpline"), "{reading}");
    let crisis = answer_to(out, "/crisis country:GB");
    assert!(
        crisis.find("Town helpline").unwrap() < crisis.find("Samaritans").unwrap(),
        "{crisis}"
    );
    assert!(crisis.contains("last checked on 2026-11-26"), "{crisis}");
    assert!(answer_to(out, "/resources remove").contains("Removed Grief reading"));
    assert!(answer_to(out, "/resources add title:Bad").contains("https://"));
}

#[test]
fn who_may_do_what_through_the_console() {
    let dir = tempfile::tempdir().unwrap();
    // A Cyrillic і among Latin letters: a look-alike of samaritans.org.
    let homograph = "samar\u{456}tans.org";
    let script = format!(
        r#"
/group create name:Grief topic:grief led_by:peer
/group create name:Intake topic:grief led_by:peer registration:"Write to us" tell_facilitators:on channel:#intake
/group facilitator group:Grief user:fay action:add
/group facilitator group:Intake user:ian action:add
/as fay
/resources add title:Helpline url:https://help.example topic:crisis
/as alice
/resources add title:Samaritans url:https://{homograph} topic:crisis
/group info group:Intake
/as bo
/group join group:Intake
/as alice
/circle start
/in side
/circle start
/as bo
/circle join
/in general
/circle pass
/circle pass circle:2
"#
    );

    let run = hearth(dir.path(), &["console", "--db", "t.db", "--as", "alice"], &script);

    assert!(run.success, "{}", run.stderr);
    let out = &run.stdout;
    assert!(
        answer_to(out, "/resources add title:Helpline")
            .contains("Only a community admin can add or remove crisis lines."),
        "{out}"
    );
    assert!(answer_to(out, "/resources add title:Samaritans").contains("mixes alphabets"));
    let card = answer_to(out, "/group info group:Intake");
    assert!(card.contains("Home: #intake"), "{card}");
    assert!(!card.contains("Join]"), "no Join button: {card}");
    let asked = answer_to(out, "/group join group:Intake");
    assert!(asked.contains("Intake asks people to register first"), "{asked}");
    assert!(asked.contains("-> DM ian"), "its facilitator is told: {asked}");
    // Bo is next in #side's circle (2). In #general, where circle 1 runs, a
    // bare command means circle 1; its number, as its buttons carry, means 2.
    let bare = answer_to(out, "bo@#general> /circle pass\n");
    assert!(bare.contains("You're not in this circle."), "{bare}");
    let pressed = answer_to(out, "bo@#general> /circle pass circle:2");
    assert!(pressed.contains("bo passed — that's always okay."), "{pressed}");
}

#[test]
fn crisis_checkins_and_own_data_leave_no_trace_of_who_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let who = "quinnwhisper";
    let script = format!(
        "/timezone zone:UTC\n/as {who}\n/crisis country:GB\n/checkin share mood:2 note:heavyday\n/checkin history\n/mydata\n/forgetme\n/forgetme confirm:yes\n"
    );

    let run = hearth_logging(dir.path(), &["console", "--db", "t.db"], &script, Some("trace"));

    assert!(run.success, "{}", run.stderr);
    assert!(answer_to(&run.stdout, "/crisis country:GB").contains("Samaritans"));
    assert!(answer_to(&run.stdout, "> /forgetme confirm:yes").contains("Nothing of it is left"));
    let log = &run.stderr;
    assert!(log.contains("command"), "the log is on: {log}");
    for secret in [who, "heavyday"] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
    // Every command is logged alike: no line, by its name or by being
    // different, says that someone used one of the private ones.
    let commands: Vec<&str> = log
        .lines()
        .filter_map(|l| l.split_once("bot_core::hearth").map(|(_, rest)| rest))
        .filter(|rest| rest.contains("command"))
        .collect();
    assert_eq!(commands.len(), 7, "one line per command: {log}");
    assert!(commands.iter().all(|c| *c == commands[0]), "{commands:#?}");
    for name in ["timezone", "crisis", "checkin", "mydata", "forgetme", "member="] {
        assert!(!commands[0].contains(name), "{name} logged: {}", commands[0]);
    }
}

#[test]
fn mydata_is_a_private_block_and_forgetme_asks_before_it_erases() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
/group create name:"Grief circle" topic:grief led_by:peer
/group facilitator group:"Grief circle" user:bob action:add
/as bob
/group join group:#1
/checkin share mood:4 note:"a good walk"
/mydata
/forgetme
/forgetme confirm:yes
/mydata
"#;

    let run = hearth(dir.path(), &["console", "--db", "t.db", "--as", "alice"], script);

    assert!(run.success, "{}", run.stderr);
    let out = &run.stdout;
    let mine = answer_to(out, "bob@#general> /mydata\n");
    assert!(mine.contains("(private: only bob sees this)"), "{mine}");
    assert!(mine.contains("Grief circle (member, facilitator)"), "{mine}");
    assert!(mine.contains("attached hearth-mydata.json"), "{mine}");
    assert!(mine.contains("\"note\": \"a good walk\""), "{mine}");
    let preview = answer_to(out, "> /forgetme\n");
    assert!(preview.contains("only facilitator of Grief circle"), "{preview}");
    assert!(preview.contains("A community admin (alice)"), "{preview}");
    assert!(preview.contains("/forgetme confirm:yes"), "{preview}");
    assert!(answer_to(out, "> /forgetme confirm:yes").contains("Erased"));
    let after = out.rsplit("bob@#general> /mydata").next().unwrap();
    assert!(after.contains("Groups: none."), "{after}");
    assert!(!after.contains("a good walk"), "{after}");
}

#[test]
fn a_card_field_is_cleared_and_a_retired_group_leaves_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
/group create name:"Grief circle" topic:grief led_by:peer location:"Room 4" cost:free
/meeting schedule group:#1 when:"2026-03-24 19:00" repeat:weekly timezone:UTC
/group edit group:#1 clear:location,cost
/group retire group:#1
/group retire group:#1 confirm:yes
/group list
"#;

    let run = console_at(dir.path(), "2026-03-19T10:00:00Z", script);

    assert!(run.success, "{}", run.stderr);
    let out = &run.stdout;
    let cleared = answer_to(out, "/group edit group:#1 clear:location,cost");
    assert!(cleared.contains("Cost: Not stated"), "{cleared}");
    assert!(!cleared.contains("Room 4"), "{cleared}");
    assert!(
        answer_to(out, "> /group retire group:#1\n").contains("confirm:yes"),
        "{out}"
    );
    assert!(
        answer_to(out, "> /group retire group:#1 confirm:yes").contains("Retired Grief circle"),
        "{out}"
    );
    assert!(answer_to(out, "> /group list\n").contains("No groups yet"), "{out}");
}

#[test]
fn hearth_export_meeting_guide_writes_the_same_feed_as_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
/group create name:"Grief circle" topic:grief led_by:peer location:https://meet.example/grief
/meeting schedule group:#1 when:"2026-03-24 19:00" repeat:weekly timezone:Europe/Berlin
/group list format:meeting_guide
"#;
    let run = console_at(dir.path(), "2026-03-19T10:00:00Z", script);
    assert!(run.success, "{}", run.stderr);
    std::fs::write(
        dir.path().join("hearth.toml"),
        "[storage]\npath = \"t.db\"\n[console]\n",
    )
    .unwrap();

    let export = hearth(
        dir.path(),
        &[
            "export",
            "meeting-guide",
            "--config",
            "hearth.toml",
            "--out",
            "feed.json",
        ],
        "",
    );

    assert!(export.success, "{}", export.stderr);
    assert!(
        export.stdout.contains("Wrote 1 meeting to feed.json."),
        "{}",
        export.stdout
    );
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("feed.json")).unwrap()).unwrap();
    let entry = &file.as_array().unwrap()[0];
    assert_eq!(entry["slug"], "grief-circle");
    assert_eq!(entry["day"], 2);
    assert_eq!(entry["time"], "19:00");
    assert_eq!(entry["timezone"], "Europe/Berlin");
    assert_eq!(entry["conference_url"], "https://meet.example/grief");
    let shown = answer_to(&run.stdout, "/group list format:meeting_guide");
    let (_, attached) = shown.split_once("):\n").unwrap();
    let attached: serde_json::Value = serde_json::from_str(
        &attached
            .lines()
            .map(|l| l.strip_prefix("   ").unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    assert_eq!(attached, file, "the command and the export give the same feed");
}

#[test]
fn the_words_people_type_are_read_as_meant_or_asked_back_in_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
/group create name:Recovery Circle topic:grief led_by:peer format:in_person location:"Room 4, Town Hall" channel:recovery
/group list
/meeting schedule group:Recovery Circle when:tomorrow 25:00
/meeting schedule group:Recovery Circle when:03/12/2026 19:00 timezone:UTC
/timezone EST
/timezone Europe/Berlin
/meeting schedule group:Recovery Circle when:2026-03-21 19:00 repeat:weekly
/meeting schedule group:Recovery Circle when:2026-03-28 19:30
/as ann
/meeting rsvp meeting:1 occurrence:2026-03-28 answer:yes
/crisis USA
/crisis germany
/crisis "Narnia
/reminders quiet:22:00-08:00
/checkin remind time:23:00
/as alice
/meeting move meeting:1 when:18:00 occurrence:2026-03-28
/wait 2d
"#;

    let run = console_as_at(dir.path(), "alice", "2026-03-19T10:00:00Z", script);

    assert!(run.success, "{}", run.stderr);
    let out = &run.stdout;
    let expect = |said: &str, wanted: &str| {
        let answer = answer_to(out, said);
        assert!(answer.contains(wanted), "{said:?} should answer {wanted:?}:\n{answer}");
    };
    // 2, 13: words without quotes stay with their option; the place keeps its case.
    expect("/group create", "== Recovery Circle ==");
    expect(
        "/group list",
        "Recovery Circle (#1): grief · peer-led · in person: Room 4, Town Hall",
    );
    // 1, 5, 7: impossible hours, ambiguous dates and abbreviations are asked back.
    expect("when:tomorrow 25:00", "does not exist");
    expect("when:03/12/2026 19:00", "could be 3 December 2026 or 12 March 2026");
    expect("/timezone EST", "America/New_York, America/Toronto or America/Detroit");
    expect("/timezone Europe/Berlin", "Numeric dates are read day first");
    // 11: the schedule goes to the group's home, the facilitator is told where.
    let scheduled = answer_to(out, "when:2026-03-21 19:00 repeat:weekly");
    assert!(scheduled.contains("(private: only alice sees this)"), "{scheduled}");
    assert!(scheduled.contains("Posted in #recovery"), "{scheduled}");
    // Queued in the schedule's own write, it goes out as a delivery.
    assert!(
        scheduled.contains("-> #recovery  [Thu 19 Mar 2026 10:00 UTC]\n   == Scheduled: Recovery Circle =="),
        "{scheduled}"
    );
    // 10: a clash asks for confirm:yes.
    expect("when:2026-03-28 19:30", "Recovery Circle already meets then");
    // 3: /crisis never refuses.
    expect("/crisis USA", "988 Suicide & Crisis Lifeline");
    expect("/crisis germany", "TelefonSeelsorge");
    expect("/crisis \"Narnia", "I didn't recognise that as a country");
    // 8: a check-in time in quiet hours is refused with one that works.
    expect("/checkin remind time:23:00", "inside your quiet hours (22:00-08:00)");
    // 4: a time alone keeps the occurrence's day, and ann is told that day.
    let moved = answer_to(out, "/meeting move");
    assert!(moved.contains("to Sat 28 Mar 2026, 18:00 CET"), "{moved}");
    assert!(moved.contains("-> DM ann"), "{moved}");
    assert!(moved.contains("now happens Sat 28 Mar 2026, 18:00 CET"), "{moved}");
    // 12: reminders say the group's address, not its channel.
    let reminder = out
        .split("-> #recovery  [")
        .find(|block| block.contains("== Reminder: Recovery Circle =="))
        .unwrap_or_else(|| panic!("no reminder in #recovery:\n{out}"));
    assert!(reminder.contains("Where: Room 4, Town Hall"), "{reminder}");
}

#[test]
fn check_ins_count_for_members_only_summaries_wait_for_the_week_to_close_and_closed_links_stay_hidden() {
    let dir = tempfile::tempdir().unwrap();
    let mut script = String::from(
        r#"/group create name:"Grief circle" topic:grief led_by:peer format:online location:https://Meet.Example/Grief?pwd=OpenAbC
/group create name:Caregivers topic:care led_by:peer format:online location:https://Meet.Example/Care?pwd=SeCrEt9 registration:"Ask the facilitator"
/group list
/as stranger
/checkin share mood:1 group:#1
/checkin share Grief circle mood:2 note:missing
"#,
    );
    for (i, who) in ["ann", "ben", "cat", "dan", "eve"].iter().enumerate() {
        script.push_str(&format!(
            "/as {who}\n/group join group:#1\n/checkin share mood:{} group:#1\n",
            i + 1
        ));
    }
    script.push_str("/as admin\n/checkin summary group:#1\n/wait 7d\n/checkin summary group:#1\n");
    script.push_str(
        "/as fay\n/group join group:#1\n/checkin share mood:5 group:#1\n/as admin\n/checkin summary group:#1\n",
    );

    let run = console_as_at(dir.path(), "admin", "2026-03-19T10:00:00Z", &script);

    assert!(run.success, "{}", run.stderr);
    let out = &run.stdout;
    let list = answer_to(out, "/group list");
    assert!(
        list.contains("https://Meet.Example/Grief?pwd=OpenAbC"),
        "an open link keeps its case: {list}"
    );
    assert!(
        !list.to_lowercase().contains("secret9"),
        "a closed group's link in the channel: {list}"
    );
    assert!(
        answer_to(out, "stranger@#general> /checkin share mood:1 group:#1")
            .contains("Only Grief circle's members count in its check-ins"),
        "{out}"
    );
    assert!(
        answer_to(out, "/checkin share Grief circle mood:2 note:missing").contains("Put a value with spaces in quotes"),
        "{out}"
    );
    let summaries: Vec<&str> = out
        .split("admin@#general> /checkin summary group:#1")
        .skip(1)
        .map(|rest| {
            let end = rest
                .find("@#")
                .and_then(|i| rest[..i].rfind('\n'))
                .unwrap_or(rest.len());
            rest[..end].trim_end()
        })
        .collect();
    assert_eq!(summaries.len(), 3, "{out}");
    assert!(
        summaries[0].contains("Not enough check-ins"),
        "the week is open: {}",
        summaries[0]
    );
    assert!(
        summaries[1].contains("3 okay: 1") && summaries[1].contains("Average: 3.0"),
        "{}",
        summaries[1]
    );
    assert_eq!(
        summaries[1], summaries[2],
        "a sixth answer changes nothing until its week closes"
    );
    let stored: i64 = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = bot_core::Store::open(&dir.path().join("t.db")).await.unwrap();
        bot_core::store::query_scalar("SELECT COUNT(*) FROM checkins")
            .fetch_one(&store)
            .await
            .unwrap()
    });
    assert_eq!(stored, 6, "the stranger's and the spilled check-ins stored nothing");
}

#[test]
fn a_weekly_series_edited_from_its_third_meeting_keeps_the_first_two_and_tells_each_rsvp_once() {
    let dir = tempfile::tempdir().unwrap();
    // Tuesdays at 19:00 Berlin from 13 October 2026; the clocks go back on
    // the 25th, between the second meeting and the third.
    let script = r#"/group create name:"Grief circle" topic:grief led_by:peer
/timezone zone:Europe/Berlin
/meeting schedule group:#1 when:"2026-10-13 19:00" repeat:weekly timezone:Europe/Berlin
/as ann
/timezone zone:America/New_York
/meeting rsvp meeting:1 occurrence:2026-10-27 answer:yes
/meeting rsvp meeting:1 occurrence:2026-11-03 answer:yes
/as bob
/meeting rsvp meeting:1 occurrence:2026-10-13 answer:maybe
/as admin
/meeting edit meeting:1 from:2026-10-27 when:18:00
/meeting list
/meeting calendar
/group list format:meeting_guide
/as bob
/meeting rsvp meeting:1 occurrence:2026-10-20 answer:yes
/as admin
/wait 23d
"#;

    let run = console_at(dir.path(), "2026-10-05T10:00:00Z", script);

    assert!(run.success, "{}", run.stderr);
    let out = &run.stdout;
    let edited = answer_to(out, "/meeting edit meeting:1");
    assert!(
        edited.contains("From Tue 27 Oct 2026, 18:00 CET on: Weekly on Tuesdays at 18:00 Europe/Berlin"),
        "{edited}"
    );
    // One notice to the one who said they'd come to moved meetings (two of
    // them), in her own zone; none to bob, whose meeting did not change.
    assert_eq!(edited.matches("-> DM ").count(), 1, "{edited}");
    assert!(edited.contains("-> DM ann"), "{edited}");
    assert!(
        edited.contains("Your next one, on Tue 27 Oct 2026, 14:00 EDT, is now Tue 27 Oct 2026, 13:00 EDT."),
        "{edited}"
    );
    let listed = answer_to(out, "> /meeting list");
    in_order(
        listed,
        &[
            "Tue 13 Oct 2026, 19:00 CEST · Grief circle (meeting 2, 2026-10-13) · 0 going, 1 maybe",
            "Tue 20 Oct 2026, 19:00 CEST · Grief circle (meeting 2, 2026-10-20)",
            "Tue 27 Oct 2026, 18:00 CET · Grief circle (meeting 1, 2026-10-27) · 1 going, 0 maybe",
            "Tue 3 Nov 2026, 18:00 CET · Grief circle (meeting 1, 2026-11-03) · 1 going, 0 maybe",
        ],
    );
    let calendar = answer_to(out, "/meeting calendar");
    assert!(
        calendar.contains("DTSTART;TZID=Europe/Berlin:20261027T180000\r\n")
            || calendar.contains("DTSTART;TZID=Europe/Berlin:20261027T180000\n"),
        "{calendar}"
    );
    assert!(
        calendar.contains("DTSTART;TZID=Europe/Berlin:20261013T190000"),
        "{calendar}"
    );
    assert!(
        calendar.contains("RRULE:FREQ=WEEKLY;UNTIL=20261020T170000Z"),
        "{calendar}"
    );
    let guide = answer_to(out, "/group list format:meeting_guide");
    assert!(guide.contains("1 weekly series"), "{guide}");
    assert!(guide.contains(r#""time": "18:00""#), "{guide}");
    // A button posted before the edit still answers its meeting.
    assert!(
        answer_to(out, "/meeting rsvp meeting:1 occurrence:2026-10-20").contains("Tue 20 Oct 2026, 17:00 UTC"),
        "{out}"
    );
    // Reminders follow: the second at 19:00 CEST, the third at 18:00 CET (13:00 for ann).
    assert!(out.contains("Starts in 1 hour: Tue 20 Oct 2026, 19:00 CEST"), "{out}");
    assert!(
        out.contains("-> DM ann  [Mon 26 Oct 2026 17:00 UTC]\n   == Reminder: Grief circle ==\n   Starts in 24 hours: Tue 27 Oct 2026, 13:00 EDT"),
        "{out}"
    );
    assert!(out.contains("Starts in 1 hour: Tue 27 Oct 2026, 18:00 CET"), "{out}");
    let after = &out[out.find("/meeting edit meeting:1").unwrap()..];
    assert!(
        !after.contains("Tue 27 Oct 2026, 19:00"),
        "nothing left at the old time: {after}"
    );
}

#[test]
fn reminders_go_back_to_their_defaults_a_group_turns_its_channel_reminders_off_and_one_prompt_schedule_stops() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"/group create name:"Grief circle" topic:grief led_by:peer
/meeting schedule group:#1 when:"2026-03-21 19:00" repeat:weekly timezone:UTC
/reminders leads:3h quiet:22:00-08:00
/reminders clear:leads,quiet
/reminders group:#1 leads:2h
/reminders group:#1 clear:leads channel:off
/checkin schedule group:#1 when:"2026-03-20 19:00" repeat:daily
/checkin schedule group:#1 when:meeting_start
/checkin schedule group:#1 when:list
/checkin schedule group:#1 when:off schedule:1
/as ann
/reminders group:#1 leads:5m
/wait 3d
"#;

    let run = console_at(dir.path(), "2026-03-19T10:00:00Z", script);

    assert!(run.success, "{}", run.stderr);
    let out = &run.stdout;
    let cleared = answer_to(out, "/reminders clear:leads,quiet");
    assert!(
        cleared.contains("Before meetings: each group's own lead times."),
        "{cleared}"
    );
    assert!(cleared.contains("Quiet hours: none."), "{cleared}");
    let off = answer_to(out, "/reminders group:#1 clear:leads channel:off");
    assert!(
        off.contains("Grief circle's channel gets no meeting reminders; members who want them get theirs by DM, by default 24 hours, 1 hour before."),
        "{off}"
    );
    let listed = answer_to(out, "/checkin schedule group:#1 when:list");
    assert!(
        listed.contains("1: daily at 19:00 UTC. Next: Fri 20 Mar 2026, 19:00 UTC."),
        "{listed}"
    );
    assert!(listed.contains("2: as each meeting begins."), "{listed}");
    assert!(
        answer_to(out, "when:off schedule:1")
            .contains("Stopped Grief circle's check-in schedule 1; its other schedules go on."),
        "{out}"
    );
    assert!(
        answer_to(out, "/reminders group:#1 leads:5m")
            .contains("Only a facilitator of Grief circle or a community admin can change a group's reminders; for your own, leave out group."),
        "{out}"
    );
    let waited = answer_to(out, "/wait 3d");
    assert!(
        !waited.contains("== Reminder"),
        "the channel's reminders are off: {waited}"
    );
    assert!(
        !waited.contains("[Fri 20 Mar 2026 19:00 UTC]"),
        "schedule 1 stopped: {waited}"
    );
    assert!(
        waited.contains("[Sat 21 Mar 2026 19:00 UTC]\n   == Check-in: Grief circle =="),
        "schedule 2 goes on: {waited}"
    );
}

#[test]
fn refusals_about_a_person_or_a_missing_entry_and_the_meeting_guide_file_go_to_the_asker_alone() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"/group create name:"Grief circle" topic:grief led_by:peer
/meeting schedule group:#1 when:"2026-03-24 19:00" repeat:weekly timezone:UTC
/resources remove resource:99
/group facilitator group:#1 user:bob action:remove
/group list format:meeting_guide
"#;

    let run = console_at(dir.path(), "2026-03-19T10:00:00Z", script);

    assert!(run.success, "{}", run.stderr);
    let out = &run.stdout;
    let missing = answer_to(out, "/resources remove resource:99");
    assert!(
        missing.starts_with("\n-> #general (private: only admin sees this)"),
        "{missing}"
    );
    assert!(missing.contains("nothing was removed"), "{missing}");
    let not_one = answer_to(out, "action:remove");
    assert!(
        not_one.starts_with("\n-> #general (private: only admin sees this)"),
        "{not_one}"
    );
    assert!(
        not_one.contains("wasn't a facilitator of Grief circle, so nothing changed."),
        "{not_one}"
    );
    let guide = answer_to(out, "/group list format:meeting_guide");
    assert!(
        guide.starts_with("\n-> #general (private: only admin sees this)"),
        "{guide}"
    );
}

#[test]
fn help_lists_a_commands_family_and_refusals_say_what_happened_and_what_to_type() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"/group create name:"Grief circle" topic:grief led_by:peer
/meeting schedule group:#1 when:"2026-03-21 19:00" repeat:weekly timezone:UTC
/help meeting
/help command:meeting schedule
/wait 4d
/meeting rsvp meeting:1 occurrence:2026-03-21 answer:yes
/meeting cancel meeting:1 occurrence:all
/meeting cancel meeting:1 occurrence:all
/meeting rsvp meeting:1 occurrence:2026-03-28 answer:yes
"#;

    let run = console_at(dir.path(), "2026-03-19T10:00:00Z", script);

    assert!(run.success, "{}", run.stderr);
    let out = &run.stdout;
    let family = answer_to(out, "/help meeting\n");
    assert!(family.contains("== /meeting commands =="), "{family}");
    assert!(family.contains("/meeting edit: "), "{family}");
    assert!(
        family.contains("/help command:meeting schedule explains one in full."),
        "{family}"
    );
    assert!(
        answer_to(out, "> /help command:meeting schedule").contains("when (required)"),
        "{out}"
    );
    assert!(
        answer_to(out, "> /meeting rsvp meeting:1 occurrence:2026-03-21 answer:yes")
            .contains("is a meeting that has already taken place"),
        "{out}"
    );
    let second = &out[out.rfind("> /meeting cancel").unwrap()..];
    let again = answer_to(second, "/meeting cancel meeting:1 occurrence:all");
    assert!(
        again.contains("Meeting 1 has been cancelled, every occurrence of it."),
        "{again}"
    );
    assert!(
        answer_to(out, "> /meeting rsvp meeting:1 occurrence:2026-03-28 answer:yes")
            .contains("Meeting 1 has been cancelled"),
        "{out}"
    );
}

#[test]
fn in_a_groups_home_channel_commands_take_that_group_and_elsewhere_ask_which() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"/group create name:"Grief circle" topic:grief led_by:peer
/group create name:"Walkers" topic:walking led_by:peer channel:#walks
/group create name:"Carers" topic:caring led_by:peer channel:#walks
/meeting schedule when:"2026-03-21 19:00" repeat:weekly timezone:UTC
/as ann
/group join
/group info
/checkin summary
/in #walks
/group info
/in #lobby
/group info
"#;

    let run = console_at(dir.path(), "2026-03-19T10:00:00Z", script);

    assert!(run.success, "{}", run.stderr);
    let out = &run.stdout;
    assert!(
        answer_to(out, "> /meeting schedule when:").contains("== Scheduled: Grief circle =="),
        "{out}"
    );
    assert!(
        answer_to(out, "> /group join").contains("You've joined Grief circle."),
        "{out}"
    );
    assert!(
        answer_to(out, "> /checkin summary")
            .contains("Only a facilitator of Grief circle or a community admin can use /checkin summary."),
        "{out}"
    );
    let infos: Vec<&str> = out.match_indices("> /group info").map(|(i, _)| &out[i..]).collect();
    assert!(
        answer_to(infos[0], "/group info").contains("== Grief circle =="),
        "{out}"
    );
    assert!(
        answer_to(infos[1], "/group info")
            .contains("Which group? This channel is home to Walkers, Carers; add group: with one of them"),
        "{out}"
    );
    assert!(
        answer_to(infos[2], "/group info").contains("Which group? This channel is no group's home"),
        "{out}"
    );
}

#[test]
fn share_timer_notices_due_while_hearth_was_down_are_not_sent_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let args = |clock: &'static str| ["console", "--db", "t.db", "--clock", clock];
    let first = hearth(
        dir.path(),
        &args("2026-03-19T10:00:00Z"),
        "/circle start share_time:2m\n/circle join\n",
    );
    assert!(first.success, "{}", first.stderr);

    // Back five minutes later: the warning and the end of the share are past.
    let again = hearth(dir.path(), &args("2026-03-19T10:05:00Z"), "/circle status\n/wait 1m\n");

    assert!(again.success, "{}", again.stderr);
    assert!(!again.stdout.contains("no rush"), "{}", again.stdout);
    assert!(!again.stdout.contains("your share time is up"), "{}", again.stdout);
    assert!(
        answer_to(&again.stdout, "/circle status").contains("Holding the stick: admin (time is up)"),
        "{}",
        again.stdout
    );
}

#[test]
fn a_local_crisis_line_can_be_a_number_to_call_or_text_and_comes_first() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"/resources add title:"Grief line" url:tel:+44 116 123 topic:crisis
/resources add title:"Text us" url:sms:85258 topic:crisis
/resources add title:"Odd" url:tel:call-me topic:crisis
/crisis
"#;

    let run = console_at(dir.path(), "2026-03-19T10:00:00Z", script);

    assert!(run.success, "{}", run.stderr);
    let out = &run.stdout;
    assert!(
        answer_to(out, "url:tel:call-me").contains("after tel: or sms: takes a phone number"),
        "{out}"
    );
    in_order(
        answer_to(out, "> /crisis"),
        &[
            "This community's local lines",
            "1. Grief line, call +44116123 <tel:+44116123>",
            "2. Text us, text 85258 <sms:85258>",
            "Lines by country",
        ],
    );
}

#[test]
fn times_written_the_way_people_say_them_are_read_and_next_friday_is_said_back() {
    let dir = tempfile::tempdir().unwrap();
    // Thursday 19 March 2026, 10:00 UTC.
    let script = r#"/group create name:"Grief circle" topic:grief led_by:peer
/meeting schedule group:#1 when:"tomorrow at 7pm" timezone:UTC
/meeting schedule group:#1 when:"tonight 7pm" timezone:UTC confirm:yes
/meeting schedule group:#1 when:noon timezone:UTC confirm:yes
/meeting schedule group:#1 when:"5 December 19:00" timezone:UTC confirm:yes
/meeting schedule group:#1 when:"tue 19.00" timezone:UTC confirm:yes
/meeting schedule group:#1 when:"next friday 19:00" timezone:UTC confirm:yes
/reminders quiet:10pm-8am
/checkin remind time:8pm
"#;

    let run = console_at(dir.path(), "2026-03-19T10:00:00Z", script);

    assert!(run.success, "{}", run.stderr);
    let out = &run.stdout;
    for (typed, read) in [
        ("tomorrow at 7pm", "Once, Fri 20 Mar 2026 at 19:00 UTC"),
        ("tonight 7pm", "Once, Thu 19 Mar 2026 at 19:00 UTC"),
        ("when:noon", "Once, Thu 19 Mar 2026 at 12:00 UTC"),
        ("5 December 19:00", "Once, Sat 5 Dec 2026 at 19:00 UTC"),
        ("tue 19.00", "Once, Tue 24 Mar 2026 at 19:00 UTC"),
        ("next friday 19:00", "Once, Fri 27 Mar 2026 at 19:00 UTC"),
    ] {
        assert!(answer_to(out, typed).contains(read), "{typed}: {out}");
    }
    assert!(
        answer_to(out, "next friday 19:00")
            .contains(r#"I read "next friday" as Friday 27 Mar, not this Friday (20 Mar); give the date to be sure."#),
        "{out}"
    );
    assert!(
        answer_to(out, "quiet:10pm-8am").contains("Quiet hours: 22:00-08:00"),
        "{out}"
    );
    assert!(answer_to(out, "time:8pm").contains("every day at 20:00"), "{out}");
}

#[test]
fn cancelling_an_edited_series_cancels_the_meetings_left_before_its_change_too() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"/group create name:"Grief circle" topic:grief led_by:peer
/meeting schedule group:#1 when:"2026-03-21 19:00" repeat:weekly timezone:UTC
/as ann
/meeting rsvp meeting:1 occurrence:2026-03-28 answer:yes
/as admin
/meeting edit meeting:1 from:2026-04-04 when:18:00
/meeting cancel meeting:1 occurrence:all
/meeting list
"#;

    let run = console_at(dir.path(), "2026-03-19T10:00:00Z", script);

    assert!(run.success, "{}", run.stderr);
    let cancelled = answer_to(&run.stdout, "/meeting cancel meeting:1 occurrence:all");
    assert!(
        cancelled.contains("-> DM ann"),
        "ann's meeting, now meeting 2's, is told: {cancelled}"
    );
    assert!(
        answer_to(&run.stdout, "> /meeting list").contains("No meetings in the next month."),
        "{}",
        run.stdout
    );
}

#[test]
fn service_roles_are_assigned_signed_up_for_reminded_and_the_back_up_is_told_when_the_chair_is_late() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
/group create name:"Grief circle" topic:grief led_by:peer
/group facilitator group:#1 user:fran action:add
/meeting schedule group:#1 when:"2026-03-21 19:00" repeat:weekly timezone:UTC
/as ann
/group join group:#1
/reminders leads:2h
/as ben
/group join group:#1
/as cat
/group join group:#1
/role assign group:#1 role:chair user:cat
/as fran
/role assign group:#1 role:chair user:ann backup:ben
/role assign group:#1 role:timekeeper
/meeting script template group:#1 template:general
/as cat
/role list group:#1
/role signup group:#1 role:timekeeper
/role signup group:#1 role:chair
/wait 2d
/wait 9h
/wait 5m
/as fran
/meeting start group:#1
/as cat
/meeting next group:#1
"#;

    let run = console_as_at(dir.path(), "admin", "2026-03-19T10:00:00Z", script);

    assert!(run.success, "{}", run.stderr);
    let out = &run.stdout;
    assert!(
        answer_to(out, "cat@#general> /role assign group:#1 role:chair user:cat")
            .contains("Only a facilitator of Grief circle or a community admin can use /role assign."),
        "a member cannot make herself chair"
    );
    let assigned = answer_to(out, "/role assign group:#1 role:chair user:ann backup:ben");
    assert!(assigned.contains("@ann is Grief circle's chair."), "{assigned}");
    assert!(assigned.contains("@ben backs up Grief circle's chair."), "{assigned}");
    let listed = answer_to(out, "/role list group:#1");
    assert!(listed.contains("Chair: @ann · back-up @ben"), "{listed}");
    assert!(listed.contains("Timekeeper: open"), "{listed}");
    // The press typed is the button the list showed.
    assert!(
        listed.contains("[⏱️ Sign up: timekeeper] /role signup group:#1 role:timekeeper"),
        "{listed}"
    );
    assert!(
        answer_to(out, "cat@#general> /role signup group:#1 role:timekeeper")
            .contains("@cat is Grief circle's timekeeper. Thank you for your service.")
    );
    assert!(
        answer_to(out, "/role signup group:#1 role:chair")
            .contains("The chair is chosen by Grief circle's facilitators")
    );
    // The holders' reminders: ann's at her own 2 hours; cat's at the group's 24 hours and 1 hour.
    let deliveries = scheduled_deliveries(out);
    for expected in [
        "-> DM cat  [Fri 20 Mar 2026 19:00 UTC]",
        "-> DM ann  [Sat 21 Mar 2026 17:00 UTC]",
        "-> DM cat  [Sat 21 Mar 2026 18:00 UTC]",
        "-> DM ben  [Sat 21 Mar 2026 19:05 UTC]",
    ] {
        assert!(deliveries.contains(&expected), "{expected:?} not in {deliveries:?}");
    }
    assert_eq!(
        deliveries.iter().filter(|d| d.starts_with("-> DM ann")).count(),
        1,
        "{deliveries:?}"
    );
    assert!(
        !deliveries
            .iter()
            .any(|d| d.starts_with("-> DM ben  [Sat 21 Mar 2026 1") && !d.contains("19:05")),
        "ben holds no role, only the back-up's place: {deliveries:?}"
    );
    assert!(
        out.contains(
            "-> DM ann  [Sat 21 Mar 2026 17:00 UTC]\n   == Reminder: Grief circle ==\n   You're this meeting's chair."
        ),
        "{out}"
    );
    assert!(out.contains(
        "-> DM cat  [Sat 21 Mar 2026 18:00 UTC]\n   == Reminder: Grief circle ==\n   You're this meeting's timekeeper."
    ));
    let late = answer_to(out, "/wait 5m");
    assert!(
        late.contains("-> DM ben  [Sat 21 Mar 2026 19:05 UTC]\n   == Grief circle hasn't started yet =="),
        "{late}"
    );
    assert!(
        late.contains("@ann has not started it on Hearth five minutes on."),
        "{late}"
    );
    assert!(
        answer_to(out, "cat@#general> /meeting next group:#1").contains("Only"),
        "the timekeeper cannot press the chair's buttons"
    );
}

/// The first half of a templated meeting, up to its open sharing: the
/// opening, the guidelines and a check-in round with a pass.
const MEETING_FIRST_HALF: &str = r#"
/group create name:"Grief circle" topic:grief led_by:peer guideline:"What is said here stays here."
/group facilitator group:"Grief circle" user:fay action:add
/group edit group:"Grief circle" venmo:@griefcircle paypal:griefcircle
/meeting script template template:general
/meeting script edit step:4 remove:yes
/meeting script edit step:6 remove:yes
/as fay
/meeting start
/as mo
/meeting next
/as fay
/wait 3m
/meeting next
/wait 2m
/meeting next
/as mo
/circle join
/as sam
/circle join
/as fay
/wait 1m
/circle next
/as mo
/circle pass
/as sam
/wait 1m
/circle next
/as fay
/meeting next
"#;

/// The second half, after a restart: timed shares with the one-minute
/// notice and "time", a quick phrase, +2 min, the donation, a check-out
/// round and the closing.
const MEETING_SECOND_HALF: &str = r#"
/hand raise
/as mo
/hand raise
/as fay
/wait 2m
/circle next
/as mo
/wait 4m
/as fay
/meeting phrase phrase:own_experience
/as mo
/circle next
/as fay
/meeting extend
/meeting next
/wait 2m
/meeting next
/circle pass
/as mo
/circle pass
/as sam
/wait 1m
/circle next
/as fay
/meeting next
/wait 2m
/meeting next
"#;

#[test]
fn a_templated_meeting_runs_step_by_step_with_the_panel_for_the_chair_alone_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();

    let first = console_as_at(dir.path(), "admin", "2026-03-19T19:00:00Z", MEETING_FIRST_HALF);
    let second = console_as_at(dir.path(), "fay", "2026-03-19T19:09:00Z", MEETING_SECOND_HALF);

    assert!(first.success && second.success, "{}{}", first.stderr, second.stderr);
    let out = format!("{}{}", first.stdout, second.stdout);
    // The room reads each step in order, the talking stick doing the rounds and shares.
    in_order(
        &out,
        &[
            "-> #general\n   == Grief circle · Welcome ==",
            "-> #general\n   == Grief circle · Our guidelines ==\n   What is said here stays here.",
            "-> #general\n   == Grief circle · Check-in ==",
            "Round: we go around in the order people joined",
            "mo passed — that's always okay.",
            "-> #general\n   == Grief circle · Open sharing ==",
            "Queue: raise a hand to speak",
            "Each share has 4 min",
            // The restart: the second process goes on with the same stick.
            "fay@#general> /hand raise\n-> #general (private: only fay sees this)\n   fay raised a hand.\n   @fay has the stick.",
            "-> #general  [Thu 19 Mar 2026 19:14 UTC]\n   @mo, about 1 min left — no rush, just a gentle heads-up.",
            "-> #general  [Thu 19 Mar 2026 19:15 UTC]\n   @mo, your share time is up. Finish your thought; /circle next hands the stick on when you're ready.",
            "-> #general\n   Could you share that as your own experience?",
            "mo@#general> /circle next\n-> #general (private: only mo sees this)\n   Thank you, mo.",
            "-> #general\n   == Grief circle · Supporting the group ==\n   This group is kept going by what members choose to give. There's no need to give anything, and nobody is told who did.\n   Venmo: @griefcircle\n   PayPal: griefcircle",
            "-> #general\n   == Grief circle · Check-out ==",
            "fay passed — that's always okay.",
            "mo passed — that's always okay.",
            "-> #general\n   == Grief circle · Closing ==",
            "-> #general\n   == Grief circle ==\n   The meeting has ended. Thank you all for being here.",
        ],
    );
    // The chair's panel follows every step, privately, and picks up after the restart.
    in_order(
        &out,
        &[
            "fay@#general> /meeting start\n-> #general (private: only fay sees this)\n   == Your panel · Grief circle · step 1 of 7 ==",
            "== Your panel · Grief circle · step 2 of 7 ==",
            "== Your panel · Grief circle · step 3 of 7 ==",
            "== Your panel · Grief circle · step 4 of 7 ==",
            "fay@#general> /meeting extend\n-> #general (private: only fay sees this)\n   == Your panel · Grief circle · step 4 of 7 ==\n   Open sharing (shares)\n   Open the floor. Raise a hand to share; speak from your own experience.\n   Time: 8 min used of 30 min + 2 min added\n   Meeting: 8 min ahead",
            "[⏱️ +2 min] /meeting extend group:#1",
            "[⏩ Move on] /meeting phrase group:#1 phrase:move_on",
            "== Your panel · Grief circle · step 5 of 7 ==",
            "== Your panel · Grief circle · step 6 of 7 ==",
            "== Your panel · Grief circle · step 7 of 7 ==",
            "   == Grief circle · the meeting's times ==\n   1. Welcome: 3 min of 3 min\n   2. Our guidelines: 2 min of 2 min\n   3. Check-in: 2 min of 10 min\n   4. Open sharing: 8 min of 30 min\n   5. Supporting the group: 2 min of 2 min\n   6. Check-out: 1 min of 8 min\n   7. Closing: 2 min of 2 min\n   In all: 20 min of 57 min planned.",
        ],
    );
    assert!(
        answer_to(&first.stdout, "mo@#general> /meeting next")
            .contains("Only the meeting's chair, or a facilitator of Grief circle, moves the meeting on."),
        "{}",
        first.stdout
    );
    let panel_lines: Vec<_> = readers(&out)
        .into_iter()
        .filter(|(_, line)| line.contains("Your panel") || line.contains("/meeting next group:#1"))
        .collect();
    assert_eq!(panel_lines.len(), 2 * 8, "eight panels, each with its Next button");
    assert!(
        panel_lines.iter().all(|(who, _)| who.as_deref() == Some("fay")),
        "the panel reached someone else: {panel_lines:?}"
    );
}

/// The group finder through the real binary: the same four groups, listed by
/// a reader in Tokyo and one in Berlin as each would call evening.
#[test]
fn group_list_time_evening_lists_what_each_reader_calls_evening_in_their_own_zone() {
    let dir = tempfile::tempdir().unwrap();
    let clock = "2026-12-03T04:00:00Z";
    let setup = console_at(
        dir.path(),
        clock,
        r#"/group create name:"New York noon" topic:grief led_by:peer
/meeting schedule group:"New York noon" when:"2026-12-08 12:00" repeat:weekly timezone:America/New_York
/group create name:"Tokyo evening" topic:grief led_by:peer
/meeting schedule group:"Tokyo evening" when:"2026-12-10 19:30" repeat:weekly timezone:Asia/Tokyo
/group create name:"Berlin late" topic:recovery led_by:peer
/meeting schedule group:"Berlin late" when:"2026-12-07 20:00" repeat:weekly timezone:Europe/Berlin
/group create name:"London Saturday" topic:recovery led_by:professional
/meeting schedule group:"London Saturday" when:"2026-12-05 08:00" repeat:weekly timezone:Europe/London
"#,
    );
    let tokyo = console_as_at(
        dir.path(),
        "tomo",
        clock,
        "/timezone zone:Asia/Tokyo\n/group list time:evening\n/group list day:weekdays time:evenin\n",
    );
    let berlin = console_as_at(
        dir.path(),
        "berta",
        clock,
        "/timezone zone:Europe/Berlin\n/group list time:evening\n",
    );

    assert!(
        setup.success && tokyo.success && berlin.success,
        "{}{}{}",
        setup.stderr,
        tokyo.stderr,
        berlin.stderr
    );
    let names = |answer: &str| -> Vec<String> {
        answer
            .lines()
            .filter(|l| l.contains(" (#"))
            .filter_map(|l| l.split(" (#").next())
            .map(|l| l.trim_start_matches(|c: char| !c.is_alphanumeric()).to_string())
            .collect()
    };
    // Tokyo: London's Saturday 08:00 is 17:00 there, Tokyo's own Thursday 19:30.
    let in_tokyo = answer_to(&tokyo.stdout, "/group list time:evening");
    assert_eq!(names(in_tokyo), ["London Saturday", "Tokyo evening"], "{in_tokyo}");
    assert!(in_tokyo.contains("your time (Asia/Tokyo)"), "{in_tokyo}");
    assert!(in_tokyo.contains("Sat 5 Dec 2026, 17:00 JST"), "{in_tokyo}");
    // Berlin: its own Monday 20:00, and New York's Tuesday noon, 18:00 there.
    let in_berlin = answer_to(&berlin.stdout, "/group list time:evening");
    assert_eq!(names(in_berlin), ["Berlin late", "New York noon"], "{in_berlin}");
    assert!(in_berlin.contains("Tue 8 Dec 2026, 18:00 CET"), "{in_berlin}");
    // A word it cannot read gets the closest it knows.
    let unread = answer_to(&tokyo.stdout, "/group list day:weekdays time:evenin");
    assert!(
        unread.contains("I can't read time:evenin. Did you mean time:evening?"),
        "{unread}"
    );
}

#[test]
fn with_capacity_3_the_fourth_yes_waits_and_is_told_when_someone_changes_to_no() {
    let dir = tempfile::tempdir().unwrap();

    let run = console_at(
        dir.path(),
        "2026-03-19T10:00:00Z",
        r#"/group create name:"Grief circle" topic:grief led_by:peer capacity:3
/meeting schedule group:#1 when:"2026-03-21 19:00" timezone:UTC
/as ann
/meeting rsvp meeting:1 answer:yes
/as ben
/meeting rsvp meeting:1 answer:yes
/as cat
/meeting rsvp meeting:1 answer:yes
/as dan
/meeting rsvp meeting:1 answer:yes
/meeting list
/as ben
/meeting rsvp meeting:1 answer:no
/meeting list
"#,
    );

    assert!(run.success, "{}", run.stderr);
    let out = &run.stdout;
    let dan = answer_to(out, "dan@#general> /meeting rsvp meeting:1 answer:yes");
    assert!(dan.contains("number 1 in line"), "{dan}");
    assert!(dan.contains("Nobody else sees who is waiting"), "{dan}");
    let full = answer_to(out, "dan@#general> /meeting list");
    assert!(full.contains("3 going, 0 maybe, 1 waiting for a place"), "{full}");
    for name in ["ann", "ben", "cat"] {
        assert!(!full.contains(name), "counts, never names: {full}");
    }
    let freed = answer_to(out, "ben@#general> /meeting rsvp meeting:1 answer:no");
    assert!(
        freed.contains("-> DM dan  [Thu 19 Mar 2026 10:00 UTC]\n   == A place for you: Grief circle =="),
        "{freed}"
    );
    assert!(freed.contains("and it's yours: you're going"), "{freed}");
    assert_eq!(out.matches("== A place for you").count(), 1, "told once:\n{out}");
    let after = answer_to(out, "ben@#general> /meeting list");
    assert!(after.contains("· 3 going, 0 maybe\n"), "{after}");
}

/// Members opt in to have a milestone said, one opts out again, and the
/// twelve-step script's milestones step reads out only those who chose to.
const MILESTONES: &str = r#"
/group create name:"Grief circle" topic:grief led_by:peer
/meeting script template template:twelve_step
/as sam
/group join group:"Grief circle"
/milestone set group:"Grief circle" date:2025-03-17 name:"Sam W"
/as ann
/group join group:"Grief circle"
/milestone set group:"Grief circle" date:2026-02-17
/milestone clear group:"Grief circle"
/as bob
/group join group:"Grief circle"
/as dee
/group join group:"Grief circle"
/milestone set group:"Grief circle" date:2026-02-17 name:"@everyone"
/as admin
/meeting start
/meeting next
/meeting next
/meeting next
"#;

#[test]
fn milestones_are_said_at_their_step_for_those_who_opted_in_alone_and_never_logged() {
    let dir = tempfile::tempdir().unwrap();

    let run = hearth_logging(
        dir.path(),
        &[
            "console",
            "--db",
            "t.db",
            "--as",
            "admin",
            "--clock",
            "2026-03-19T19:00:00Z",
        ],
        MILESTONES,
        Some("info"),
    );

    assert!(run.success, "{}", run.stderr);
    let out = &run.stdout;
    assert!(
        answer_to(
            out,
            r#"sam@#general> /milestone set group:"Grief circle" date:2025-03-17 name:"Sam W""#
        )
        .starts_with("\n-> #general (private: only sam sees this)"),
        "{out}"
    );
    in_order(
        out,
        &[
            "-> #general\n   == Grief circle · Milestones ==\n   Milestones since our last meeting, from those who chose to have theirs said:\n   @everyone: 30 days\n   Sam W: 1 year\n   Anyone else who would like to mark a milestone may say so now.",
        ],
    );
    let post = &out[out.find("== Grief circle · Milestones ==").unwrap()..];
    let post = &post[..post.find("Anyone else").unwrap()];
    for absent in ["ann", "bob"] {
        assert!(!post.contains(absent), "{absent} in {post}");
    }
    // Logs carry ids and event kinds: no date, no name, not that anyone has a milestone.
    assert!(
        run.stderr.contains("meeting started"),
        "the log is read: {}",
        run.stderr
    );
    for secret in ["2025-03-17", "2026-02-17", "Sam W", "milestone"] {
        assert!(!run.stderr.contains(secret), "{secret} in the log:\n{}", run.stderr);
    }
}

#[test]
fn a_meeting_that_starts_by_itself_posts_once_brings_the_chair_the_panel_and_tells_the_back_up_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
/group create name:"Grief circle" topic:grief led_by:peer
/group facilitator group:#1 user:fran action:add
/meeting schedule group:#1 when:"2026-03-21 19:00" repeat:weekly timezone:UTC
/as ann
/group join group:#1
/as ben
/group join group:#1
/as fran
/role assign group:#1 role:chair user:ann backup:ben
/meeting script template group:#1 template:general
/meeting script edit group:#1 autostart:on
/wait 2d
/wait 8h59m
/wait 1m
/wait 10m
/as mo
/meeting panel group:#1
/as ann
/meeting next group:#1
"#;

    let run = console_as_at(dir.path(), "admin", "2026-03-19T10:00:00Z", script);

    assert!(run.success, "{}", run.stderr);
    let out = &run.stdout;
    assert!(
        answer_to(out, "/meeting script edit group:#1 autostart:on")
            .contains("Starts by itself at each meeting's start; the chair gets the panel."),
        "{out}"
    );
    let at_the_start = answer_to(out, "fran@#general> /wait 1m");
    assert!(
        at_the_start.contains(
            "-> #general  [Sat 21 Mar 2026 19:00 UTC]\n   == Grief circle · The meeting has started ==\n   Grief circle · Welcome"
        ),
        "{at_the_start}"
    );
    assert!(
        at_the_start.contains("[📋 Open the panel] /meeting panel group:#1"),
        "{at_the_start}"
    );
    // The chair's panel comes a moment later, by DM (private output here).
    let a_moment_later = answer_to(out, "fran@#general> /wait 10m");
    assert!(
        a_moment_later
            .contains("-> DM ann  [Sat 21 Mar 2026 19:00 UTC]\n   == Your panel · Grief circle · step 1 of 9 =="),
        "{a_moment_later}"
    );
    assert_eq!(out.matches("The meeting has started ==").count(), 1, "{out}");
    assert!(!out.contains("hasn't started yet"), "the back-up is not told: {out}");
    assert!(
        answer_to(out, "mo@#general> /meeting panel group:#1").contains("This panel is for the meeting's chair."),
        "{out}"
    );
    assert!(
        answer_to(out, "ann@#general> /meeting next group:#1")
            .contains("== Your panel · Grief circle · step 2 of 9 =="),
        "{out}"
    );
}
