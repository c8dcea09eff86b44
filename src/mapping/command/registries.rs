//! Registry settings: per-host `buildkitd.toml` tables, the TLS context
//! buildctl needs for registry tokens, and private addresses Kaniko reached
//! over plain HTTP by itself.

use super::collected::{Collected, HostSettings};
use super::groups::Group;
use super::{Fate, FlagNote, Translation};
use crate::kaniko::invocation::FlagUse;
use crate::mapping::quote::in_double_quotes;

/// Kaniko (go-containerregistry) fell back to plain HTTP by itself for
/// registries on private addresses; BuildKit only does so for loopback.
pub(super) fn private_registry_notes(c: &Collected, out: &mut Translation) {
    let declared: Vec<&str> = c
        .registries
        .iter()
        .filter(|(_, settings)| settings.http)
        .map(|(host, _)| host.as_str())
        .collect();
    for destination in &c.destinations {
        let host = destination.value.split('/').next().unwrap_or_default();
        if is_private_address(host) && !declared.contains(&host) {
            out.notes.push(FlagNote {
                fate: Fate::Note,
                span: destination.span,
                message: format!(
                    "`{host}` is a private address: Kaniko fell back to plain HTTP for it by itself, BuildKit does not; \
                     if it serves plain HTTP, add `--insecure-registry {host}` before migrating"
                ),
            });
        }
    }
}

/// An RFC 1918 IPv4 address, with or without a port.
fn is_private_address(host: &str) -> bool {
    let address = host.split(':').next().unwrap_or_default();
    let Ok(ip) = address.parse::<std::net::Ipv4Addr>() else {
        return false;
    };
    ip.is_private()
}

/// Which `buildkitd.toml` setting of a host a registry flag makes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum RegistrySetting {
    /// `--registry-mirror`: a mirror of Docker Hub.
    Mirror,
    /// `--insecure-registry`: `http = true`.
    Http,
    /// `--skip-tls-verify-registry`: `insecure = true`.
    NoTlsVerify,
    /// `--registry-certificate HOST=PATH`: `ca`.
    Ca,
    /// `--registry-client-cert HOST=CERT,KEY`: a `keypair`.
    ClientCert,
    /// `--registry-map FROM=TO[;...]`: mirrors of any registry.
    Map,
}

/// Sorts one registry flag into the daemon settings of its host.
pub(crate) fn registry_setting(
    setting: RegistrySetting,
    flag: &FlagUse,
    c: &mut Collected,
) -> Result<(), String> {
    let name = flag.spec.name;
    let text =
        in_double_quotes(&flag.raw).ok_or_else(|| format!("--{name} has an unclosed quote"))?;
    // The text lands in a TOML string inside a double-quoted `printf`
    // argument: a quote or a backslash in it would end one or the other.
    if text.contains(['"', '\\']) {
        return Err(format!(
            "--{name} `{}` holds a quote or a backslash, which buildkitd.toml cannot take as written: write the registry's name plainly",
            flag.value
        ));
    }
    match setting {
        RegistrySetting::Mirror => add_mirror(c, "docker.io", &text),
        RegistrySetting::Http => c.host(&text).http = true,
        RegistrySetting::NoTlsVerify => c.host(&text).insecure = true,
        RegistrySetting::Ca => {
            let (host, path) = text
                .split_once('=')
                .ok_or("--registry-certificate wants HOST=PATH")?;
            c.host(host).ca.push(path.to_string());
        }
        RegistrySetting::ClientCert => {
            let (host, pair) = text
                .split_once('=')
                .ok_or("--registry-client-cert wants HOST=CERT,KEY")?;
            let (cert, key) = pair
                .split_once(',')
                .ok_or("--registry-client-cert wants HOST=CERT,KEY")?;
            c.host(host)
                .keypairs
                .push((cert.to_string(), key.to_string()));
        }
        RegistrySetting::Map => {
            for entry in text.split(';').filter(|e| !e.is_empty()) {
                let (original, mirrors) = entry
                    .split_once('=')
                    .ok_or("--registry-map wants FROM=TO")?;
                // Kaniko names Docker Hub `index.docker.io`; BuildKit `docker.io`.
                let original = if original == "index.docker.io" {
                    "docker.io"
                } else {
                    original
                };
                for mirror in mirrors.split(',') {
                    add_mirror(c, original, mirror);
                }
            }
        }
    }
    Ok(())
}

/// A mirror without its scheme, as BuildKit wants it; a plain-HTTP mirror
/// also gets `http = true`.
pub(super) fn add_mirror(c: &mut Collected, registry: &str, mirror: &str) {
    let bare = mirror.trim_start_matches("https://");
    let plain_http = bare.starts_with("http://");
    let bare = bare
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    if plain_http {
        let host = bare.split('/').next().unwrap_or(&bare).to_string();
        c.host(&host).http = true;
    }
    c.host(registry).mirrors.push(bare);
}

/// The `buildkitd.toml` lines for the collected registry settings.
/// `--skip-tls-verify` covers the registries the job pushes to; base images
/// from other registries are the user's to list.
pub(super) fn daemon_config(c: &Collected, out: &mut Translation) {
    let mut tables: Vec<(String, &HostSettings)> =
        c.registries.iter().map(|(h, s)| (h.clone(), s)).collect();
    let insecure_everywhere = HostSettings {
        insecure: true,
        ..HostSettings::default()
    };
    if let Some(flag) = c.skip_tls_verify {
        for destination in c
            .destinations
            .iter()
            .filter_map(|d| in_double_quotes(&d.raw))
        {
            let host = if destination.contains('$') {
                format!("$(printf '%s' \"{destination}\" | cut -d/ -f1)")
            } else {
                destination
                    .split('/')
                    .next()
                    .unwrap_or_default()
                    .to_string()
            };
            if !tables.iter().any(|(h, _)| *h == host) {
                tables.push((host, &insecure_everywhere));
            }
        }
        // Kaniko skipped verification for its mirrors too.
        let mirror_hosts: Vec<String> = c
            .registries
            .iter()
            .flat_map(|(_, settings)| settings.mirrors.iter())
            .map(|mirror| mirror.split('/').next().unwrap_or_default().to_string())
            .collect();
        for host in mirror_hosts {
            if !tables.iter().any(|(h, _)| *h == host) {
                tables.push((host, &insecure_everywhere));
            }
        }
        out.notes.push(FlagNote {
            fate: Fate::Note,
            span: flag.span,
            message: "--skip-tls-verify now covers the registries the job pushes to and its mirrors; list registries of base images in buildkitd.toml by hand".into(),
        });
    }
    for (host, settings) in &tables {
        token_tls_lines(host, settings, c.skip_tls_verify.is_some(), out);
    }
    for (host, settings) in tables {
        let quote = |value: &str| format!("\\\"{value}\\\"");
        let list = |values: &[String]| {
            values
                .iter()
                .map(|v| quote(v))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.daemon_config
            .push(format!("[registry.{}]", quote(&host)));
        if !settings.mirrors.is_empty() {
            out.daemon_config
                .push(format!("  mirrors = [{}]", list(&settings.mirrors)));
        }
        if settings.http {
            out.daemon_config.push("  http = true".into());
        }
        if settings.insecure || c.skip_tls_verify.is_some() {
            out.daemon_config.push("  insecure = true".into());
        }
        if !settings.ca.is_empty() {
            out.daemon_config
                .push(format!("  ca = [{}]", list(&settings.ca)));
        }
        for (cert, key) in &settings.keypairs {
            out.daemon_config
                .push(format!("  [[registry.{}.keypair]]", quote(&host)));
            out.daemon_config
                .push(format!("    cert = {}", quote(cert)));
            out.daemon_config.push(format!("    key = {}", quote(key)));
        }
    }
}

/// buildctl fetches registry tokens itself, outside the daemon: the TLS
/// settings Kaniko applied to a registry also go on
/// `--registry-auth-tlscontext`, one per CA (buildctl adds them up).
fn token_tls_lines(host: &str, settings: &HostSettings, skip_all: bool, out: &mut Translation) {
    let mut fields: Vec<String> = Vec::new();
    if settings.insecure || skip_all {
        fields.push("insecure=true".into());
    }
    if let Some((cert, key)) = settings.keypairs.first() {
        fields.push(format!("cert={cert},key={key}"));
    }
    let mut cas = settings.ca.iter();
    if let Some(ca) = cas.next() {
        fields.push(format!("ca={ca}"));
    }
    if !fields.is_empty() {
        out.groups.push(Group::RegistryTls(format!(
            "\"host={host},{}\"",
            fields.join(",")
        )));
    }
    for ca in cas {
        out.groups
            .push(Group::RegistryTls(format!("\"host={host},ca={ca}\"")));
    }
}
