//! The task cache's key of a root action, computed as the SDK computes a child's
//! (`flyte/_internal/runtime/convert.py`, `generate_cache_key_hash`): base64 of the SHA-256 of
//! the inputs hash, the task name, the interface hash and the cache version, one after the
//! other. A run and the same call made as a child therefore share the cache entry.
//!
//! The hashes need protobuf's deterministic encoding (fields in number order, map entries
//! sorted by key), which the generated messages do not give (their maps are hash maps): each
//! message is re-encoded through a descriptor-driven dynamic message, which sorts.
//!
//! One difference is left: the SDK re-encodes a msgpack literal (dicts, dataclasses) with its
//! map keys sorted before hashing it; aerie hashes it as sent. A root run's key is stable either
//! way; it matches the child's only when the literal's keys were already in sorted order.

use aerie_wire::flyteidl2::core::__buffa::oneof::literal;
use aerie_wire::flyteidl2::core::{Literal, TypedInterface};
use aerie_wire::flyteidl2::task::Inputs;
use base64::Engine;
use buffa::Message;
use buffa_descriptor::{DescriptorPool, DynamicMessage, MessageIndex};
use sha2::{Digest, Sha256};
use std::sync::{Arc, LazyLock};

/// The descriptor set aerie's wire types were generated from.
const DESCRIPTORS: &[u8] = include_bytes!("../../../proto/flyteidl2.binpb");

/// The descriptors, and the two messages hashed here.
struct Schema {
    pool: Arc<DescriptorPool>,
    literal: MessageIndex,
    interface: MessageIndex,
}

static SCHEMA: LazyLock<Option<Schema>> = LazyLock::new(|| {
    let options = buffa::DecodeOptions::new().with_element_memory_limit(usize::MAX);
    let pool = match DescriptorPool::decode_with_options(DESCRIPTORS, &options) {
        Ok(pool) => Arc::new(pool),
        Err(err) => {
            tracing::error!(error = %err, "the embedded descriptor set does not load; root cache keys use plain encoding");
            return None;
        }
    };
    Some(Schema {
        literal: pool.message_index("flyteidl2.core.Literal")?,
        interface: pool.message_index("flyteidl2.core.TypedInterface")?,
        pool,
    })
});

/// `message`'s deterministic encoding (as Python's `SerializeToString(deterministic=True)`).
fn deterministic(message: &impl Message, index: impl Fn(&Schema) -> MessageIndex) -> Vec<u8> {
    let plain = message.encode_to_vec();
    let Some(schema) = SCHEMA.as_ref() else {
        return plain;
    };
    match DynamicMessage::decode(Arc::clone(&schema.pool), index(schema), &plain) {
        Ok(dynamic) => dynamic.encode_to_vec(),
        Err(_) => plain,
    }
}

/// Standard base64 (with padding) of the SHA-256 of `data`.
fn hash(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(data))
}

/// The bytes one literal contributes: its own hash when it carries one; for collections and
/// maps (keys sorted) their elements'; otherwise its deterministic encoding.
fn literal_repr(value: &Literal) -> Vec<u8> {
    if !value.hash.is_empty() {
        return value.hash.as_bytes().to_vec();
    }
    match &value.value {
        Some(literal::Value::Collection(collection)) => {
            collection.literals.iter().flat_map(literal_repr).collect()
        }
        Some(literal::Value::Map(map)) => {
            let mut keys: Vec<&String> = map.literals.keys().collect();
            keys.sort();
            keys.into_iter()
                .flat_map(|key| {
                    let mut part = key.as_bytes().to_vec();
                    part.extend(literal_repr(&map.literals[key]));
                    part
                })
                .collect()
        }
        _ => deterministic(value, |schema| schema.literal),
    }
}

/// The hash of `inputs` without the `ignored` ones; empty when nothing is left.
pub fn inputs_hash(inputs: &Inputs, ignored: &[String]) -> String {
    let mut combined = Vec::new();
    for named in inputs
        .literals
        .iter()
        .filter(|named| !ignored.contains(&named.name))
    {
        combined.extend_from_slice(named.name.as_bytes());
        combined.push(b':');
        combined.extend(literal_repr(&named.value));
        combined.push(b';');
    }
    if combined.is_empty() {
        String::new()
    } else {
        hash(&combined)
    }
}

/// The hash of `interface`, its input and output variables sorted by name.
pub fn interface_hash(interface: &TypedInterface) -> String {
    let mut sorted = interface.clone();
    for variables in [&mut sorted.inputs, &mut sorted.outputs] {
        if let Some(map) = variables.as_option_mut() {
            map.variables.sort_by(|a, b| a.key.cmp(&b.key));
        }
    }
    hash(&deterministic(&sorted, |schema| schema.interface))
}

/// The cache key of task `task_name` with `interface` and cache `version` on `inputs`.
pub fn cache_key(
    inputs: &Inputs,
    ignored: &[String],
    task_name: &str,
    interface: &TypedInterface,
    version: &str,
) -> String {
    let data = format!(
        "{}{task_name}{}{version}",
        inputs_hash(inputs, ignored),
        interface_hash(interface)
    );
    hash(data.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SDK's own key for `square(x: int) -> int` with `Cache("override",
    /// version_override="v1")` called with `x=3` (docs/execution-contract.md §1.2).
    #[test]
    fn the_key_matches_the_sdks_test_vector() {
        let literal = Literal::decode_from_slice(&hex::decode("0a040a020803").unwrap()).unwrap();
        let interface = TypedInterface::decode_from_slice(
            &hex::decode("0a0b0a090a017812040a020801120c0a0a0a026f3012040a020801").unwrap(),
        )
        .unwrap();
        let inputs = Inputs {
            literals: vec![aerie_wire::flyteidl2::task::NamedLiteral {
                name: "x".into(),
                value: literal.into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(
            inputs_hash(&inputs, &[]),
            "KEIwDYbtpDdIagAWFbRccD+Dtrek8VoZiFNuVXfwSdo="
        );
        assert_eq!(
            interface_hash(&interface),
            "3onIQaY9FwDhPvqxRrx1M51xiDVLG23rnr7tExWcx5U="
        );
        assert_eq!(
            cache_key(&inputs, &[], "cache_env.square", &interface, "v1"),
            "hIDdMg14PiRoE3TwfZPbmx63pr4A79KLC9Bz69NPOAg="
        );
    }

    #[test]
    fn ignored_inputs_and_empty_inputs_leave_no_trace_in_the_hash() {
        let inputs = Inputs {
            literals: vec![aerie_wire::flyteidl2::task::NamedLiteral {
                name: "t".into(),
                value: Literal::default().into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(inputs_hash(&inputs, &["t".to_owned()]), "");
        assert_eq!(inputs_hash(&Inputs::default(), &[]), "");
    }
}
