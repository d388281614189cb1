//! Values from text, as a command line gives them (`aerie run TASK -i n=3 -i xs='[1,2]'`), read
//! as the type the task declares for the input.
//!
//! Primitives are written plainly: `3`, `2.5`, `hello`, `true` (or `yes`, `1`, ...),
//! `2026-12-01T10:00:00Z`, and durations as `90s`, `1.5s`, `2m`, `1h30m`, `250ms` or bare
//! seconds. Lists and maps are JSON (`[1, 2]`, `{"a": 1.5}`), their items read the same way
//! (a duration or a timestamp as a JSON string). Files and directories are URIs. For an
//! `Optional` input, `none` (any case) or `null` is `None`.

use super::{Value, ValueError, describe_type};
use aerie_core::Timestamp;
use aerie_wire::flyteidl2::core::{
    LiteralType, SimpleType, blob_type::BlobDimensionality, literal_type,
};
use std::time::Duration;

/// `text` as a value of type `ty`.
pub fn parse(text: &str, ty: &LiteralType) -> Result<Value, ValueError> {
    let refused = |why: &str| ValueError(format!("{text:?} is not {}: {why}", describe_type(ty)));
    match &ty.r#type {
        Some(literal_type::Type::Simple(simple)) => match simple.as_known() {
            Some(simple) => parse_simple(text, simple).map_err(|why| refused(&why)),
            None => Err(refused("this client does not know the type")),
        },
        Some(literal_type::Type::EnumType(_)) => Ok(Value::String(text.to_owned())),
        Some(literal_type::Type::Blob(blob)) => {
            if !text.contains("://") {
                return Err(refused("give a URI, e.g. s3://bucket/key or file:///path"));
            }
            Ok(
                if blob.dimensionality.as_known() == Some(BlobDimensionality::MULTIPART) {
                    Value::Dir(text.to_owned())
                } else {
                    Value::File(text.to_owned())
                },
            )
        }
        Some(literal_type::Type::CollectionType(_) | literal_type::Type::MapValueType(_)) => {
            let json: serde_json::Value = serde_json::from_str(text)
                .map_err(|err| refused(&format!("expected JSON ({err})")))?;
            from_json(&json, ty)
        }
        Some(literal_type::Type::UnionType(union)) => {
            if is_none(text)
                && union.variants.iter().any(|variant| {
                    matches!(&variant.r#type, Some(literal_type::Type::Simple(simple))
                        if simple.as_known() == Some(SimpleType::NONE))
                })
            {
                return Ok(Value::None);
            }
            union
                .variants
                .iter()
                .find_map(|variant| parse(text, variant).ok())
                .ok_or_else(|| refused("no variant reads it"))
        }
        _ => Err(refused("this client cannot read that type from text")),
    }
}

/// A JSON value (an item of a list or map given as JSON) as a value of type `ty`.
pub fn from_json(json: &serde_json::Value, ty: &LiteralType) -> Result<Value, ValueError> {
    use serde_json::Value as Json;
    let refused = || ValueError(format!("{json} is not {}", describe_type(ty)));
    match (&ty.r#type, json) {
        (Some(literal_type::Type::CollectionType(item)), Json::Array(items)) => items
            .iter()
            .map(|json| from_json(json, item))
            .collect::<Result<_, _>>()
            .map(Value::List),
        (Some(literal_type::Type::MapValueType(item)), Json::Object(entries)) => entries
            .iter()
            .map(|(key, json)| from_json(json, item).map(|value| (key.clone(), value)))
            .collect::<Result<_, _>>()
            .map(Value::Map),
        (Some(literal_type::Type::UnionType(_)), Json::Null) => Ok(Value::None),
        (Some(literal_type::Type::UnionType(union)), _) => union
            .variants
            .iter()
            .find_map(|variant| from_json(json, variant).ok())
            .ok_or_else(refused),
        (Some(literal_type::Type::CollectionType(_) | literal_type::Type::MapValueType(_)), _) => {
            Err(refused())
        }
        (_, Json::String(text)) => parse(text, ty),
        (_, Json::Number(_) | Json::Bool(_)) => parse(&json.to_string(), ty),
        _ => Err(refused()),
    }
}

fn is_none(text: &str) -> bool {
    text.eq_ignore_ascii_case("none") || text == "null"
}

fn parse_simple(text: &str, simple: SimpleType) -> Result<Value, String> {
    let trimmed = text.trim();
    match simple {
        SimpleType::INTEGER => trimmed
            .parse()
            .map(Value::Int)
            .map_err(|_| "expected a whole number".to_owned()),
        SimpleType::FLOAT => trimmed
            .parse()
            .map(Value::Float)
            .map_err(|_| "expected a number".to_owned()),
        SimpleType::STRING => Ok(Value::String(text.to_owned())),
        SimpleType::BOOLEAN => match trimmed.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "y" | "t" => Ok(Value::Bool(true)),
            "false" | "0" | "no" | "n" | "f" => Ok(Value::Bool(false)),
            _ => Err("expected true or false".to_owned()),
        },
        SimpleType::DATETIME => Timestamp::parse_rfc3339(trimmed)
            .map(Value::Timestamp)
            .ok_or_else(|| "expected an RFC 3339 time, e.g. 2026-12-01T10:00:00Z".to_owned()),
        SimpleType::DURATION => parse_duration(trimmed).map(Value::Duration),
        SimpleType::NONE if is_none(trimmed) => Ok(Value::None),
        _ => Err("this client cannot read that type from text".to_owned()),
    }
}

/// `90s`, `1.5s`, `2m`, `1h30m`, `250ms`, `3d` or bare seconds (`90`, `1.5`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("expected a duration such as 90s, 1h30m or 250ms, not {text:?}");
    if let Ok(seconds) = text.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).map_err(|_| bad());
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let (number, after) = rest.split_at(number_len);
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let number: f64 = number.parse().map_err(|_| bad())?;
        let seconds_per_unit = match unit {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            _ => return Err(bad()),
        };
        total += Duration::try_from_secs_f64(number * seconds_per_unit).map_err(|_| bad())?;
        rest = after;
    }
    Ok(total)
}
