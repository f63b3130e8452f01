//! The X-Ray trace header (`Lambda-Runtime-Trace-Id` / `_X_AMZN_TRACE_ID`):
//! `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1`.

/// A parsed trace header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceHeader {
    /// `1-<8 hex time>-<24 hex>`.
    pub root: String,
    /// 16 hex digits: the segment our subsegments hang under.
    pub parent: Option<String>,
    /// `None` when the header leaves the decision to us.
    pub sampled: Option<bool>,
}

impl TraceHeader {
    pub fn parse(header: &str) -> Option<TraceHeader> {
        let (mut root, mut parent, mut sampled) = (None, None, None);
        for part in header.split(';').map(str::trim) {
            let (k, v) = part.split_once('=')?;
            match k {
                "Root" if valid_root(v) => root = Some(v.to_owned()),
                "Root" => return None,
                "Parent" if v.len() == 16 && is_hex(v) => parent = Some(v.to_ascii_lowercase()),
                "Parent" => return None,
                "Sampled" => {
                    sampled = match v {
                        "1" => Some(true),
                        "0" => Some(false),
                        _ => None,
                    }
                }
                _ => {} // Lineage, Self, …: not ours to interpret
            }
        }
        Some(TraceHeader {
            root: root?,
            parent,
            sampled,
        })
    }

    /// Whether spans should be sent: only when the runtime said so.
    pub fn is_sampled(&self) -> bool {
        self.sampled == Some(true)
    }
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn valid_root(v: &str) -> bool {
    let mut parts = v.split('-');
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next()),
        (Some("1"), Some(t), Some(id), None) if t.len() == 8 && is_hex(t) && id.len() == 24 && is_hex(id)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lambda_headers() {
        let h = TraceHeader::parse("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995C3F42CD8AD8;Sampled=1;Lineage=a:1").unwrap();
        assert_eq!(h.root, "1-5759e988-bd862e3fe1be46a994272793");
        assert_eq!(h.parent.as_deref(), Some("53995c3f42cd8ad8"));
        assert!(h.is_sampled());
        let unsampled =
            TraceHeader::parse("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0").unwrap();
        assert!(!unsampled.is_sampled());
        assert_eq!(unsampled.parent, None);
    }

    #[test]
    fn rejects_malformed_headers() {
        for bad in [
            "",
            "Parent=53995c3f42cd8ad8;Sampled=1",
            "Root=2-5759e988-bd862e3fe1be46a994272793",
            "Root=1-5759e988-short",
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=xyz",
            "garbage",
        ] {
            assert_eq!(TraceHeader::parse(bad), None, "{bad}");
        }
    }
}
