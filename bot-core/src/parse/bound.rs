//! [`bind`]: an invocation checked against its spec, and the [`Bound`]
//! values the features read.

use chrono::NaiveDate;
use chrono_tz::Tz;

use super::ask::unknown_command;
use super::crisis;
use super::values::{channel, value};
use crate::error::UserError;
use crate::io::Invocation;
use crate::spec::{self, CommandSpec, Kind};

/// A checked value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Int(i64),
    Choice(&'static str),
    Date(NaiveDate),
    Zone(Tz),
    Command(&'static CommandSpec),
}

/// An invocation checked against its spec.
#[derive(Debug, Clone, PartialEq)]
pub struct Bound {
    pub spec: &'static CommandSpec,
    pub(super) values: Vec<(&'static str, Value)>,
}

impl Bound {
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
    }
    pub fn text(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(Value::Text(s)) => Some(s),
            _ => None,
        }
    }
    pub fn int(&self, name: &str) -> Option<i64> {
        match self.get(name) {
            Some(Value::Int(i)) => Some(*i),
            _ => None,
        }
    }
    pub fn choice(&self, name: &str) -> Option<&'static str> {
        match self.get(name) {
            Some(Value::Choice(c)) => Some(c),
            _ => None,
        }
    }
    pub fn date(&self, name: &str) -> Option<NaiveDate> {
        match self.get(name) {
            Some(Value::Date(d)) => Some(*d),
            _ => None,
        }
    }
    pub fn zone(&self, name: &str) -> Option<Tz> {
        match self.get(name) {
            Some(Value::Zone(z)) => Some(*z),
            _ => None,
        }
    }
    pub fn command(&self, name: &str) -> Option<&'static CommandSpec> {
        match self.get(name) {
            Some(Value::Command(c)) => Some(c),
            _ => None,
        }
    }
    /// How many options were given.
    pub fn len(&self) -> usize {
        self.values.len()
    }
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Checks an invocation against the spec: known command, known options, each
/// given once, required ones present, every value of its kind.
pub fn bind(invocation: &Invocation) -> Result<Bound, UserError> {
    let spec = spec::command(&invocation.command).ok_or_else(|| unknown_command(&invocation.command))?;
    if spec.name == "crisis" {
        return Ok(crisis::bound(spec, invocation));
    }
    let mut values: Vec<(&'static str, Value)> = Vec::new();
    for (name, raw) in &invocation.args {
        let Some(option) = spec.option(name) else {
            return Err(UserError::UnknownOption {
                command: spec.name,
                option: name.chars().take(32).collect(),
                valid: spec.options.iter().map(|o| o.name).collect(),
            });
        };
        if values.iter().any(|(k, _)| *k == option.name) {
            return Err(UserError::RepeatedOption {
                option: option.name.to_string(),
            });
        }
        let checked = match option.kind {
            Kind::Channel => channel(option, raw, invocation)?,
            _ => value(option, raw)?,
        };
        values.push((option.name, checked));
    }
    if let Some(missing) = spec
        .options
        .iter()
        .find(|o| o.must_be_typed() && !values.iter().any(|(k, _)| *k == o.name))
    {
        return Err(UserError::MissingOption {
            command: spec.name,
            option: missing.name,
        });
    }
    Ok(Bound { spec, values })
}
