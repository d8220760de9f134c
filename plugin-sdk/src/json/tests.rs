use std::collections::BTreeMap;

use serde::Deserialize;

use super::from_str;

#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    name: String,
    count: u32,
    ratio: Option<f64>,
    tags: Vec<String>,
    limits: BTreeMap<String, i64>,
    by_id: BTreeMap<u32, bool>,
    mode: Mode,
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Mode {
    Pickup,
    Band { max_km: u8 },
    Pair(u8, u8),
}

#[test]
fn reads_what_serde_json_reads() {
    let text = r#" {"name": "a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00", "count": 7, "ratio": -1.5e2,
        "tags": [], "limits": {"x": -3, "x": 4}, "by_id": {"12": true},
        "mode": {"band": {"max_km": 3}}} "#;
    let config: Config = from_str(text).unwrap();
    assert_eq!(config.name, "a\"\\/\u{8}\u{c}\n\r\t\u{e9}\u{1f600}");
    assert_eq!(config.count, 7);
    assert_eq!(config.ratio, Some(-150.0));
    assert_eq!(config.limits["x"], 4);
    assert!(config.by_id[&12]);
    assert_eq!(config.mode, Mode::Band { max_km: 3 });
    assert_eq!(from_str::<Mode>(r#""pickup""#).unwrap(), Mode::Pickup);
    assert_eq!(
        from_str::<Mode>(r#"{"pair": [1, 2]}"#).unwrap(),
        Mode::Pair(1, 2)
    );
    assert_eq!(from_str::<Option<u8>>("null").unwrap(), None);
    assert_eq!(from_str::<u64>("18446744073709551615").unwrap(), u64::MAX);
    assert_eq!(from_str::<i64>("-9223372036854775808").unwrap(), i64::MIN);
    assert_eq!(from_str::<f64>("1e400").ok(), None);
    assert_eq!(
        from_str::<(bool, ())>("[false, null]").unwrap(),
        (false, ())
    );
    assert!(from_str::<serde::de::IgnoredAny>(r#"[{"a": [1, "x", {}]}, -0.5e-3]"#).is_ok());
}

#[test]
fn refuses_what_serde_json_refuses() {
    for bad in [
        "",
        "{",
        "[1,]",
        "[1 2]",
        "01",
        "1.",
        ".5",
        "-",
        "1e",
        "+1",
        "\"\\x\"",
        "\"\u{1}\"",
        "\"\\ud800\"",
        "\"\\udc00\"",
        "nul",
        "[1] 2",
        "{\"a\" 1}",
        "{1: 2}",
        "{\"a\": 1,}",
        "\"abc",
    ] {
        assert!(from_str::<serde::de::IgnoredAny>(bad).is_err(), "{bad:?}");
    }
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    assert!(from_str::<serde::de::IgnoredAny>(&deep).is_err());
    let error = from_str::<u32>("1.5").unwrap_err().to_string();
    assert_eq!(
        error,
        "invalid type: number, expected u32 at line 1 column 3"
    );
    let error = from_str::<Mode>("{\n\"bike\": 1}").unwrap_err().to_string();
    assert!(error.starts_with("unknown variant `bike`"), "{error}");
    assert!(error.ends_with("at line 2 column 7"), "{error}");
    let error = from_str::<Vec<u8>>("[1, 300]").unwrap_err().to_string();
    assert!(error.starts_with("invalid value: integer `300`"), "{error}");
}
