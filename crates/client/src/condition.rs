//! Conditions (`flyte.new_condition`): the type of value a paused condition takes, parsing a
//! value for it from text as the `flyte signal` CLI does, and the value sent to signal it
//! (RunService/SignalEvent, through [`crate::ActionDetails::signal`]).

use aerie_wire::flyteidl2::core::{Literal, SimpleType, literal, primitive, scalar};
use aerie_wire::flyteidl2::workflow::event_payload;
use std::fmt;

/// The type of value a condition declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// `bool`.
    Bool,
    /// `int`.
    Int,
    /// `float`.
    Float,
    /// `str`.
    String,
}

impl ValueType {
    /// The type a wire `SimpleType` names, if a condition may declare it.
    pub fn from_wire(simple: SimpleType) -> Option<Self> {
        match simple {
            SimpleType::BOOLEAN => Some(Self::Bool),
            SimpleType::INTEGER => Some(Self::Int),
            SimpleType::FLOAT => Some(Self::Float),
            SimpleType::STRING => Some(Self::String),
            _ => None,
        }
    }

    /// `raw` as a value of this type: `true/1/yes/y/t` and `false/0/no/n/f` (any case) for a
    /// boolean, a decimal integer, a float, or the text itself.
    pub fn parse(self, raw: &str) -> Result<SignalValue, String> {
        let refused = || format!("{raw:?} is not a {self} value");
        match self {
            Self::Bool => match raw.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "y" | "t" => Ok(SignalValue::Bool(true)),
                "false" | "0" | "no" | "n" | "f" => Ok(SignalValue::Bool(false)),
                _ => Err(refused()),
            },
            Self::Int => raw
                .trim()
                .parse()
                .map(SignalValue::Int)
                .map_err(|_| refused()),
            Self::Float => raw
                .trim()
                .parse()
                .map(SignalValue::Float)
                .map_err(|_| refused()),
            Self::String => Ok(SignalValue::String(raw.to_owned())),
        }
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Bool => "BOOLEAN",
            Self::Int => "INTEGER",
            Self::Float => "FLOAT",
            Self::String => "STRING",
        })
    }
}

/// A value to signal a condition with.
#[derive(Debug, Clone, PartialEq)]
pub enum SignalValue {
    /// A boolean (an approval, say).
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    String(String),
}

impl SignalValue {
    /// `raw` for a condition that declares no type: an integer, a float or a boolean word when
    /// it reads as one (in that order, so `1` is an integer), the text otherwise.
    pub fn infer(raw: &str) -> Self {
        [ValueType::Int, ValueType::Float, ValueType::Bool]
            .into_iter()
            .find_map(|value_type| value_type.parse(raw).ok())
            .unwrap_or_else(|| Self::String(raw.to_owned()))
    }

    /// The value a literal holds, if it is one of the four a condition takes.
    pub fn from_literal(value: &Literal) -> Option<Self> {
        let Some(literal::Value::Scalar(scalar)) = &value.value else {
            return None;
        };
        let Some(scalar::Value::Primitive(primitive)) = &scalar.value else {
            return None;
        };
        Some(match primitive.value.as_ref()? {
            primitive::Value::Boolean(value) => Self::Bool(*value),
            primitive::Value::Integer(value) => Self::Int(*value),
            primitive::Value::FloatValue(value) => Self::Float(*value),
            primitive::Value::StringValue(value) => Self::String(value.clone()),
            _ => return None,
        })
    }

    /// The wire payload.
    pub(crate) fn to_wire(&self) -> event_payload::Value {
        match self {
            Self::Bool(value) => event_payload::Value::BoolValue(*value),
            Self::Int(value) => event_payload::Value::IntValue(*value),
            Self::Float(value) => event_payload::Value::FloatValue(*value),
            Self::String(value) => event_payload::Value::StringValue(value.clone()),
        }
    }
}

impl fmt::Display for SignalValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bool(value) => write!(f, "{value}"),
            Self::Int(value) => write!(f, "{value}"),
            Self::Float(value) => write!(f, "{value:?}"),
            Self::String(value) => write!(f, "{value:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_parses_as_the_declared_type_or_is_refused_naming_it() {
        assert_eq!(ValueType::Bool.parse("Yes"), Ok(SignalValue::Bool(true)));
        assert_eq!(ValueType::Bool.parse("f"), Ok(SignalValue::Bool(false)));
        assert_eq!(ValueType::Int.parse(" 42 "), Ok(SignalValue::Int(42)));
        assert_eq!(ValueType::Float.parse("0.5"), Ok(SignalValue::Float(0.5)));
        assert_eq!(
            ValueType::String.parse(" as is "),
            Ok(SignalValue::String(" as is ".into()))
        );
        let refused = ValueType::Bool.parse("maybe").unwrap_err();
        assert!(refused.contains("BOOLEAN"), "{refused}");
        assert!(ValueType::Int.parse("4.5").is_err());
    }

    #[test]
    fn an_untyped_condition_takes_what_the_text_reads_as() {
        assert_eq!(SignalValue::infer("true"), SignalValue::Bool(true));
        assert_eq!(SignalValue::infer("1"), SignalValue::Int(1));
        assert_eq!(SignalValue::infer("2.5"), SignalValue::Float(2.5));
        assert_eq!(
            SignalValue::infer("blue"),
            SignalValue::String("blue".into())
        );
    }
}
