//! Hearth on Discord, through serenity. Filled in by the Discord adapter work;
//! until then the `hearth` binary refuses a `[discord]` config section.
