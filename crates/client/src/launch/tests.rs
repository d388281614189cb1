use super::*;
use aerie_wire::flyteidl2::core::__buffa::oneof::parameter;
use aerie_wire::flyteidl2::core::{
    LiteralType, Parameter, SimpleType, TaskTemplate, TypedInterface, Variable, VariableEntry,
    VariableMap, literal_type,
};
use aerie_wire::flyteidl2::task::NamedParameter;

fn int_type() -> LiteralType {
    LiteralType {
        r#type: Some(literal_type::Type::Simple(SimpleType::INTEGER.into())),
        ..Default::default()
    }
}

/// A task `env.t(x: int, y: int = 5)`.
fn spec() -> TaskSpec {
    let variable = |name: &str| VariableEntry {
        key: name.into(),
        value: Variable {
            r#type: int_type().into(),
            ..Default::default()
        }
        .into(),
        ..Default::default()
    };
    let mut template = TaskTemplate::default();
    template.id.get_or_insert_default().name = "env.t".into();
    template.interface = TypedInterface {
        inputs: VariableMap {
            variables: vec![variable("x"), variable("y")],
            ..Default::default()
        }
        .into(),
        ..Default::default()
    }
    .into();
    let five = Value::Int(5).to_literal(&int_type()).unwrap();
    TaskSpec {
        task_template: template.into(),
        default_inputs: vec![NamedParameter {
            name: "y".into(),
            parameter: Parameter {
                behavior: Some(parameter::Behavior::Default(Box::new(five))),
                ..Default::default()
            }
            .into(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn values(inputs: &Inputs) -> Vec<(String, Value)> {
    inputs
        .literals
        .iter()
        .map(|named| (named.name.clone(), Value::from_literal(&named.value)))
        .collect()
}

fn given(pairs: &[(&str, Given)]) -> Vec<(String, Given)> {
    pairs
        .iter()
        .map(|(name, given)| ((*name).to_owned(), given.clone()))
        .collect()
}

#[test]
fn every_declared_input_is_sent_in_order_with_defaults_filled_in() {
    let inputs =
        encode_inputs(&spec(), &given(&[("x", Given::Value(Value::Int(1)))]), None).unwrap();
    assert_eq!(
        values(&inputs),
        [
            ("x".to_owned(), Value::Int(1)),
            ("y".to_owned(), Value::Int(5))
        ]
    );
    let inputs = encode_inputs(
        &spec(),
        &given(&[
            ("y", Given::Text("9".into())),
            ("x", Given::Value(Value::Int(2))),
        ]),
        None,
    )
    .unwrap();
    assert_eq!(
        values(&inputs),
        [
            ("x".to_owned(), Value::Int(2)),
            ("y".to_owned(), Value::Int(9))
        ]
    );
}

#[test]
fn a_rerun_keeps_the_source_inputs_it_is_not_given() {
    let source = encode_inputs(
        &spec(),
        &given(&[
            ("x", Given::Value(Value::Int(3))),
            ("y", Given::Value(Value::Int(4))),
        ]),
        None,
    )
    .unwrap();
    let rerun = encode_inputs(
        &spec(),
        &given(&[("y", Given::Value(Value::Int(8)))]),
        Some(&source),
    )
    .unwrap();
    assert_eq!(
        values(&rerun),
        [
            ("x".to_owned(), Value::Int(3)),
            ("y".to_owned(), Value::Int(8))
        ]
    );
}

#[test]
fn unknown_missing_and_mistyped_inputs_are_refused_by_name() {
    let message = |result: Result<Inputs>| result.unwrap_err().to_string();
    assert_eq!(
        message(encode_inputs(
            &spec(),
            &given(&[("z", Given::Value(Value::Int(1)))]),
            None
        )),
        "input \"z\": task env.t has no such input; its inputs are x, y"
    );
    assert_eq!(
        message(encode_inputs(&spec(), &[], None)),
        "input \"x\": is required (INTEGER)"
    );
    assert_eq!(
        message(encode_inputs(
            &spec(),
            &given(&[("x", Given::Text("three".into()))]),
            None
        )),
        "input \"x\": \"three\" is not INTEGER: expected a whole number"
    );
}

#[tokio::test]
async fn settings_that_do_not_apply_to_the_target_are_refused_before_any_call() {
    // Nothing listens on port 1: a call would fail as unavailable, not as a bad launch.
    let client = Client::connect("localhost:1").unwrap();
    for (launch, expected) in [
        (
            Launch::trigger("env.t", "nightly").version("v1"),
            "a version applies to a task launch only",
        ),
        (
            Launch::rerun("r1".parse().unwrap()).force_rerun("a1"),
            "force_rerun applies to a recovery only (Launch::recover)",
        ),
        (
            Launch::trigger("env.t", "nightly").input("x", 1),
            "a run of trigger nightly takes the inputs the trigger was deployed with",
        ),
    ] {
        let err = launch.start(&client).await.unwrap_err();
        assert!(matches!(err, Error::InvalidLaunch(_)), "{err:?}");
        assert_eq!(err.to_string(), expected);
    }
}

#[test]
fn declared_inputs_say_which_are_required_and_what_the_defaults_are() {
    let spec = spec();
    let inputs = declared_inputs(&spec);
    let shown: Vec<(&str, bool, Option<Value>)> = inputs
        .iter()
        .map(|input| (input.name, input.is_required(), input.default_value()))
        .collect();
    assert_eq!(
        shown,
        [("x", true, None), ("y", false, Some(Value::Int(5)))]
    );
    assert_eq!(inputs[0].ty, &int_type());
}
