//! Running Hearth for a community, through the real binary: the Discord
//! invite link, `hearth check` (against the fake Discord and the test
//! Synapse), metrics after a delivered reminder, a backup while the console
//! works, and a clean stop on SIGTERM.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test harness should fail loudly"
)]

#[cfg(feature = "matrix")]
#[path = "../adapters/matrix/tests/common/mod.rs"]
mod common;
mod running;
use running::scrape;
#[cfg(feature = "discord")]
#[path = "../adapters/discord/tests/support/mod.rs"]
mod support;

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use bot_core::store::{query_as, query_scalar};
use running::{Running, free_port, hearth_on, write_config};
#[cfg(feature = "discord")]
use serde_json::json;
#[cfg(feature = "discord")]
use support::{
    ADMIN_WHO_MUTES, APP, FakeDiscord, GUILD, MODERATOR_ROLE, PLAIN, command_interaction, discord_section,
    guild_create, member, mute_of, voice_state,
};

fn hearth(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(args)
        .env_remove("HEARTH_CONFIG")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("the hearth binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A config in `dir` with `sections` after `[storage]`.
// ---- Discord setup ----------------------------------------------------------

#[cfg(feature = "discord")]
#[tokio::test]
async fn the_invite_link_asks_for_exactly_the_permissions_the_adapter_uses() {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &discord_section(&fake, dir.path()));

    let out = tokio::task::spawn_blocking(move || hearth(&["discord", "invite", "--config", config.to_str().unwrap()]))
        .await
        .unwrap();

    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    let url = stdout.lines().next().unwrap();
    let bits: u64 = url.rsplit("permissions=").next().unwrap().parse().unwrap();
    let union = hearth_discord::perms::NEEDED
        .iter()
        .fold(0u64, |all, n| all | n.permission.bits());
    assert_eq!(bits, union, "{url}");
    assert!(
        url.starts_with(&format!("https://discord.com/oauth2/authorize?client_id={APP}&")),
        "{url}"
    );
    assert!(url.contains("scope=bot+applications.commands"), "{url}");
    for needed in hearth_discord::perms::NEEDED {
        assert!(stdout.contains(needed.name), "{} not explained:\n{stdout}", needed.name);
    }
    // Mute Members, Manage Events, Send Messages, Embed Links, Attach Files at least.
    for bit in [1u64 << 22, 1 << 33, 1 << 11, 1 << 14, 1 << 15] {
        assert_eq!(bits & bit, bit, "bit {bit} missing from {bits}");
    }
}

#[cfg(feature = "discord")]
#[tokio::test]
async fn check_names_mute_members_when_the_bot_lacks_it_and_exits_non_zero() {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &discord_section(&fake, dir.path()));
    let all = hearth_discord::perms::needed().bits();

    let run =
        |config: PathBuf| tokio::task::spawn_blocking(move || hearth(&["check", "--config", config.to_str().unwrap()]));
    let good = run(config.clone()).await.unwrap();
    fake.grant_bot(all & !(1 << 22));
    let lacking = run(config).await.unwrap();

    let good_out = text(&good.stdout);
    assert!(good.status.success(), "{good_out}{}", text(&good.stderr));
    assert!(good_out.contains("the token is accepted"), "{good_out}");
    assert!(
        good_out.contains("every permission Hearth uses is granted"),
        "{good_out}"
    );
    let out = text(&lacking.stdout);
    assert!(!lacking.status.success(), "{out}");
    let line = out
        .lines()
        .find(|l| l.starts_with("FIX ") && l.contains("Mute Members"))
        .unwrap_or_else(|| panic!("no FIX line names Mute Members:\n{out}"));
    assert!(
        line.contains(&GUILD.to_string()) && line.contains("Server Settings"),
        "{line}"
    );
    assert!(!line.contains("Send Messages"), "{line}");
    // Every line says what to do.
    for l in out.lines() {
        assert!(
            l.contains("nothing to do")
                || l.contains("Nothing to do")
                || l.contains(": give")
                || l.contains("invite")
                || l.contains("start"),
            "{l}"
        );
    }
    assert!(text(&lacking.stderr).contains("to fix"), "{}", text(&lacking.stderr));
}

#[cfg(feature = "discord")]
#[tokio::test]
async fn check_with_a_wrong_token_says_so() {
    let fake = FakeDiscord::start().await;
    fake.fail("GET", "/users/@me", 401, 0, "401: Unauthorized");
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &discord_section(&fake, dir.path()));

    let out = tokio::task::spawn_blocking(move || hearth(&["check", "--config", config.to_str().unwrap()]))
        .await
        .unwrap();

    assert!(!out.status.success());
    assert!(
        text(&out.stdout).contains("refused the bot token"),
        "{}",
        text(&out.stdout)
    );
}

// ---- Matrix -----------------------------------------------------------------

#[cfg(feature = "matrix")]
fn matrix_section(bot: &hearth_matrix::MatrixConfig) -> String {
    format!(
        "[matrix]\nhomeserver = {hs:?}\nuser_id = {user:?}\npassword_file = {pw:?}\nstore_dir = {store:?}\n",
        hs = bot.homeserver,
        user = bot.user_id,
        pw = bot.password_file.as_ref().unwrap().display().to_string(),
        store = bot.store_dir.display().to_string(),
    )
}

#[cfg(feature = "matrix")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_against_synapse_with_a_good_config_exits_zero() {
    let synapse = common::synapse().await;
    let dir = tempfile::tempdir().unwrap();
    let bot = common::bot_config(&synapse, dir.path()).await;
    let config = write_config(dir.path(), &matrix_section(&bot));
    // A wrong password and no session to restore.
    let wrong = dir.path().join("wrong.toml");
    let wrong_password = dir.path().join("wrong-password");
    std::fs::write(&wrong_password, "not the password\n").unwrap();
    std::fs::write(
        &wrong,
        std::fs::read_to_string(&config)
            .unwrap()
            .replace(
                &*bot.password_file.as_ref().unwrap().display().to_string(),
                &wrong_password.display().to_string(),
            )
            .replace(
                &*bot.store_dir.display().to_string(),
                &dir.path().join("fresh-store").display().to_string(),
            ),
    )
    .unwrap();

    let run =
        |config: PathBuf| tokio::task::spawn_blocking(move || hearth(&["check", "--config", config.to_str().unwrap()]));
    let first = run(config.clone()).await.unwrap();
    // Again: the session is restored from store_dir, as the bot will.
    let again = run(config).await.unwrap();
    let bad = run(wrong.clone()).await.unwrap();

    for out in [&first, &again] {
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
        assert!(stdout.contains(&format!("logged in as {}", bot.user_id)), "{stdout}");
        assert!(stdout.contains("encryption is ready"), "{stdout}");
        assert!(
            stdout.contains("store_dir") && stdout.contains("is writable"),
            "{stdout}"
        );
        assert!(stdout.contains("database:"), "{stdout}");
    }
    let bad_out = text(&bad.stdout);
    assert!(
        !bad.status.success(),
        "a config that cannot log in must fail:\n{bad_out}"
    );
    assert!(
        bad_out.contains("matrix: cannot log in or restore the session"),
        "{bad_out}"
    );
    let _ = std::fs::remove_file(wrong);
}

/// `hearth check` three times beside the running bot while another account
/// claims the bot's one-time keys, as members' new devices do. Two clients
/// on one crypto store would make keys with the same ids and lose some; the
/// check leaves the running bot's store alone and asks the homeserver with
/// the stored token instead, and says so. A member's new device then sends
/// an encrypted command, on one of the keys claimed since, and the bot
/// answers it.
#[cfg(feature = "matrix")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_beside_the_running_bot_leaves_its_keys_alone_and_says_so() {
    let synapse = common::synapse().await;
    let dir = tempfile::tempdir().unwrap();
    let bot = common::bot_config(&synapse, dir.path()).await;
    let config = write_config(dir.path(), &matrix_section(&bot));
    let _hearth = Running(
        hearth_on(&config)
            .env_remove("RUST_LOG")
            .stderr(std::fs::File::create(dir.path().join("stderr")).unwrap())
            .spawn()
            .unwrap(),
    );
    let bot_id = matrix_sdk::ruma::UserId::parse(bot.user_id.as_str()).unwrap();
    let alice = common::Member::new(&synapse, "alice").await;
    let room = common::room_with_bot(&alice, &bot_id, true, &[]).await;
    let asked = alice.say(&room, "!group list").await;
    alice
        .wait_for("the bot's first answer", |s| {
            s.sender() == bot_id.as_str() && s.in_reply_to() == Some(asked.as_str())
        })
        .await;
    let session: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bot.store_dir.join("session.json")).unwrap()).unwrap();
    let device = session["device_id"].as_str().unwrap().to_string();
    let claimer = common::Member::new(&synapse, "claimer").await;

    let claiming = async {
        let mut claimed = 0;
        for _ in 0..60 {
            if common::claim_one_time_key(&claimer, &bot_id, &device).await == Some(true) {
                claimed += 1;
            }
        }
        claimed
    };
    let checking = async {
        let mut outs = Vec::new();
        for _ in 0..3 {
            let config = config.clone();
            let out = tokio::task::spawn_blocking(move || hearth(&["check", "--config", config.to_str().unwrap()]))
                .await
                .unwrap();
            outs.push(out);
        }
        outs
    };
    let (claimed, checks) = tokio::join!(claiming, checking);
    // A member's new device: it claims one of the bot's keys to share its room key.
    let carol = common::Member::new(&synapse, "carol").await;
    let carols = common::room_with_bot(&carol, &bot_id, true, &[]).await;
    let command = carol.say(&carols, "!group list").await;
    let answer = carol
        .wait_for("the bot's answer to the new device", |s| {
            s.sender() == bot_id.as_str() && s.in_reply_to() == Some(command.as_str())
        })
        .await;

    assert!(claimed > 0, "no one-time key was claimed");
    for out in &checks {
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
        assert!(stdout.contains("a Hearth is running on this database"), "{stdout}");
        assert!(
            stdout.contains("so it was not opened") && stdout.contains("(whoami)") && stdout.contains(&device),
            "{stdout}"
        );
    }
    assert!(answer.encrypted, "the answer is encrypted");
    assert!(!answer.body().is_empty());
}

/// A homeserver that is down at start is waited for (tests/comeback.rs); a
/// login it refuses is not: Hearth stops at once, saying why.
#[cfg(feature = "matrix")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_login_stops_start_up_at_once_with_the_error() {
    let synapse = common::synapse().await;
    let dir = tempfile::tempdir().unwrap();
    let mut bot = common::bot_config(&synapse, dir.path()).await;
    let wrong = dir.path().join("wrong-password");
    std::fs::write(&wrong, "not the password\n").unwrap();
    bot.password_file = Some(wrong);
    let config = write_config(dir.path(), &matrix_section(&bot));
    let started = Instant::now();

    let out = tokio::task::spawn_blocking(move || hearth(&["--config", config.to_str().unwrap()]))
        .await
        .unwrap();

    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(30), "{:?}", started.elapsed());
    assert!(
        stderr.contains("the matrix adapter stopped") && stderr.contains("logging in to Matrix"),
        "{stderr}"
    );
}

// ---- metrics ----------------------------------------------------------------

#[tokio::test]
async fn metrics_after_a_delivered_reminder_show_the_delivery_and_the_lag_and_no_names() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hearth.db");
    // Two hours ago, someone scheduled a meeting for 30 minutes from now: its
    // 1-hour reminder fell due half an hour ago, while Hearth was down.
    let now = chrono::Utc::now();
    let meeting = (now + chrono::Duration::minutes(30))
        .format("%Y-%m-%d %H:%M")
        .to_string();
    let earlier = (now - chrono::Duration::hours(2)).to_rfc3339();
    let script = format!(
        "/group create name:\"Zebra circle\" topic:grief led_by:peer\n/meeting schedule group:\"Zebra circle\" when:\"{meeting}\" title:\"Quokka night\"\n"
    );
    let mut setup = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["console", "--as", "quokka", "--clock", &earlier, "--db"])
        .arg(&db)
        .env_remove("HEARTH_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    setup.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    let set_up = setup.wait_with_output().unwrap();
    assert!(text(&set_up.stdout).contains("(meeting 1)"), "{}", text(&set_up.stdout));

    let addr = format!("127.0.0.1:{}", free_port());
    // `process_id` goes on in [storage], which write_config opens: every
    // metric carries it as the label `process`.
    let config = write_config(
        dir.path(),
        &format!("process_id = \"ops-1\"\n\n[console]\nspeaker = \"quokka\"\n\n[metrics]\nlisten = {addr:?}\n"),
    );
    let mut child = hearth_on(&config)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.path().join("stderr")).unwrap())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut hearth = Running(child);
    let stderr = || std::fs::read_to_string(dir.path().join("stderr")).unwrap_or_default();
    stdin.write_all(b"/help\n").unwrap();
    // Read to the end: a reader that stopped early would close the pipe, and
    // the console's next write would fail with a broken pipe and stop hearth
    // (CI saw exactly that, before the metrics showed the delivery).
    let reader = std::thread::spawn(move || {
        let mut seen = String::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            seen.push_str(&line);
            seen.push('\n');
        }
        seen
    });

    let deadline = Instant::now() + Duration::from_secs(30);
    let scraped = loop {
        let scraped = tokio::task::spawn_blocking({
            let addr = addr.clone();
            move || scrape(&addr)
        })
        .await
        .unwrap();
        if scraped.contains("hearth_deliveries_total{process=\"ops-1\",platform=\"console\",outcome=\"sent\"} 1")
            && scraped.contains("hearth_scheduler_lag_seconds{process=\"ops-1\"} ")
            && scraped.contains("hearth_commands_total")
        {
            break scraped;
        }
        if let Ok(Some(status)) = hearth.0.try_wait() {
            panic!(
                "hearth exited ({status}) before its metrics showed the delivery:\n{}",
                stderr()
            );
        }
        assert!(
            Instant::now() < deadline,
            "no delivery counted in time:\n{scraped}\nhearth's log:\n{}",
            stderr()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    drop(stdin);
    drop(hearth); // stopped, so its stdout ends
    let console = reader.join().unwrap();

    assert!(
        console.contains("Hearth commands"),
        "the help was not answered:\n{console}"
    );
    assert!(
        console.contains("Quokka night"),
        "the reminder was not delivered:\n{console}"
    );
    let lag: f64 = scraped
        .lines()
        .find_map(|l| l.strip_prefix("hearth_scheduler_lag_seconds{process=\"ops-1\"} "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        (1700.0..2000.0).contains(&lag),
        "the reminder was about 30 min late, not {lag} s"
    );
    assert!(
        scraped.contains("hearth_commands_total{process=\"ops-1\",platform=\"console\",outcome=\"ok\"} 1"),
        "{scraped}"
    );
    assert!(scraped.contains("hearth_pending_jobs{process=\"ops-1\"} "), "{scraped}");
    for name in ["Zebra", "Quokka", "quokka", "grief", "local"] {
        assert!(!scraped.contains(name), "{name:?} in the metrics:\n{scraped}");
    }
}

// ---- backups ----------------------------------------------------------------

#[test]
fn a_backup_taken_while_the_console_schedules_meetings_opens_and_holds_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "[console]\n");
    let db = dir.path().join("hearth.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["console", "--db"])
        .arg(&db)
        .env_remove("HEARTH_CONFIG")
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let console = Running(child);
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let writer = std::thread::spawn(move || {
        writeln!(stdin, "/group create name:Backups topic:x led_by:peer").unwrap();
        for day in 1..=60 {
            let when = format!("2027-{:02}-{:02} 19:00", 1 + (day - 1) / 28, 1 + (day - 1) % 28);
            writeln!(stdin, "/meeting schedule group:Backups when:\"{when}\"").unwrap();
            stdin.flush().unwrap();
            std::thread::sleep(Duration::from_millis(30));
        }
        // Standard input ends here: the console finishes.
    });

    // Once ten meetings are scheduled, back up while the rest are.
    let mut scheduled = 0;
    while scheduled < 10 {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the console stopped answering");
        if line.contains("== Scheduled: Backups ==") {
            scheduled += 1;
        }
    }
    let backup = dir.path().join("backup.db");
    let out = hearth(&[
        "backup",
        "--config",
        config.to_str().unwrap(),
        "--to",
        backup.to_str().unwrap(),
    ]);
    writer.join().unwrap();
    let mut console = console;
    let finished = console.0.wait().unwrap();
    reader.join().unwrap();

    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("Backed up"), "{}", text(&out.stdout));
    assert!(finished.success());
    let again = hearth(&[
        "backup",
        "--config",
        config.to_str().unwrap(),
        "--to",
        backup.to_str().unwrap(),
    ]);
    assert!(!again.status.success(), "a backup never overwrites");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&backup).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "the copy holds notes: its owner's alone");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let copy = bot_core::Store::open(&backup).await.expect("the backup opens");
        // The copy is a SQLite file: SQLite's own check.
        let integrity: String = query_scalar("PRAGMA integrity_check").fetch_one(&copy).await.unwrap();
        let in_copy: Vec<(i64, String)> = query_as("SELECT id, start_local FROM meetings ORDER BY id")
            .fetch_all(&copy)
            .await
            .unwrap();
        copy.close().await;
        let live = bot_core::Store::open(&db).await.unwrap();
        let in_live: Vec<(i64, String)> = query_as("SELECT id, start_local FROM meetings ORDER BY id")
            .fetch_all(&live)
            .await
            .unwrap();
        live.close().await;
        assert_eq!(integrity, "ok");
        assert!(in_copy.len() >= 10, "the backup holds {} meetings", in_copy.len());
        assert_eq!(in_live.len(), 60);
        assert_eq!(
            in_copy[..],
            in_live[..in_copy.len()],
            "the copy is a prefix of what was scheduled"
        );
    });
}

// ---- stopping ---------------------------------------------------------------

/// SIGTERM while a circle has three people muted, with a slow Discord: each
/// unmute takes 2.2 s to be answered and the gateway never answers the bot's
/// close. Every mute is released before Hearth exits, within 10 s: the
/// unmutes go first, the gateway waits. (Closing the gateway first took 5 s
/// of serenity's own timeout, and the third unmute never left.)
#[cfg(feature = "discord")]
#[tokio::test]
async fn on_sigterm_hearth_finishes_the_delivery_in_flight_unmutes_the_circle_and_exits_within_10_s() {
    const ADA: u64 = 11;
    const BO: u64 = 12;
    const CY: u64 = 13;
    const DI: u64 = 14;
    let fake = FakeDiscord::start().await;
    let events = format!("/guilds/{GUILD}/scheduled-events");
    fake.delay("POST", &events, Duration::from_secs(3));
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &discord_section(&fake, dir.path()));
    let child = hearth_on(&config).spawn().unwrap();
    let mut hearth = Running(child);
    fake.wait_identified().await;
    fake.wait_request("PUT", &format!("/applications/{APP}/guilds/{GUILD}/commands"))
        .await;
    let muted = [BO, CY, DI];
    let states = [
        voice_state(ADA, Some(77)),
        voice_state(BO, Some(77)),
        voice_state(CY, Some(77)),
        voice_state(DI, Some(77)),
    ];
    let ada = member(ADA, "Ada", ADMIN_WHO_MUTES, &[MODERATOR_ROLE]);
    let people = [
        ada.clone(),
        member(BO, "Bo", PLAIN, &[]),
        member(CY, "Cy", PLAIN, &[]),
        member(DI, "Di", PLAIN, &[]),
    ];
    fake.dispatch("GUILD_CREATE", guild_create(&people, &states));
    for state in &states {
        fake.dispatch("VOICE_STATE_UPDATE", state.clone());
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    fake.dispatch(
        "INTERACTION_CREATE",
        command_interaction(1, &ada, "circle start", &[("mute_others", 3, json!("yes"))]),
    );
    for user in muted {
        fake.wait_for("a mute", |r| mute_of(r) == Some((user, true))).await;
    }
    fake.dispatch(
        "INTERACTION_CREATE",
        command_interaction(
            2,
            &ada,
            "group create",
            &[
                ("name", 3, json!("Stopping")),
                ("topic", 3, json!("x")),
                ("led_by", 3, json!("peer")),
            ],
        ),
    );
    fake.wait_request("POST", &support::callback_path(2)).await;
    fake.dispatch(
        "INTERACTION_CREATE",
        command_interaction(
            3,
            &ada,
            "meeting schedule",
            &[("group", 3, json!("Stopping")), ("when", 3, json!("2030-01-02 19:00"))],
        ),
    );
    // The scheduler is mirroring the meeting as a scheduled event: Discord
    // takes 3 s to answer. Stop Hearth in the middle of it, with Discord slow
    // to unmute and to close the gateway.
    fake.wait_request("POST", &events).await;
    for user in muted {
        fake.delay(
            "PATCH",
            &format!("/guilds/{GUILD}/members/{user}"),
            Duration::from_millis(2200),
        );
    }
    fake.hold_gateway_close();
    let before_stop = fake.requests().len();
    let stopped_at = Instant::now();
    let terminated = Command::new("kill")
        .args(["-TERM", &hearth.0.id().to_string()])
        .status()
        .unwrap();
    assert!(terminated.success());
    let status = loop {
        if let Some(status) = hearth.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            stopped_at.elapsed() < Duration::from_secs(10),
            "hearth did not exit within 10 s of SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    assert!(status.success(), "{status}");
    assert_eq!(fake.events().len(), 1, "the event in flight was created");
    let mut unmuted: Vec<(u64, bool)> = fake.requests()[before_stop..].iter().filter_map(mute_of).collect();
    unmuted.sort_unstable();
    assert_eq!(
        unmuted,
        [(BO, false), (CY, false), (DI, false)],
        "the circle's mutes undone at shutdown"
    );
    // The delivery was recorded as done: nothing goes out again at the next start.
    let store = bot_core::Store::open(&dir.path().join("hearth.db")).await.unwrap();
    let states: Vec<String> = query_scalar("SELECT state FROM jobs WHERE kind = 'event'")
        .fetch_all(&store)
        .await
        .unwrap();
    store.close().await;
    assert_eq!(states, ["sent"], "the mirrored event's job");
}

/// The service test: the example configuration with a [discord] section, as
/// a service manager starts it (standard input closed). Hearth keeps running
/// until it is asked to stop, and with a [console] section too.
#[cfg(feature = "discord")]
#[tokio::test]
async fn the_example_config_with_discord_keeps_running_with_standard_input_closed() {
    let example = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/hearth.example.toml")).unwrap();
    for (i, extra) in ["", "[console]\n"].into_iter().enumerate() {
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("hearth.db").display().to_string();
        let config = dir.path().join("hearth.toml");
        let text = example.replace("path = \"hearth.db\"", &format!("path = {db:?}"));
        assert_ne!(text, example, "the example names its database");
        std::fs::write(
            &config,
            format!("{text}\n{extra}{}", discord_section(&fake, dir.path())),
        )
        .unwrap();
        let mut hearth = Running(
            hearth_on(&config)
                .stderr(std::fs::File::create(dir.path().join("stderr")).unwrap())
                .spawn()
                .unwrap(),
        );
        fake.wait_identified().await;

        tokio::time::sleep(Duration::from_secs(3)).await;
        let running = hearth.0.try_wait().unwrap();
        Command::new("kill")
            .args(["-TERM", &hearth.0.id().to_string()])
            .status()
            .unwrap();
        let stopped = hearth.0.wait().unwrap();

        let log = std::fs::read_to_string(dir.path().join("stderr")).unwrap_or_default();
        assert!(
            running.is_none(),
            "case {i}: hearth exited ({running:?}) with stdin closed:\n{log}"
        );
        assert!(stopped.success(), "case {i}: {stopped}\n{log}");
    }
}

// ---- the README, followed ---------------------------------------------------

/// The README's "Running it for your community": its `toml` block and every
/// `hearth` command of its `sh` blocks, in order.
#[cfg(all(feature = "discord", feature = "matrix"))]
fn readme_walkthrough() -> (String, Vec<String>) {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find("\n## Running it for your community\n")
        .expect("the README has the section");
    let section = &readme[start + 1..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    let mut config = None;
    let mut commands = Vec::new();
    let mut block: Option<(&str, String)> = None;
    for line in section.lines() {
        match (&mut block, line.strip_prefix("```")) {
            (None, Some(lang)) => block = Some((lang, String::new())),
            (Some((lang, body)), Some(_)) => {
                match *lang {
                    "toml" => config = Some(body.clone()),
                    "sh" => commands.extend(
                        body.lines()
                            .map(|l| l.split('#').next().unwrap().trim().to_string())
                            .filter(|l| !l.is_empty()),
                    ),
                    _ => {}
                }
                block = None;
            }
            (Some((_, body)), None) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, None) => {}
        }
    }
    (config.expect("a toml block"), commands)
}

#[cfg(all(feature = "discord", feature = "matrix"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_section_runs_step_by_step_against_synapse_and_the_fake_discord() {
    let (config, commands) = readme_walkthrough();
    let synapse = common::synapse().await;
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let bot = common::bot_config(&synapse, dir.path()).await;
    let metrics = format!("127.0.0.1:{}", free_port());
    // The README's example values, pointed at the test's servers; the
    // secrets come from the environment variables it names.
    let config = config
        .replace("123456789012345678", &GUILD.to_string())
        .replace(
            "[discord]\n",
            &format!("[discord]\napi_base_url = {:?}\n", fake.base_url),
        )
        .replace("https://matrix.example.org", &synapse.url)
        .replace("@hearth:example.org", bot.user_id.as_str())
        .replace("127.0.0.1:9184", &metrics)
        // A process id of its own, which every metric carries as `process`.
        .replace("[storage]\n", "[storage]\nprocess_id = \"readme\"\n");
    std::fs::write(dir.path().join("hearth.toml"), &config).unwrap();
    let env = [
        ("HEARTH_DISCORD_TOKEN", "fake-token"),
        ("HEARTH_MATRIX_PASSWORD", common::PASSWORD),
    ];
    let command = |line: &str| {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words[0], "hearth", "{line}");
        let mut c = Command::new(env!("CARGO_BIN_EXE_hearth"));
        c.args(&words[1..])
            .current_dir(dir.path())
            .env_remove("HEARTH_CONFIG")
            .env_remove("RUST_LOG")
            .envs(env)
            .stdin(Stdio::null());
        c
    };

    let mut ran = Vec::new();
    for line in commands.iter().filter(|l| !l.starts_with("cargo ")) {
        if line == "hearth --config hearth.toml" {
            // The bot itself: it connects to both, serves metrics, stops on SIGTERM.
            let mut hearth = Running(command(line).stdout(Stdio::null()).spawn().unwrap());
            fake.wait_identified().await;
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let scraped = tokio::task::spawn_blocking({
                    let metrics = metrics.clone();
                    move || scrape(&metrics)
                })
                .await
                .unwrap();
                if scraped.contains("hearth_adapter_connected{process=\"readme\",platform=\"matrix\"} 1")
                    && scraped.contains("hearth_adapter_connected{process=\"readme\",platform=\"discord\"} 1")
                {
                    break;
                }
                assert!(Instant::now() < deadline, "not connected to both:\n{scraped}");
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            Command::new("kill")
                .args(["-TERM", &hearth.0.id().to_string()])
                .status()
                .unwrap();
            let stopped = Instant::now();
            let status = loop {
                if let Some(status) = hearth.0.try_wait().unwrap() {
                    break status;
                }
                assert!(stopped.elapsed() < Duration::from_secs(10), "no exit within 10 s");
                tokio::time::sleep(Duration::from_millis(50)).await;
            };
            assert!(status.success(), "{line}: {status}");
        } else {
            let mut c = command(line);
            let out = tokio::task::spawn_blocking(move || c.output().unwrap()).await.unwrap();
            assert!(
                out.status.success(),
                "`{line}` failed:\n{}{}",
                text(&out.stdout),
                text(&out.stderr)
            );
        }
        ran.push(line.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
    }

    assert_eq!(
        ran,
        [
            "hearth discord invite",
            "hearth check --config",
            "hearth --config hearth.toml",
            "hearth backup --config"
        ],
        "the README's steps changed: follow them here too"
    );
    assert!(dir.path().join("hearth-backup.db").exists());
    assert!(
        commands.iter().any(|l| l == "cargo install --path . --locked"),
        "{commands:?}"
    );
}

/// A binary built without a platform (a Cargo feature) refuses that
/// platform's section and says how to get it: the test is also proof that
/// this build's binary is the one under test.
#[cfg(not(all(feature = "discord", feature = "matrix")))]
#[test]
fn a_section_for_a_platform_the_build_left_out_stops_start_up_and_says_how_to_get_it() {
    let dir = tempfile::tempdir().unwrap();
    let left_out = if cfg!(feature = "discord") { "matrix" } else { "discord" };
    let config = write_config(dir.path(), &format!("[{left_out}]\n"));

    let out = hearth(&["--config", config.to_str().unwrap()]);

    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("built without this platform"), "{stderr}");
    assert!(stderr.contains("cargo install"), "{stderr}");
}

#[test]
fn json_logs_are_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hearth.toml");
    std::fs::write(
        &config,
        format!(
            "log_format = \"json\"\n\n[storage]\npath = {:?}\n\n[console]\n",
            dir.path().join("hearth.db").display().to_string()
        ),
    )
    .unwrap();

    // Standard input is empty: the console ends at once, and Hearth with it.
    let out = hearth(&["--config", config.to_str().unwrap()]);

    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stderr)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(!lines.is_empty());
    assert!(
        lines.iter().all(|l| l["level"].is_string() && l["fields"].is_object()),
        "{lines:?}"
    );
}
