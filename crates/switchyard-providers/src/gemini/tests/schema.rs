//! JSON Schema clean-up for Gemini's `Schema` subset (providers.md 3.1 and pitfall 9).

use serde_json::json;

use crate::gemini::schema::{clean, clean_parameters};

#[test]
fn rejected_keys_are_removed_recursively() {
    let s = json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Args", "type": "object", "additionalProperties": false, "strict": true,
        "properties": {
            "city": {"type": "string", "description": "City", "default": "Paris", "examples": ["Rome"], "format": "uri"},
            "when": {"type": "string", "format": "date-time"},
            "tags": {"type": "array", "items": {"type": "string", "title": "t", "propertyNames": {"pattern": "x"}}, "minItems": 1}
        },
        "required": ["city", "ghost"]
    });
    assert_eq!(
        clean(&s),
        json!({
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City"},
                "when": {"type": "string", "format": "date-time"},
                "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1}
            },
            "required": ["city"]
        })
    );
}

#[test]
fn null_unions_become_nullable_and_refs_are_inlined() {
    let s = json!({
        "type": "object",
        "$defs": {"Unit": {"type": "string", "enum": ["c", "f"]}, "Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}},
        "properties": {
            "a": {"type": ["string", "null"]},
            "b": {"anyOf": [{"type": "integer"}, {"type": "null"}], "description": "b"},
            "c": {"oneOf": [{"type": "string"}, {"type": "number"}]},
            "unit": {"$ref": "#/$defs/Unit", "description": "unit"},
            "kind": {"const": "x"},
            "n": {"type": "integer", "enum": [1, 2]},
            "node": {"$ref": "#/$defs/Node"},
            "both": {"allOf": [{"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"]},
                               {"properties": {"y": {"type": "string"}}, "required": ["y"]}]}
        }
    });
    let c = clean(&s);
    let p = &c["properties"];
    assert!(c.get("$defs").is_none());
    assert_eq!(p["a"], json!({"type": "string", "nullable": true}));
    assert_eq!(
        p["b"],
        json!({"type": "integer", "description": "b", "nullable": true})
    );
    assert_eq!(
        p["c"],
        json!({"anyOf": [{"type": "string"}, {"type": "number"}]})
    );
    assert_eq!(
        p["unit"],
        json!({"type": "string", "enum": ["c", "f"], "description": "unit"})
    );
    assert_eq!(p["kind"], json!({"type": "string", "enum": ["x"]}));
    assert_eq!(
        p["n"],
        json!({"type": "integer"}),
        "non-string enums are dropped"
    );
    assert_eq!(
        p["both"],
        json!({"type": "object", "properties": {"x": {"type": "string"}, "y": {"type": "string"}}, "required": ["x", "y"]})
    );
    // The recursive ref is expanded a bounded number of times, then stubbed.
    let mut depth = 0;
    let mut node = &p["node"];
    while let Some(next) = node.get("properties").and_then(|ps| ps.get("next")) {
        node = next;
        depth += 1;
    }
    assert!(depth > 0 && depth <= 9, "{depth}");
    assert_eq!(node, &json!({"type": "object"}));
}

#[test]
fn empty_object_parameters_are_omitted() {
    assert_eq!(
        clean_parameters(&json!({"type": "object", "properties": {}})),
        None
    );
    assert_eq!(clean_parameters(&json!({"type": "object"})), None);
    assert_eq!(clean_parameters(&json!({})), None);
    assert_eq!(
        clean_parameters(&json!({"type": "object", "properties": {"a": {"type": "boolean"}}})),
        Some(json!({"type": "object", "properties": {"a": {"type": "boolean"}}}))
    );
}
