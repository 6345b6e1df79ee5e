//! The messages that ask how a member is: the mood buttons, a group's
//! prompt, a member's own daily prompt, the private ask, and what a
//! facilitator is told.

use crate::groups::Group;
use crate::io::Platform;
use crate::members::Member;
use crate::message::{Line, Message, Span};

/// Each mood in plain, kind words, 1 first.
const WORDS: [&str; 5] = ["struggling", "low", "okay", "good", "great"];
const EMOJI: [&str; 5] = ["😣", "😕", "😐", "🙂", "😄"];
const PASS_EMOJI: &str = "🤍";
/// The one button of a group's prompt where presses show to the room.
const PRIVATELY_EMOJI: &str = "🔒";

/// A mood in words: "3 okay".
pub fn mood_words(mood: i64) -> String {
    let word = WORDS.get((mood.clamp(1, 5) - 1) as usize).copied().unwrap_or("okay");
    format!("{mood} {word}")
}

/// The mood buttons of a prompt. `group` and `prompt` ride in each command so
/// that a press counts for that group, once per prompt.
pub(super) fn with_mood_buttons(mut message: Message, group: Option<i64>, prompt: &str) -> Message {
    let tail = match group {
        Some(g) => format!(" group:#{g} prompt:{prompt}"),
        None => format!(" prompt:{prompt}"),
    };
    for (i, word) in WORDS.iter().enumerate() {
        let mood = i + 1;
        message = message.button(
            format!("{mood} {word}"),
            EMOJI[i],
            format!("checkin share mood:{mood}{tail}"),
        );
    }
    message.button("Pass", PASS_EMOJI, format!("checkin share mood:pass{tail}"))
}

/// A group's prompt as posted in its home channel. Where a press shows the
/// room who pressed what (Matrix reactions), it carries no mood buttons: its
/// one button brings the member the mood buttons in their DM, and what they
/// press there no one else sees.
pub(super) fn group_prompt(group: &Group, question: Option<&str>, prompt: &str, platform: Platform) -> Message {
    let message = Message::titled(format!("Check-in: {}", group.name)).text(question.unwrap_or("How are you today?"));
    if platform.presses_are_public() {
        return message
            .text(format!(
                "Check in privately: I'll send you the mood buttons in our DM, where no one else sees what you pick. Your answer counts without your name in {}'s summary if you're one of its members. Pass is always fine.",
                group.name
            ))
            .button(
                "Check in privately",
                PRIVATELY_EMOJI,
                format!("checkin share group:#{} prompt:{prompt}", group.id),
            )
            .with_private_presses();
    }
    let message = message
        .text("Answer with a button: only you see the reply, and your answer counts without your name in the group's summary if you're one of its members. Pass is always fine.")
        .line(
            Line::text("To add a note only you will ever see: ")
                .cmd(format!("checkin share mood:3 note:\"…\" group:#{} prompt:{prompt}", group.id)),
        );
    with_mood_buttons(message, Some(group.id), prompt)
}

/// A member's own daily prompt, by DM.
pub(super) fn personal_prompt(prompt: &str) -> Message {
    let message = Message::titled("Your check-in")
        .text("How are you today? Answer with a button; it stays yours and counts in no group's summary.")
        .line(
            Line::text("Add a note only you will see with ")
                .cmd(format!("checkin share mood:3 note:\"…\" prompt:{prompt}")),
        )
        .line(Line::text("Stop these with ").cmd("checkin remind time:off"));
    with_mood_buttons(message, None, prompt)
}

/// The mood buttons, privately, for a member who has not said how they are
/// yet; with a group, where to write a note that only they will see.
pub(super) fn ask_privately(group: Option<&Group>, key: &str) -> Message {
    let mut message = match group {
        Some(g) => Message::titled(format!("Check-in: {}", g.name)),
        None => Message::new(),
    }
    .text("How are you today? Pick one; only you see this.");
    if group.is_some() {
        // The prompt names the group: this works typed in a DM too.
        message = message.line(
            Line::text("To add a note only you will ever see, write it here: ")
                .cmd(format!("checkin share mood:3 note:\"…\" prompt:{key}")),
        );
    }
    with_mood_buttons(message, group.map(|g| g.id), key)
}

/// What a facilitator is told, with the member's consent: who, and that
/// today is hard. Never the note.
pub(super) fn care_notice(me: &Member, group: &Group) -> Message {
    Message::titled(format!("A check-in from {}", group.name))
        .line(
            Line::new()
                .push(Span::User {
                    id: me.external_id.clone(),
                    name: me.display_name.clone(),
                })
                .t(" checked in as struggling and asked me to let you know. What they wrote, if anything, stays with them."),
        )
        .text("A gentle word from you may help.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moods_have_kind_plain_words() {
        assert_eq!(mood_words(1), "1 struggling");
        assert_eq!(mood_words(3), "3 okay");
        assert_eq!(mood_words(5), "5 great");
    }
}
