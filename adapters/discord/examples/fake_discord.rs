//! The test rig's fake Discord as a process of its own, for soaks that run
//! the real `hearth` binary against it (scripts/soak/postgres_three.py):
//! several Hearth processes, each on some of the shards, share one fake, as
//! they would share one Discord.
//!
//!     cargo run -p hearth-discord --example fake_discord -- --url-file PATH
//!
//! It enforces Discord's global and per-route rate limits (see the rig's
//! `Limits`), records every message created with the wall-clock time it was
//! received, and writes two URLs, one a line, to PATH once listening: the
//! fake Discord's base (for `[discord] api_base_url`) and its report
//! (`GET` it: JSON with every created message, its channel, text and
//! receive time in Unix milliseconds, the 429s answered, global and per
//! route, and each of them (when, what, its nonce), the message posts a nonce de-duplicated, and the requests by
//! route). It runs until killed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test rig run by hand: failing loudly is the point"
)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Value, json};
use support::FakeDiscord;

/// The text a member reads in a message: its content, its embeds' strings,
/// its buttons' labels.
fn readable(message: &Value) -> String {
    fn strings(v: &Value, skip: &[&str], out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(items) => items.iter().for_each(|i| strings(i, skip, out)),
            Value::Object(map) => map
                .iter()
                .filter(|(k, _)| !skip.contains(&k.as_str()))
                .for_each(|(_, v)| strings(v, skip, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    strings(&message["content"], &[], &mut out);
    strings(&message["embeds"], &["url", "proxy_url", "icon_url"], &mut out);
    strings(&message["components"], &["custom_id", "url", "id"], &mut out);
    out.join("\n")
}

async fn report(State(fake): State<FakeDiscord>) -> axum::Json<Value> {
    let messages: Vec<Value> = fake
        .created_with_times()
        .into_iter()
        .map(|(channel, message, at)| {
            let ms = at.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
            json!({ "channel": channel, "text": readable(&message), "at_ms": ms })
        })
        .collect();
    let mut routes: BTreeMap<String, u64> = BTreeMap::new();
    for r in fake.requests() {
        let shape: Vec<&str> = r
            .path
            .trim_matches('/')
            .split('/')
            .map(|s| {
                if s.chars().all(|c| c.is_ascii_digit()) {
                    "{id}"
                } else {
                    s
                }
            })
            .collect();
        *routes.entry(format!("{} /{}", r.method, shape.join("/"))).or_default() += 1;
    }
    let (global_429, route_429) = fake.rate_limited();
    let throttled: Vec<Value> = fake
        .throttled()
        .into_iter()
        .map(|t| {
            let ms = t.at.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
            json!({ "at_ms": ms, "method": t.method, "path": t.path, "nonce": t.nonce, "global": t.global })
        })
        .collect();
    axum::Json(json!({
        "messages": messages,
        "global_429": global_429,
        "route_429": route_429,
        "throttled": throttled,
        "nonce_repeats": fake.nonce_repeats(),
        "requests_by_route": routes,
        "shards_connected": fake.shards_connected(),
    }))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut url_file = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--url-file" => url_file = args.next(),
            other => anyhow::bail!("unknown argument {other:?}; usage: fake_discord --url-file PATH"),
        }
    }
    let url_file = url_file.ok_or_else(|| anyhow::anyhow!("usage: fake_discord --url-file PATH"))?;
    let fake = FakeDiscord::start().await;
    fake.enforce_rate_limits();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let control = format!("http://{}/report", listener.local_addr()?);
    let app = Router::new().route("/report", get(report)).with_state(fake.clone());
    // Written whole, then renamed, so a reader never sees half of it.
    let partial = format!("{url_file}.partial");
    std::fs::write(&partial, format!("{}\n{control}\n", fake.base_url))?;
    std::fs::rename(&partial, &url_file)?;
    eprintln!("fake Discord at {}, report at {control}", fake.base_url);
    axum::serve(listener, app).await?;
    Ok(())
}
