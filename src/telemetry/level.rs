//! Log levels as operators and Lambda spell them.

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
}
