//! Renders a Flyte literal for people: primitives as themselves, anything else as compact JSON.
//!
//! Used by the `Display` of [`ActionInputs`](crate::ActionInputs) and
//! [`ActionOutputs`](crate::ActionOutputs) and by the CLI's tables. Integers, floats, strings
//! (line breaks escaped, so a rendering is always one line), booleans, datetimes (RFC 3339) and
//! durations (proto JSON, e.g. `1.5s`) print bare; a union prints its value; `None` prints as
//! `None`; collections, maps, blobs, structs and the rest print as the literal's compact proto3
//! JSON, so nothing is ever hidden.

use aerie_wire::flyteidl2::core::{Literal, literal, primitive, scalar};

/// A one-line, human-readable rendering of `literal`.
pub fn render(literal: &Literal) -> String {
    match &literal.value {
        Some(literal::Value::Scalar(scalar)) => match &scalar.value {
            Some(scalar::Value::Primitive(primitive)) => match &primitive.value {
                Some(value) => render_primitive(value),
                None => compact_json(literal),
            },
            Some(scalar::Value::Union(union)) => render(&union.value),
            Some(scalar::Value::NoneType(_)) => "None".to_owned(),
            _ => compact_json(literal),
        },
        _ => compact_json(literal),
    }
}

fn render_primitive(value: &primitive::Value) -> String {
    match value {
        primitive::Value::Integer(integer) => integer.to_string(),
        // Debug keeps the decimal point of whole floats (`2.0`, not `2`).
        primitive::Value::FloatValue(float) => format!("{float:?}"),
        primitive::Value::StringValue(string) => one_line(string),
        primitive::Value::Boolean(boolean) => boolean.to_string(),
        primitive::Value::Datetime(datetime) => json_string(&**datetime),
        primitive::Value::Duration(duration) => json_string(&**duration),
    }
}

/// `text` with line breaks and tabs written as `\\n`, `\\r` and `\\t`, so it stays on one line.
fn one_line(text: &str) -> String {
    text.replace('\n', "\\n")
        .replace('\r', "\\r")
        .replace('\t', "\\t")
}

/// The proto3 JSON form of a value whose JSON is a string (timestamps, durations), unquoted.
fn json_string(value: &impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(text)) => text,
        Ok(other) => other.to_string(),
        Err(err) => format!("<unrenderable: {err}>"),
    }
}

fn compact_json(literal: &Literal) -> String {
    serde_json::to_string(literal).unwrap_or_else(|err| format!("<unrenderable literal: {err}>"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use aerie_wire::flyteidl2::core::{LiteralCollection, Union};
    use buffa_types::google::protobuf::{Duration, Timestamp};

    pub(crate) use crate::value::{primitive_literal, scalar_literal};

    #[test]
    fn primitives_render_bare() {
        let cases = [
            (primitive::Value::Integer(-42), "-42"),
            (primitive::Value::FloatValue(2.0), "2.0"),
            (primitive::Value::FloatValue(0.25), "0.25"),
            (
                primitive::Value::StringValue("hello world".into()),
                "hello world",
            ),
            (
                primitive::Value::StringValue("two\nlines\tand a tab".into()),
                "two\\nlines\\tand a tab",
            ),
            (primitive::Value::Boolean(true), "true"),
            (
                primitive::Value::Datetime(Box::new(Timestamp::from_unix(
                    1_700_000_000,
                    500_000_000,
                ))),
                "2023-11-14T22:13:20.500Z",
            ),
            (
                primitive::Value::Duration(Box::new(Duration::from_secs_nanos(90, 0))),
                "90s",
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(render(&primitive_literal(value)), expected);
        }
    }

    #[test]
    fn unions_render_their_value_and_none_reads_as_none() {
        let some = scalar_literal(scalar::Value::Union(Box::new(Union {
            value: primitive_literal(primitive::Value::Integer(7)).into(),
            ..Default::default()
        })));
        assert_eq!(render(&some), "7");
        let none = scalar_literal(scalar::Value::NoneType(Box::default()));
        assert_eq!(render(&none), "None");
    }

    #[test]
    fn everything_else_falls_back_to_compact_json() {
        let collection = Literal {
            value: Some(literal::Value::Collection(Box::new(LiteralCollection {
                literals: vec![
                    primitive_literal(primitive::Value::Integer(1)),
                    primitive_literal(primitive::Value::Integer(2)),
                ],
                ..Default::default()
            }))),
            ..Default::default()
        };
        let rendered = render(&collection);
        assert!(rendered.starts_with("{\"collection\":"), "{rendered}");
        assert!(!rendered.contains('\n'), "{rendered}");
        assert_eq!(render(&Literal::default()), "{}");
    }
}
