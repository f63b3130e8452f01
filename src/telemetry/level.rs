//! `LOG_LEVEL` (else Lambda's `AWS_LAMBDA_LOG_LEVEL`, else INFO).

use tracing::Level;

/// Parses ERROR, WARN, INFO, DEBUG, TRACE in any case; WARNING and Lambda's
/// FATAL are accepted too (FATAL means ERROR).
pub fn parse_level(value: &str) -> Option<Level> {
    match value.trim().to_ascii_uppercase().as_str() {
        "ERROR" | "FATAL" => Some(Level::ERROR),
        "WARN" | "WARNING" => Some(Level::WARN),
        "INFO" => Some(Level::INFO),
        "DEBUG" => Some(Level::DEBUG),
        "TRACE" => Some(Level::TRACE),
        _ => None,
    }
}

/// The effective level. An unset or empty variable falls through; a set but
/// invalid one is an error naming it, so a typo never silences the logs.
pub fn resolve(log_level: Option<&str>, lambda_log_level: Option<&str>) -> Result<Level, String> {
    for (name, value) in [
        ("LOG_LEVEL", log_level),
        ("AWS_LAMBDA_LOG_LEVEL", lambda_log_level),
    ] {
        match value.map(str::trim).filter(|v| !v.is_empty()) {
            None => continue,
            Some(v) => {
                return parse_level(v).ok_or_else(|| {
                    format!("{name}={v:?} is invalid: expected ERROR, WARN, INFO, DEBUG or TRACE")
                })
            }
        }
    }
    Ok(Level::INFO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_in_any_case() {
        assert_eq!(parse_level("debug"), Some(Level::DEBUG));
        assert_eq!(parse_level(" Trace "), Some(Level::TRACE));
        assert_eq!(parse_level("WARNING"), Some(Level::WARN));
        assert_eq!(parse_level("fatal"), Some(Level::ERROR));
        assert_eq!(parse_level("verbose"), None);
    }

    #[test]
    fn precedence_and_errors() {
        assert_eq!(resolve(None, None), Ok(Level::INFO));
        assert_eq!(resolve(Some(""), Some("DEBUG")), Ok(Level::DEBUG));
        assert_eq!(resolve(Some("error"), Some("DEBUG")), Ok(Level::ERROR));
        let err = resolve(Some("loud"), None).unwrap_err();
        assert!(err.contains("LOG_LEVEL=\"loud\""), "{err}");
        assert!(resolve(None, Some("x"))
            .unwrap_err()
            .starts_with("AWS_LAMBDA_LOG_LEVEL"));
    }
}
