//! The meeting finder page of a community: plain HTML, correct without
//! scripts (times rendered here, in the community's zone or the one the
//! reader chose), filtered by a plain GET form. Its stylesheet and script
//! ([`STYLE`], [`SCRIPT`]) are files of their own, so that the page's CSP
//! can be `default-src 'self'`; the script only re-renders the `<time>`
//! elements in the browser's zone. It shows no member's name, and no closed
//! group's link (`groups::may_show_place`).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::{Filter, Part, Upcoming};
use crate::error::Result;
use crate::groups::{self, Group};
use crate::meetings::{self, Meeting};
use crate::store::Store;

/// The page's stylesheet, to be served as `{assets}/finder.css`.
pub const STYLE: &str = include_str!("finder.css");
/// The page's script, to be served as `{assets}/finder.js`.
pub const SCRIPT: &str = include_str!("finder.js");

/// How many meetings a group shows.
const SHOWN: usize = 3;

/// Zones offered in the picker besides the community's and the chosen one;
/// any IANA name may be typed.
const ZONES: &[&str] = &[
    "UTC",
    "America/Los_Angeles",
    "America/Denver",
    "America/Chicago",
    "America/New_York",
    "America/Halifax",
    "America/Sao_Paulo",
    "America/Mexico_City",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Rome",
    "Europe/Warsaw",
    "Europe/Helsinki",
    "Europe/Istanbul",
    "Africa/Lagos",
    "Africa/Johannesburg",
    "Africa/Nairobi",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Perth",
    "Australia/Sydney",
    "Pacific/Auckland",
];

/// What the reader asked the page for, from its query string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub topic: Option<String>,
    pub format: Option<String>,
    pub day: Option<String>,
    pub time: Option<String>,
    pub zone: Option<String>,
}

impl Query {
    /// Reads a query string (`topic=grief&time=evening`, without the `?`);
    /// unknown keys and empty values are ignored.
    pub fn parse(raw: Option<&str>) -> Query {
        let mut q = Query::default();
        for (k, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            let v = v.trim();
            if v.is_empty() || v.len() > 100 {
                continue;
            }
            let slot = match &*k {
                "topic" => &mut q.topic,
                "format" => &mut q.format,
                "day" => &mut q.day,
                "time" => &mut q.time,
                "zone" => &mut q.zone,
                _ => continue,
            };
            *slot = Some(v.to_string());
        }
        q
    }
}

/// One meeting as the page shows it.
#[derive(Debug, Clone)]
struct Shown {
    start: DateTime<Utc>,
    minutes: i64,
    title: Option<String>,
    /// Where, if it may be said publicly.
    place: Option<String>,
    moved: bool,
}

/// A community's groups and their meetings over the finder's horizon:
/// what the page is rendered from.
#[derive(Debug, Clone)]
pub struct Listing {
    zone: Tz,
    /// Each group with its calendar's URL slug (`g/SLUG.ics`) and meetings.
    groups: Vec<(Group, String, Vec<Shown>)>,
}

/// Reads what the page of `community` shows.
pub async fn load(store: &Store, community: i64, now: DateTime<Utc>) -> Result<Listing> {
    let zone = crate::members::community_zone(store, community)
        .await?
        .unwrap_or(Tz::UTC);
    // The groups the community's other pages and feeds publish, with their slugs.
    let mut groups = crate::publish::groups(store, community).await?;
    groups.sort_by_key(|(_, g)| crate::parse::name_key(&g.name));
    let series: Vec<Meeting> = meetings::of_community(store, community)
        .await?
        .into_iter()
        .map(|(m, _)| m)
        .collect();
    let found: Vec<Upcoming> = super::upcoming(store, &series, now).await?;
    let listed = groups
        .into_iter()
        .map(|(slug, g)| {
            let shown = found
                .iter()
                .filter(|u| u.group == g.id)
                .filter_map(|u| {
                    let m = series.iter().find(|m| m.id == u.meeting)?;
                    let place = m.location.clone().filter(|p| groups::may_show_place(&g, p, false));
                    Some(Shown {
                        start: u.start,
                        minutes: m.duration_minutes,
                        title: m.title.clone(),
                        place,
                        moved: u.moved,
                    })
                })
                .collect();
            (g, slug, shown)
        })
        .collect();
    Ok(Listing { zone, groups: listed })
}

/// [`load`] and [`page`] in one: the page of `community` as asked.
/// `title` heads it; `assets` is the URL path its `finder.css` and
/// `finder.js` are served under.
pub async fn render(
    store: &Store,
    community: i64,
    query: &Query,
    (title, assets): (&str, &str),
    now: DateTime<Utc>,
) -> Result<String> {
    Ok(page(&load(store, community, now).await?, query, title, assets))
}

/// Escapes text for HTML content and quoted attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A time as the page writes it, the same words as its script's.
fn local(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone).format("%a %-d %b, %H:%M").to_string()
}

fn format_words(format: &str) -> &'static str {
    match format {
        "in_person" => "In person",
        "hybrid" => "Hybrid (in person and online)",
        _ => "Online",
    }
}

fn led_words(led_by: &str) -> &'static str {
    if led_by == "professional" {
        "A professional facilitator"
    } else {
        "Peers (members of the group)"
    }
}

/// The finder page: every group the filters let through, with its next
/// meetings. Pure: the same listing and query give the same page.
pub fn page(listing: &Listing, query: &Query, title: &str, assets: &str) -> String {
    let chosen = query.zone.as_deref().and_then(|z| z.parse::<Tz>().ok());
    let zone = chosen.unwrap_or(listing.zone);
    let filter = Filter::parse(query.day.as_deref(), query.time.as_deref(), None, None);
    let (filter, unread) = match filter {
        Ok(f) => (f, None),
        Err(e) => (Filter::default(), Some(e.to_message().plain("/"))),
    };
    let shown = chosen_groups(listing, query, &filter, zone);

    let mut h = String::with_capacity(8 * 1024);
    head(&mut h, title, assets);
    let _ = write!(
        h,
        "<header><h1>{}: find a meeting</h1>\n<p>Peer support groups and when they meet. \
         Times are shown in <strong data-zone-name>{}</strong>.</p></header>\n<main>\n",
        esc(title),
        esc(zone.name())
    );
    if let Some(z) = query.zone.as_deref().filter(|_| chosen.is_none()) {
        let _ = writeln!(
            h,
            "<p class=\"note\" role=\"status\">I don't know the time zone “{}”; times are in {}.</p>",
            esc(z),
            esc(zone.name())
        );
    }
    if let Some(words) = unread {
        let _ = writeln!(h, "<p class=\"note\" role=\"status\">{}</p>", esc(&words));
    }
    form(&mut h, listing, query, zone);
    let _ = write!(
        h,
        "<section aria-labelledby=\"groups-h\">\n<h2 id=\"groups-h\">{}</h2>\n",
        match shown.len() {
            0 => "No group matches these filters".to_string(),
            1 => "1 group".to_string(),
            n => format!("{n} groups"),
        }
    );
    if !filter.is_empty() {
        let _ = writeln!(
            h,
            "<p>Meeting {}, in {}.</p>",
            esc(&filter.describe()),
            esc(zone.name())
        );
    }
    h.push_str("<ul class=\"groups\">\n");
    for (g, slug, meetings) in &shown {
        group(&mut h, g, meetings, zone);
        let _ = writeln!(
            h,
            "<p class=\"calendar\"><a href=\"g/{}.ics\">Add {}'s meetings to your calendar</a></p>\n</article></li>",
            esc(slug),
            esc(&g.name)
        );
    }
    h.push_str("</ul>\n</section>\n</main>\n");
    h.push_str(
        "<footer><p>No cookies, no trackers. Without scripts, times are in the zone above; \
         with them, in your browser's zone unless you choose another.</p>\n\
         <p>For meeting finder sites: <a href=\"meeting-guide.json\">the Meeting Guide feed</a>.</p></footer>\n\
         </body>\n</html>\n",
    );
    h
}

/// The groups the query lets through, each with its meetings that match
/// (at most [`SHOWN`]), nearest first; groups with nothing scheduled last.
fn chosen_groups<'a>(
    listing: &'a Listing,
    query: &Query,
    filter: &Filter,
    zone: Tz,
) -> Vec<(&'a Group, &'a str, Vec<&'a Shown>)> {
    let topic = query.topic.as_deref().map(crate::parse::name_key);
    let shown: Vec<(&Group, &str, Vec<&Shown>)> = listing
        .groups
        .iter()
        .filter(|(g, ..)| topic.as_ref().is_none_or(|t| crate::parse::name_key(&g.topic) == *t))
        .filter(|(g, ..)| query.format.as_deref().is_none_or(|f| g.format == f))
        .filter_map(|(g, slug, meetings)| {
            let matching: Vec<&Shown> = meetings
                .iter()
                .filter(|m| filter.holds(m.start, zone))
                .take(SHOWN)
                .collect();
            (filter.is_empty() || !matching.is_empty()).then_some((g, slug.as_str(), matching))
        })
        .collect();
    let mut shown = shown;
    // Nearest first, as in the chat; groups with nothing scheduled last.
    shown.sort_by_key(|(_, _, meetings)| (meetings.is_empty(), meetings.first().map(|m| m.start)));
    shown
}

fn head(h: &mut String, title: &str, assets: &str) {
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n<title>{} · find a meeting</title>\n\
         <link rel=\"stylesheet\" href=\"{a}/finder.css\">\n<script src=\"{a}/finder.js\" defer></script>\n\
         </head>\n<body>\n",
        esc(title),
        a = esc(assets.trim_end_matches('/')),
    );
}

/// A `<select>` with its label; `options` are (value, words), the first the "any" one.
fn select(h: &mut String, (name, label): (&str, &str), options: &[(String, String)], chosen: Option<&str>) {
    let _ = write!(
        h,
        "<div class=\"field\"><label for=\"f-{name}\">{label}</label>\n<select id=\"f-{name}\" name=\"{name}\">\n"
    );
    for (value, words) in options {
        let selected = if chosen == Some(value.as_str()) {
            " selected"
        } else {
            ""
        };
        let _ = writeln!(h, "<option value=\"{}\"{selected}>{}</option>", esc(value), esc(words));
    }
    h.push_str("</select></div>\n");
}

fn form(h: &mut String, listing: &Listing, query: &Query, zone: Tz) {
    let pair = |v: &str, w: &str| (v.to_string(), w.to_string());
    h.push_str(
        "<form method=\"get\" class=\"filters\" aria-labelledby=\"filters-h\">\n<h2 id=\"filters-h\">Filters</h2>\n",
    );
    let topics: BTreeSet<&str> = listing.groups.iter().map(|(g, ..)| g.topic.as_str()).collect();
    let mut options = vec![pair("", "Any topic")];
    options.extend(topics.iter().map(|t| pair(t, t)));
    select(h, ("topic", "Topic"), &options, query.topic.as_deref());
    let mut options = vec![pair("", "Any format")];
    options.extend(crate::spec::FORMATS.iter().map(|f| pair(f, format_words(f))));
    select(h, ("format", "Format"), &options, query.format.as_deref());
    let mut options = vec![
        pair("", "Any day"),
        pair("weekday", "Weekdays"),
        pair("weekend", "Weekends"),
    ];
    for d in [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ] {
        let mut words = d.to_string();
        words[..1].make_ascii_uppercase();
        options.push(pair(d, &words));
    }
    select(h, ("day", "Day"), &options, query.day.as_deref());
    let mut options = vec![pair("", "Any time")];
    for p in Part::ALL {
        let mut words = p.label();
        words[..1].make_ascii_uppercase();
        options.push(pair(p.name(), &words));
    }
    select(h, ("time", "Time of day"), &options, query.time.as_deref());
    let _ = write!(
        h,
        "<div class=\"field\"><label for=\"f-zone\">Time zone</label>\n\
         <input id=\"f-zone\" name=\"zone\" list=\"zones\" value=\"{}\" autocomplete=\"off\" spellcheck=\"false\" \
         aria-describedby=\"zone-help\">\n<p id=\"zone-help\" class=\"help\">An IANA name such as Europe/Berlin.</p>\n\
         <datalist id=\"zones\">\n",
        esc(zone.name())
    );
    let mut zones: BTreeSet<&str> = ZONES.iter().copied().collect();
    zones.insert(listing.zone.name());
    zones.insert(zone.name());
    for z in zones {
        let _ = writeln!(h, "<option value=\"{}\"></option>", esc(z));
    }
    h.push_str(
        "</datalist></div>\n<div class=\"actions\"><button type=\"submit\">Show meetings</button> \
         <a href=\"?\">Clear filters</a></div>\n</form>\n",
    );
}

fn group(h: &mut String, g: &Group, meetings: &[&Shown], zone: Tz) {
    let id = g.id;
    let _ = write!(
        h,
        "<li class=\"group\" data-group=\"{id}\"><article aria-labelledby=\"g-{id}\">\n<h3 id=\"g-{id}\">{}</h3>\n",
        esc(&g.name)
    );
    if let Some(d) = &g.description {
        let _ = writeln!(h, "<p>{}</p>", esc(d));
    }
    let place = g
        .location
        .as_deref()
        .map(|p| match groups::may_show_place(g, p, false) {
            true => format!(": {}", esc(p)),
            false => ": the link is for registered members".to_string(),
        })
        .unwrap_or_default();
    let registration = match &g.registration {
        Some(r) => format!("Needed: {}", esc(r)),
        None => "None needed".to_string(),
    };
    let cost = g.cost.as_deref().map(esc).unwrap_or_else(|| "Not stated".to_string());
    let _ = write!(
        h,
        "<dl>\n<div><dt>Topic</dt><dd>{}</dd></div>\n<div><dt>Format</dt><dd>{}{place}</dd></div>\n\
         <div><dt>Led by</dt><dd>{}</dd></div>\n<div><dt>Cost</dt><dd>{cost}</dd></div>\n\
         <div><dt>Registration</dt><dd>{registration}</dd></div>\n</dl>\n",
        esc(&g.topic),
        format_words(&g.format),
        led_words(&g.led_by),
    );
    let _ = writeln!(h, "<h4 id=\"g-{id}-next\">Next meetings</h4>");
    if meetings.is_empty() {
        h.push_str("<p>None scheduled in the next weeks.</p>\n");
    }
    if meetings.is_empty() {
        return;
    }
    let _ = writeln!(h, "<ul class=\"meetings\" aria-labelledby=\"g-{id}-next\">");
    for m in meetings {
        let _ = write!(
            h,
            "<li><time datetime=\"{}\">{}</time> <span class=\"len\">({} min)</span>",
            m.start.format("%Y-%m-%dT%H:%M:%SZ"),
            local(m.start, zone),
            m.minutes
        );
        if let Some(t) = &m.title {
            let _ = write!(h, " · {}", esc(t));
        }
        if let Some(p) = &m.place {
            let _ = write!(h, " · {}", esc(p));
        }
        if m.moved {
            h.push_str(" · <em>moved</em>");
        }
        h.push_str("</li>\n");
    }
    h.push_str("</ul>\n");
}
