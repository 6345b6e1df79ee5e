//! The `hearth` binary as a child process of a test, ended however the test ends.

#![allow(clippy::unwrap_used, reason = "test rig: a failure should panic loudly")]

use std::path::Path;
use std::process::{Child, Command, Stdio};

pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `hearth` binary on the config file `config`, deaf to the test's own
/// `HEARTH_CONFIG`, with nothing on stdin or stdout: the caller adds what else
/// it needs (a log level, where stderr goes) and spawns it.
// Not every test crate that shares this module starts the binary on a config.
#[allow(dead_code)]
pub fn hearth_on(config: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hearth"));
    command
        .arg("--config")
        .arg(config)
        .env_remove("HEARTH_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    command
}

/// `dir`/hearth.toml: storage in `dir`/hearth.db, then `sections`.
#[allow(dead_code)]
pub fn write_config(dir: &Path, sections: &str) -> std::path::PathBuf {
    let config = dir.join("hearth.toml");
    std::fs::write(
        &config,
        format!(
            "[storage]\npath = {db:?}\n\n{sections}",
            db = dir.join("hearth.db").display().to_string()
        ),
    )
    .unwrap();
    config
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
#[allow(dead_code)]
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The text of `GET /metrics` on `addr`, or "" while nothing answers.
// Not every test crate that shares this module reads metrics.
#[allow(dead_code)]
pub fn scrape(addr: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return String::new();
    };
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
    let _ = write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    );
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
}

/// The text rows one query reads, as a set, to compare two stores' rows
/// whatever order each gives them in.
#[allow(dead_code)]
pub async fn rows(store: &bot_core::Store, sql: &'static str) -> std::collections::BTreeSet<String> {
    bot_core::store::query_scalar::<String>(sql)
        .fetch_all(store)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .collect()
}
