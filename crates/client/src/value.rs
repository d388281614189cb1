//! [`Value`]: a task input or output as a Rust value, and the way between it and a Flyte literal.
//!
//! The Flyte SDK's type engine turns `int`, `float`, `str`, `bool`, `datetime`, `timedelta`,
//! `list[T]`, `dict[str, T]`, `File`, `Dir` and `Optional[T]` into literals of a declared
//! [`LiteralType`]. [`Value::to_literal`] does the same from Rust, guided by that type (an
//! integer given for a `float` input becomes a float; `None` for an `Optional` becomes the union's
//! none variant), and refuses a value the type cannot hold with a message naming both.
//! [`Value::from_literal`] reads any literal back; what has no Rust form here (dataframes,
//! dataclasses, pickles) stays a [`Value::Literal`], so nothing is lost. [`FromValue`] takes a
//! value apart into a plain Rust type (`i64`, `Vec<String>`, `BTreeMap<String, f64>`, ...).
//! Parsing values from text, as a command line gives them, is [`text`]'s.

pub mod text;

use aerie_core::Timestamp;
use aerie_wire::flyteidl2::core::{
    Blob, BlobMetadata, BlobType, Literal, LiteralCollection, LiteralMap, LiteralType, Primitive,
    Scalar, SimpleType, Union, blob_type::BlobDimensionality, literal, literal_type, primitive,
    scalar,
};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::Duration;

/// A task input or output as a Rust value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Python's `None` (an `Optional` left empty).
    None,
    /// An `int`.
    Int(i64),
    /// A `float`.
    Float(f64),
    /// A `str` (or an enum's value).
    String(String),
    /// A `bool`.
    Bool(bool),
    /// A `timedelta` (negative ones read back as [`Value::Literal`]).
    Duration(Duration),
    /// A `datetime`, to the microsecond.
    Timestamp(Timestamp),
    /// A `list[T]`.
    List(Vec<Value>),
    /// A `dict[str, T]`, by key.
    Map(BTreeMap<String, Value>),
    /// A `File`, by URI (`s3://...`, `file://...`).
    File(String),
    /// A `Dir`, by URI.
    Dir(String),
    /// Any other literal, as the wire carries it.
    Literal(Box<Literal>),
}

/// Why a value does not fit the type asked of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(pub String);

impl Value {
    /// The literal of this value as type `ty` declares it, as the SDK's type engine builds it.
    pub fn to_literal(&self, ty: &LiteralType) -> Result<Literal, ValueError> {
        if let Value::Literal(literal) = self {
            return Ok((**literal).clone());
        }
        let refused = || {
            ValueError(format!(
                "{} does not fit type {}",
                self.kind(),
                describe_type(ty)
            ))
        };
        let Some(kind) = &ty.r#type else {
            return Err(refused());
        };
        match kind {
            literal_type::Type::Simple(simple) => {
                let simple = simple.as_known().ok_or_else(refused)?;
                self.simple_literal(simple).ok_or_else(refused)
            }
            literal_type::Type::EnumType(enum_type) => match self {
                Value::String(text) if enum_type.values.iter().any(|value| value == text) => Ok(
                    primitive_literal(primitive::Value::StringValue(text.clone())),
                ),
                Value::String(text) => Err(ValueError(format!(
                    "{text:?} is not one of {}",
                    enum_type.values.join(", ")
                ))),
                _ => Err(refused()),
            },
            literal_type::Type::CollectionType(item) => match self {
                Value::List(items) => {
                    let literals = items
                        .iter()
                        .enumerate()
                        .map(|(index, value)| {
                            value
                                .to_literal(item)
                                .map_err(|err| ValueError(format!("item {index}: {}", err.0)))
                        })
                        .collect::<Result<_, _>>()?;
                    Ok(Literal {
                        value: Some(literal::Value::Collection(Box::new(LiteralCollection {
                            literals,
                            ..Default::default()
                        }))),
                        ..Default::default()
                    })
                }
                _ => Err(refused()),
            },
            literal_type::Type::MapValueType(item) => match self {
                Value::Map(entries) => {
                    let literals = entries
                        .iter()
                        .map(|(key, value)| {
                            value
                                .to_literal(item)
                                .map(|literal| (key.clone(), literal))
                                .map_err(|err| ValueError(format!("key {key:?}: {}", err.0)))
                        })
                        .collect::<Result<_, _>>()?;
                    Ok(Literal {
                        value: Some(literal::Value::Map(Box::new(LiteralMap {
                            literals,
                            ..Default::default()
                        }))),
                        ..Default::default()
                    })
                }
                _ => Err(refused()),
            },
            literal_type::Type::Blob(blob_type) => {
                let multipart =
                    blob_type.dimensionality.as_known() == Some(BlobDimensionality::MULTIPART);
                match (self, multipart) {
                    (Value::File(uri), false) | (Value::Dir(uri), true) => {
                        Ok(blob_literal(uri, (**blob_type).clone()))
                    }
                    _ => Err(refused()),
                }
            }
            literal_type::Type::UnionType(union) => {
                let variant = union
                    .variants
                    .iter()
                    .find_map(|variant| {
                        self.to_literal(variant)
                            .ok()
                            .map(|literal| (variant, literal))
                    })
                    .ok_or_else(refused)?;
                Ok(scalar_literal(scalar::Value::Union(Box::new(Union {
                    value: variant.1.into(),
                    r#type: variant.0.clone().into(),
                    ..Default::default()
                }))))
            }
            _ => Err(refused()),
        }
    }

    /// This value as a literal of simple type `simple`, if it can be one.
    fn simple_literal(&self, simple: SimpleType) -> Option<Literal> {
        let primitive = match (simple, self) {
            (SimpleType::NONE, Value::None) => {
                return Some(scalar_literal(scalar::Value::NoneType(Box::default())));
            }
            (SimpleType::INTEGER, Value::Int(value)) => primitive::Value::Integer(*value),
            (SimpleType::FLOAT, Value::Float(value)) => primitive::Value::FloatValue(*value),
            (SimpleType::FLOAT, Value::Int(value)) => primitive::Value::FloatValue(*value as f64),
            (SimpleType::STRING, Value::String(value)) => {
                primitive::Value::StringValue(value.clone())
            }
            (SimpleType::BOOLEAN, Value::Bool(value)) => primitive::Value::Boolean(*value),
            (SimpleType::DATETIME, Value::Timestamp(value)) => {
                primitive::Value::Datetime(Box::new(aerie_convert::wire_timestamp(*value)))
            }
            (SimpleType::DURATION, Value::Duration(value)) => {
                primitive::Value::Duration(Box::new(buffa_types::google::protobuf::Duration {
                    seconds: i64::try_from(value.as_secs()).ok()?,
                    nanos: value.subsec_nanos() as i32,
                    ..Default::default()
                }))
            }
            _ => return None,
        };
        Some(primitive_literal(primitive))
    }

    /// The value a literal holds; a union reads as its value, anything without a Rust form here
    /// as [`Value::Literal`].
    pub fn from_literal(literal: &Literal) -> Self {
        let other = || Value::Literal(Box::new(literal.clone()));
        match &literal.value {
            Some(literal::Value::Scalar(scalar)) => match &scalar.value {
                Some(scalar::Value::Primitive(primitive)) => match &primitive.value {
                    Some(primitive::Value::Integer(value)) => Value::Int(*value),
                    Some(primitive::Value::FloatValue(value)) => Value::Float(*value),
                    Some(primitive::Value::StringValue(value)) => Value::String(value.clone()),
                    Some(primitive::Value::Boolean(value)) => Value::Bool(*value),
                    Some(primitive::Value::Datetime(value)) => {
                        Value::Timestamp(aerie_convert::timestamp(value))
                    }
                    Some(primitive::Value::Duration(value)) => {
                        match (u64::try_from(value.seconds), u32::try_from(value.nanos)) {
                            (Ok(seconds), Ok(nanos)) => {
                                Value::Duration(Duration::new(seconds, nanos))
                            }
                            _ => other(),
                        }
                    }
                    None => other(),
                },
                Some(scalar::Value::NoneType(_)) => Value::None,
                Some(scalar::Value::Union(union)) => Value::from_literal(&union.value),
                Some(scalar::Value::Blob(blob)) => {
                    let multipart = blob.metadata.r#type.dimensionality.as_known()
                        == Some(BlobDimensionality::MULTIPART);
                    if multipart {
                        Value::Dir(blob.uri.clone())
                    } else {
                        Value::File(blob.uri.clone())
                    }
                }
                _ => other(),
            },
            Some(literal::Value::Collection(collection)) => Value::List(
                collection
                    .literals
                    .iter()
                    .map(Value::from_literal)
                    .collect(),
            ),
            Some(literal::Value::Map(map)) => Value::Map(
                map.literals
                    .iter()
                    .map(|(key, literal)| (key.clone(), Value::from_literal(literal)))
                    .collect(),
            ),
            _ => other(),
        }
    }

    /// What kind of value this is, for messages: `an integer`, `a list`, ...
    pub fn kind(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a float",
            Value::String(_) => "a string",
            Value::Bool(_) => "a boolean",
            Value::Duration(_) => "a duration",
            Value::Timestamp(_) => "a timestamp",
            Value::List(_) => "a list",
            Value::Map(_) => "a map",
            Value::File(_) => "a file",
            Value::Dir(_) => "a directory",
            Value::Literal(_) => "a literal",
        }
    }

    /// This value as a plain Rust type (see [`FromValue`]).
    pub fn into_typed<T: FromValue>(self) -> Result<T, ValueError> {
        T::from_value(self)
    }
}

impl fmt::Display for Value {
    /// The value as [`crate::literal::render`] shows literals: bare primitives, JSON for the rest.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::None => f.write_str("None"),
            Value::Int(value) => write!(f, "{value}"),
            Value::Float(value) => write!(f, "{value:?}"),
            Value::String(value) => f.write_str(value),
            Value::Bool(value) => write!(f, "{value}"),
            Value::Duration(value) => write!(f, "{}s", value.as_secs_f64()),
            Value::Timestamp(value) => f.write_str(&value.to_rfc3339()),
            Value::File(uri) | Value::Dir(uri) => f.write_str(uri),
            Value::List(items) => {
                f.write_str("[")?;
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Value::Map(entries) => {
                f.write_str("{")?;
                for (index, (key, item)) in entries.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{key}: {item}")?;
                }
                f.write_str("}")
            }
            Value::Literal(literal) => f.write_str(&crate::literal::render(literal)),
        }
    }
}

/// `type` in words for messages: `INTEGER`, `list of FLOAT`, `File`, `one of (INTEGER, NONE)`.
pub fn describe_type(ty: &LiteralType) -> String {
    match &ty.r#type {
        Some(literal_type::Type::Simple(simple)) => match simple.as_known() {
            Some(simple) => format!("{simple:?}"),
            None => format!("simple type {}", simple.to_i32()),
        },
        Some(literal_type::Type::CollectionType(item)) => {
            format!("list of {}", describe_type(item))
        }
        Some(literal_type::Type::MapValueType(item)) => format!("map of {}", describe_type(item)),
        Some(literal_type::Type::Blob(blob)) => {
            if blob.dimensionality.as_known() == Some(BlobDimensionality::MULTIPART) {
                "Dir".to_owned()
            } else {
                "File".to_owned()
            }
        }
        Some(literal_type::Type::EnumType(values)) => {
            format!("one of the strings ({})", values.values.join(", "))
        }
        Some(literal_type::Type::UnionType(union)) => format!(
            "one of ({})",
            union
                .variants
                .iter()
                .map(describe_type)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Some(_) => "a type this client cannot build (pass a Value::Literal)".to_owned(),
        None => "no type".to_owned(),
    }
}

/// A literal holding one primitive value.
pub(crate) fn primitive_literal(value: primitive::Value) -> Literal {
    scalar_literal(scalar::Value::Primitive(Box::new(Primitive {
        value: Some(value),
        ..Default::default()
    })))
}

/// A literal holding one scalar.
pub(crate) fn scalar_literal(value: scalar::Value) -> Literal {
    Literal {
        value: Some(literal::Value::Scalar(Box::new(Scalar {
            value: Some(value),
            ..Default::default()
        }))),
        ..Default::default()
    }
}

fn blob_literal(uri: &str, blob_type: BlobType) -> Literal {
    scalar_literal(scalar::Value::Blob(Box::new(Blob {
        metadata: BlobMetadata {
            r#type: blob_type.into(),
            ..Default::default()
        }
        .into(),
        uri: uri.to_owned(),
        ..Default::default()
    })))
}

macro_rules! value_from {
    ($($source:ty => $variant:ident),* $(,)?) => {$(
        impl From<$source> for Value {
            fn from(value: $source) -> Self {
                Value::$variant(value.into())
            }
        }
    )*};
}

value_from! {
    i64 => Int, i32 => Int, u32 => Int, f64 => Float, f32 => Float, bool => Bool,
    String => String, &str => String, Duration => Duration, Timestamp => Timestamp,
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(items: Vec<T>) -> Self {
        Value::List(items.into_iter().map(Into::into).collect())
    }
}

impl<K: Into<String>, T: Into<Value>> From<BTreeMap<K, T>> for Value {
    fn from(entries: BTreeMap<K, T>) -> Self {
        Value::Map(
            entries
                .into_iter()
                .map(|(key, value)| (key.into(), value.into()))
                .collect(),
        )
    }
}

impl<K: Into<String>, T: Into<Value>> From<HashMap<K, T>> for Value {
    fn from(entries: HashMap<K, T>) -> Self {
        Value::Map(
            entries
                .into_iter()
                .map(|(key, value)| (key.into(), value.into()))
                .collect(),
        )
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Self {
        value.map_or(Value::None, Into::into)
    }
}

/// A Rust type a [`Value`] can be taken apart into.
pub trait FromValue: Sized {
    /// `value` as this type, or why not.
    fn from_value(value: Value) -> Result<Self, ValueError>;
}

fn expected(what: &str, value: &Value) -> ValueError {
    ValueError(format!("expected {what}, got {}", value.kind()))
}

macro_rules! from_value {
    ($($target:ty => $what:literal, $($pattern:pat => $result:expr),+ ;)*) => {$(
        impl FromValue for $target {
            fn from_value(value: Value) -> Result<Self, ValueError> {
                match value {
                    $($pattern => Ok($result),)+
                    other => Err(expected($what, &other)),
                }
            }
        }
    )*};
}

impl FromValue for Value {
    fn from_value(value: Value) -> Result<Self, ValueError> {
        Ok(value)
    }
}

from_value! {
    i64 => "an integer", Value::Int(value) => value;
    f64 => "a float", Value::Float(value) => value, Value::Int(value) => value as f64;
    bool => "a boolean", Value::Bool(value) => value;
    String => "a string, file or directory",
        Value::String(value) => value, Value::File(value) => value, Value::Dir(value) => value;
    Duration => "a duration", Value::Duration(value) => value;
    Timestamp => "a timestamp", Value::Timestamp(value) => value;
}

impl<T: FromValue> FromValue for Vec<T> {
    fn from_value(value: Value) -> Result<Self, ValueError> {
        match value {
            Value::List(items) => items.into_iter().map(T::from_value).collect(),
            other => Err(expected("a list", &other)),
        }
    }
}

impl<T: FromValue> FromValue for BTreeMap<String, T> {
    fn from_value(value: Value) -> Result<Self, ValueError> {
        match value {
            Value::Map(entries) => entries
                .into_iter()
                .map(|(key, value)| T::from_value(value).map(|value| (key, value)))
                .collect(),
            other => Err(expected("a map", &other)),
        }
    }
}

impl<T: FromValue> FromValue for HashMap<String, T> {
    fn from_value(value: Value) -> Result<Self, ValueError> {
        BTreeMap::<String, T>::from_value(value).map(|map| map.into_iter().collect())
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: Value) -> Result<Self, ValueError> {
        match value {
            Value::None => Ok(None),
            value => T::from_value(value).map(Some),
        }
    }
}

#[cfg(test)]
mod tests;
