//! The web console: one page application built from `console/` (see its README) and embedded
//! in the binary, served at `/` and at every console URL, including the ones the SDK prints
//! (`/v2/domain/D/project/P/runs/RUN`). The page holds no data: it reads everything through
//! the same Connect RPCs as the SDK (plus the two reads in `console_api`), so serving it needs
//! no credential, and its headers forbid inline scripts, framing and foreign connections.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::LazyLock;

/// The page every console URL answers with; the script picks the view from the URL.
const SHELL: &[u8] = include_bytes!("../../../../console/dist/index.html");

/// The files the page loads, by name under `/console/`: its script and style, and the Parquet
/// reader it loads when a dataframe is previewed.
const FILES: &[(&str, &[u8], &str)] = &[
    (
        "console.js",
        include_bytes!("../../../../console/dist/console.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "console.css",
        include_bytes!("../../../../console/dist/console.css"),
        "text/css; charset=utf-8",
    ),
    (
        "console-parquet.js",
        include_bytes!("../../../../console/dist/console-parquet.js"),
        "text/javascript; charset=utf-8",
    ),
];

/// Where the page may load from and talk to: this origin only; nothing inline, no plugins,
/// never framed. The task report opens in a sandboxed frame of a signed blob URL.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; frame-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// One embedded file with the validator a browser revalidates it with.
struct Asset {
    bytes: &'static [u8],
    content_type: &'static str,
    etag: HeaderValue,
}

impl Asset {
    fn new(bytes: &'static [u8], content_type: &'static str) -> Self {
        let digest = fnv1a_digest(bytes);
        Self {
            bytes,
            content_type,
            etag: HeaderValue::from_str(&format!("\"{digest:016x}\""))
                .expect("hex is a valid header"),
        }
    }

    fn respond(&self, request_headers: &axum::http::HeaderMap) -> Response {
        let unchanged = request_headers
            .get(header::IF_NONE_MATCH)
            .is_some_and(|sent| sent == self.etag);
        let mut response = if unchanged {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            ([(header::CONTENT_TYPE, self.content_type)], self.bytes).into_response()
        };
        let headers = response.headers_mut();
        headers.insert(header::ETAG, self.etag.clone());
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
        response
    }
}

/// A 64-bit FNV-1a digest: enough to tell one build of an asset from another.
fn fnv1a_digest(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

static SHELL_ASSET: LazyLock<Asset> =
    LazyLock::new(|| Asset::new(SHELL, "text/html; charset=utf-8"));
static FILE_ASSETS: LazyLock<Vec<(&str, Asset)>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|(name, bytes, content_type)| (*name, Asset::new(bytes, content_type)))
        .collect()
});

/// Where the page's files are served.
const FILES_PREFIX: &str = "/console/";

/// Whether `path` is a console page or one of its files: served to anyone, since they hold no
/// data.
pub fn is_console_path(path: &str) -> bool {
    path == "/"
        || path.starts_with("/v2/")
        || path
            .strip_prefix(FILES_PREFIX)
            .is_some_and(|name| FILES.iter().any(|(file, _, _)| *file == name))
}

/// `/` and every `/v2/...` console URL: the page.
pub async fn shell(headers: axum::http::HeaderMap) -> Response {
    SHELL_ASSET.respond(&headers)
}

/// `/console/{file}`: one of the page's files.
pub async fn file(Path(name): Path<String>, headers: axum::http::HeaderMap) -> Response {
    match FILE_ASSETS.iter().find(|(file, _)| *file == name) {
        Some((_, asset)) => asset.respond(&headers),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};
    use std::path::{Path as FsPath, PathBuf};

    fn console_dir() -> PathBuf {
        FsPath::new(env!("CARGO_MANIFEST_DIR")).join("../../console")
    }

    fn files_under(dir: &FsPath, root: &FsPath, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("console/src is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                files_under(&path, root, out);
            } else {
                let relative = path.strip_prefix(root).expect("under console/");
                out.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }

    /// The digest `console/stamp.mjs` writes, recomputed from the sources as committed.
    fn sources_digest() -> String {
        let root = console_dir();
        let mut files: Vec<String> = [
            "index.html",
            "package.json",
            "package-lock.json",
            "tsconfig.json",
            "vite.config.ts",
        ]
        .map(String::from)
        .to_vec();
        files_under(&root.join("src"), &root, &mut files);
        files.sort();
        let mut digest = Sha256::new();
        for file in files {
            let content = std::fs::read(root.join(&file)).expect("a console source is readable");
            digest.update(format!(
                "{file}\n{}\n",
                hex::encode(Sha256::digest(&content))
            ));
        }
        hex::encode(digest.finalize())
    }

    #[test]
    fn the_embedded_console_was_built_from_the_committed_sources() {
        let stamped = std::fs::read_to_string(console_dir().join("dist/SOURCES.sha256"))
            .expect("console/dist/SOURCES.sha256 exists");
        assert_eq!(
            stamped.trim(),
            sources_digest(),
            "console/dist is stale: run scripts/build-console and commit console/dist"
        );
    }

    #[test]
    fn the_page_loads_its_own_script_and_style_only() {
        let shell = std::str::from_utf8(SHELL).expect("the page is UTF-8");
        assert!(
            shell.contains("/console/console.js") && shell.contains("/console/console.css"),
            "{shell}"
        );
        assert!(!shell.contains("<script>"), "no inline script: {shell}");
    }

    #[test]
    fn a_browser_holding_the_current_asset_gets_not_modified() {
        let (_, script) = &FILE_ASSETS[0];
        let first = script.respond(&axum::http::HeaderMap::new());
        assert_eq!(first.status(), StatusCode::OK);
        let etag = first.headers()[header::ETAG].clone();
        let mut again = axum::http::HeaderMap::new();
        again.insert(header::IF_NONE_MATCH, etag);
        assert_eq!(script.respond(&again).status(), StatusCode::NOT_MODIFIED);
    }
}
