//! An action's inputs and outputs: the named literals DataProxyService/GetActionData returns.
//!
//! [`ActionInputs`] wraps the wire `task.Inputs`, [`ActionOutputs`] the wire `task.Outputs`; both
//! are a [`NamedLiterals`], so lookup, typed values ([`NamedLiterals::get_as`]), iteration, JSON
//! and display are written once. Values are shown through [`crate::literal::render`].

use crate::error::{Error, Result};
use crate::json;
use crate::literal::render;
use crate::value::{FromValue, Value};
use aerie_wire::flyteidl2::core::Literal;
use aerie_wire::flyteidl2::task::{Inputs, NamedLiteral, Outputs};
use std::fmt;

/// A wire message that is, at heart, a list of named literals.
pub trait LiteralList {
    /// What one literal of the list is, for messages: `input` or `output`.
    const WHAT: &'static str;

    /// The literals in the order the server sent them.
    fn named_literals(&self) -> &[NamedLiteral];
}

impl LiteralList for Inputs {
    const WHAT: &'static str = "input";

    fn named_literals(&self) -> &[NamedLiteral] {
        &self.literals
    }
}

impl LiteralList for Outputs {
    const WHAT: &'static str = "output";

    fn named_literals(&self) -> &[NamedLiteral] {
        &self.literals
    }
}

/// Named literals as a wire message `W` carries them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NamedLiterals<W> {
    wire: W,
}

/// The inputs of an action, e.g. `x = 3`.
pub type ActionInputs = NamedLiterals<Inputs>;
/// The outputs of an action, named `o0`, `o1`, … by the Flyte SDK.
pub type ActionOutputs = NamedLiterals<Outputs>;

impl<W: LiteralList> NamedLiterals<W> {
    /// Wraps the wire message.
    pub fn new(wire: W) -> Self {
        Self { wire }
    }

    /// The wire message, e.g. for fields beyond the literals (input context, artifacts).
    pub fn wire(&self) -> &W {
        &self.wire
    }

    /// The wire message, unwrapped.
    pub fn into_wire(self) -> W {
        self.wire
    }

    /// The named literals, in order.
    pub fn literals(&self) -> &[NamedLiteral] {
        self.wire.named_literals()
    }

    /// The literal called `name`.
    pub fn get(&self, name: &str) -> Option<&Literal> {
        self.literals()
            .iter()
            .find(|named| named.name == name)
            .map(|named| &*named.value)
    }

    /// The value called `name` (see [`Value::from_literal`]).
    pub fn value(&self, name: &str) -> Option<Value> {
        self.get(name).map(Value::from_literal)
    }

    /// `(name, value)` pairs, in order.
    pub fn values(&self) -> impl Iterator<Item = (&str, Value)> {
        self.literals()
            .iter()
            .map(|named| (named.name.as_str(), Value::from_literal(&named.value)))
    }

    /// The value called `name` as a Rust type: `get_as::<i64>("o0")`,
    /// `get_as::<Vec<String>>("names")`. A missing name or a value of another type is an
    /// [`Error::Value`] naming it.
    pub fn get_as<T: FromValue>(&self, name: &str) -> Result<T> {
        let error = |reason: String| Error::Value {
            what: W::WHAT,
            name: name.to_owned(),
            reason,
        };
        let value = self.value(name).ok_or_else(|| {
            let names: Vec<&str> = self.names().collect();
            error(format!("there is no such {}; there are {names:?}", W::WHAT))
        })?;
        T::from_value(value).map_err(|err| error(err.0))
    }

    /// The names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.literals().iter().map(|named| named.name.as_str())
    }

    /// `(name, rendered value)` pairs, in order, as [`render`] shows them.
    pub fn rendered(&self) -> impl Iterator<Item = (&str, String)> {
        self.literals()
            .iter()
            .map(|named| (named.name.as_str(), render(&named.value)))
    }

    /// How many literals there are.
    pub fn len(&self) -> usize {
        self.literals().len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.literals().is_empty()
    }
}

impl<W: serde::Serialize> NamedLiterals<W> {
    /// The proto3 JSON of the wire message (camelCase keys). Fails only on values proto3 JSON
    /// cannot express, such as a timestamp outside years 1 to 9999.
    pub fn to_dict(&self) -> Result<serde_json::Value> {
        json::to_dict(&self.wire)
    }

    /// [`to_dict`](Self::to_dict) as indented JSON text.
    pub fn to_json(&self) -> Result<String> {
        json::to_json(&self.wire)
    }
}

/// One `name = value` per line.
impl<W: LiteralList> fmt::Display for NamedLiterals<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, (name, value)) in self.rendered().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{name} = {value}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::literal::tests::primitive_literal;
    use aerie_wire::flyteidl2::core::primitive;

    fn named(name: &str, value: primitive::Value) -> NamedLiteral {
        NamedLiteral {
            name: name.into(),
            value: primitive_literal(value).into(),
            ..Default::default()
        }
    }

    fn inputs() -> ActionInputs {
        ActionInputs::new(Inputs {
            literals: vec![
                named("x", primitive::Value::Integer(3)),
                named("who", primitive::Value::StringValue("world".into())),
            ],
            ..Default::default()
        })
    }

    #[test]
    fn literals_are_found_by_name_and_kept_in_order() {
        let inputs = inputs();
        assert_eq!(inputs.len(), 2);
        assert_eq!(inputs.names().collect::<Vec<_>>(), ["x", "who"]);
        assert_eq!(render(inputs.get("who").unwrap()), "world");
        assert!(inputs.get("missing").is_none());
    }

    #[test]
    fn display_shows_one_name_and_value_per_line() {
        assert_eq!(inputs().to_string(), "x = 3\nwho = world");
        assert_eq!(ActionOutputs::default().to_string(), "");
        assert!(ActionOutputs::default().is_empty());
    }

    #[test]
    fn to_dict_is_the_proto3_json_of_the_wire_message() {
        let dict = inputs().to_dict().unwrap();
        assert_eq!(dict["literals"][0]["name"], "x");
        assert_eq!(
            dict["literals"][0]["value"]["scalar"]["primitive"]["integer"],
            "3"
        );
    }
}
