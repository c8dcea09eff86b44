//! `--output-format sarif`: SARIF 2.1.0, read by code scanning services
//! (GitHub), IDE viewers and GitLab Ultimate (`artifacts:reports:sarif`).
//!
//! Every rule is listed with its docs text and link, so a viewer can explain
//! a finding without the tool at hand. Columns count Unicode characters, as
//! everywhere in this tool, and the run says so (`columnKind`), because
//! SARIF's default is UTF-16 code units.

use serde_json::{Value, json};

use super::{Checked, each, fingerprints, range, report_path};
use crate::rules::{RULES_URL, Rule, Severity};

/// Where the `$schema` of the log points: the schema SARIF viewers and
/// editors know by this address.
const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The key under `partialFingerprints`: versioned, so that a change of hash
/// shows as a new key rather than as every finding changing.
const FINGERPRINT_KEY: &str = "kaniko2buildkit/v1";

/// Renders every finding as a result of one run.
pub fn render_sarif(checked: &[Checked]) -> String {
    let notifications: Vec<Value> = each(checked)
        .filter(|(_, finding)| finding.rule == Rule::LoadError)
        .map(|(pipeline, finding)| notification(pipeline, finding))
        .collect();
    let results: Vec<Value> = each(checked)
        .zip(fingerprints(checked))
        .filter(|((_, finding), _)| finding.rule != Rule::LoadError)
        .map(|((pipeline, finding), fingerprint)| {
            let (start, end) = range(pipeline, finding);
            let mut message = finding.message.to_string();
            if let Some(help) = &finding.help {
                message = format!("{message}. Help: {help}");
            }
            json!({
                "ruleId": finding.rule.code(),
                "ruleIndex": rule_index(finding.rule),
                "level": level(finding.severity),
                "message": { "text": message },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {
                            "uri": uri(&report_path(&pipeline.files[finding.file].name)),
                        },
                        "region": {
                            "startLine": start.line,
                            "startColumn": start.column,
                            "endLine": end.line,
                            "endColumn": end.column,
                        },
                    },
                }],
                "partialFingerprints": { FINGERPRINT_KEY: fingerprint },
            })
        })
        .collect();
    let mut log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": env!("CARGO_PKG_NAME"),
                    "version": env!("CARGO_PKG_VERSION"),
                    "informationUri": RULES_URL,
                    "rules": Rule::ALL.iter().map(|&rule| descriptor(rule)).collect::<Vec<_>>(),
                },
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    if !notifications.is_empty() {
        log["runs"][0]["invocations"] = json!([{
            "executionSuccessful": false,
            "toolExecutionNotifications": notifications,
        }]);
    }
    let mut out = serde_json::to_string_pretty(&log).unwrap_or_default();
    out.push('\n');
    out
}

/// A file that could not be read or parsed: a notification of the
/// invocation, not a result, since nothing in the file was analysed.
fn notification(pipeline: &crate::gitlab::Pipeline, finding: &crate::finding::Finding) -> Value {
    let (start, _) = range(pipeline, finding);
    let mut message = finding.message.to_string();
    if let Some(help) = &finding.help {
        message = format!("{message}. Help: {help}");
    }
    json!({
        "level": "error",
        "message": { "text": message },
        "descriptor": { "id": finding.rule.code() },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": { "uri": uri(&report_path(&pipeline.files[finding.file].name)) },
                "region": { "startLine": start.line, "startColumn": start.column },
            },
        }],
    })
}

/// A rule's `reportingDescriptor`.
fn descriptor(rule: Rule) -> Value {
    let url = rule.url();
    json!({
        "id": rule.code(),
        "shortDescription": { "text": rule.summary() },
        "fullDescription": { "text": rule.description() },
        "help": {
            "text": format!("{} See {url}", rule.description()),
            "markdown": format!("{} [Rule docs]({url}).", rule.description()),
        },
        "helpUri": url,
        "defaultConfiguration": { "level": level(rule.severity()) },
    })
}

fn rule_index(rule: Rule) -> usize {
    Rule::ALL
        .iter()
        .position(|&r| r == rule)
        .expect("every rule is in Rule::ALL")
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A relative path as a URI reference: `/` separators, and every byte
/// outside RFC 3986's unreserved set (and `/`) percent-encoded, so that
/// spaces and non-ASCII names survive.
fn uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_percent_encoded() {
        assert_eq!(uri("ci/build.yml"), "ci/build.yml");
        assert_eq!(uri("my ci/ü.yml"), "my%20ci/%C3%BC.yml");
        assert_eq!(uri("ci\\a.yml"), "ci/a.yml");
    }
}
