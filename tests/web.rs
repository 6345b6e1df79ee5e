//! `[web]` end to end (issue 29): the real `hearth` binary with the console
//! and the web server on a free 127.0.0.1 port, driven by typing commands
//! into its console and reading its pages over HTTP. The calendars are read
//! back by an independent RFC 5545 implementation (Python's icalendar with
//! recurring-ical-events, `scripts/ics/expand.py`, installed by
//! `bash scripts/ics/setup`).

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test harness should fail loudly"
)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Duration as Days, NaiveDate, TimeZone, Utc};
use chrono_tz::America::New_York;
use serde_json::{Value, json};

/// Names of people, none of which may appear on a page or in a feed.
const ADMIN: &str = "haroldfinch";
const MEMBER: &str = "zeldaquill";
const FACILITATOR: &str = "ottoparr";

/// A running `hearth --config` with its console on a pipe.
struct Hearth {
    child: Child,
    stdin: ChildStdin,
    out: Arc<Mutex<String>>,
    base: String,
}

impl Hearth {
    fn start(dir: &Path, burst: u32) -> Self {
        Self::start_with(dir, burst, "")
    }

    /// [`Hearth::start`] with more lines for `[web]`.
    fn start_with(dir: &Path, burst: u32, web: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let config = format!(
            "[storage]\npath = \"t.db\"\n[console]\nspeaker = \"{ADMIN}\"\n\
             [web]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"{base}\"\nburst = {burst}\nper_minute = 60\n{web}"
        );
        std::fs::write(dir.join("hearth.toml"), config).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
            .args(["--config", "hearth.toml"])
            .current_dir(dir)
            .env_remove("HEARTH_CONFIG")
            .env("RUST_LOG", "info")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(std::fs::File::create(dir.join("stderr.log")).unwrap()))
            .spawn()
            .expect("the hearth binary starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let out = Arc::new(Mutex::new(String::new()));
        let filling = out.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                let mut out = filling.lock().unwrap();
                out.push_str(&line);
                out.push('\n');
            }
        });
        Self {
            child,
            stdin,
            out,
            base,
        }
    }

    /// Types `line` into the console and waits for its answer to contain `expect`.
    fn say(&mut self, line: &str, expect: &str) -> String {
        let before = self.out.lock().unwrap().len();
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let answer = self.out.lock().unwrap()[before..].to_string();
            if answer.contains(expect) {
                return answer;
            }
            assert!(
                Instant::now() < deadline,
                "{line:?}: no {expect:?} in the answer:\n{answer}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Hearth {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// Waits until the server answers.
async fn ready(http: &reqwest::Client, hearth: &Hearth) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while http.get(hearth.url("/")).send().await.is_err() {
        assert!(Instant::now() < deadline, "the web server never answered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

struct Got {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

async fn get(http: &reqwest::Client, url: &str) -> Got {
    get_with(http, url, &[]).await
}

async fn get_with(http: &reqwest::Client, url: &str, headers: &[(&str, &str)]) -> Got {
    let mut request = http.get(url);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.send().await.unwrap();
    Got {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    }
}

fn header<'a>(got: &'a Got, name: &str) -> &'a str {
    got.headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

/// The headers every answer carries, a refusal included.
fn assert_safe_headers(got: &Got) {
    assert_eq!(header(got, "referrer-policy"), "no-referrer");
    assert_eq!(header(got, "x-content-type-options"), "nosniff");
    let csp = header(got, "content-security-policy");
    assert!(csp.contains("default-src 'self'"), "{csp}");
}

/// No page or feed names a person.
fn assert_no_names(what: &str, body: &str) {
    for name in [ADMIN, MEMBER, FACILITATOR] {
        assert!(!body.contains(name), "{what} names {name}:\n{body}");
    }
}

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("HEARTH_ICS_PYTHON") {
        return p.into();
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ics-venv/bin/python");
    assert!(
        venv.exists(),
        "no RFC 5545 expander: run `bash scripts/ics/setup` (it installs icalendar and \
         recurring-ical-events from PyPI into .ics-venv/), or set HEARTH_ICS_PYTHON"
    );
    venv
}

/// Every occurrence's start in [from, to), by UID, as the independent
/// expander reads the calendar.
fn expand(ics: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/ics/expand.py");
    let mut child = Command::new(python())
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the expander starts");
    let request = json!({"ics": ics, "from": from.timestamp(), "to": to.timestamp(), "feed": []});
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice::<Value>(&out.stdout).unwrap()["ics"].clone()
}

fn at_new_york(day: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    New_York
        .from_local_datetime(&day.and_hms_opt(hour, minute, 0).unwrap())
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}

/// Hearth's own occurrences of the weekly Grief circle from `first`, as
/// the commands made them: week 1 cancelled, week 2 moved a day later to
/// 18:15, and the weeks in `cancelled_too` cancelled as well.
fn own_occurrences(first: NaiveDate, cancelled_too: &[i64], from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<i64> {
    let mut own = Vec::new();
    for week in 0..20 {
        let day = first + Days::days(7 * week);
        let start = match week {
            1 => continue,
            2 => at_new_york(day + Days::days(1), 18, 15),
            w if cancelled_too.contains(&w) => continue,
            _ => at_new_york(day, 19, 0),
        };
        if start >= from && start < to {
            own.push(start.timestamp());
        }
    }
    own.sort_unstable();
    own
}

#[tokio::test(flavor = "multi_thread")]
async fn published_pages_and_feeds_say_what_hearth_does_and_nothing_more() {
    let dir = tempfile::tempdir().unwrap();
    let mut hearth = Hearth::start(dir.path(), 40);
    let http = client();
    ready(&http, &hearth).await;
    let today = Utc::now().with_timezone(&New_York).date_naive();
    let first = today + Days::days(2);
    let (cancelled, moved) = (first + Days::days(7), first + Days::days(14));

    // Arrange: an open group and a closed one (registration), each meeting
    // weekly; one occurrence cancelled, one moved; a member who joins.
    hearth.say(
        r#"/group create name:"Grief circle" topic:grief led_by:peer format:online location:https://meet.example/grief description:"For anyone who has lost someone.""#,
        "Created",
    );
    hearth.say(
        r#"/group create name:"Caregivers" topic:caregiving led_by:professional format:online location:https://meet.example/secret-pass registration:"Write to the hall""#,
        "Created",
    );
    hearth.say(
        &format!("/group facilitator group:#2 user:{FACILITATOR} action:add"),
        "facilitates",
    );
    hearth.say(
        &format!(r#"/meeting schedule group:#1 when:"{first} 19:00" repeat:weekly timezone:America/New_York"#),
        "Scheduled",
    );
    hearth.say(
        &format!(
            r#"/meeting schedule group:#2 when:"{} 10:00" repeat:weekly timezone:Europe/Berlin"#,
            first + Days::days(1)
        ),
        "Scheduled",
    );
    hearth.say(&format!("/meeting cancel meeting:1 occurrence:{cancelled}"), "ancel");
    hearth.say(
        &format!(
            r#"/meeting move meeting:1 occurrence:{moved} when:"{} 18:15" confirm:yes"#,
            moved + Days::days(1)
        ),
        "18:15",
    );
    hearth.say(&format!("/as {MEMBER}"), "now speaking");
    hearth.say("/group join group:#1", "joined");
    let said = hearth.say("/meeting calendar subscribe", ".ics");
    let private = said
        .split_whitespace()
        .find(|w| w.starts_with(&hearth.base) && w.ends_with(".ics"))
        .unwrap_or_else(|| panic!("no link in {said}"))
        .to_string();
    assert!(said.contains("private: only"), "the link is said privately: {said}");
    let community_urls = [
        "/c/grief-support/",
        "/c/grief-support/meeting-guide.json",
        "/c/grief-support/g/grief-circle.ics",
        "/c/grief-support/g/caregivers.ics",
    ];

    // Not opted in: every URL of the community is the 404 of a slug no one has.
    let unknown = get(&http, &hearth.url("/c/no-such-community/meeting-guide.json")).await;
    assert_eq!(unknown.status, 404);
    assert_safe_headers(&unknown);
    for path in community_urls {
        let got = get(&http, &hearth.url(path)).await;
        assert_eq!((got.status, got.body.as_str()), (404, unknown.body.as_str()), "{path}");
    }
    // Slugs no community could have are the same 404, never a lookup.
    let long = format!("/c/{}/", "a".repeat(5000));
    for path in [
        "/c/%00/",
        "/c/GRIEF-SUPPORT/",
        "/c/gr%C3%A9ef/g/x.ics",
        "/c/../my/x.ics",
        long.as_str(),
    ] {
        let got = get(&http, &hearth.url(path)).await;
        assert_eq!((got.status, got.body.as_str()), (404, unknown.body.as_str()), "{path}");
    }

    // Act: an admin publishes.
    hearth.say(&format!("/as {ADMIN}"), "now speaking");
    let published = hearth.say("/community publish on slug:grief-support", "Published");
    assert!(published.contains(&hearth.url("/c/grief-support/")), "{published}");

    // The Meeting Guide feed, for tsml-ui on another site.
    let guide = get(&http, &hearth.url("/c/grief-support/meeting-guide.json")).await;
    assert_eq!(guide.status, 200, "{}", guide.body);
    assert_eq!(header(&guide, "access-control-allow-origin"), "*");
    assert!(header(&guide, "content-type").starts_with("application/json"));
    assert_safe_headers(&guide);
    assert_no_names("the Meeting Guide feed", &guide.body);
    assert!(
        !guide.body.contains("secret-pass"),
        "a closed group's link: {}",
        guide.body
    );
    let entries: Vec<Value> = serde_json::from_str(&guide.body).unwrap();
    assert_eq!(entries.len(), 2, "{entries:?}");
    for e in &entries {
        for field in [
            "name", "slug", "day", "time", "end_time", "timezone", "types", "group", "updated",
        ] {
            assert!(!e[field].is_null(), "{field} missing in {e}");
        }
        assert!(e.as_object().unwrap().values().all(|v| !v.is_null()), "no nulls: {e}");
    }
    let by_name = |name: &str| entries.iter().find(|e| e["name"] == name).unwrap().clone();
    let grief = by_name("Grief circle");
    assert_eq!(grief["slug"], "grief-circle");
    assert_eq!(
        grief["day"],
        u64::from(chrono::Datelike::weekday(&first).num_days_from_sunday())
    );
    assert_eq!(grief["time"], "19:00");
    assert_eq!(grief["end_time"], "20:30");
    assert_eq!(grief["timezone"], "America/New_York");
    assert_eq!(grief["conference_url"], "https://meet.example/grief");
    assert_eq!(grief["types"], json!(["ONL", "O"]));
    assert_eq!(grief["notes"], "For anyone who has lost someone.");
    assert_eq!(grief["group"], "Grief circle");
    let carers = by_name("Caregivers");
    assert_eq!(carers["time"], "10:00");
    assert_eq!(carers["timezone"], "Europe/Berlin");
    assert!(carers.get("conference_url").is_none(), "{carers}");
    assert_eq!(carers["types"], json!(["ONL", "C"]));
    assert_eq!(carers["notes"], "Members get the link when they join.");

    // The finder page's place: the groups, no names, escaped.
    let page = get(&http, &hearth.url("/c/grief-support/")).await;
    assert_eq!(page.status, 200);
    assert!(header(&page, "content-type").starts_with("text/html"));
    assert!(
        page.body.contains("Grief circle") && page.body.contains("Caregivers"),
        "{}",
        page.body
    );
    assert_safe_headers(&page);
    assert_no_names("the finder page", &page.body);

    // The group's calendar: Hearth's own occurrences, the cancelled one
    // left out and the moved one moved, in its zone.
    let (from, to) = (Utc::now(), Utc::now() + Days::days(70));
    let feed = get(&http, &hearth.url("/c/grief-support/g/grief-circle.ics")).await;
    assert_eq!(feed.status, 200, "{}", feed.body);
    assert!(header(&feed, "content-type").starts_with("text/calendar"));
    assert_safe_headers(&feed);
    assert_no_names("the group's calendar", &feed.body);
    assert!(feed.body.contains("BEGIN:VTIMEZONE") && feed.body.contains("RECURRENCE-ID;TZID=America/New_York"));
    let expanded = expand(&feed.body, from, to);
    assert_eq!(
        expanded["meeting-1@hearth"],
        json!(own_occurrences(first, &[], from, to)),
        "{}",
        feed.body
    );
    let closed = get(&http, &hearth.url("/c/grief-support/g/caregivers.ics")).await;
    assert_eq!(closed.status, 200);
    assert!(
        !closed.body.contains("secret-pass"),
        "a closed group's link: {}",
        closed.body
    );
    assert!(closed.body.contains("SUMMARY:Caregivers"), "{}", closed.body);
    assert_eq!(
        header(&closed, "cache-control"),
        "public, max-age=300",
        "as unpublishing says"
    );

    // The member's own calendar: their group's meetings, no one else's.
    let mine = get(&http, &private).await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    assert!(header(&mine, "cache-control").contains("private"));
    assert_no_names("the private calendar", &mine.body);
    assert!(
        !mine.body.contains("Caregivers"),
        "not the member's group: {}",
        mine.body
    );
    assert_eq!(
        expand(&mine.body, from, to),
        json!({"meeting-1@hearth": own_occurrences(first, &[], from, to)}),
        "{}",
        mine.body
    );

    // Calendar apps poll cheaply: 304 for the copy they hold.
    let etag = header(&feed, "etag").to_string();
    let modified = header(&feed, "last-modified").to_string();
    let again = get_with(
        &http,
        &hearth.url("/c/grief-support/g/grief-circle.ics"),
        &[("if-none-match", &etag)],
    )
    .await;
    assert_eq!((again.status, again.body.as_str()), (304, ""));
    let since = get_with(
        &http,
        &hearth.url("/c/grief-support/g/grief-circle.ics"),
        &[("if-modified-since", &modified)],
    )
    .await;
    assert_eq!(since.status, 304);
    let guide_again = get_with(
        &http,
        &hearth.url("/c/grief-support/meeting-guide.json"),
        &[("if-none-match", header(&guide, "etag"))],
    )
    .await;
    assert_eq!(guide_again.status, 304);

    // A change to the meetings changes the feed, and its ETag.
    hearth.say(
        &format!("/meeting cancel meeting:1 occurrence:{}", first + Days::days(21)),
        "ancel",
    );
    let changed = get_with(
        &http,
        &hearth.url("/c/grief-support/g/grief-circle.ics"),
        &[("if-none-match", &etag)],
    )
    .await;
    assert_eq!(changed.status, 200, "the feed changed");
    assert_ne!(header(&changed, "etag"), etag);
    assert_eq!(
        expand(&changed.body, from, to)["meeting-1@hearth"],
        json!(own_occurrences(first, &[3], from, to))
    );

    // Read-only.
    let post = http
        .post(hearth.url("/c/grief-support/meeting-guide.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status().as_u16(), 405);

    // A revoked link is the 404 of a link that never was.
    hearth.say(&format!("/as {MEMBER}"), "now speaking");
    hearth.say("/meeting calendar revoke", "ended");
    let revoked = get(&http, &private).await;
    let never = get(&http, &hearth.url(&format!("/my/{}.ics", "0".repeat(64)))).await;
    assert_eq!((revoked.status, never.status), (404, 404));
    assert_eq!(revoked.body, never.body);

    // A new slug: the old address sends calendar apps and other sites on
    // (CORS included), and stays the community's.
    hearth.say(&format!("/as {ADMIN}"), "now speaking");
    hearth.say("/community publish on slug:grief-peers", "Published");
    let no_follow = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let moved = get(&no_follow, &hearth.url("/c/grief-support/meeting-guide.json")).await;
    assert_eq!(moved.status, 308);
    assert_eq!(header(&moved, "location"), "/c/grief-peers/meeting-guide.json");
    assert_eq!(header(&moved, "access-control-allow-origin"), "*");
    let followed = get(&http, &hearth.url("/c/grief-support/?time=evening")).await;
    assert_eq!(followed.status, 200, "{}", followed.body);
    let followed_calendar = get(&http, &hearth.url("/c/grief-support/g/caregivers.ics")).await;
    assert!(
        followed_calendar.body.contains("SUMMARY:Caregivers"),
        "{}",
        followed_calendar.body
    );

    // Unpublished again: every URL is gone, as if it never was, the old
    // slug's too.
    hearth.say("/community publish off", "Unpublished");
    for path in community_urls {
        let got = get(&http, &hearth.url(path)).await;
        assert_eq!((got.status, got.body.as_str()), (404, unknown.body.as_str()), "{path}");
    }

    // The log names routes and statuses, never a token.
    let token = private.rsplit('/').next().unwrap().trim_end_matches(".ics");
    let log = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap();
    assert!(log.contains("/my/{file}"), "{log}");
    assert!(!log.contains(token), "the log holds a token:\n{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_from_one_address_is_told_to_wait() {
    let dir = tempfile::tempdir().unwrap();
    let hearth = Hearth::start(dir.path(), 10);
    let http = client();
    ready(&http, &hearth).await;

    let mut statuses = Vec::new();
    for _ in 0..30 {
        statuses.push(get(&http, &hearth.url("/c/anything/")).await.status);
    }

    assert!(statuses[..5].iter().all(|s| *s == 404), "{statuses:?}");
    assert!(statuses.contains(&429), "no 429 in {statuses:?}");
    let refused = get(&http, &hearth.url("/c/anything/")).await;
    assert_eq!(refused.status, 429);
    assert!(refused.headers.contains_key("retry-after"));
    assert_safe_headers(&refused);
}

/// Behind a proxy, each visitor the proxy names has a limit of their own;
/// without `behind_proxy`, a visitor who writes the header gets nothing new.
#[tokio::test(flavor = "multi_thread")]
async fn behind_a_proxy_each_visitor_has_their_own_limit_and_without_it_the_header_is_ignored() {
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let proxied = Hearth::start_with(dirs[0].path(), 5, "behind_proxy = true\n");
    let direct = Hearth::start(dirs[1].path(), 5);
    let http = client();
    ready(&http, &proxied).await;
    ready(&http, &direct).await;
    let from = |who: &'static str| [("x-forwarded-for", who)];

    let mut one = Vec::new();
    let mut direct_statuses = Vec::new();
    for i in 0..12 {
        one.push(
            get_with(&http, &proxied.url("/c/anything/"), &from("203.0.113.7"))
                .await
                .status,
        );
        let forged = if i % 2 == 0 { "198.51.100.1" } else { "198.51.100.2" };
        direct_statuses.push(get_with(&http, &direct.url("/c/anything/"), &from(forged)).await.status);
    }
    let other = get_with(&http, &proxied.url("/c/anything/"), &from("203.0.113.8")).await;
    // The proxy appends its visitor: the address before it is the client's word.
    let claimed = get_with(&http, &proxied.url("/c/anything/"), &from("198.51.100.9, 203.0.113.7")).await;
    // One IPv6 visitor's /64 is one visitor.
    let mut v6 = Vec::new();
    for i in 0..12 {
        let address = format!("2001:db8:1:2::{i:x}");
        let request = http.get(proxied.url("/c/anything/")).header("x-forwarded-for", address);
        v6.push(request.send().await.unwrap().status().as_u16());
    }

    assert!(one.contains(&429), "{one:?}");
    assert_eq!(other.status, 404, "another visitor is not held back");
    assert_eq!(claimed.status, 429, "the last address is the proxy's word");
    assert!(
        direct_statuses.contains(&429),
        "a forged header gives no fresh limit: {direct_statuses:?}"
    );
    assert!(v6.contains(&429), "{v6:?}");
}
