//! The rules the host applies to a plugin's answer, so the native harness refuses what the
//! host would refuse (`BadOutput`). `trolley-plugin-host` (`src/output.rs`) implements the
//! same rules on its side; a test there checks that both agree on the same table of inputs.

/// Longest code (violation or fee) accepted.
pub const MAX_CODE_BYTES: usize = 128;
/// Longest message, label, mode, requirement or note accepted.
pub const MAX_TEXT_BYTES: usize = 4096;
/// Longest violation `field` accepted.
pub const MAX_FIELD_BYTES: usize = 128;
/// Longest decimal string accepted.
pub const MAX_DECIMAL_BYTES: usize = 64;

/// A plain decimal string: `-?[0-9]+(\.[0-9]+)?`, at most [`MAX_DECIMAL_BYTES`].
pub fn is_decimal(value: &str) -> bool {
    if value.is_empty() || value.len() > MAX_DECIMAL_BYTES {
        return false;
    }
    let digits = value.strip_prefix('-').unwrap_or(value);
    let (int, frac) = match digits.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (digits, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    all_digits(int) && frac.is_none_or(all_digits)
}

/// A message, label, mode, requirement or note: not blank, at most `max` bytes, no control
/// characters but newline and tab.
///
/// # Errors
/// What is wrong, starting with `what`.
pub fn text(what: &str, value: &str, max: usize) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err(format!("{what} is empty"));
    }
    if value.len() > max {
        return Err(format!(
            "{what} is {} bytes long (at most {max})",
            value.len()
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(format!(
            "{what} `{}` contains control characters",
            value.escape_debug()
        ));
    }
    Ok(())
}

/// A violation or fee code: a [`text`] of at most [`MAX_CODE_BYTES`] without whitespace.
///
/// # Errors
/// What is wrong, starting with `what`.
pub fn code(what: &str, value: &str) -> Result<(), String> {
    text(what, value, MAX_CODE_BYTES)?;
    if value.chars().any(char::is_whitespace) {
        return Err(format!(
            "{what} `{}` contains whitespace",
            value.escape_debug()
        ));
    }
    Ok(())
}

/// A violation's `field`: `quantity`, `seller`, `fulfillment`, `attributes.<key>` (only with a
/// line id) or `context.<key>`, `<key>` of `[A-Za-z0-9_.:-]`, at most [`MAX_FIELD_BYTES`].
///
/// # Errors
/// What is wrong with it.
pub fn field(value: &str, has_line: bool) -> Result<(), String> {
    let shown = || value.escape_debug().to_string();
    if value.is_empty() {
        return Err("violation field is empty (leave it out instead)".to_owned());
    }
    if value.len() > MAX_FIELD_BYTES {
        return Err(format!(
            "violation field is {} bytes long (at most {MAX_FIELD_BYTES})",
            value.len()
        ));
    }
    if matches!(value, "quantity" | "seller" | "fulfillment") {
        return Ok(());
    }
    let key_ok = |key: &str| {
        !key.is_empty()
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
    };
    if let Some(key) = value.strip_prefix("attributes.") {
        if !key_ok(key) {
            return Err(format!(
                "violation field `{}`: the attribute key must be made of A-Z a-z 0-9 _ . : -",
                shown()
            ));
        }
        if !has_line {
            return Err(format!(
                "violation field `{}` names a line attribute but the violation names no line",
                shown()
            ));
        }
        return Ok(());
    }
    if let Some(key) = value.strip_prefix("context.") {
        if !key_ok(key) {
            return Err(format!(
                "violation field `{}`: the context key must be made of A-Z a-z 0-9 _ . : -",
                shown()
            ));
        }
        return Ok(());
    }
    Err(format!(
        "violation field `{}` is not `quantity`, `seller`, `fulfillment`, `attributes.<key>` or \
         `context.<key>`",
        shown()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields() {
        for ok in [
            "quantity",
            "seller",
            "fulfillment",
            "context.age_verified",
            "context.a:b-c.d",
        ] {
            assert_eq!(field(ok, false), Ok(()), "{ok}");
        }
        assert_eq!(field("attributes.prescription_ref", true), Ok(()));
        assert!(field("attributes.prescription_ref", false).is_err());
        for bad in [
            "",
            "price",
            "context.",
            "context.a b",
            "attributes.",
            "Quantity",
            "context.é",
        ] {
            assert!(field(bad, true).is_err(), "{bad}");
        }
        assert!(field(&format!("context.{}", "k".repeat(130)), false).is_err());
    }

    #[test]
    fn decimals() {
        for ok in ["0", "12.50", "-3.1"] {
            assert!(is_decimal(ok), "{ok}");
        }
        for bad in ["", "1.2.3", "1_000", ".5", "5.", "1e3", "+1", " 1", "-"] {
            assert!(!is_decimal(bad), "{bad}");
        }
    }
}
