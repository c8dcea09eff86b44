//! What a scalar is, read as serde_yaml reads it (`deserialize_any`): the
//! YAML 1.2 core schema with serde_yaml's own edges (`0x`, `0o`, `0b`, a
//! leading `+`, `.inf`, and digits with a leading zero as a string).
//!
//! The verification streams libyaml's events itself (see [`super::events`])
//! and so resolves scalars itself: these rules are serde_yaml 0.9's
//! `visit_scalar` and `visit_untagged_scalar`, the ones its `Value` used.

/// A scalar's value once resolved.
#[derive(Debug, PartialEq)]
pub(super) enum Scalar<'v> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    /// An integer past 64 bits, by its text.
    Big(&'v str),
    /// By its bits, so that `.nan` equals itself.
    Float(u64),
    Str(&'v str),
}

impl Scalar<'_> {
    /// The text a change's string key matches: GitLab reads `1:` and `"1":`
    /// as the same key.
    pub fn key_text(&self) -> Option<String> {
        match self {
            Scalar::Str(s) => Some((*s).to_string()),
            Scalar::Int(i) => Some(i.to_string()),
            Scalar::UInt(u) => Some(u.to_string()),
            Scalar::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
}

const BOOL: &[u8] = b"tag:yaml.org,2002:bool";
const INT: &[u8] = b"tag:yaml.org,2002:int";
const FLOAT: &[u8] = b"tag:yaml.org,2002:float";
const NULL: &[u8] = b"tag:yaml.org,2002:null";

/// A local tag (`!reference`) as serde_yaml names its enum variant: without
/// the `!`, or `!` alone. `None` for no tag or a standard one (`!!str`).
pub(super) fn local_tag(tag: Option<&[u8]>) -> Option<&str> {
    let rest = tag?.strip_prefix(b"!")?;
    let name = if rest.is_empty() { &b"!"[..] } else { rest };
    std::str::from_utf8(name).ok()
}

/// Resolves a scalar that has no local tag (the tag, if any, is standard);
/// `tagged_already` is true for the content of a locally tagged scalar,
/// whose tag serde_yaml has already taken.
pub(super) fn resolve<'v>(
    value: &'v str,
    plain: bool,
    tag: Option<&[u8]>,
    tagged_already: bool,
) -> Result<Scalar<'v>, String> {
    match tag {
        Some(tag) if !tagged_already => {
            let resolved = match tag {
                BOOL => parse_bool(value).map(Scalar::Bool),
                INT => parse_int(value),
                FLOAT => parse_f64(value).map(|f| Scalar::Float(f.to_bits())),
                NULL => parse_null(value).then_some(Scalar::Null),
                _ => return Ok(Scalar::Str(value)),
            };
            resolved.ok_or_else(|| {
                let tag = String::from_utf8_lossy(tag);
                format!("a scalar tagged {tag} does not hold one")
            })
        }
        _ if plain => Ok(untagged(value)),
        _ => Ok(Scalar::Str(value)),
    }
}

fn untagged(value: &str) -> Scalar<'_> {
    if value.is_empty() || parse_null(value) {
        return Scalar::Null;
    }
    // Most plain scalars are words: nothing below reads them as anything
    // else (an integer or float starts with a sign, a digit or a dot).
    let first = value.as_bytes()[0];
    if first.is_ascii_alphabetic() && !matches!(first, b't' | b'T' | b'f' | b'F') {
        return Scalar::Str(value);
    }
    if let Some(b) = parse_bool(value) {
        return Scalar::Bool(b);
    }
    if let Some(int) = parse_int(value) {
        return int;
    }
    if !digits_but_not_number(value)
        && let Some(float) = parse_f64(value)
    {
        return Scalar::Float(float.to_bits());
    }
    Scalar::Str(value)
}

fn parse_null(scalar: &str) -> bool {
    matches!(scalar, "null" | "Null" | "NULL" | "~")
}

fn parse_bool(scalar: &str) -> Option<bool> {
    match scalar {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// serde_yaml's `visit_int`: unsigned first, then negative, then the same
/// past 64 bits.
fn parse_int(value: &str) -> Option<Scalar<'_>> {
    if let Some(u) = parse_unsigned(value, u64::from_str_radix) {
        return Some(Scalar::UInt(u));
    }
    if let Some(i) = parse_negative(value, i64::from_str_radix) {
        return Some(Scalar::Int(i));
    }
    if parse_unsigned(value, u128::from_str_radix).is_some()
        || parse_negative(value, i128::from_str_radix).is_some()
    {
        return Some(Scalar::Big(value));
    }
    None
}

fn radix_prefixed<T>(
    unsigned: &str,
    from_str_radix: fn(&str, u32) -> Result<T, std::num::ParseIntError>,
) -> Option<Option<T>> {
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(rest) = unsigned.strip_prefix(prefix) {
            if rest.starts_with(['+', '-']) {
                return Some(None);
            }
            if let Ok(int) = from_str_radix(rest, radix) {
                return Some(Some(int));
            }
        }
    }
    None
}

fn parse_unsigned<T>(
    scalar: &str,
    from_str_radix: fn(&str, u32) -> Result<T, std::num::ParseIntError>,
) -> Option<T> {
    let unpositive = scalar.strip_prefix('+').unwrap_or(scalar);
    if let Some(found) = radix_prefixed(unpositive, from_str_radix) {
        return found;
    }
    if unpositive.starts_with(['+', '-']) || digits_but_not_number(scalar) {
        return None;
    }
    from_str_radix(unpositive, 10).ok()
}

fn parse_negative<T>(
    scalar: &str,
    from_str_radix: fn(&str, u32) -> Result<T, std::num::ParseIntError>,
) -> Option<T> {
    for (prefix, radix) in [("-0x", 16), ("-0o", 8), ("-0b", 2)] {
        if let Some(rest) = scalar.strip_prefix(prefix)
            && let Ok(int) = from_str_radix(&format!("-{rest}"), radix)
        {
            return Some(int);
        }
    }
    if digits_but_not_number(scalar) {
        return None;
    }
    from_str_radix(scalar, 10).ok()
}

fn parse_f64(scalar: &str) -> Option<f64> {
    let unpositive = match scalar.strip_prefix('+') {
        Some(rest) if rest.starts_with(['+', '-']) => return None,
        Some(rest) => rest,
        None => scalar,
    };
    if let ".inf" | ".Inf" | ".INF" = unpositive {
        return Some(f64::INFINITY);
    }
    if let "-.inf" | "-.Inf" | "-.INF" = scalar {
        return Some(f64::NEG_INFINITY);
    }
    if let ".nan" | ".NaN" | ".NAN" = scalar {
        return Some(f64::NAN.copysign(1.0));
    }
    unpositive
        .parse::<f64>()
        .ok()
        .filter(|float| float.is_finite())
}

/// Leading zeros followed by digits: a string in YAML 1.2.
fn digits_but_not_number(scalar: &str) -> bool {
    let scalar = scalar.strip_prefix(['-', '+']).unwrap_or(scalar);
    scalar.len() > 1 && scalar.starts_with('0') && scalar[1..].bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// serde_yaml's own reading of a plain scalar, for comparison.
    fn serde_yaml_reads(text: &str) -> Scalar<'_> {
        match serde_yaml::from_str::<serde_yaml::Value>(text).unwrap() {
            serde_yaml::Value::Null => Scalar::Null,
            serde_yaml::Value::Bool(b) => Scalar::Bool(b),
            serde_yaml::Value::Number(n) if n.is_u64() => Scalar::UInt(n.as_u64().unwrap()),
            serde_yaml::Value::Number(n) if n.is_i64() => Scalar::Int(n.as_i64().unwrap()),
            serde_yaml::Value::Number(n) => Scalar::Float(n.as_f64().unwrap().to_bits()),
            serde_yaml::Value::String(_) => Scalar::Str(text),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn plain_scalars_resolve_as_serde_yaml_reads_them() {
        for text in [
            "~", "null", "NULL", "true", "False", "yes", "on", "1", "+1", "-1", "0x1f", "-0x1f",
            "0o17", "0b101", "+0x1", "0x+1", "007", "-007", "1.5", "-1.5e3", ".inf", "-.Inf",
            "+.inf", "1_000", "inf", "nan", "infinity", "1e400", "0.", ".5", "+-1", "x1", "True1",
            "t", "f", "1:2", "08", "0", "0.0",
        ] {
            assert_eq!(untagged(text), serde_yaml_reads(text), "{text}");
        }
        assert!(matches!(untagged(".nan"), Scalar::Float(bits) if f64::from_bits(bits).is_nan()));
        assert_eq!(
            untagged("340282366920938463463374607431768211455"),
            Scalar::Big("340282366920938463463374607431768211455")
        );
    }

    #[test]
    fn tags_decide_before_the_text() {
        assert_eq!(
            resolve("1", false, Some(b"tag:yaml.org,2002:str"), false),
            Ok(Scalar::Str("1"))
        );
        assert_eq!(resolve("1", false, Some(INT), false), Ok(Scalar::UInt(1)));
        assert!(resolve("x", true, Some(BOOL), false).is_err());
        assert_eq!(resolve("1", true, Some(b"!x"), true), Ok(Scalar::UInt(1)));
        assert_eq!(resolve("1", false, None, false), Ok(Scalar::Str("1")));
        assert_eq!(local_tag(Some(b"!reference")), Some("reference"));
        assert_eq!(local_tag(Some(b"!")), Some("!"));
        assert_eq!(local_tag(Some(INT)), None);
    }
}
