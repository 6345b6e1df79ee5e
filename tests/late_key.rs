//! A command whose room key reaches the bot after the command itself, on
//! the real test Synapse: the bot keeps the undecryptable event and answers
//! it once the key arrives.
//!
//! The member is a real matrix-sdk client that talks to Synapse through an
//! HTTP proxy. The proxy holds the member's encrypted to-device messages
//! (which carry the room key) for a few seconds, telling the client they
//! were sent, and then delivers them to Synapse unchanged: the same real
//! key, only late, as when a sender's device is slow to share it.

#![recursion_limit = "256"]
#![expect(clippy::unwrap_used, reason = "a test harness should fail loudly")]

#[path = "../adapters/matrix/tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use common::{Bot, Member, bot_config, hearth, room_with_bot, synapse};

const DELAY: Duration = Duration::from_secs(6);

#[derive(Clone)]
struct Proxy {
    target: String,
    http: matrix_sdk::reqwest::Client,
    /// While set, encrypted to-device messages are held for `DELAY`.
    hold: Arc<AtomicBool>,
}

async fn forward(proxy: &Proxy, method: &str, path: &str, headers: &[(String, String)], body: Vec<u8>) -> Response {
    let mut request = proxy
        .http
        .request(method.parse().unwrap(), format!("{}{path}", proxy.target));
    for (name, value) in headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    let Ok(response) = request.body(body).send().await else {
        return Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .body(Body::empty())
            .unwrap();
    };
    let mut out = Response::builder().status(response.status().as_u16());
    for (name, value) in response.headers() {
        if name.as_str() != "content-length" && name.as_str() != "transfer-encoding" {
            out = out.header(
                HeaderName::from_bytes(name.as_str().as_bytes()).unwrap(),
                HeaderValue::from_bytes(value.as_bytes()).unwrap(),
            );
        }
    }
    let bytes = response.bytes().await.unwrap_or_default();
    out.body(Body::from(bytes)).unwrap()
}

async fn relay(State(proxy): State<Proxy>, request: Request) -> Response {
    let method = request.method().to_string();
    let path = request
        .uri()
        .path_and_query()
        .map(ToString::to_string)
        .unwrap_or_default();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_string(), v.to_str().unwrap_or_default().to_string()))
        .collect();
    let body = axum::body::to_bytes(request.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    if method == "PUT" && path.contains("/sendToDevice/m.room.encrypted/") && proxy.hold.load(Ordering::SeqCst) {
        let late = proxy.clone();
        tokio::spawn(async move {
            tokio::time::sleep(DELAY).await;
            forward(&late, &method, &path, &headers, body).await;
        });
        return Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .unwrap();
    }
    forward(&proxy, &method, &path, &headers, body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_is_answered_when_its_room_key_arrives_late() {
    let synapse = synapse().await;
    let dir = tempfile::tempdir().unwrap();
    let bot = Bot::start(hearth().await, bot_config(&synapse, dir.path()).await).await;

    let proxy = Proxy {
        target: synapse.url.clone(),
        http: matrix_sdk::reqwest::Client::new(),
        hold: Arc::new(AtomicBool::new(false)),
    };
    let hold = proxy.hold.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = Router::new().fallback(relay).with_state(proxy);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut through_proxy = synapse.clone();
    through_proxy.url = format!("http://127.0.0.1:{port}");

    // Arrange: alice, behind the proxy, in an encrypted room with the bot.
    let alice = Member::new(&through_proxy, "alice").await;
    let room = room_with_bot(&alice, &bot.user_id, true, &[]).await;

    // Act: her first message starts a room key, whose sharing is held back.
    hold.store(true, Ordering::SeqCst);
    let asked = alice.say(&room, "!group list").await;
    hold.store(false, Ordering::SeqCst);

    // Assert: the answer comes, and only after the key could have arrived.
    let bot_id = bot.user_id.to_string();
    let answer = alice
        .wait_for("the answer once the key arrived", |s| {
            s.sender() == bot_id && s.in_reply_to() == Some(asked.as_str())
        })
        .await;
    let command = alice.wait_for("the command", |s| s.event_id() == asked).await;
    let waited = answer.ts() - command.ts();
    assert!(
        waited >= i64::try_from(DELAY.as_millis()).unwrap() - 1000,
        "answered {waited} ms after the command: the key was not held back"
    );
    assert!(answer.encrypted);
    bot.stop().await;
}
