//! The core's platform-neutral message as Matrix event content: an HTML body
//! with a plain fallback, explicit `m.mentions`, and the buttons as reactions.
//!
//! Nothing in user-supplied text may ping: every text span is HTML-escaped
//! (so it cannot forge a pill), `@room` is broken with a word joiner, and
//! `m.mentions` names only the message's `pings`, which also turns off the
//! homeservers' legacy body-matching mention rules.

use bot_core::{Line, Message, Span};
use serde_json::{Value, json};

/// The custom content key under which a message carries its buttons, so that a
/// reaction can be mapped back to a command with no state in the bot.
pub const BUTTONS_KEY: &str = "org.hearth.buttons";
/// The community a message with buttons speaks for: a press in a DM room
/// acts in that community, not in the DM room.
pub const COMMUNITY_KEY: &str = "org.hearth.community";
/// Marks a message whose reactions are no one else's business (a group's
/// check-in prompt): the bot redacts every reaction to it once read.
pub const PRIVATE_PRESSES_KEY: &str = "org.hearth.private_presses";

/// A message ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub body: String,
    pub html: String,
    /// The user ids `m.mentions` names.
    pub mentions: Vec<String>,
    /// (emoji, command) per button, in order.
    pub buttons: Vec<(String, String)>,
    /// See [`PRIVATE_PRESSES_KEY`].
    pub private_presses: bool,
}

impl Rendered {
    /// The `m.room.message` content, as an `m.notice`, optionally a reply;
    /// buttons carry the community they act in.
    pub fn content(&self, in_reply_to: Option<&str>, community: &str) -> Value {
        let mut content = json!({
            "msgtype": "m.notice",
            "body": self.body,
            "format": "org.matrix.custom.html",
            "formatted_body": self.html,
            "m.mentions": { "user_ids": self.mentions },
        });
        if let Some(event_id) = in_reply_to {
            content["m.relates_to"] = json!({ "m.in_reply_to": { "event_id": event_id } });
        }
        if !self.buttons.is_empty() {
            content[BUTTONS_KEY] = self
                .buttons
                .iter()
                .map(|(emoji, command)| json!({ "emoji": emoji, "command": command }))
                .collect();
            content[COMMUNITY_KEY] = json!(community);
        }
        if self.private_presses {
            content[PRIVATE_PRESSES_KEY] = json!(true);
        }
        content
    }

    /// An edit (`m.replace`) of `original` to this rendering. Buttons stay
    /// as they were: reactions belong to the original event.
    pub fn replacement(&self, original: &str, community: &str) -> Value {
        let mut new_content = self.content(None, community);
        if let Some(fields) = new_content.as_object_mut() {
            fields.remove(BUTTONS_KEY);
            fields.remove(COMMUNITY_KEY);
            fields.remove(PRIVATE_PRESSES_KEY);
        }
        json!({
            "msgtype": "m.notice",
            "body": format!("* {}", self.body),
            "format": "org.matrix.custom.html",
            "formatted_body": format!("* {}", self.html),
            "m.mentions": {},
            "m.new_content": new_content,
            "m.relates_to": { "rel_type": "m.replace", "event_id": original },
        })
    }
}

/// Renders `message`; commands are shown with `prefix`, rooms by the name
/// `room_name` finds for them.
pub fn render(message: &Message, prefix: &str, room_name: &dyn Fn(&str) -> Option<String>) -> Rendered {
    let r = Renderer {
        prefix,
        pings: &message.pings,
        room_name,
    };
    let mut plain = Vec::new();
    let mut html = Vec::new();
    if let Some(title) = &message.title {
        plain.push(defuse(title));
        html.push(format!("<strong>{}</strong>", escape(title)));
    }
    for line in &message.lines {
        let (p, h) = r.line(line);
        plain.push(p);
        html.push(h);
    }
    for field in &message.fields {
        let (p, h) = r.line(&field.value);
        plain.push(format!("{}: {p}", defuse(&field.name)));
        html.push(format!("<strong>{}</strong>: {h}", escape(&field.name)));
    }
    for button in &message.buttons {
        let command = format!("{prefix}{}", button.command);
        plain.push(format!(
            "React {} to {}, or type {}",
            button.emoji,
            defuse(&button.label.to_lowercase()),
            defuse(&command)
        ));
        html.push(format!(
            "React {} to {}, or type <code>{}</code>",
            escape(button.emoji),
            escape(&button.label.to_lowercase()),
            escape(&command)
        ));
    }
    // The file itself follows as its own event.
    if let Some(a) = &message.attachment {
        plain.push(format!("Attached: {}", defuse(&a.filename)));
        html.push(format!("Attached: <code>{}</code>", escape(&a.filename)));
    }
    Rendered {
        body: plain.join("\n"),
        html: html.join("<br>\n"),
        mentions: message.pings.clone(),
        buttons: message
            .buttons
            .iter()
            .map(|b| (b.emoji.to_string(), b.command.clone()))
            .collect(),
        private_presses: message.private_presses,
    }
}

struct Renderer<'a> {
    prefix: &'a str,
    pings: &'a [String],
    room_name: &'a dyn Fn(&str) -> Option<String>,
}

impl Renderer<'_> {
    /// One line as (plain, html).
    fn line(&self, line: &Line) -> (String, String) {
        let mut plain = String::new();
        let mut html = String::new();
        for span in &line.0 {
            match span {
                Span::Text(s) => {
                    plain.push_str(&defuse(s));
                    html.push_str(&escape(s));
                }
                Span::Strong(s) => {
                    plain.push_str(&defuse(s));
                    html.push_str(&format!("<strong>{}</strong>", escape(s)));
                }
                Span::Cmd(c) => {
                    let c = format!("{}{c}", self.prefix);
                    plain.push_str(&defuse(&c));
                    html.push_str(&format!("<code>{}</code>", escape(&c)));
                }
                Span::Time { at, zone } => {
                    let s = time(at, zone);
                    plain.push_str(&s);
                    html.push_str(&escape(&s));
                }
                Span::User { id, name } => {
                    plain.push_str(&defuse(name));
                    if self.pings.iter().any(|p| p == id) {
                        html.push_str(&format!(
                            "<a href=\"https://matrix.to/#/{}\">{}</a>",
                            escape(id),
                            escape(name)
                        ));
                    } else {
                        html.push_str(&escape(name));
                    }
                }
                Span::Channel { id } => {
                    let shown = (self.room_name)(id).map_or_else(|| id.clone(), |n| format!("#{n}"));
                    plain.push_str(&defuse(&shown));
                    html.push_str(&format!(
                        "<a href=\"https://matrix.to/#/{}\">{}</a>",
                        escape(id),
                        escape(&shown)
                    ));
                }
                // A number, tappable in clients that follow tel: and sms:
                // links, and a number still in those that do not.
                Span::Link { label, url } if url.starts_with("tel:") || url.starts_with("sms:") => {
                    plain.push_str(&defuse(label));
                    html.push_str(&format!("<a href=\"{}\">{}</a>", escape(url), escape(label)));
                }
                Span::Link { label, url } => {
                    plain.push_str(&format!("{} <{}>", defuse(label), defuse(url)));
                    if url.starts_with("https://") || url.starts_with("http://") {
                        html.push_str(&format!("<a href=\"{}\">{}</a>", escape(url), escape(label)));
                    } else {
                        html.push_str(&format!("{} &lt;{}&gt;", escape(label), escape(url)));
                    }
                }
            }
        }
        (plain, html)
    }
}

/// An instant in `zone`, with the zone named: `Tue 1 Dec 2026, 19:00 CET
/// (Europe/Berlin)`; once only where the abbreviation is the name (`UTC`).
pub fn time(at: &chrono::DateTime<chrono::Utc>, zone: &chrono_tz::Tz) -> String {
    let local = at.with_timezone(zone);
    let shown = local.format("%a %-d %b %Y, %H:%M %Z").to_string();
    if local.format("%Z").to_string() == zone.name() {
        shown
    } else {
        format!("{shown} ({})", zone.name())
    }
}

/// Breaks every `@room` (any case) with a word joiner, so no client or
/// push rule reads it as a room-wide mention.
pub fn defuse(s: &str) -> String {
    const NEEDLE: &str = "@room";
    let lower = s.to_ascii_lowercase();
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for (i, _) in lower.match_indices(NEEDLE) {
        out.push_str(&s[last..i + 1]);
        out.push('\u{2060}');
        last = i + 1;
    }
    out.push_str(&s[last..]);
    out
}

/// HTML-escapes text (after defusing `@room`).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in defuse(s).chars() {
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

#[cfg(test)]
mod tests {
    use super::*;
    use bot_core::Message;

    fn no_rooms(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn at_room_is_defused_in_any_case() {
        assert_eq!(defuse("hi @room and @ROOM!"), "hi @\u{2060}room and @\u{2060}ROOM!");
        assert!(!defuse("@room").to_lowercase().contains("@room"));
    }

    #[test]
    fn user_text_cannot_forge_a_pill() {
        let m = Message::titled("<a href=\"https://matrix.to/#/@eve:x\">x</a> @room");
        let r = render(&m, "!", &no_rooms);
        assert!(!r.html.contains("<a "));
        assert!(!r.body.contains("@room"));
        assert!(r.mentions.is_empty());
    }

    #[test]
    fn only_pinged_users_become_pills_and_mentions() {
        let mut m = Message::new().line(
            bot_core::Line::new()
                .push(Span::User {
                    id: "@a:x".into(),
                    name: "A".into(),
                })
                .push(Span::User {
                    id: "@b:x".into(),
                    name: "B".into(),
                }),
        );
        m.pings = vec!["@a:x".into()];
        let r = render(&m, "!", &no_rooms);
        assert!(r.html.contains("matrix.to/#/@a:x"));
        assert!(!r.html.contains("@b:x"));
        assert_eq!(r.content(None, "!c")["m.mentions"]["user_ids"], json!(["@a:x"]));
    }

    #[test]
    fn times_name_their_zone() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-01T18:00:00Z")
            .map(|t| t.to_utc())
            .unwrap_or_default();
        assert_eq!(
            time(&at, &chrono_tz::Europe::Berlin),
            "Tue 1 Dec 2026, 19:00 CET (Europe/Berlin)"
        );
        assert_eq!(time(&at, &chrono_tz::UTC), "Tue 1 Dec 2026, 18:00 UTC");
    }

    #[test]
    fn buttons_get_a_legend_and_ride_in_the_content() {
        let m = Message::titled("G").button("Join", "➕", "group join group:#1");
        let r = render(&m, "!", &no_rooms);
        assert!(r.body.contains("React ➕ to join, or type !group join group:#1"));
        let content = r.content(Some("$e"), "!space");
        assert_eq!(
            content[BUTTONS_KEY],
            json!([{ "emoji": "➕", "command": "group join group:#1" }])
        );
        assert_eq!(content[COMMUNITY_KEY], "!space");
    }
}
