//! A form generated from a plugin's config JSON Schema (SPEC §5): one control per top-level
//! property, prefilled from the config in use, read back into the JSON the plugin gets.
//! Fields left empty are omitted, so the plugin's default applies; what the schema says
//! beyond the control's type (patterns, bounds) is checked by the server, whose errors are
//! shown beside the field they name.

use std::collections::BTreeMap;

use maud::{Markup, html};
use serde_json::{Map, Value};

use crate::page::field_error;
use crate::session::Fields;

const PREFIX: &str = "config.";
const NULL_SUFFIX: &str = ".null";

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Text,
    Integer,
    Number,
    Boolean,
    Choice(Vec<String>),
    TextList,
    /// Anything a plain control cannot hold (objects, mixed types): edited as JSON.
    Json,
}

#[derive(Debug, Clone)]
struct Property {
    name: String,
    kind: Kind,
    nullable: bool,
    description: Option<String>,
    default: Option<Value>,
    minimum: Option<f64>,
    maximum: Option<f64>,
}

/// Errors per property name, and those that name no property.
#[derive(Debug, Default)]
pub struct FormErrors {
    pub fields: BTreeMap<String, String>,
    pub general: Vec<String>,
}

impl FormErrors {
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.general.is_empty()
    }

    /// Sorts the server's messages (`/bag_fee: "x" does not match …`) by the property they
    /// point at; messages that start with a property of `schema` (`max_lines: …`) too.
    pub fn from_messages_for(schema: &Value, messages: &[String]) -> Self {
        let names: Vec<String> = properties(schema).into_iter().map(|p| p.name).collect();
        let mut errors = FormErrors::default();
        for message in messages {
            let pointed = Self::from_messages(std::slice::from_ref(message));
            if !pointed.fields.is_empty() {
                errors.fields.extend(pointed.fields);
                continue;
            }
            match names.iter().find(|n| {
                message
                    .strip_prefix(n.as_str())
                    .is_some_and(|rest| rest.starts_with([':', ' ']))
            }) {
                Some(name) => {
                    errors.fields.insert(name.clone(), message.clone());
                }
                None => errors.general.push(message.clone()),
            }
        }
        errors
    }

    /// Sorts the server's messages (`/bag_fee: "x" does not match …`) by the property they
    /// point at.
    pub fn from_messages(messages: &[String]) -> Self {
        let mut errors = FormErrors::default();
        for message in messages {
            let property = message
                .strip_prefix('/')
                .and_then(|rest| rest.split_once(": "))
                .map(|(pointer, _)| pointer.split('/').next().unwrap_or(pointer))
                .filter(|p| !p.is_empty());
            match property {
                Some(p) => {
                    let entry = errors.fields.entry(p.to_owned()).or_default();
                    if !entry.is_empty() {
                        entry.push_str("; ");
                    }
                    // Beside its field, the message names it plainly: `bag_fee: …`.
                    entry.push_str(message.trim_start_matches('/'));
                }
                None => errors.general.push(message.clone()),
            }
        }
        errors
    }
}

fn types(schema: &Value) -> (Vec<&str>, bool) {
    let listed: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let nullable = listed.contains(&"null");
    (
        listed.into_iter().filter(|t| *t != "null").collect(),
        nullable,
    )
}

fn property(name: &str, schema: &Value) -> Property {
    let (types, nullable) = types(schema);
    let kind = if let Some(Value::Array(choices)) = schema.get("enum") {
        Kind::Choice(
            choices
                .iter()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect(),
        )
    } else {
        match types.as_slice() {
            ["string"] => Kind::Text,
            ["integer"] => Kind::Integer,
            ["number"] => Kind::Number,
            ["boolean"] => Kind::Boolean,
            ["array"]
                if schema
                    .get("items")
                    .and_then(|i| i.get("type"))
                    .and_then(Value::as_str)
                    == Some("string") =>
            {
                Kind::TextList
            }
            _ => Kind::Json,
        }
    };
    Property {
        name: name.to_owned(),
        kind,
        nullable,
        description: schema
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_owned),
        default: schema.get("default").cloned(),
        minimum: schema.get("minimum").and_then(Value::as_f64),
        maximum: schema.get("maximum").and_then(Value::as_f64),
    }
}

fn properties(schema: &Value) -> Vec<Property> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|props| props.iter().map(|(k, v)| property(k, v)).collect())
        .unwrap_or_default()
}

fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

/// The controls of `schema`, showing `values` (the config being edited).
pub fn render(schema: &Value, values: &Map<String, Value>, errors: &FormErrors) -> Markup {
    let props = properties(schema);
    html! {
        @if props.is_empty() {
            p.hint { "This plugin takes no configuration." }
        }
        @for p in &props {
            (control(p, values.get(&p.name), errors.fields.get(&p.name).map(String::as_str)))
        }
    }
}

fn control(p: &Property, value: Option<&Value>, error: Option<&str>) -> Markup {
    let id = format!("config-{}", p.name);
    let name = format!("{PREFIX}{}", p.name);
    let is_null = value.is_some_and(Value::is_null);
    let text = value
        .filter(|v| !v.is_null())
        .map(shown)
        .unwrap_or_default();
    let default_hint = p
        .default
        .as_ref()
        .map(|d| format!("Empty: the plugin's default ({}).", shown(d)));
    let invalid = error.map(|_| "true");
    let described = error.map(|_| format!("{id}-error"));
    html! {
        div.field data-field=(p.name) {
            label for=(id) { (p.name) }
            @if let Some(d) = &p.description { p.hint { (d) } }
            @match &p.kind {
                Kind::Boolean => {
                    select id=(id) name=(name) aria-invalid=[invalid] aria-describedby=[described.as_deref()] {
                        option value="" selected[text.is_empty()] { "Default" }
                        option value="true" selected[text == "true"] { "Yes" }
                        option value="false" selected[text == "false"] { "No" }
                    }
                }
                Kind::Choice(choices) => {
                    select id=(id) name=(name) aria-invalid=[invalid] aria-describedby=[described.as_deref()] {
                        option value="" selected[text.is_empty()] { "Default" }
                        @for c in choices { option value=(c) selected[&text == c] { (c) } }
                    }
                }
                Kind::Integer | Kind::Number => {
                    input id=(id) name=(name) type="number" value=(text)
                        step=(if p.kind == Kind::Integer { "1" } else { "any" })
                        min=[p.minimum] max=[p.maximum]
                        aria-invalid=[invalid] aria-describedby=[described.as_deref()];
                }
                Kind::Json => {
                    textarea id=(id) name=(name) aria-invalid=[invalid] aria-describedby=[described.as_deref()] { (text) }
                }
                Kind::Text | Kind::TextList => {
                    input id=(id) name=(name) type="text" value=(text)
                        aria-invalid=[invalid] aria-describedby=[described.as_deref()];
                }
            }
            @if p.kind == Kind::TextList { p.hint { "Separate values with commas." } }
            @if let Some(hint) = &default_hint { p.hint { (hint) } }
            @if p.nullable {
                label.check {
                    input type="checkbox" name=(format!("{name}{NULL_SUFFIX}")) value="true" checked[is_null];
                    "None (null)"
                }
            }
            (field_error(&id, error))
        }
    }
}

/// What a field left empty asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Empty {
    /// Nothing: the key is left out (a plugin config then takes the plugin's default).
    Omit,
    /// `null`: in a merge patch, the field goes back to its default.
    Null,
}

/// The config a submitted form describes, or the fields that could not be read.
pub fn read(schema: &Value, fields: &Fields) -> Result<Value, FormErrors> {
    read_with(schema, fields, Empty::Omit)
}

/// [`read`], saying what an empty field means.
pub fn read_with(schema: &Value, fields: &Fields, empty: Empty) -> Result<Value, FormErrors> {
    let mut config = Map::new();
    let mut errors = FormErrors::default();
    for p in properties(schema) {
        let name = format!("{PREFIX}{}", p.name);
        if p.nullable && fields.get(&format!("{name}{NULL_SUFFIX}")) == Some("true") {
            config.insert(p.name.clone(), Value::Null);
            continue;
        }
        let Some(raw) = fields.non_empty(&name) else {
            if empty == Empty::Null && fields.get(&name).is_some() {
                config.insert(p.name.clone(), Value::Null);
            }
            continue;
        };
        let parsed = match &p.kind {
            Kind::Text | Kind::Choice(_) => Ok(Value::String(raw.to_owned())),
            Kind::Integer => raw
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| format!("{}: “{raw}” is not a whole number", p.name)),
            Kind::Number => raw
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| format!("{}: “{raw}” is not a number", p.name)),
            Kind::Boolean => match raw {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                _ => Err(format!("{}: choose Yes or No", p.name)),
            },
            Kind::TextList => Ok(Value::Array(
                raw.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_owned()))
                    .collect(),
            )),
            Kind::Json => {
                serde_json::from_str(raw).map_err(|e| format!("{}: not valid JSON ({e})", p.name))
            }
        };
        match parsed {
            Ok(value) => {
                config.insert(p.name.clone(), value);
            }
            Err(message) => {
                errors.fields.insert(p.name.clone(), message);
            }
        }
    }
    if errors.is_empty() {
        Ok(Value::Object(config))
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "bag_fee": {"type": "string", "default": "0.10"},
                "items_per_bag": {"type": "integer", "minimum": 0},
                "max_total_quantity": {"type": ["integer", "null"], "minimum": 1},
                "allowed_modes": {"type": "array", "items": {"type": "string"}},
                "express": {"type": "boolean"},
                "zones": {"type": "object"}
            }
        })
    }

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        Fields(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn a_form_reads_back_into_the_config_it_describes() {
        let config = read(
            &schema(),
            &fields(&[
                ("config.bag_fee", "0.25"),
                ("config.items_per_bag", "6"),
                ("config.max_total_quantity", ""),
                ("config.max_total_quantity.null", "true"),
                ("config.allowed_modes", "delivery, pickup"),
                ("config.express", "false"),
                ("config.zones", r#"{"a": 1}"#),
            ]),
        );
        assert_eq!(
            config.ok(),
            Some(json!({
                "bag_fee": "0.25",
                "items_per_bag": 6,
                "max_total_quantity": null,
                "allowed_modes": ["delivery", "pickup"],
                "express": false,
                "zones": {"a": 1}
            }))
        );
    }

    #[test]
    fn empty_fields_are_left_to_the_plugin_default() {
        let config = read(&schema(), &fields(&[("config.bag_fee", " ")]));
        assert_eq!(config.ok(), Some(json!({})));
    }

    #[test]
    fn unreadable_fields_are_named() {
        let Err(errors) = read(
            &schema(),
            &fields(&[("config.items_per_bag", "six"), ("config.zones", "{")]),
        ) else {
            panic!("expected errors");
        };
        assert_eq!(
            errors.fields.keys().collect::<Vec<_>>(),
            ["items_per_bag", "zones"]
        );
    }

    #[test]
    fn server_messages_land_beside_their_field() {
        let errors = FormErrors::from_messages(&[
            "/bag_fee: \"x\" does not match \"^-?\\d+\"".to_owned(),
            "/: additional properties are not allowed".to_owned(),
            "the plugin refused the config".to_owned(),
        ]);
        assert!(errors.fields["bag_fee"].contains("does not match"));
        assert_eq!(errors.general.len(), 2);
    }

    #[test]
    fn controls_show_the_config_in_use_and_the_errors() {
        let mut values = Map::new();
        values.insert("bag_fee".into(), json!("0.30"));
        values.insert("max_total_quantity".into(), Value::Null);
        let mut errors = FormErrors::default();
        errors.fields.insert("bag_fee".into(), "bad fee".into());
        let html = render(&schema(), &values, &errors).into_string();
        assert!(html.contains(r#"value="0.30""#), "{html}");
        assert!(html.contains("bad fee"), "{html}");
        assert!(html.contains(r#"aria-invalid="true""#), "{html}");
        assert!(
            html.contains(r#"name="config.max_total_quantity.null" value="true" checked"#),
            "{html}"
        );
    }
}
