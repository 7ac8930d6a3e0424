//! Strict decoding of the input formats: every field known, none given twice, and
//! an error that names the offending field by its path (`command.product.zones`).
//!
//! serde's internally tagged enums (`{"type": "Subscribe", ...}`) buffer their
//! object before choosing a variant, and then (a) ignore every field given to a
//! unit variant (`{"kind": "senior", "zones": "2-3"}` decoded as plain Senior)
//! and (b) lose the path of any error inside the object. The tagged enums of the
//! input formats ([`TaggedEnum`]) are therefore decoded here: the object is read
//! refusing a key given twice at any depth, its tag is taken out, and the rest
//! is decoded as the externally tagged form `{"Subscribe": {...}}` by a derived
//! mirror of the enum (`#[serde(remote = ...)]`), whose unit variants are empty
//! structs that refuse any field, through `serde_path_to_error`.
//!
//! An error found inside such an enum carries its path relative to the enum at
//! the head of its message, `` `product.zones`: why `` ([`located`]), because a
//! `Deserialize` implementation has no other way to hand a path to the
//! deserializer around it; [`from_json_str`] joins it to the path tracked
//! outside and gives the field and the message apart ([`FieldError`]).

use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use serde_path_to_error::Segment;

/// An internally tagged enum of an input format, decoded strictly by
/// [`deserialize_tagged`].
pub(crate) trait TaggedEnum: Sized {
    /// The name of the tag field (`type`, `kind`, `method`...).
    const TAG: &'static str;
    /// Decodes the externally tagged form `{"variant": {fields}}` (the derived
    /// `#[serde(remote)]` mirror of the enum).
    ///
    /// # Errors
    /// An unknown variant, an unknown, missing or bad field.
    fn from_external<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error>;
}

/// The externally tagged form of a [`TaggedEnum`], for `serde_path_to_error`.
struct External<T>(T);

impl<'de, T: TaggedEnum> Deserialize<'de> for External<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::from_external(d).map(External)
    }
}

/// Decodes an internally tagged enum strictly (see the module comment).
///
/// # Errors
/// Not an object, a key given twice, no tag or a tag that is not a variant name,
/// an unknown, missing or bad field (its path relative to the enum at the head
/// of the message, see [`located`]).
pub(crate) fn deserialize_tagged<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TaggedEnum,
{
    let mut object = d.deserialize_map(StrictValue)?;
    let Value::Object(fields) = &mut object else {
        return Err(de::Error::custom("expected a JSON object"));
    };
    let variant = match fields.remove(T::TAG) {
        Some(Value::String(name)) => name,
        Some(other) => {
            return Err(de::Error::custom(located(
                T::TAG,
                format!("{other} is not a variant name; give a string"),
            )))
        }
        None => return Err(de::Error::missing_field(T::TAG)),
    };
    let external = Value::Object(Map::from_iter([(variant, object)]));
    match serde_path_to_error::deserialize::<_, External<T>>(external) {
        Ok(External(value)) => Ok(value),
        Err(e) => {
            let segments: Vec<&Segment> = e.path().iter().collect();
            // The first segment is the variant; none means the variant itself
            // is unknown: the tag is the offending field.
            let path = match segments.split_first() {
                None => T::TAG.to_owned(),
                Some((_, inside)) => join_segments(inside.iter().copied()),
            };
            let message = e.inner().to_string();
            let (inner_path, why) = split_located(&message);
            let path = join_paths(&path, inner_path.unwrap_or(""));
            Err(de::Error::custom(if path.is_empty() {
                why.to_owned()
            } else {
                located(&path, why)
            }))
        }
    }
}

/// A message naming the path of its field relative to the value being decoded:
/// `` `product.zones`: why ``.
pub(crate) fn located(path: &str, why: impl fmt::Display) -> String {
    format!("`{path}`: {why}")
}

/// The path and the rest of a message made by [`located`]; no path otherwise
/// (no message of serde, serde_json or this crate's parsers starts with a
/// backquote).
fn split_located(message: &str) -> (Option<&str>, &str) {
    message
        .strip_prefix('`')
        .and_then(|rest| rest.split_once("`: "))
        .map_or((None, message), |(path, why)| (Some(path), why))
}

/// `a.b` + `c` = `a.b.c`; `a` + `[2].c` = `a[2].c`; empty parts vanish.
pub(crate) fn join_paths(outer: &str, inner: &str) -> String {
    match (outer.is_empty(), inner.is_empty()) {
        (_, true) => outer.to_owned(),
        (true, false) => inner.to_owned(),
        (false, false) if inner.starts_with('[') => format!("{outer}{inner}"),
        (false, false) => format!("{outer}.{inner}"),
    }
}

/// The dotted path of serde_path_to_error segments (`prices[1].annual`).
fn join_segments<'a>(segments: impl IntoIterator<Item = &'a Segment>) -> String {
    segments
        .into_iter()
        .fold(String::new(), |path, segment| match segment {
            Segment::Seq { index } => format!("{path}[{index}]"),
            Segment::Map { key } | Segment::Enum { variant: key } => join_paths(&path, key),
            Segment::Unknown => join_paths(&path, "?"),
        })
}

/// A JSON value read refusing an object key given twice, at any depth (a
/// buffered object would otherwise keep the last one silently). The error names
/// the key; the path above it is the one tracked around the reading.
struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(StrictValue)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut fields = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(StrictValue)?;
            if fields.contains_key(&key) {
                // serde's own wording for a struct, so that the field is named
                // the same way (`from_json_str`).
                return Err(de::Error::custom(format_args!("duplicate field `{key}`")));
            }
            fields.insert(key, value);
        }
        Ok(Value::Object(fields))
    }
}

/// A decoding error of an input format, with the path of the offending field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The dotted path of the offending field (`command.product.zones`,
    /// `command.prices[1].annual`); `None` when no field is to blame: the text
    /// is not JSON (a syntax error, a truncated line) or not an object.
    pub field: Option<String>,
    /// What is wrong and what a valid value looks like.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "field {field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for FieldError {}

/// Decodes one JSON document of an input format (a command line of `apply`, a
/// request body): the whole text must be one value, and an error names its
/// field by its full path.
///
/// # Errors
/// [`FieldError`]: not JSON (no field), or the path and the reason.
pub fn from_json_str<T: DeserializeOwned>(text: &str) -> Result<T, FieldError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize::<_, T>(&mut de).map_err(|e| {
        let outer = join_segments(e.path());
        field_error(&outer, e.into_inner())
    })?;
    de.end().map_err(|e| field_error("", e))?;
    Ok(value)
}

/// The [`FieldError`] of a serde_json error found at `outer`.
fn field_error(outer: &str, e: serde_json::Error) -> FieldError {
    use serde_json::error::Category;
    let message = e.to_string();
    // serde_json ends a message with the line and column of the text it read;
    // the path says where instead (and a command file's line is not line 1).
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let bare = message.strip_suffix(&suffix).unwrap_or(&message);
    if matches!(
        e.classify(),
        Category::Syntax | Category::Eof | Category::Io
    ) {
        let why = if e.is_eof() {
            "the text ends before the JSON value does (a truncated line?)"
        } else {
            "not valid JSON"
        };
        return FieldError {
            field: None,
            message: format!("{why}: {bare} at column {}", e.column()),
        };
    }
    let (inner, why) = split_located(bare);
    let mut field = join_paths(outer, inner.unwrap_or(""));
    // A missing field, or one given twice, is named in serde's message only,
    // not in the path: it is the offending field.
    let named = ["missing field `", "duplicate field `"]
        .into_iter()
        .find_map(|prefix| why.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next());
    if let Some(name) = named {
        field = join_paths(&field, name);
    }
    FieldError {
        field: (!field.is_empty()).then_some(field),
        message: without_the_value(why),
    }
}

/// `why` without the string value serde quotes in it (`invalid type: string
/// "77 rue X", expected struct Address`): an error names the field and what
/// it accepts, never what was given, which may be a person's data and would
/// reach a refusal, a log or an error body.
fn without_the_value(why: &str) -> String {
    for prefix in ["invalid type: string \"", "invalid value: string \""] {
        if let Some(rest) = why.strip_prefix(prefix) {
            if let Some((_, after)) = rest.rsplit_once("\", ") {
                return format!("{}a string, {after}", &prefix[..prefix.len() - 8]);
            }
        }
    }
    why.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_errors_name_the_field_never_the_string_given() {
        assert_eq!(
            without_the_value("invalid type: string \"77 rue X\", expected struct Address"),
            "invalid type: a string, expected struct Address"
        );
        assert_eq!(
            without_the_value("invalid value: string \"Zed\", expected a date"),
            "invalid value: a string, expected a date"
        );
        assert_eq!(without_the_value("missing field `x`"), "missing field `x`");
    }

    #[test]
    fn paths_join_keys_with_dots_and_indexes_without() {
        assert_eq!(
            join_paths("command", "product.zones"),
            "command.product.zones"
        );
        assert_eq!(
            join_paths("command.prices", "[1].annual"),
            "command.prices[1].annual"
        );
        assert_eq!(join_paths("", "kind"), "kind");
        assert_eq!(join_paths("command", ""), "command");
        assert_eq!(
            split_located("`product.zones`: invalid zones"),
            (Some("product.zones"), "invalid zones")
        );
        assert_eq!(
            split_located("unknown field `x`"),
            (None, "unknown field `x`")
        );
    }
}
