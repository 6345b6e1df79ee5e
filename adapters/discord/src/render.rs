//! The core's platform-neutral [`Message`] as a Discord message: an embed with
//! fields, buttons as components, explicit pings as content, and allowed
//! mentions that let nobody but [`Message::pings`] be notified.

use bot_core::{Line, Message, Span};
use serenity::all::{
    ButtonStyle, CreateActionRow, CreateAllowedMentions, CreateAttachment, CreateButton, CreateEmbed, ReactionType,
    UserId,
};

/// What a component's `custom_id` starts with when it stands for a command.
pub const BUTTON_PREFIX: &str = "h:";
/// A button sent by DM carries the server it acts in, since a press in a DM
/// has none: `h<guild id>:command`.
pub fn button_prefix(community: Option<&str>) -> String {
    match community {
        Some(guild) => format!("h{guild}:"),
        None => BUTTON_PREFIX.to_string(),
    }
}

/// A button's command, and the server its DM button names (if any).
pub fn button_command(custom_id: &str) -> Option<(Option<u64>, &str)> {
    if let Some(command) = custom_id.strip_prefix(BUTTON_PREFIX) {
        return Some((None, command));
    }
    let (guild, command) = custom_id.strip_prefix('h')?.split_once(':')?;
    let guild = guild.parse::<u64>().ok().filter(|g| *g != 0)?;
    Some((Some(guild), command))
}
/// Discord's limits that the core does not know about.
const CUSTOM_ID_MAX: usize = 100;
const TITLE_MAX: usize = 256;
const DESCRIPTION_MAX: usize = 4096;
const FIELD_NAME_MAX: usize = 256;
const FIELD_VALUE_MAX: usize = 1024;
const FIELDS_MAX: usize = 25;
const EMBED_MAX: usize = 6000;
/// How much of a long description survives when fields need the room.
const DESCRIPTION_KEEP: usize = 200;
const LABEL_MAX: usize = 80;
const BUTTONS_PER_ROW: usize = 5;
const ROWS_MAX: usize = 5;
/// Hearth's embed colour: a warm hearth orange.
const COLOUR: u32 = 0xE0_7A_3F;

/// A message ready for any of Discord's send endpoints.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// Mentions of the people to notify, and nothing else.
    pub content: Option<String>,
    /// One embed, or none for a message that is only an attachment.
    pub embeds: Vec<CreateEmbed>,
    pub components: Vec<CreateActionRow>,
    pub allowed_mentions: CreateAllowedMentions,
    pub attachment: Option<CreateAttachment>,
}

/// Puts a [`Rendered`] message into one of serenity's message builders
/// (they share these methods, but no trait): its embeds, buttons and whom it
/// may ping, then its text and its file, `attach` being the builder's
/// method for a file; without one, a file is left out (an edit keeps the
/// one already posted).
macro_rules! fill {
    ($builder:expr, $rendered:expr $(, $attach:ident)?) => {{
        let rendered: $crate::render::Rendered = $rendered;
        let mut builder = $builder
            .embeds(rendered.embeds)
            .components(rendered.components)
            .allowed_mentions(rendered.allowed_mentions);
        if let Some(content) = rendered.content {
            builder = builder.content(content);
        }
        $(
            if let Some(file) = rendered.attachment {
                builder = builder.$attach(file);
            }
        )?
        builder
    }};
}
pub(crate) use fill;

/// Renders a core message.
pub fn render(message: &Message) -> Rendered {
    render_in(message, None)
}

/// Renders a core message whose buttons act in `community` (for DMs).
pub fn render_in(message: &Message, community: Option<&str>) -> Rendered {
    // Titles show no markdown, so only mentions need breaking there.
    let title = message
        .title
        .as_ref()
        .map(|t| truncate(&break_mentions(t), TITLE_MAX))
        .unwrap_or_default();
    let mut description = message.lines.iter().map(line).collect::<Vec<_>>().join("\n");
    let mut fields: Vec<(String, String)> = message
        .fields
        .iter()
        .take(FIELDS_MAX)
        .map(|field| {
            let value = line(&field.value);
            let value = if value.trim().is_empty() {
                "\u{2014}".to_string()
            } else {
                value
            };
            (
                truncate(&escape(&field.name), FIELD_NAME_MAX),
                truncate(&value, FIELD_VALUE_MAX),
            )
        })
        .collect();
    // Discord refuses an embed over 6000 characters in all: keep at least the
    // start of the description, drop fields from the end, then shorten it.
    let size = |d: &str, f: &[(String, String)]| {
        title.chars().count()
            + d.chars().count()
            + f.iter()
                .map(|(n, v)| n.chars().count() + v.chars().count())
                .sum::<usize>()
    };
    let keep = description.chars().count().min(DESCRIPTION_KEEP);
    while size("", &fields) + keep > EMBED_MAX && !fields.is_empty() {
        fields.pop();
    }
    let room = EMBED_MAX.saturating_sub(size("", &fields));
    description = truncate(&description, room.min(DESCRIPTION_MAX));

    let mut embeds = Vec::new();
    if !title.is_empty() || !description.is_empty() || !fields.is_empty() || message.attachment.is_none() {
        let mut embed = CreateEmbed::new().colour(COLOUR);
        if !title.is_empty() {
            embed = embed.title(title.clone());
        }
        if !description.is_empty() {
            embed = embed.description(description);
        } else if title.is_empty() && fields.is_empty() {
            // Discord refuses an empty message; the core never sends one, but say something.
            embed = embed.description("\u{2026}");
        }
        embed = embed.fields(fields.into_iter().map(|(n, v)| (n, v, true)));
        embeds.push(embed);
    }

    let pings = snowflakes(&message.pings);
    let content = (!pings.is_empty()).then(|| pings.iter().map(|id| format!("<@{id}>")).collect::<Vec<_>>().join(" "));

    Rendered {
        content,
        embeds,
        components: buttons(message, &button_prefix(community)),
        allowed_mentions: allowed_mentions(&pings),
        attachment: message
            .attachment
            .as_ref()
            .map(|a| CreateAttachment::bytes(a.content.clone().into_bytes(), a.filename.clone())),
    }
}

/// No `@everyone`, `@here` or role pings, ever; users only when listed.
pub fn allowed_mentions(pings: &[u64]) -> CreateAllowedMentions {
    CreateAllowedMentions::new()
        .all_users(false)
        .all_roles(false)
        .everyone(false)
        .users(pings.iter().copied().map(UserId::new))
        .empty_roles()
        .replied_user(false)
}

/// The ids among `ids` that are Discord snowflakes (non-zero integers).
fn snowflakes(ids: &[String]) -> Vec<u64> {
    let mut out: Vec<u64> = ids
        .iter()
        .filter_map(|id| id.parse::<u64>().ok())
        .filter(|id| *id != 0)
        .collect();
    out.dedup();
    out
}

fn buttons(message: &Message, prefix: &str) -> Vec<CreateActionRow> {
    let mut seen: Vec<String> = Vec::new();
    let buttons: Vec<CreateButton> = message
        .buttons
        .iter()
        .filter_map(|b| {
            let custom_id = format!("{prefix}{}", b.command);
            if custom_id.len() > CUSTOM_ID_MAX {
                tracing::warn!(
                    len = custom_id.len(),
                    "button command too long for a custom_id; left out"
                );
                return None;
            }
            // Discord refuses a whole message whose custom ids repeat.
            if seen.contains(&custom_id) {
                return None;
            }
            seen.push(custom_id.clone());
            let mut button = CreateButton::new(custom_id)
                .label(truncate(&b.label, LABEL_MAX))
                .style(ButtonStyle::Secondary);
            if !b.emoji.is_empty() {
                button = button.emoji(ReactionType::Unicode(b.emoji.to_string()));
            }
            Some(button)
        })
        .take(BUTTONS_PER_ROW * ROWS_MAX)
        .collect();
    buttons
        .chunks(BUTTONS_PER_ROW)
        .map(|row| CreateActionRow::Buttons(row.to_vec()))
        .collect()
}

/// A line in Discord markdown; every piece of user text is escaped.
pub fn line(line: &Line) -> String {
    let mut out = String::new();
    for span in &line.0 {
        match span {
            Span::Text(s) => out.push_str(&escape(s)),
            Span::Strong(s) => {
                out.push_str("**");
                out.push_str(&escape(s));
                out.push_str("**");
            }
            Span::Cmd(c) => {
                // Inside a code span nothing is markdown; backticks are the only danger.
                out.push_str("`/");
                out.push_str(&c.replace('`', "'"));
                out.push('`');
            }
            Span::Time { at, .. } => {
                let unix = at.timestamp();
                out.push_str(&format!("<t:{unix}:F> (<t:{unix}:R>)"));
            }
            Span::User { id, name } => match id.parse::<u64>() {
                Ok(id) if id != 0 => out.push_str(&format!("<@{id}>")),
                _ => {
                    out.push('@');
                    out.push_str(&escape(name));
                }
            },
            Span::Channel { id } => match id.parse::<u64>() {
                Ok(id) if id != 0 => out.push_str(&format!("<#{id}>")),
                _ => {
                    out.push('#');
                    out.push_str(&escape(id));
                }
            },
            // Discord makes no link of tel: or sms:; the number itself is
            // what a phone can tap or copy.
            Span::Link { label, url } if url.starts_with("tel:") || url.starts_with("sms:") => {
                out.push_str(&escape(label));
            }
            Span::Link { label, url } => {
                if (url.starts_with("https://") || url.starts_with("http://"))
                    && !url.contains(|c: char| c.is_whitespace() || c == ')' || c == '>')
                {
                    // `<url>`: the link is shown without a preview.
                    out.push_str(&format!("[{}](<{url}>)", escape(label)));
                } else {
                    out.push_str(&escape(label));
                    out.push_str(" (");
                    out.push_str(&escape(url));
                    out.push(')');
                }
            }
        }
    }
    out
}

/// Escapes Discord markdown and mention syntax in text a person wrote, and
/// breaks `@everyone`/`@here` so they read as text wherever they appear.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '<' | '[' | ']' | '(' | ')' | '#' | '-'
        ) {
            out.push('\\');
        }
        out.push(c);
        if c == '@' {
            // A zero-width space: `@everyone` stays readable but is no mention.
            out.push('\u{200b}');
        }
    }
    out
}

/// `@everyone` and `@here` as plain text, for places without markdown.
pub fn break_mentions(text: &str) -> String {
    text.replace('@', "@\u{200b}")
}

/// At most `max` characters, with an ellipsis when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('\u{2026}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bot_core::Line;
    use chrono::TimeZone;

    #[test]
    fn user_text_cannot_ping_or_format() {
        let escaped = escape("@everyone **bold** <@&123> [x](http://e)");
        assert!(!escaped.contains("@everyone"));
        assert!(!escaped.contains("**"));
        assert!(!escaped.contains("<@&"));
        assert!(escaped.contains("\\*\\*bold\\*\\*"));
    }

    #[test]
    fn times_render_for_each_reader() {
        let at = chrono::Utc.with_ymd_and_hms(2026, 3, 19, 18, 0, 0).unwrap();
        let l = Line::new().push(Span::Time {
            at,
            zone: chrono_tz::Europe::Berlin,
        });
        assert_eq!(line(&l), format!("<t:{0}:F> (<t:{0}:R>)", at.timestamp()));
    }

    #[test]
    fn commands_render_with_a_slash_and_mentions_as_ids() {
        let l = Line::new().t("try ").cmd("group info").push(Span::User {
            id: "42".into(),
            name: "Ana".into(),
        });
        assert_eq!(line(&l), "try `/group info`<@42>");
    }

    #[test]
    fn allowed_mentions_never_parse_and_name_only_the_pings() {
        let json = serde_json::to_value(allowed_mentions(&[7])).unwrap();
        assert_eq!(json["parse"], serde_json::json!([]));
        assert_eq!(json["users"], serde_json::json!(["7"]));
        assert_eq!(json["roles"], serde_json::json!([]));
    }

    #[test]
    fn buttons_carry_their_command_in_the_custom_id() {
        let m = Message::new().button("Join", "➕", "group join group:#1");
        let rows = serde_json::to_value(render(&m).components).unwrap();
        assert_eq!(rows[0]["components"][0]["custom_id"], "h:group join group:#1");
    }

    #[test]
    fn an_oversized_card_still_fits_in_one_embed() {
        let mut m = Message::titled("t").text("d".repeat(5000));
        for i in 0..25 {
            m = m.field(format!("f{i}"), Line::text("v".repeat(1000)));
        }
        let rendered = render(&m);
        let json = serde_json::to_value(&rendered.embeds[0]).unwrap();
        let fields = json["fields"].as_array().map_or(0, Vec::len);
        let size = json["title"].as_str().unwrap().len()
            + json["description"].as_str().map_or(0, |d| d.chars().count())
            + json["fields"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| f["name"].as_str().unwrap().len() + f["value"].as_str().unwrap().len())
                .sum::<usize>();
        assert!(size <= 6000, "{size}");
        assert!(fields >= 5, "{fields}");
    }

    #[test]
    fn a_dm_button_carries_its_server_and_reads_back() {
        let m = Message::new().button("Okay", "😐", "checkin share mood:3 prompt:d20260319");
        let rendered = serde_json::to_value(&render_in(&m, Some("2000")).components).unwrap();
        let id = rendered[0]["components"][0]["custom_id"].as_str().unwrap().to_string();

        assert_eq!(id, "h2000:checkin share mood:3 prompt:d20260319");
        assert_eq!(
            button_command(&id),
            Some((Some(2000), "checkin share mood:3 prompt:d20260319"))
        );
        assert_eq!(
            button_command("h:group join group:#1"),
            Some((None, "group join group:#1"))
        );
        assert_eq!(button_command("hx:thing"), None);
        assert_eq!(button_command("old:thing"), None);
    }

    #[test]
    fn repeated_and_oversized_buttons_are_left_out() {
        let m = Message::new()
            .button("Join", "➕", "group join group:#1")
            .button("Join again", "➕", "group join group:#1")
            .button("Long", "", "x".repeat(120));
        let rows = serde_json::to_value(render(&m).components).unwrap();
        assert_eq!(rows[0]["components"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn truncation_counts_characters_not_bytes() {
        assert_eq!(truncate("ééé", 2), "é\u{2026}");
        assert_eq!(truncate("ab", 2), "ab");
    }
}
