use super::*;
use aerie_wire::flyteidl2::core::{EnumType, UnionType};

fn simple(simple: SimpleType) -> LiteralType {
    LiteralType {
        r#type: Some(literal_type::Type::Simple(simple.into())),
        ..Default::default()
    }
}

fn list_of(item: LiteralType) -> LiteralType {
    LiteralType {
        r#type: Some(literal_type::Type::CollectionType(Box::new(item))),
        ..Default::default()
    }
}

fn map_of(item: LiteralType) -> LiteralType {
    LiteralType {
        r#type: Some(literal_type::Type::MapValueType(Box::new(item))),
        ..Default::default()
    }
}

fn blob(dimensionality: BlobDimensionality) -> LiteralType {
    LiteralType {
        r#type: Some(literal_type::Type::Blob(Box::new(BlobType {
            dimensionality: dimensionality.into(),
            ..Default::default()
        }))),
        ..Default::default()
    }
}

fn optional(item: LiteralType) -> LiteralType {
    LiteralType {
        r#type: Some(literal_type::Type::UnionType(Box::new(UnionType {
            variants: vec![item, simple(SimpleType::NONE)],
            ..Default::default()
        }))),
        ..Default::default()
    }
}

/// Encodes `value` as `ty` and reads it back.
fn round_trip(value: Value, ty: &LiteralType) -> Value {
    Value::from_literal(&value.to_literal(ty).unwrap())
}

#[test]
fn primitives_round_trip_through_their_declared_types() {
    let now = Timestamp::parse_rfc3339("2026-12-01T10:00:00.123456Z").unwrap();
    for (value, ty) in [
        (Value::Int(-3), SimpleType::INTEGER),
        (Value::Float(2.5), SimpleType::FLOAT),
        (Value::from("héllo"), SimpleType::STRING),
        (Value::Bool(true), SimpleType::BOOLEAN),
        (Value::Timestamp(now), SimpleType::DATETIME),
        (
            Value::Duration(Duration::from_millis(1500)),
            SimpleType::DURATION,
        ),
    ] {
        assert_eq!(round_trip(value.clone(), &simple(ty)), value);
    }
}

#[test]
fn an_integer_for_a_float_becomes_a_float_but_not_the_other_way() {
    assert_eq!(
        round_trip(Value::Int(2), &simple(SimpleType::FLOAT)),
        Value::Float(2.0)
    );
    let err = Value::Float(2.5)
        .to_literal(&simple(SimpleType::INTEGER))
        .unwrap_err();
    assert_eq!(err.0, "a float does not fit type INTEGER");
}

#[test]
fn lists_and_maps_encode_each_item_and_name_the_one_that_does_not_fit() {
    let ints = list_of(simple(SimpleType::INTEGER));
    assert_eq!(
        round_trip(vec![1, 2, 3].into(), &ints),
        Value::List(vec![Value::Int(1), Value::Int(2), Value::Int(3)])
    );
    let scores: BTreeMap<&str, f64> = [("a", 1.5), ("b", 2.0)].into();
    let floats = map_of(simple(SimpleType::FLOAT));
    assert_eq!(
        round_trip(scores.into(), &floats),
        Value::Map(
            [
                ("a".to_owned(), Value::Float(1.5)),
                ("b".to_owned(), Value::Float(2.0))
            ]
            .into()
        )
    );
    let err = Value::from(vec![Value::Int(1), Value::from("x")])
        .to_literal(&ints)
        .unwrap_err();
    assert_eq!(err.0, "item 1: a string does not fit type INTEGER");
}

#[test]
fn files_and_dirs_are_blobs_of_their_dimensionality() {
    let file = Value::File("s3://bucket/data.csv".into());
    let literal = file.to_literal(&blob(BlobDimensionality::SINGLE)).unwrap();
    assert_eq!(Value::from_literal(&literal), file);
    let dir = Value::Dir("s3://bucket/dir".into());
    assert_eq!(
        round_trip(dir.clone(), &blob(BlobDimensionality::MULTIPART)),
        dir
    );
    assert!(
        file.to_literal(&blob(BlobDimensionality::MULTIPART))
            .is_err()
    );
}

#[test]
fn an_optional_takes_none_or_its_type_wrapped_in_a_union() {
    let ty = optional(simple(SimpleType::INTEGER));
    let some = Value::Int(4).to_literal(&ty).unwrap();
    let Some(literal::Value::Scalar(scalar)) = &some.value else {
        panic!("not a scalar: {some:?}");
    };
    assert!(matches!(scalar.value, Some(scalar::Value::Union(_))));
    assert_eq!(Value::from_literal(&some), Value::Int(4));
    assert_eq!(round_trip(Value::None, &ty), Value::None);
    assert_eq!(round_trip(Option::<i64>::None.into(), &ty), Value::None);
}

#[test]
fn an_enum_takes_only_its_values() {
    let ty = LiteralType {
        r#type: Some(literal_type::Type::EnumType(Box::new(EnumType {
            values: vec!["red".into(), "green".into()],
            ..Default::default()
        }))),
        ..Default::default()
    };
    assert_eq!(round_trip("red".into(), &ty), Value::from("red"));
    assert_eq!(
        Value::from("blue").to_literal(&ty).unwrap_err().0,
        "\"blue\" is not one of red, green"
    );
}

#[test]
fn values_take_apart_into_rust_types() {
    let value = Value::from(vec![vec![1, 2], vec![3]]);
    assert_eq!(
        value.into_typed::<Vec<Vec<i64>>>().unwrap(),
        [vec![1, 2], vec![3]]
    );
    assert_eq!(Value::Int(3).into_typed::<f64>().unwrap(), 3.0);
    assert_eq!(Value::None.into_typed::<Option<i64>>().unwrap(), None);
    let err = Value::from("x").into_typed::<i64>().unwrap_err();
    assert_eq!(err.0, "expected an integer, got a string");
}

#[test]
fn text_is_read_as_the_declared_type() {
    let parse = |raw: &str, ty: &LiteralType| text::parse(raw, ty).unwrap();
    assert_eq!(parse("42", &simple(SimpleType::INTEGER)), Value::Int(42));
    assert_eq!(parse("42", &simple(SimpleType::FLOAT)), Value::Float(42.0));
    assert_eq!(parse("42", &simple(SimpleType::STRING)), Value::from("42"));
    assert_eq!(
        parse("yes", &simple(SimpleType::BOOLEAN)),
        Value::Bool(true)
    );
    assert_eq!(
        parse("1h30m", &simple(SimpleType::DURATION)),
        Value::Duration(Duration::from_secs(5400))
    );
    assert_eq!(
        parse("250ms", &simple(SimpleType::DURATION)),
        Value::Duration(Duration::from_millis(250))
    );
    assert_eq!(
        parse("2026-12-01T10:00:00Z", &simple(SimpleType::DATETIME)),
        Value::Timestamp(Timestamp::parse_rfc3339("2026-12-01T10:00:00Z").unwrap())
    );
    assert_eq!(
        parse("[1, 2]", &list_of(simple(SimpleType::INTEGER))),
        Value::from(vec![1, 2])
    );
    assert_eq!(
        parse(r#"{"a": "90s"}"#, &map_of(simple(SimpleType::DURATION))),
        Value::Map([("a".to_owned(), Value::Duration(Duration::from_secs(90)))].into())
    );
    assert_eq!(
        parse("None", &optional(simple(SimpleType::INTEGER))),
        Value::None
    );
    assert_eq!(
        parse("7", &optional(simple(SimpleType::INTEGER))),
        Value::Int(7)
    );
    assert_eq!(
        parse("s3://b/k", &blob(BlobDimensionality::SINGLE)),
        Value::File("s3://b/k".into())
    );
}

#[test]
fn text_that_does_not_read_as_the_type_says_why() {
    let err = text::parse("seven", &simple(SimpleType::INTEGER)).unwrap_err();
    assert_eq!(err.0, "\"seven\" is not INTEGER: expected a whole number");
    assert!(text::parse("[1, \"x\"]", &list_of(simple(SimpleType::INTEGER))).is_err());
    assert!(text::parse("data.csv", &blob(BlobDimensionality::SINGLE)).is_err());
    assert!(text::parse("5 parsecs", &simple(SimpleType::DURATION)).is_err());
}
