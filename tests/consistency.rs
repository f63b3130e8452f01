//! The dashboard, the alarms and the runbooks held to the code: every metric
//! they name in the function's namespace is one the code emits
//! (`telemetry::catalog::METRICS`), with exactly the dimensions it emits
//! (otherwise CloudWatch shows nothing); every alarm names a runbook that
//! exists, and every runbook belongs to an alarm; the log messages the
//! runbooks filter on are ones the code writes.

use imgflow_engine::VARIANT_TABLE;
use imgflow_lambda::config::{self, SetBy, DEFAULT_NAMESPACE, DEFAULT_SERVICE};
use imgflow_lambda::telemetry::catalog::{self, Scope, METRICS, VARIANT_DIMENSION};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Files of a folder, sorted.
fn files(dir: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(repo().join(dir))
        .unwrap_or_else(|e| panic!("{dir}/: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

fn name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// Terraform template -> JSON: `${metrics_namespace}` becomes the default
/// namespace, `${service_name}` the default service, and every other `${...}`
/// a 0 (a number, or a string inside quotes), so the file parses as JSON.
fn render(text: &str, file: &str) -> Value {
    assert!(
        !text.contains("%{"),
        "{file}: template directives (%{{...}}) hide metric names from this test"
    );
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .unwrap_or_else(|| panic!("{file}: unclosed ${{"));
        let expr = rest[start + 2..start + end].trim();
        out.push_str(match expr {
            "metrics_namespace" => DEFAULT_NAMESPACE,
            "service_name" => DEFAULT_SERVICE,
            _ => "0",
        });
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{file} is not JSON once rendered: {e}"))
}

/// One metric a dashboard widget or an alarm names.
#[derive(Debug, Clone)]
struct MetricRef {
    file: String,
    namespace: String,
    name: String,
    /// Dimension name -> value, in the order written.
    dimensions: Vec<(String, String)>,
}

/// Metric rows of dashboard widgets: `[namespace, name, dim, value, ..., {options}]`.
fn dashboard_refs(file: &str, body: &Value) -> Vec<MetricRef> {
    let mut refs = Vec::new();
    let widgets = body["widgets"]
        .as_array()
        .unwrap_or_else(|| panic!("{file}: no widgets"));
    for widget in widgets {
        let props = &widget["properties"];
        for text in [&props["query"], &props["markdown"]] {
            let text = text.as_str().unwrap_or("");
            assert!(
                !text.contains("SEARCH("),
                "{file}: write metric rows in full (SEARCH hides metric names)"
            );
        }
        for row in props["metrics"].as_array().into_iter().flatten() {
            let row = row.as_array().expect("a metric row is an array");
            if row.first().is_some_and(Value::is_object) {
                let expr = row[0]["expression"].as_str().unwrap_or("");
                assert!(
                    !expr.contains("SEARCH("),
                    "{file}: write metric rows in full, not {expr}"
                );
                continue;
            }
            let strings: Vec<&str> = row.iter().map_while(Value::as_str).collect();
            assert!(
                strings.len() >= 2 && strings.len().is_multiple_of(2),
                "{file}: metric row {row:?} must be [namespace, name, dimension, value, ...]"
            );
            assert!(
                !strings[0].starts_with('.'),
                "{file}: write metric rows in full (no \".\" shorthand): {row:?}"
            );
            refs.push(MetricRef {
                file: file.to_owned(),
                namespace: strings[0].to_owned(),
                name: strings[1].to_owned(),
                dimensions: strings[2..]
                    .chunks(2)
                    .map(|p| (p[0].to_owned(), p[1].to_owned()))
                    .collect(),
            });
        }
    }
    refs
}

/// Every object with `namespace` and `metric_name` in an alarm definition.
fn alarm_refs(file: &str, value: &Value, refs: &mut Vec<MetricRef>) {
    match value {
        Value::Object(map) => {
            if let (Some(ns), Some(name)) = (map.get("namespace"), map.get("metric_name")) {
                let dims = map
                    .get("dimensions")
                    .and_then(Value::as_object)
                    .map(|d| {
                        d.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                            .collect()
                    })
                    .unwrap_or_default();
                refs.push(MetricRef {
                    file: file.to_owned(),
                    namespace: ns.as_str().unwrap_or("").to_owned(),
                    name: name.as_str().unwrap_or("").to_owned(),
                    dimensions: dims,
                });
            }
            for v in map.values() {
                alarm_refs(file, v, refs);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| alarm_refs(file, v, refs)),
        _ => {}
    }
}

fn dashboard_files() -> Vec<PathBuf> {
    files("dashboards")
}

fn alarm_files() -> Vec<PathBuf> {
    let all = files("alarms");
    for f in &all {
        assert!(
            name(f).ends_with(".json"),
            "alarms/{}: Terraform reads only alarms/*.json",
            name(f)
        );
    }
    all
}

fn all_refs() -> Vec<MetricRef> {
    let mut refs = Vec::new();
    for path in dashboard_files() {
        let file = format!("dashboards/{}", name(&path));
        refs.extend(dashboard_refs(
            &file,
            &render(&fs::read_to_string(&path).unwrap(), &file),
        ));
    }
    for path in alarm_files() {
        let file = format!("alarms/{}", name(&path));
        alarm_refs(
            &file,
            &render(&fs::read_to_string(&path).unwrap(), &file),
            &mut refs,
        );
    }
    refs
}

/// The dimension names the code puts on a metric (`telemetry::metrics`):
/// `service` always, then `Variant` or `function_name`.
fn emitted_dimensions(scope: Scope) -> BTreeSet<&'static str> {
    match scope {
        Scope::Variant => BTreeSet::from(["service", VARIANT_DIMENSION]),
        Scope::Image => BTreeSet::from(["service"]),
        Scope::ColdStart => BTreeSet::from(["service", "function_name"]),
        Scope::Invocation => BTreeSet::from(["service"]),
    }
}

#[test]
fn every_metric_in_our_namespace_is_emitted_with_its_dimensions() {
    let refs = all_refs();
    assert!(
        refs.len() >= 20,
        "the parser found only {} metric references: is it reading the files?",
        refs.len()
    );
    let mut problems = Vec::new();
    for r in &refs {
        if r.namespace.starts_with("AWS/") {
            continue;
        }
        if r.namespace != DEFAULT_NAMESPACE {
            problems.push(format!(
                "{}: namespace {:?} is neither the function's (${{metrics_namespace}}) nor AWS/...",
                r.file, r.namespace
            ));
            continue;
        }
        let Some(def) = catalog::metric(&r.name) else {
            problems.push(format!(
                "{}: {} is not a metric the code emits (telemetry::catalog::METRICS)",
                r.file, r.name
            ));
            continue;
        };
        let got: BTreeSet<&str> = r.dimensions.iter().map(|(k, _)| k.as_str()).collect();
        let want = emitted_dimensions(def.scope);
        if got != want {
            problems.push(format!(
                "{}: {} with dimensions {got:?}, but the code emits it with {want:?}",
                r.file, r.name
            ));
        }
        for (k, v) in &r.dimensions {
            if k == VARIANT_DIMENSION && !VARIANT_TABLE.iter().any(|s| s.name == v) {
                problems.push(format!("{}: {} for unknown variant {v:?}", r.file, r.name));
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn the_dashboard_shows_every_metric_and_every_variant() {
    let mut shown: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in dashboard_files() {
        let file = format!("dashboards/{}", name(&path));
        for r in dashboard_refs(&file, &render(&fs::read_to_string(&path).unwrap(), &file)) {
            let variant = r
                .dimensions
                .iter()
                .find(|(k, _)| k == VARIANT_DIMENSION)
                .map(|(_, v)| v.clone());
            let entry = shown.entry(r.name).or_default();
            entry.extend(variant);
        }
    }
    let variants: BTreeSet<String> = VARIANT_TABLE.iter().map(|s| s.name.to_owned()).collect();
    for def in METRICS {
        let seen = shown.get(def.name);
        assert!(
            seen.is_some(),
            "{} is emitted but on no dashboard widget",
            def.name
        );
        if def.scope == Scope::Variant {
            assert_eq!(
                seen.unwrap(),
                &variants,
                "{}: the dashboard must show every variant of the table",
                def.name
            );
        }
    }
}

#[test]
fn every_alarm_has_a_runbook_and_every_runbook_an_alarm() {
    let alarms = alarm_files();
    assert!(alarms.len() >= 7, "at least seven alarms");
    let mut linked = BTreeSet::new();
    for path in &alarms {
        let file = format!("alarms/{}", name(path));
        let spec = render(&fs::read_to_string(path).unwrap(), &file);
        let runbook = spec["runbook"]
            .as_str()
            .unwrap_or_else(|| panic!("{file}: no \"runbook\""));
        assert!(
            runbook.starts_with("runbooks/") && runbook.ends_with(".md"),
            "{file}: runbook must be runbooks/<name>.md, got {runbook}"
        );
        assert!(
            repo().join(runbook).is_file(),
            "{file}: runbook {runbook} does not exist"
        );
        for key in ["summary", "severity", "comparison", "treat_missing_data"] {
            assert!(spec[key].is_string(), "{file}: no \"{key}\"");
        }
        linked.insert(runbook.trim_start_matches("runbooks/").to_owned());
    }
    let pages: BTreeSet<String> = files("runbooks")
        .iter()
        .map(|p| name(p))
        .filter(|n| n.ends_with(".md"))
        .filter(|n| {
            !matches!(
                n.as_str(),
                "log-level.md" | "deletion-request.md" | "README.md" | "index.md"
            )
        })
        .collect();
    let orphans: Vec<_> = pages.difference(&linked).collect();
    assert!(
        orphans.is_empty(),
        "runbooks no alarm links to: {orphans:?}"
    );
    assert!(
        repo().join("runbooks/log-level.md").is_file(),
        "runbooks/log-level.md is missing"
    );
}

#[test]
fn the_stack_sets_every_variable_the_function_reads() {
    // The function's environment block in terraform/main.tf names each
    // variable the configuration says the stack sets.
    let main = fs::read_to_string(repo().join("terraform/main.tf")).unwrap();
    let stack: Vec<String> = config::variables()
        .into_iter()
        .filter(|v| v.set_by == SetBy::Stack)
        .map(|v| v.name)
        .collect();
    assert!(stack.len() >= 15, "{stack:?}");
    for name in &stack {
        assert!(
            main.lines().any(|l| {
                let l = l.trim_start();
                l.starts_with(&format!("{name} ")) || l.contains(&format!("{{ {name} = "))
            }),
            "terraform/main.tf does not set {name}"
        );
    }
    // And it sets nothing the function does not read.
    let known: BTreeSet<String> = config::variables().into_iter().map(|v| v.name).collect();
    let block = main
        .split("function_environment = merge(")
        .nth(1)
        .expect("terraform/main.tf has the function_environment block");
    let block = &block[..block.find("\n  )").expect("the block ends")];
    for line in block.lines() {
        let line = line.trim().trim_start_matches("var.enable_kms ? {").trim();
        if let Some((name, _)) = line.split_once(" = ") {
            let name = name.trim();
            if name.chars().all(|c| c.is_ascii_uppercase() || c == '_') && !name.is_empty() {
                assert!(
                    known.contains(name),
                    "terraform/main.tf sets {name}, which the function does not read"
                );
            }
        }
    }
}

#[test]
fn the_docs_list_every_variable_and_reason() {
    let docs = fs::read_to_string(repo().join("docs/configuration.md")).unwrap();
    for v in config::variables() {
        assert!(
            docs.contains(&format!("`{}`", v.name)),
            "docs/configuration.md does not describe {}",
            v.name
        );
    }
    let design = fs::read_to_string(repo().join("docs/design.md")).unwrap();
    for reason in imgflow_engine::Reason::ALL {
        assert!(
            design.contains(&format!("`{}`", reason.code())),
            "docs/design.md does not list the reason code {}",
            reason.code()
        );
    }
}

/// Every `.rs` file under `dir`, recursively.
fn rust_sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text after each `marker` up to `end`, in `text`.
fn quoted<'a>(text: &'a str, marker: &str, end: char) -> Vec<&'a str> {
    text.match_indices(marker)
        .filter_map(|(at, _)| {
            let rest = &text[at + marker.len()..];
            rest.find(end).map(|stop| &rest[..stop])
        })
        .collect()
}

#[test]
fn the_log_messages_runbooks_filter_on_are_ones_the_code_writes() {
    // A Logs Insights filter on a message the code does not write finds
    // nothing, and the on-call engineer concludes there is nothing to find.
    let mut sources = Vec::new();
    for dir in ["src", "crates/engine/src"] {
        rust_sources(&repo().join(dir), &mut sources);
    }
    let code: String = sources
        .iter()
        .map(|p| fs::read_to_string(p).unwrap())
        .collect();
    let mut pages = files("runbooks");
    pages.push(repo().join("docs/operations.md"));
    let mut checked = 0;
    for page in &pages {
        let text = fs::read_to_string(page).unwrap();
        let exact = quoted(&text, "message = \"", '"');
        let like = quoted(&text, "message like /", '/');
        for message in exact.iter().chain(&like) {
            assert!(
                code.contains(message),
                "{}: filters on the log message {message:?}, which the code never writes",
                name(page)
            );
            checked += 1;
        }
    }
    assert!(checked >= 3, "found only {checked} message filters");
}
