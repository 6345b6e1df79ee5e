//! `[web]`: Hearth's public pages and feeds, served from the same process
//! and store as the chat adapters (issue 29). Read-only, and nothing at all
//! for a community that has not opted in with `/community publish on`.
//! What a page may hold is `bot_core::publish`'s; this is the HTTP: the
//! router, limits, headers, and answers calendar apps can poll cheaply.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use axum::Router;
use axum::extract::{ConnectInfo, MatchedPath, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use bot_core::Hearth;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::KeyExtractor;
use tower_governor::{GovernorError, GovernorLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

/// `[web]` in the config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    /// Where to serve, e.g. "127.0.0.1:8080", behind a TLS reverse proxy.
    pub listen: SocketAddr,
    /// The address people reach it at, e.g. "https://groups.example.org",
    /// for the links Hearth gives (private calendar links need it).
    #[serde(default, deserialize_with = "web_url")]
    pub public_url: Option<String>,
    /// Requests one client address may make at once before it must wait.
    #[serde(default = "burst")]
    pub burst: u32,
    /// Requests one client address may make each minute, sustained.
    #[serde(default = "per_minute")]
    pub per_minute: u32,
    /// Hearth runs behind a reverse proxy that appends the visitor's address
    /// to `X-Forwarded-For`: the limits per address then count that address
    /// (the header's last one, the proxy's own word), not the proxy's. Only
    /// with such a proxy: anyone else may write the header as they like.
    #[serde(default)]
    pub behind_proxy: bool,
}

fn burst() -> u32 {
    30
}

fn per_minute() -> u32 {
    60
}

fn web_url<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let raw = String::deserialize(d)?;
    let url = raw.trim().trim_end_matches('/').to_string();
    let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
    if !scheme_ok || url.contains(char::is_whitespace) || url.len() <= "https://".len() {
        return Err(serde::de::Error::custom(format!(
            "public_url = {raw:?}: give the address people open, e.g. \"https://groups.example.org\""
        )));
    }
    Ok(Some(url))
}

/// The longest request body taken: none is needed, every route is a GET.
const BODY_LIMIT: usize = 1024;
/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How many distinct answers' first-seen times are remembered (see [`Seen`]).
const SEEN_MAX: usize = 10_000;

/// The server's state: the core, and when each answer was first given.
#[derive(Clone)]
struct Web {
    hearth: Hearth,
    seen: Arc<Seen>,
}

/// When this process first gave each answer (by its ETag): its
/// Last-Modified. An answer's text is the truth of whether it changed; a
/// time taken from the data could go back when a series is deleted, and a
/// calendar app would then keep a stale copy.
#[derive(Default)]
struct Seen(Mutex<HashMap<String, SystemTime>>);

impl Seen {
    fn first_seen(&self, etag: &str) -> SystemTime {
        let now = SystemTime::now();
        let Ok(mut seen) = self.0.lock() else { return now };
        if seen.len() >= SEEN_MAX && !seen.contains_key(etag) {
            seen.clear();
        }
        *seen.entry(etag.to_string()).or_insert(now)
    }
}

/// Binds `[web] listen` now (so a taken port stops start-up with the
/// error) and returns the server, which runs until `stopped` resolves.
pub fn serve(
    config: &WebConfig,
    hearth: Hearth,
    stopped: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<impl std::future::Future<Output = anyhow::Result<()>> + Send + 'static> {
    let listener = std::net::TcpListener::bind(config.listen)
        .with_context(|| format!("serving the web pages on {} ([web] listen)", config.listen))?;
    listener.set_nonblocking(true).context("setting up the web listener")?;
    let listener = tokio::net::TcpListener::from_std(listener).context("setting up the web listener")?;
    let app = router(config, hearth)?;
    tracing::info!(listen = %config.listen, "web: serving published communities");
    Ok(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(stopped)
            .await
            .context("the web server stopped")
    })
}

/// Every route, with the limits and headers around them.
fn router(config: &WebConfig, hearth: Hearth) -> anyhow::Result<Router> {
    let web = Web {
        hearth,
        seen: Arc::default(),
    };
    let per_address = GovernorConfigBuilder::default()
        .period(Duration::from_secs(60) / config.per_minute.max(1))
        .burst_size(config.burst.max(1))
        .key_extractor(Visitor {
            behind_proxy: config.behind_proxy,
        })
        .finish()
        .context("[web] burst and per_minute must be at least 1")?;
    let limiter = per_address.limiter().clone();
    // Forget addresses that have not come back, so the table stays small.
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        loop {
            every.tick().await;
            limiter.retain_recent();
        }
    });
    let routes = Router::new()
        .route("/c/{community}/", get(finder))
        .route("/static/{file}", get(finder_file))
        .route("/c/{community}/meeting-guide.json", get(meeting_guide))
        .route("/c/{community}/g/{file}", get(group_calendar))
        .route("/my/{file}", get(my_calendar))
        .fallback(not_found)
        .with_state(web);
    // The last layer added is the outermost: each answer, a refusal
    // included, is logged and carries the headers.
    Ok(routes
        // The pages share the store with the chat: however many visitors
        // come, they never take more than a few of its connections, and a
        // request that waits its turn past the timeout gets 503.
        .layer(GlobalConcurrencyLimitLayer::new(AT_ONCE))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(GovernorLayer::new(per_address))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(middleware::from_fn(log_request)))
}

/// Requests answered at once, all visitors together.
const AT_ONCE: usize = 2;

/// Who a request's limits count: the visitor's address, an IPv6 one by its
/// /64 (what one home or one server is given, so a visitor cannot take a
/// fresh limit with each of its addresses).
#[derive(Clone, Copy)]
struct Visitor {
    behind_proxy: bool,
}

impl KeyExtractor for Visitor {
    type Key = IpAddr;

    fn extract<T>(&self, request: &axum::http::Request<T>) -> Result<IpAddr, GovernorError> {
        let forwarded = || {
            let header = request.headers().get_all("x-forwarded-for").iter().next_back()?;
            header.to_str().ok()?.rsplit(',').next()?.trim().parse::<IpAddr>().ok()
        };
        let peer = || {
            request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0.ip())
        };
        let address = if self.behind_proxy { forwarded() } else { None }.or_else(peer);
        address.map(visitor_block).ok_or(GovernorError::UnableToExtractKey)
    }
}

/// An address as the limits count it: IPv4 as it is, IPv6 by its /64.
fn visitor_block(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

/// Logs each request by its route's pattern (`/my/{file}`, never the
/// token in it) and its status.
async fn log_request(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = request.method().clone();
    let response = next.run(request).await;
    tracing::info!(%method, route, status = response.status().as_u16(), "web request");
    response
}

/// One 404 for everything that is not there: an unknown slug, a community
/// that has not opted in, a revoked link. None can be told from another.
async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Not found.\n",
    )
        .into_response()
}

/// A failure inside: logged with its context, answered without it.
fn internal(e: &bot_core::Error) -> Response {
    tracing::warn!(error = %e, "web: answering failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong; try again later.\n",
    )
        .into_response()
}

impl Web {
    /// The published community a URL's slug names. A slug the community
    /// had before answers with a permanent redirect to the same address
    /// under its slug now (`uri`: the request's), so calendar apps and sites
    /// that embed its feed follow it.
    async fn community(&self, slug: &str, uri: &Uri) -> Result<Option<i64>, Response> {
        // A slug no community could have is not looked up: the same 404,
        // and nothing hostile reaches the database.
        if bot_core::publish::parse_slug(slug).ok().as_deref() != Some(slug) {
            return Ok(None);
        }
        let store = self.hearth.store();
        if let Some(id) = bot_core::publish::published(store, slug)
            .await
            .map_err(|e| internal(&e))?
        {
            return Ok(Some(id));
        }
        match bot_core::publish::moved(store, slug).await.map_err(|e| internal(&e))? {
            Some(now) => {
                let rest = uri.path().strip_prefix(&format!("/c/{slug}/")).unwrap_or_default();
                let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
                let mut moved = Redirect::permanent(&format!("/c/{now}/{rest}{query}")).into_response();
                // tsml-ui on another site follows it only if CORS allows.
                moved
                    .headers_mut()
                    .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
                Err(moved)
            }
            None => Ok(None),
        }
    }
}

/// Who may keep a copy of an answer.
#[derive(Clone, Copy)]
enum Audience {
    /// Anyone, for five minutes before asking again.
    Public,
    /// The one who holds the link: no shared cache keeps it.
    Private,
}

/// An answer with its ETag and Last-Modified, or 304 when the client's
/// copy is current (If-None-Match first, else If-Modified-Since, RFC 9110).
fn current(web: &Web, asked: &HeaderMap, content_type: &'static str, body: String, audience: Audience) -> Response {
    let digest = Sha256::digest(body.as_bytes());
    let etag = format!("\"{:x}\"", digest);
    let modified = web.seen.first_seen(&etag);
    let cache = match audience {
        Audience::Public => format!("public, max-age={}", bot_core::publish::PUBLIC_CACHE_SECS),
        Audience::Private => "private, no-cache".to_string(),
    };
    let mut headers = HeaderMap::new();
    let mut put = |name: HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    put(header::ETAG, &etag);
    put(header::LAST_MODIFIED, &httpdate::fmt_http_date(modified));
    put(header::CACHE_CONTROL, &cache);
    let fresh = match asked.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
        Some(tags) => tags
            .split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == etag || t == "*"),
        None => asked
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .is_some_and(|since| truncated(modified) <= since),
    };
    if fresh {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    (StatusCode::OK, headers, body).into_response()
}

/// An instant to the whole second, as HTTP dates carry it.
fn truncated(t: SystemTime) -> SystemTime {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs();
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

/// `GET /c/{community}/meeting-guide.json`: the Meeting Guide feed, for
/// tsml-ui and meeting finder apps on other sites (hence CORS `*`: it is
/// public, and read without credentials).
async fn meeting_guide(State(web): State<Web>, Path(slug): Path<String>, uri: Uri, asked: HeaderMap) -> Response {
    let community = match web.community(&slug, &uri).await {
        Ok(Some(id)) => id,
        Ok(None) => return not_found().await,
        Err(refused) => return refused,
    };
    let store = web.hearth.store();
    let json = match bot_core::meeting_guide::file(store, community, web.hearth.now(), true).await {
        Ok((json, _, _)) => json,
        Err(e) => return internal(&e),
    };
    let mut response = current(&web, &asked, "application/json", json, Audience::Public);
    response
        .headers_mut()
        .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

/// `GET /c/{community}/g/{group}.ics`: a published group's calendar.
async fn group_calendar(
    State(web): State<Web>,
    Path((slug, file)): Path<(String, String)>,
    uri: Uri,
    asked: HeaderMap,
) -> Response {
    let Some(group) = file.strip_suffix(".ics") else {
        return not_found().await;
    };
    let community = match web.community(&slug, &uri).await {
        Ok(Some(id)) => id,
        Ok(None) => return not_found().await,
        Err(refused) => return refused,
    };
    match bot_core::publish::group_calendar(web.hearth.store(), community, group, web.hearth.now()).await {
        Ok(Some(feed)) => current(
            &web,
            &asked,
            "text/calendar; charset=utf-8",
            feed.body,
            Audience::Public,
        ),
        Ok(None) => not_found().await,
        Err(e) => internal(&e),
    }
}

/// `GET /my/{token}.ics`: a member's own meetings, for the holder of the
/// link `/meeting calendar subscribe` gave.
async fn my_calendar(State(web): State<Web>, Path(file): Path<String>, asked: HeaderMap) -> Response {
    let Some(token) = file.strip_suffix(".ics") else {
        return not_found().await;
    };
    match bot_core::publish::member_calendar(web.hearth.store(), token, web.hearth.now()).await {
        Ok(Some(feed)) => current(
            &web,
            &asked,
            "text/calendar; charset=utf-8",
            feed.body,
            Audience::Private,
        ),
        Ok(None) => not_found().await,
        Err(e) => internal(&e),
    }
}

/// `GET /c/{community}/`: the community's meeting finder page
/// (`bot_core::finder`), filtered by its query string; correct without
/// scripts, its CSS and JS served beside it ([`finder_file`]).
async fn finder(
    State(web): State<Web>,
    Path(slug): Path<String>,
    RawQuery(raw): RawQuery,
    uri: Uri,
    asked: HeaderMap,
) -> Response {
    let community = match web.community(&slug, &uri).await {
        Ok(Some(id)) => id,
        Ok(None) => return not_found().await,
        Err(refused) => return refused,
    };
    let query = bot_core::finder::Query::parse(raw.as_deref());
    let store = web.hearth.store();
    match bot_core::finder::render(store, community, &query, (&slug, "/static"), web.hearth.now()).await {
        Ok(html) => current(&web, &asked, "text/html; charset=utf-8", html, Audience::Public),
        Err(e) => internal(&e),
    }
}

/// `GET /static/finder.css` and `/static/finder.js`: the finder page's own
/// files (no inline style or script, so the CSP stays `default-src 'self'`).
async fn finder_file(State(web): State<Web>, Path(file): Path<String>, asked: HeaderMap) -> Response {
    let (body, content_type) = match file.as_str() {
        "finder.css" => (bot_core::finder::STYLE, "text/css; charset=utf-8"),
        "finder.js" => (bot_core::finder::SCRIPT, "text/javascript; charset=utf-8"),
        _ => return not_found().await,
    };
    current(&web, &asked, content_type, body.to_string(), Audience::Public)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_url_is_an_http_address_without_a_trailing_slash() {
        let ok: WebConfig =
            toml::from_str("listen = \"127.0.0.1:8080\"\npublic_url = \"https://groups.example.org/\"\n").unwrap();
        assert_eq!(ok.public_url.as_deref(), Some("https://groups.example.org"));
        assert_eq!((ok.burst, ok.per_minute), (30, 60));
        let err = toml::from_str::<WebConfig>("listen = \"127.0.0.1:8080\"\npublic_url = \"groups.example.org\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("public_url"), "{err}");
    }
}
