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

#[cfg(test)]
mod tests {
    use super::*;

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
