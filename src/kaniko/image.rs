//! Which container images are Kaniko.

use std::sync::LazyLock;

use regex::Regex;

/// Kaniko images: upstream executor and warmer, the forks, Chainguard's
/// catalogue, third-party rebuilds, and any mirror or proxy whose path ends
/// the same way (`$CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX/...`, Harbor, …).
/// A tag (`:debug`, `:v1.24.0-debug`) and a digest (`@sha256:…`) may follow.
static KANIKO_IMAGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
        (?:^|/)
        (?:
            kaniko-project/(?:executor|warmer)
          | kaniko(?:-dev)?                       # martizih/kaniko, osscontainertools/kaniko, mirrors
          | kaniko(?:-warmer)?(?:-fips)?          # Chainguard catalogue names
          | kaniko-build/dist/[^/]+/(?:executor|warmer)
        )
        (?::[^/@\s]*)?
        (?:@[a-z0-9]+:[0-9a-f]+)?
        $",
    )
    .expect("the Kaniko image pattern is valid")
});

/// True when `image` (with variables already expanded) names a Kaniko image.
pub fn is_kaniko_image(image: &str) -> bool {
    KANIKO_IMAGE.is_match(image.trim())
}

/// Where the public Kaniko images live, with and without their registry.
const PUBLIC_PATHS: [&str; 10] = [
    "gcr.io/kaniko-project/",
    "kaniko-project/",
    "docker.io/martizih/",
    "martizih/",
    "ghcr.io/osscontainertools/",
    "osscontainertools/",
    "cgr.dev/chainguard/",
    "chainguard/",
    "docker.io/bitnami/",
    "bitnami/",
];

/// The mirror or proxy in front of a public Kaniko image, as written:
/// `$CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX` in
/// `$CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX/kaniko-project/executor:debug`,
/// `harbor.example.com/proxy` in
/// `harbor.example.com/proxy/gcr.io/kaniko-project/executor`. `None` for the
/// public image itself or a name with no known public path.
pub fn mirror_prefix(image: &str) -> Option<&str> {
    let image = image.trim();
    let start = (0..image.len())
        .filter(|&i| i == 0 || image.as_bytes()[i - 1] == b'/')
        .find(|&i| PUBLIC_PATHS.iter().any(|path| image[i..].starts_with(path)))?;
    let prefix = image[..start].trim_end_matches('/');
    (!prefix.is_empty()).then_some(prefix)
}

/// A cloud registry whose credentials Kaniko's image fetched itself, with
/// the credential helpers it bundled; BuildKit's image has none.
#[derive(Debug, PartialEq, Eq)]
pub struct CloudRegistry {
    pub name: &'static str,
    /// How a job gets a token for it.
    pub token: &'static str,
}

/// The cloud registry a destination names, if any.
pub fn cloud_registry(destination: &str) -> Option<CloudRegistry> {
    let host = destination
        .trim_matches(['"', '\''])
        .split('/')
        .next()
        .unwrap_or_default();
    let (name, token) = if host.contains(".dkr.ecr.") && host.contains(".amazonaws.com") {
        (
            "Amazon ECR",
            "get a token with `aws ecr get-login-password`",
        )
    } else if host == "gcr.io" || host.ends_with(".gcr.io") || host.ends_with("-docker.pkg.dev") {
        (
            "Google Artifact Registry",
            "get a token with `gcloud auth print-access-token` (user `oauth2accesstoken`)",
        )
    } else if host.ends_with(".azurecr.io") {
        (
            "Azure Container Registry",
            "get a token with `az acr login --expose-token`",
        )
    } else {
        return None;
    };
    Some(CloudRegistry { name, token })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_registries_are_told_by_their_host() {
        let name = |d: &str| cloud_registry(d).map(|c| c.name);
        assert_eq!(
            name("123.dkr.ecr.eu-west-1.amazonaws.com/app:1"),
            Some("Amazon ECR")
        );
        assert_eq!(
            name("\"europe-docker.pkg.dev/p/r/app\""),
            Some("Google Artifact Registry")
        );
        assert_eq!(name("eu.gcr.io/p/app"), Some("Google Artifact Registry"));
        assert_eq!(name("me.azurecr.io/app"), Some("Azure Container Registry"));
        assert_eq!(name("registry.example.com/gcr.io/app"), None);
        assert_eq!(name("$CI_REGISTRY_IMAGE"), None);
    }

    #[test]
    fn mirrors_are_told_apart_from_the_public_images() {
        assert_eq!(
            mirror_prefix("$CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX/kaniko-project/executor:debug"),
            Some("$CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX")
        );
        assert_eq!(
            mirror_prefix("harbor.example.com:8443/proxy/gcr.io/kaniko-project/executor:debug"),
            Some("harbor.example.com:8443/proxy")
        );
        assert_eq!(mirror_prefix("gcr.io/kaniko-project/executor:debug"), None);
        assert_eq!(mirror_prefix("martizih/kaniko:v1.25.0-debug"), None);
        assert_eq!(mirror_prefix("registry.example.com/tools/kaniko:1.2"), None);
    }

    #[test]
    fn kaniko_images_in_every_form() {
        for image in [
            "gcr.io/kaniko-project/executor:debug",
            "gcr.io/kaniko-project/executor:v1.24.0-debug",
            "gcr.io/kaniko-project/executor@sha256:0123abcd",
            "gcr.io/kaniko-project/executor:v1.9.0-debug@sha256:0123abcd",
            "gcr.io/kaniko-project/warmer:latest",
            "martizih/kaniko:v1.25.0-debug",
            "ghcr.io/osscontainertools/kaniko:debug",
            "ghcr.io/osscontainertools/kaniko-dev:abc123-debug",
            "cgr.dev/chainguard/kaniko:latest",
            "cgr.dev/acme.com/kaniko-warmer-fips",
            "ghcr.io/kaniko-build/dist/chainguard-dev-kaniko/executor:v1.25.5-debug",
            "$CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX/kaniko-project/executor:debug",
            "harbor.example.com:8443/proxy/gcr.io/kaniko-project/executor:debug",
            "registry.example.com/tools/kaniko:1.2",
        ] {
            assert!(is_kaniko_image(image), "{image}");
        }
    }

    #[test]
    fn other_images_are_not_kaniko() {
        for image in [
            "docker:24-dind",
            "quay.io/buildah/stable",
            "moby/buildkit:v0.32.2-rootless",
            "registry.example.com/kaniko-tools/helper:1",
            "alpine:kaniko",
            "example.com/my-kaniko:1",
            "",
        ] {
            assert!(!is_kaniko_image(image), "{image}");
        }
    }
}
