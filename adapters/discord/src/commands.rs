//! Slash commands generated from the core's spec, and Discord's typed options
//! turned back into the core's [`Invocation`].
//!
//! A one-word spec name is a top-level command; `group create` is the
//! subcommand `create` of `/group`; a three-word name uses a subcommand group.

use bot_core::Invocation;
use bot_core::spec::{COMMANDS, CommandSpec, Kind, OptSpec};
use serenity::all::{
    AutocompleteChoice, CommandData, CommandDataOption, CommandDataOptionValue, CommandOptionType, CommandType,
    CreateCommand, CreateCommandOption, InteractionContext,
};

/// The largest integer Discord accepts in an option (2^53 - 1).
pub const DISCORD_INT_MAX: i64 = 9_007_199_254_740_991;
/// Discord's cap on autocomplete suggestions.
const SUGGESTIONS_MAX: usize = 25;

/// One top-level command: either a spec command or the parent of subcommands.
#[derive(Debug)]
enum Node {
    Leaf(&'static CommandSpec),
    Parent {
        name: &'static str,
        children: Vec<(&'static str, Node)>,
    },
}

/// The spec as a tree of top-level names. Fails when a name is both a command
/// and the parent of subcommands, which Discord forbids.
fn tree(specs: &'static [CommandSpec]) -> Result<Vec<(&'static str, Node)>, String> {
    let mut roots: Vec<(&'static str, Node)> = Vec::new();
    for spec in specs {
        let words: Vec<&'static str> = spec.name.split(' ').collect();
        insert(&mut roots, &words, spec)?;
    }
    Ok(roots)
}

fn insert(
    level: &mut Vec<(&'static str, Node)>,
    words: &[&'static str],
    spec: &'static CommandSpec,
) -> Result<(), String> {
    let Some((first, rest)) = words.split_first() else {
        return Err(format!("empty command name in the spec: {:?}", spec.name));
    };
    let existing = level.iter_mut().position(|(name, _)| name == first);
    if rest.is_empty() {
        if existing.is_some() {
            return Err(format!(
                "`{}` is both a command and the parent of subcommands (or listed twice); Discord forbids it",
                spec.name
            ));
        }
        level.push((first, Node::Leaf(spec)));
        return Ok(());
    }
    let index = match existing {
        Some(i) => i,
        None => {
            level.push((
                first,
                Node::Parent {
                    name: first,
                    children: Vec::new(),
                },
            ));
            level.len() - 1
        }
    };
    match &mut level[index].1 {
        Node::Leaf(leaf) => Err(format!(
            "`{}` is both a command and the parent of `{}`; Discord forbids it",
            leaf.name, spec.name
        )),
        Node::Parent { children, .. } => insert(children, rest, spec),
    }
}

/// Every slash command, ready for a bulk overwrite.
pub fn application_commands() -> Result<Vec<CreateCommand>, String> {
    Ok(tree(COMMANDS)?
        .into_iter()
        .map(|(name, node)| {
            let command = CreateCommand::new(name)
                .kind(CommandType::ChatInput)
                .contexts(vec![InteractionContext::Guild]);
            match node {
                Node::Leaf(spec) => command.description(spec.description).set_options(options(spec)),
                Node::Parent { name, children } => command
                    .description(parent_description(name, &children))
                    .set_options(children.into_iter().map(|(n, c)| sub(n, c)).collect()),
            }
        })
        .collect())
}

fn sub(name: &'static str, node: Node) -> CreateCommandOption {
    match node {
        Node::Leaf(spec) => CreateCommandOption::new(CommandOptionType::SubCommand, name, spec.description)
            .set_sub_options(options(spec)),
        Node::Parent { name, children } => CreateCommandOption::new(
            CommandOptionType::SubCommandGroup,
            name,
            parent_description(name, &children),
        )
        .set_sub_options(children.into_iter().map(|(n, c)| sub(n, c)).collect::<Vec<_>>()),
    }
}

/// `group: create, edit, info, …`, cut to Discord's 100 characters.
fn parent_description(name: &str, children: &[(&'static str, Node)]) -> String {
    let names: Vec<&str> = children.iter().map(|(n, _)| *n).collect();
    crate::render::truncate(&format!("{name}: {}", names.join(", ")), 100)
}

/// Discord lists required options first; a group may be left out where the
/// channel is its home, so it follows them.
fn options(spec: &CommandSpec) -> Vec<CreateCommandOption> {
    let (typed, rest): (Vec<&OptSpec>, Vec<&OptSpec>) = spec.options.iter().partition(|o| o.must_be_typed());
    typed.into_iter().chain(rest).map(option).collect()
}

fn option(o: &OptSpec) -> CreateCommandOption {
    let new = |kind| CreateCommandOption::new(kind, o.name, o.description).required(o.must_be_typed());
    match o.kind {
        Kind::Text { max } => new(CommandOptionType::String).max_length(u16::try_from(max).unwrap_or(6000)),
        Kind::Int { min, max } => {
            let mut option = new(CommandOptionType::Integer).set_autocomplete(o.name == "meeting");
            // serenity takes unsigned bounds (the spec has no negative ones),
            // and Discord's integers stop at 2^53 - 1.
            if let Ok(min) = u64::try_from(min.min(DISCORD_INT_MAX)) {
                option = option.min_int_value(min);
            }
            if let Ok(max) = u64::try_from(max.min(DISCORD_INT_MAX)) {
                option = option.max_int_value(max);
            }
            option
        }
        Kind::Choice(choices) => choices.iter().fold(new(CommandOptionType::String), |option, c| {
            option.add_string_choice(*c, *c)
        }),
        Kind::User => new(CommandOptionType::User),
        Kind::Channel => new(CommandOptionType::Channel),
        Kind::Date => new(CommandOptionType::String),
        // Groups come from the core, time zones and commands from the adapter.
        Kind::Group | Kind::Timezone | Kind::Command => new(CommandOptionType::String).set_autocomplete(true),
    }
}

/// The command's full spec name and its options, as the core reads them.
/// Typed values become text: ids for users and channels, numbers in decimal.
pub fn invocation(data: &CommandData) -> Invocation {
    let mut command = vec![data.name.clone()];
    let mut options: &[CommandDataOption] = &data.options;
    while let Some(CommandDataOption {
        name,
        value: CommandDataOptionValue::SubCommand(inner) | CommandDataOptionValue::SubCommandGroup(inner),
        ..
    }) = options.first()
    {
        command.push(name.clone());
        options = inner;
    }
    let args = options
        .iter()
        .filter_map(|o| Some((o.name.clone(), value(&o.value)?)))
        .collect();
    Invocation {
        command: command.join(" "),
        args,
        channels: Vec::new(),
    }
}

fn value(value: &CommandDataOptionValue) -> Option<String> {
    Some(match value {
        CommandDataOptionValue::String(s) => s.clone(),
        CommandDataOptionValue::Integer(i) => i.to_string(),
        CommandDataOptionValue::Number(n) => n.to_string(),
        CommandDataOptionValue::Boolean(b) => b.to_string(),
        CommandDataOptionValue::User(id) => id.get().to_string(),
        CommandDataOptionValue::Channel(id) => id.get().to_string(),
        CommandDataOptionValue::Role(id) => id.get().to_string(),
        CommandDataOptionValue::Mentionable(id) => id.get().to_string(),
        CommandDataOptionValue::Autocomplete { value, .. } => value.clone(),
        // Attachments, nested subcommands and kinds newer than serenity.
        _ => return None,
    })
}

/// Suggestions for the option being typed in an autocomplete interaction.
pub fn suggestions(data: &CommandData) -> Vec<AutocompleteChoice> {
    let Some(focused) = data.autocomplete() else {
        return Vec::new();
    };
    let command = invocation(data).command;
    let Some(kind) = bot_core::spec::command(&command)
        .and_then(|spec| spec.option(focused.name))
        .map(|o| o.kind)
    else {
        return Vec::new();
    };
    suggest(kind, focused.value)
        .into_iter()
        .map(|n| AutocompleteChoice::new(n, n))
        .collect()
}

/// Up to 25 values of `kind` matching what was typed: prefix matches first.
pub fn suggest(kind: Kind, typed: &str) -> Vec<&'static str> {
    let typed = typed.trim().trim_start_matches('/').to_lowercase();
    let names: Vec<&'static str> = match kind {
        Kind::Timezone => chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect(),
        Kind::Command => COMMANDS.iter().map(|c| c.name).collect(),
        _ => return Vec::new(),
    };
    let prefix = names.iter().filter(|n| n.to_lowercase().starts_with(&typed));
    let inner = names.iter().filter(|n| {
        let lower = n.to_lowercase();
        !lower.starts_with(&typed) && lower.contains(&typed)
    });
    prefix.chain(inner).take(SUGGESTIONS_MAX).copied().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bot_core::spec::Role;

    const fn spec(name: &'static str) -> CommandSpec {
        CommandSpec {
            name,
            description: "d",
            who: Role::Member,
            options: &[],
        }
    }

    #[test]
    fn no_name_is_both_a_command_and_a_parent_of_subcommands() {
        assert!(tree(COMMANDS).is_ok(), "{:?}", tree(COMMANDS).err());
    }

    #[test]
    fn a_command_that_is_also_a_parent_is_refused() {
        static CLASH: &[CommandSpec] = &[spec("checkin"), spec("checkin history")];
        let err = tree(CLASH).unwrap_err();
        assert!(err.contains("both a command and the parent"), "{err}");

        static CLASH_REVERSED: &[CommandSpec] = &[spec("circle start"), spec("circle")];
        assert!(tree(CLASH_REVERSED).is_err());
    }

    #[test]
    fn every_top_level_command_fits_discord_limits() {
        let commands = application_commands().unwrap();
        assert!(commands.len() <= 100);
        for c in serde_json::to_value(&commands).unwrap().as_array().unwrap() {
            assert!(c["description"].as_str().unwrap().chars().count() <= 100);
            // Names, descriptions and choices of a whole command: at most 8000 characters.
            let mut total = 0;
            let mut stack = vec![c];
            while let Some(v) = stack.pop() {
                assert!(v["options"].as_array().map_or(0, Vec::len) <= 25, "{}", v["name"]);
                assert!(v["choices"].as_array().map_or(0, Vec::len) <= 25, "{}", v["name"]);
                for key in ["name", "description"] {
                    total += v[key].as_str().map_or(0, |s| s.chars().count());
                }
                for choice in v["choices"].as_array().into_iter().flatten() {
                    total += choice["name"].as_str().map_or(0, str::len) + choice["value"].as_str().map_or(0, str::len);
                }
                stack.extend(v["options"].as_array().into_iter().flatten());
            }
            assert!(total <= 8000, "/{} has {total} characters", c["name"]);
        }
    }

    #[test]
    fn integer_bounds_stay_within_what_discord_accepts() {
        let json = serde_json::to_value(application_commands().unwrap()).unwrap();
        let mut stack: Vec<&serde_json::Value> = json.as_array().unwrap().iter().collect();
        while let Some(v) = stack.pop() {
            if let Some(max) = v.get("max_value").and_then(serde_json::Value::as_i64) {
                assert!(max <= DISCORD_INT_MAX, "{v}");
            }
            stack.extend(v["options"].as_array().into_iter().flatten());
        }
    }

    #[test]
    fn timezones_suggest_prefix_matches_first() {
        let found = suggest(Kind::Timezone, "europe/ber");
        assert_eq!(found[0], "Europe/Berlin");
        assert!(suggest(Kind::Timezone, "").len() == SUGGESTIONS_MAX);
        let commands = suggest(Kind::Command, "/group");
        assert!(commands.contains(&"group create"));
    }
}
