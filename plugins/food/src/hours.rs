//! Opening hours: times of day as `HH:MM` strings, compared in the outlet's local time.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// A time of day, `HH:MM` on a 24-hour clock (`"09:30"`, `"22:00"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClockTime {
    minutes: u16,
}

impl ClockTime {
    /// `hour:minute`, or `None` outside 00:00–23:59.
    pub const fn new(hour: u16, minute: u16) -> Option<Self> {
        if hour < 24 && minute < 60 {
            Some(Self {
                minutes: hour * 60 + minute,
            })
        } else {
            None
        }
    }

    /// Parses `HH:MM` (also `H:MM`, and `HH:MM:SS` whose seconds are ignored, as a
    /// storefront may send them in `local_time`).
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.trim().split(':');
        let hour = parts.next()?;
        let minute = parts.next()?;
        if let Some(second) = parts.next()
            && !two_digits_below(second, 60)
        {
            return None;
        }
        if parts.next().is_some()
            || !(1..=2).contains(&hour.len())
            || !hour.bytes().all(|b| b.is_ascii_digit())
            || !two_digits_below(minute, 60)
        {
            return None;
        }
        Self::new(hour.parse().ok()?, minute.parse().ok()?)
    }
}

fn two_digits_below(text: &str, limit: u16) -> bool {
    text.len() == 2
        && text.bytes().all(|b| b.is_ascii_digit())
        && text.parse::<u16>().is_ok_and(|n| n < limit)
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.minutes / 60, self.minutes % 60)
    }
}

impl TryFrom<String> for ClockTime {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text).ok_or_else(|| format!("`{text}` is not a time of day (HH:MM)"))
    }
}

impl From<ClockTime> for String {
    fn from(time: ClockTime) -> Self {
        time.to_string()
    }
}

impl JsonSchema for ClockTime {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "ClockTime".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^([01]?[0-9]|2[0-3]):[0-5][0-9]$",
            "description": "A time of day, HH:MM on a 24-hour clock."
        })
    }
}

/// When an outlet takes orders, in its local time: from `open` (included) to `close`
/// (excluded). A `close` earlier than `open` spans midnight (`18:00`–`02:00`); equal times
/// mean open around the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpeningHours {
    /// Opening time, HH:MM.
    pub open: ClockTime,
    /// Closing time, HH:MM (an order at exactly this time is refused).
    pub close: ClockTime,
}

impl OpeningHours {
    /// Whether the outlet is open at `time`.
    pub fn is_open_at(&self, time: ClockTime) -> bool {
        if self.open == self.close {
            true
        } else if self.open < self.close {
            self.open <= time && time < self.close
        } else {
            time >= self.open || time < self.close
        }
    }
}

impl fmt::Display for OpeningHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}–{}", self.open, self.close)
    }
}
