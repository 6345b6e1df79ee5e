//! The finder page in a real browser (issue 29): the real `hearth` binary
//! with its console and `[web]` on a free 127.0.0.1 port, a community of
//! five groups published by typing into the console, and Debian's chromium,
//! headless, driven by `tests/browser/finder.mjs` (playwright-core, with
//! axe-core for accessibility). `bash scripts/browser/setup` installs
//! chromium and the pinned npm packages; without them this test fails and
//! says so.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test harness should fail loudly"
)]

mod running;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, Offset, Timelike, Utc, Weekday};
use chrono_tz::{America::New_York, Asia::Tokyo};
use serde_json::Value;

use running::{Running, free_port, hearth_on, write_config};

/// Names of people, none of which may appear on the page.
const ADMIN: &str = "haroldfinch";

/// The binary on `[console]` and `[web]`, its console on a pipe.
struct Hearth {
    _running: Running,
    stdin: ChildStdin,
    out: Arc<Mutex<String>>,
    addr: String,
}

impl Hearth {
    fn start(dir: &Path) -> Self {
        let addr = format!("127.0.0.1:{}", free_port());
        let config = write_config(
            dir,
            &format!(
                "[console]\nspeaker = \"{ADMIN}\"\n\n[web]\nlisten = \"{addr}\"\npublic_url = \"http://{addr}\"\n\
                 burst = 200\nper_minute = 600\n"
            ),
        );
        let mut child = hearth_on(&config)
            .current_dir(dir)
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
            _running: Running(child),
            stdin,
            out,
            addr,
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
            assert!(Instant::now() < deadline, "{line:?}: no {expect:?} in:\n{answer}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `GET path`: the head (status line and headers, lower-cased) and body.
    fn get(&self, path: &str) -> (String, String) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut stream = loop {
            match std::net::TcpStream::connect(&self.addr) {
                Ok(s) => break s,
                Err(e) => assert!(Instant::now() < deadline, "the web server never answered: {e}"),
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        (head.to_lowercase(), body.to_string())
    }
}

/// Chromium and the npm packages, or a failure that says how to get them.
fn browser_installed() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let chromium = std::env::var("HEARTH_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists() && root.join("tests/browser/node_modules/playwright-core").exists(),
        "no {chromium} or no tests/browser/node_modules: run `bash scripts/browser/setup` (as root, it \
         installs Debian's chromium; then `npm ci` in tests/browser)"
    );
    root
}

fn groups(seen: &Value) -> Vec<&str> {
    seen["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect()
}

/// axe-core's serious and critical violations.
fn serious(seen: &Value) -> Vec<&Value> {
    seen["axe"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .collect()
}

#[test]
fn the_finder_page_in_chromium_shows_tokyo_times_filters_evenings_and_passes_axe() {
    let root = browser_installed();
    let dir = tempfile::tempdir().unwrap();
    let mut hearth = Hearth::start(dir.path());
    // Five groups meeting weekly in their own zones. As a reader in Tokyo
    // (no clock change there) sees them, in any season: New York's Tuesday
    // 19:00 is Wednesday 09:00 (08:00 in New York's summer), Tokyo's Thursday
    // 19:30 is evening, Berlin's Monday 11:00 is 19:00 (18:00 in summer),
    // London's Saturday 10:00 is 19:00 (18:00), Tokyo's Saturday 10:00 is morning.
    let five = [
        (
            "New York Tuesday",
            "grief",
            "tue 19:00",
            "America/New_York",
            "format:online",
        ),
        ("Tokyo evening", "grief", "thu 19:30", "Asia/Tokyo", "format:online"),
        (
            "Berlin lunch",
            "caregiving",
            "mon 11:00",
            "Europe/Berlin",
            "format:hybrid",
        ),
        (
            "London Saturday",
            "recovery",
            "sat 10:00",
            "Europe/London",
            "format:in_person location:\"Hall, 1 High St\"",
        ),
        (
            "Tokyo morning",
            "recovery",
            "sat 10:00",
            "Asia/Tokyo",
            "format:online location:https://meet.example/closed registration:\"Write to us\"",
        ),
    ];
    for (name, topic, when, zone, more) in five {
        hearth.say(
            &format!("/group create name:\"{name}\" topic:{topic} led_by:peer {more}"),
            "Created",
        );
        hearth.say(
            &format!("/meeting schedule group:\"{name}\" when:\"{when}\" repeat:weekly timezone:{zone}"),
            "Next",
        );
    }
    hearth.say("/community publish on slug:circles", "Published");

    // Without scripts: the page, its CSP, and its own two files.
    let (head, page) = hearth.get("/c/circles/");
    let (css_head, css) = hearth.get("/static/finder.css");
    let (js_head, js) = hearth.get("/static/finder.js");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("content-security-policy: default-src 'self'"), "{head}");
    assert_eq!(page.matches("<h3 id=\"g-").count(), 5, "{page}");
    assert!(page.contains("<time datetime=\""), "{page}");
    assert!(!page.contains(ADMIN) && !page.contains("meet.example"), "{page}");
    assert!(
        css_head.contains("content-type: text/css") && css.contains(":root"),
        "{css_head}"
    );
    assert!(js_head.contains("content-type: text/javascript") && js.contains("Intl.DateTimeFormat"));

    // In chromium, as a reader in Tokyo.
    // Kept as the test's artifacts, under the target directory.
    let shots = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), PathBuf::from)
        .join("browser-artifacts");
    std::fs::create_dir_all(&shots).unwrap();
    let url = format!("http://{}/c/circles/", hearth.addr);
    let run = Command::new("node")
        .arg(root.join("tests/browser/finder.mjs"))
        .arg(&url)
        .arg(&shots)
        .current_dir(&root)
        .output()
        .expect("node runs (install Node.js 20 or later)");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "finder.mjs failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let seen: Value = serde_json::from_str(&stdout).unwrap();
    println!("screenshots: {}", seen["screenshots"]);

    let first = &seen["first"];
    assert_eq!(first["zoneField"], "Asia/Tokyo", "the script takes the browser's zone");
    assert_eq!(first["zoneShown"], "Asia/Tokyo");
    assert_eq!(first["lang"], "en");
    assert_eq!(groups(first).len(), 5, "{first}");
    let new_york = first["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "New York Tuesday")
        .unwrap();
    let next = &new_york["times"][0];
    let at: DateTime<Utc> = next["datetime"].as_str().unwrap().parse().unwrap();
    let there = at.with_timezone(&New_York);
    let here = at.with_timezone(&Tokyo);
    assert_eq!((there.weekday(), there.hour(), there.minute()), (Weekday::Tue, 19, 0));
    // New York on standard time (UTC-5): 09:00 in Tokyo; on daylight time, 08:00.
    let standard = there.offset().fix().local_minus_utc() == -5 * 3600;
    assert_eq!(
        (here.weekday(), here.hour(), here.minute()),
        (Weekday::Wed, if standard { 9 } else { 8 }, 0)
    );
    assert_eq!(next["text"], here.format("%a %-d %b, %H:%M").to_string(), "{new_york}");
    assert!(next["text"].as_str().unwrap().starts_with("Wed "));

    let evening = &seen["evening"];
    assert!(evening["url"].as_str().unwrap().contains("time=evening"), "{evening}");
    assert!(
        evening["url"].as_str().unwrap().contains("zone=Asia%2FTokyo"),
        "{evening}"
    );
    let mut found = groups(evening);
    found.sort();
    assert_eq!(found, ["Berlin lunch", "London Saturday", "Tokyo evening"], "{evening}");

    assert!(serious(first).is_empty(), "axe: {}", first["axe"]);
    assert!(serious(evening).is_empty(), "axe: {}", evening["axe"]);
    assert_eq!(seen["errors"], serde_json::json!([]), "script errors on the page");
    // Nothing but the page's own origin was asked for.
    let origin = format!("http://{}/", hearth.addr);
    for request in seen["requests"].as_array().unwrap() {
        assert!(request.as_str().unwrap().starts_with(&origin), "{request}");
    }
    for shot in seen["screenshots"].as_array().unwrap() {
        assert!(Path::new(shot.as_str().unwrap()).exists(), "{shot}");
    }
}
