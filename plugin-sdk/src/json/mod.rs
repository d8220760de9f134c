//! A small JSON reader for configurations: a `serde` deserializer over a `&str`.
//!
//! `serde_json`'s reader carries machinery a plugin never needs (float printing for its error
//! messages, a `Value` type, readers over `io::Read` …) and was the largest part of a small
//! module. This one reads RFC 8259 JSON into any `Deserialize` type with the same rules as
//! `serde_json::from_str` (numbers, escapes, surrogate pairs, 128 levels of nesting, nothing
//! after the value). Its error messages are terse: the host checks a configuration against
//! the plugin's JSON Schema before it ever reaches the plugin, so they only explain
//! configurations the schema cannot catch. Floats are never printed (the messages say
//! "number"), which keeps float formatting out of the module.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeOwned, IntoDeserializer, Unexpected, Visitor};

/// Deserializes `T` from JSON text.
pub(crate) fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, Error> {
    let mut de = Deserializer {
        input: text.as_bytes(),
        pos: 0,
        depth: MAX_DEPTH,
    };
    let value = T::deserialize(&mut de).and_then(|value| match de.peek() {
        None => Ok(value),
        Some(_) => Err(Error::msg("trailing characters")),
    });
    value.map_err(|e| e.at(text, de.pos))
}

/// Arrays and objects nest at most this deep (as in `serde_json`).
const MAX_DEPTH: u8 = 128;

/// Why a configuration does not deserialize.
#[derive(Debug)]
pub(crate) struct Error(String);

impl Error {
    fn msg(message: &str) -> Self {
        Self(message.to_owned())
    }

    /// Adds where, as `serde_json` does: `… at line 1 column 12`.
    fn at(self, text: &str, pos: usize) -> Self {
        let before = text.as_bytes().get(..pos).unwrap_or(text.as_bytes());
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = before.iter().rev().take_while(|&&b| b != b'\n').count();
        let Self(message) = self;
        Self(format!("{message} at line {line} column {column}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// What was found, without printing floats (the default messages of `serde` do).
fn found(unexpected: Unexpected<'_>) -> Cow<'static, str> {
    match unexpected {
        Unexpected::Bool(b) => Cow::Owned(format!("boolean `{b}`")),
        Unexpected::Unsigned(n) => Cow::Owned(format!("integer `{n}`")),
        Unexpected::Signed(n) => Cow::Owned(format!("integer `{n}`")),
        Unexpected::Str(s) => Cow::Owned(format!("string \"{s}\"")),
        Unexpected::Char(c) => Cow::Owned(format!("character `{c}`")),
        Unexpected::Float(_) => Cow::Borrowed("floating point number"),
        Unexpected::Unit => Cow::Borrowed("null"),
        Unexpected::Seq => Cow::Borrowed("array"),
        Unexpected::Map => Cow::Borrowed("object"),
        Unexpected::Other(other) => Cow::Owned(other.to_owned()),
        _ => Cow::Borrowed("a value of another type"),
    }
}

impl de::Error for Error {
    fn custom<T: fmt::Display>(message: T) -> Self {
        Self(message.to_string())
    }

    fn invalid_type(unexpected: Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        Self(format!(
            "invalid type: {}, expected {expected}",
            found(unexpected)
        ))
    }

    fn invalid_value(unexpected: Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        Self(format!(
            "invalid value: {}, expected {expected}",
            found(unexpected)
        ))
    }
}

type Result<T, E = Error> = std::result::Result<T, E>;

struct Deserializer<'de> {
    input: &'de [u8],
    pos: usize,
    /// How many more arrays or objects may open.
    depth: u8,
}

/// A number as read: an integer that fits 64 bits, or anything else (fraction, exponent,
/// too large) as its text.
enum Number<'de> {
    Unsigned(u64),
    Signed(i64),
    Other(&'de str),
}

impl<'de> Deserializer<'de> {
    /// The next byte that is not whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        while let Some(&b) = self.input.get(self.pos) {
            if !matches!(b, b' ' | b'\n' | b'\t' | b'\r') {
                return Some(b);
            }
            self.pos += 1;
        }
        None
    }

    fn next_byte(&mut self) -> Option<u8> {
        let b = self.input.get(self.pos).copied();
        if b.is_some() {
            self.pos += 1;
        }
        b
    }

    /// Consumes `expected` (after whitespace) or fails with `message`.
    fn eat(&mut self, expected: u8, message: &str) -> Result<()> {
        if self.peek() == Some(expected) {
            self.pos += 1;
            Ok(())
        } else {
            Err(Error::msg(message))
        }
    }

    /// Consumes a literal such as `null` (after whitespace).
    fn literal(&mut self, word: &[u8]) -> Result<()> {
        let end = self.pos + word.len();
        if self.input.get(self.pos..end) == Some(word) {
            self.pos = end;
            Ok(())
        } else {
            Err(Error::msg("expected value"))
        }
    }

    /// What the next value is, for an "invalid type" error.
    fn unexpected(&mut self) -> Unexpected<'static> {
        match self.peek() {
            Some(b'n') => Unexpected::Unit,
            Some(b't') => Unexpected::Bool(true),
            Some(b'f') => Unexpected::Bool(false),
            Some(b'"') => Unexpected::Other("string"),
            Some(b'[') => Unexpected::Seq,
            Some(b'{') => Unexpected::Map,
            _ => Unexpected::Other("number"),
        }
    }

    fn invalid_type<V: Visitor<'de>>(&mut self, visitor: &V) -> Error {
        match self.peek() {
            None => Error::msg("EOF while parsing a value"),
            Some(b) if b == b'-' || b.is_ascii_digit() || b"nft\"[{".contains(&b) => {
                de::Error::invalid_type(self.unexpected(), visitor)
            }
            Some(_) => Error::msg("expected value"),
        }
    }

    fn open(&mut self) -> Result<()> {
        self.depth = self
            .depth
            .checked_sub(1)
            .ok_or_else(|| Error::msg("recursion limit exceeded"))?;
        self.pos += 1;
        Ok(())
    }

    fn close(&mut self, end: u8, message: &str) -> Result<()> {
        self.depth += 1;
        self.eat(end, message)
    }

    /// Reads a number at the current position (whitespace skipped).
    fn number(&mut self) -> Result<Number<'de>> {
        let start = self.pos;
        let digits = |de: &mut Self| {
            let from = de.pos;
            while de.input.get(de.pos).is_some_and(u8::is_ascii_digit) {
                de.pos += 1;
            }
            de.pos - from
        };
        let negative = self.input.get(self.pos) == Some(&b'-');
        if negative {
            self.pos += 1;
        }
        let int_start = self.pos;
        let int_digits = digits(self);
        if int_digits == 0 || (int_digits > 1 && self.input.get(int_start) == Some(&b'0')) {
            return Err(Error::msg("invalid number"));
        }
        let mut integral = true;
        if self.input.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            integral = false;
            if digits(self) == 0 {
                return Err(Error::msg("invalid number"));
            }
        }
        if matches!(self.input.get(self.pos), Some(b'e' | b'E')) {
            self.pos += 1;
            integral = false;
            if matches!(self.input.get(self.pos), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return Err(Error::msg("invalid number"));
            }
        }
        let text = std::str::from_utf8(self.input.get(start..self.pos).unwrap_or_default())
            .map_err(|_| Error::msg("invalid number"))?;
        if integral {
            if negative {
                if let Ok(n) = text.parse::<i64>() {
                    return Ok(Number::Signed(n));
                }
            } else if let Ok(n) = text.parse::<u64>() {
                return Ok(Number::Unsigned(n));
            }
        }
        Ok(Number::Other(text))
    }

    /// Visits a number: integers as `u64` / `i64`, the rest as `f64`.
    fn visit_number<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value> {
        match self.number()? {
            Number::Unsigned(n) => visitor.visit_u64(n),
            Number::Signed(n) => visitor.visit_i64(n),
            Number::Other(text) => {
                let n: f64 = text.parse().map_err(|_| Error::msg("invalid number"))?;
                if n.is_finite() {
                    visitor.visit_f64(n)
                } else {
                    Err(Error::msg("number out of range"))
                }
            }
        }
    }

    /// An integer type: a number with a fraction or an exponent is refused without being
    /// read as a float (so integer-only configurations link no float parsing).
    fn visit_integer<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => match self.number()? {
                Number::Unsigned(n) => visitor.visit_u64(n),
                Number::Signed(n) => visitor.visit_i64(n),
                Number::Other(_) => Err(de::Error::invalid_type(
                    Unexpected::Other("number"),
                    &visitor,
                )),
            },
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    /// Visits the string at the current position, borrowed when it has no escapes.
    fn visit_string<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value> {
        match self.string()? {
            Cow::Borrowed(s) => visitor.visit_borrowed_str(s),
            Cow::Owned(s) => visitor.visit_string(s),
        }
    }

    /// Reads a string at the current position (the opening quote not yet consumed):
    /// borrowed when it has no escapes.
    fn string(&mut self) -> Result<Cow<'de, str>> {
        self.pos += 1;
        let mut owned: Option<Vec<u8>> = None;
        let mut run = self.pos;
        loop {
            let Some(b) = self.next_byte() else {
                return Err(Error::msg("EOF while parsing a string"));
            };
            match b {
                b'"' => {
                    let tail = self.input.get(run..self.pos - 1).unwrap_or_default();
                    let bytes = match owned {
                        None => Cow::Borrowed(tail),
                        Some(mut buf) => {
                            buf.extend_from_slice(tail);
                            Cow::Owned(buf)
                        }
                    };
                    return match bytes {
                        Cow::Borrowed(b) => std::str::from_utf8(b).map(Cow::Borrowed).ok(),
                        Cow::Owned(b) => String::from_utf8(b).map(Cow::Owned).ok(),
                    }
                    .ok_or_else(|| Error::msg("invalid unicode in string"));
                }
                b'\\' => {
                    let buf = owned.get_or_insert_with(Vec::new);
                    buf.extend_from_slice(self.input.get(run..self.pos - 1).unwrap_or_default());
                    self.escape(buf)?;
                    run = self.pos;
                }
                0..=0x1f => return Err(Error::msg("control character in string")),
                _ => {}
            }
        }
    }

    /// Reads the escape after a backslash into `buf`.
    fn escape(&mut self, buf: &mut Vec<u8>) -> Result<()> {
        let byte = match self.next_byte() {
            Some(b'"') => b'"',
            Some(b'\\') => b'\\',
            Some(b'/') => b'/',
            Some(b'b') => 0x08,
            Some(b'f') => 0x0c,
            Some(b'n') => b'\n',
            Some(b'r') => b'\r',
            Some(b't') => b'\t',
            Some(b'u') => {
                let first = self.hex4()?;
                let c = if (0xD800..0xDC00).contains(&first) {
                    if self.next_byte() != Some(b'\\') || self.next_byte() != Some(b'u') {
                        return Err(Error::msg("lone leading surrogate in hex escape"));
                    }
                    let second = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&second) {
                        return Err(Error::msg("invalid surrogate pair in hex escape"));
                    }
                    char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
                } else {
                    char::from_u32(first)
                };
                let c = c.ok_or_else(|| Error::msg("lone trailing surrogate in hex escape"))?;
                buf.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                return Ok(());
            }
            _ => return Err(Error::msg("invalid escape")),
        };
        buf.push(byte);
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32> {
        let mut n = 0;
        for _ in 0..4 {
            let digit = self
                .next_byte()
                .and_then(|b| char::from(b).to_digit(16))
                .ok_or_else(|| Error::msg("invalid hex escape"))?;
            n = n * 16 + digit;
        }
        Ok(n)
    }

    /// Skips one value of any type.
    fn skip(&mut self) -> Result<()> {
        de::Deserializer::deserialize_ignored_any(self, de::IgnoredAny).map(|_| ())
    }
}

impl<'de> de::Deserializer<'de> for &mut Deserializer<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.peek() {
            Some(b'n') => {
                self.literal(b"null")?;
                visitor.visit_unit()
            }
            Some(b't') => {
                self.literal(b"true")?;
                visitor.visit_bool(true)
            }
            Some(b'f') => {
                self.literal(b"false")?;
                visitor.visit_bool(false)
            }
            Some(b'-' | b'0'..=b'9') => self.visit_number(visitor),
            Some(b'"') => self.visit_string(visitor),
            Some(b'[') => self.deserialize_seq(visitor),
            Some(b'{') => self.deserialize_map(visitor),
            Some(_) => Err(Error::msg("expected value")),
            None => Err(Error::msg("EOF while parsing a value")),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.peek() {
            Some(b't') => {
                self.literal(b"true")?;
                visitor.visit_bool(true)
            }
            Some(b'f') => {
                self.literal(b"false")?;
                visitor.visit_bool(false)
            }
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.visit_integer(visitor)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.visit_integer(visitor)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.visit_integer(visitor)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.visit_integer(visitor)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.visit_integer(visitor)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.visit_integer(visitor)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.visit_integer(visitor)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.visit_integer(visitor)
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => self.visit_number(visitor),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.peek() {
            Some(b'"') => self.visit_string(visitor),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    /// A string's bytes or an array of numbers, as `serde_json` reads them.
    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.peek() {
            Some(b'"') => match self.string()? {
                Cow::Borrowed(s) => visitor.visit_borrowed_bytes(s.as_bytes()),
                Cow::Owned(s) => visitor.visit_byte_buf(s.into_bytes()),
            },
            Some(b'[') => self.deserialize_seq(visitor),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        if self.peek() == Some(b'n') {
            self.literal(b"null")?;
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.peek() {
            Some(b'n') => {
                self.literal(b"null")?;
                visitor.visit_unit()
            }
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        if self.peek() != Some(b'[') {
            return Err(self.invalid_type(&visitor));
        }
        self.open()?;
        let value = visitor.visit_seq(Elements {
            de: &mut *self,
            first: true,
        })?;
        self.close(b']', "trailing elements in array")?;
        Ok(value)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        if self.peek() != Some(b'{') {
            return Err(self.invalid_type(&visitor));
        }
        self.open()?;
        let value = visitor.visit_map(Entries {
            de: &mut *self,
            first: true,
        })?;
        self.close(b'}', "trailing entries in object")?;
        Ok(value)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        match self.peek() {
            Some(b'[') => self.deserialize_seq(visitor),
            _ => self.deserialize_map(visitor),
        }
    }

    /// A unit variant is a string (`"pickup"`); any variant is an object with one key
    /// (`{"band": {…}}`).
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        match self.peek() {
            Some(b'"') => match self.string()? {
                Cow::Borrowed(s) => visitor.visit_enum(s.into_deserializer()),
                Cow::Owned(s) => visitor.visit_enum(s.into_deserializer()),
            },
            Some(b'{') => {
                self.open()?;
                let value = visitor.visit_enum(Variant { de: &mut *self })?;
                self.close(b'}', "expected `}` after the enum variant's value")?;
                Ok(value)
            }
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => {
                self.number()?;
                visitor.visit_unit()
            }
            Some(b'"') => {
                self.string()?;
                visitor.visit_unit()
            }
            Some(b'[') => {
                self.open()?;
                let mut first = true;
                while self.separator(b']', &mut first)? {
                    self.skip()?;
                }
                self.close(b']', "expected `]`")?;
                visitor.visit_unit()
            }
            Some(b'{') => {
                self.open()?;
                let mut first = true;
                while self.separator(b'}', &mut first)? {
                    self.key()?;
                    self.skip()?;
                }
                self.close(b'}', "expected `}`")?;
                visitor.visit_unit()
            }
            Some(b'n') => self.literal(b"null").and_then(|()| visitor.visit_unit()),
            Some(b't') => self.literal(b"true").and_then(|()| visitor.visit_unit()),
            Some(b'f') => self.literal(b"false").and_then(|()| visitor.visit_unit()),
            Some(_) => Err(Error::msg("expected value")),
            None => Err(Error::msg("EOF while parsing a value")),
        }
    }
}

impl<'de> Deserializer<'de> {
    /// Before an element or entry: `true` when one follows (the comma consumed), `false` at
    /// the closing `end` (not consumed).
    fn separator(&mut self, end: u8, first: &mut bool) -> Result<bool> {
        match self.peek() {
            Some(b) if b == end => Ok(false),
            Some(b',') if !*first => {
                self.pos += 1;
                match self.peek() {
                    Some(b) if b == end => Err(Error::msg("trailing comma")),
                    _ => Ok(true),
                }
            }
            Some(_) if *first => {
                *first = false;
                Ok(true)
            }
            Some(_) => Err(Error::msg(if end == b']' {
                "expected `,` or `]`"
            } else {
                "expected `,` or `}`"
            })),
            None => Err(Error::msg("EOF while parsing a value")),
        }
    }

    /// An object key and its colon.
    fn key(&mut self) -> Result<Cow<'de, str>> {
        if self.peek() != Some(b'"') {
            return Err(Error::msg("key must be a string"));
        }
        let key = self.string()?;
        self.eat(b':', "expected `:`")?;
        Ok(key)
    }
}

mod access;
#[cfg(test)]
mod tests;

use access::{Elements, Entries, Variant};
