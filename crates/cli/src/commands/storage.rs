//! `aerie storage env`: a bucket-wide storage credential, derived from the data directory's
//! storage key, printed as shell `export` lines for the Flyte SDK and other S3 tools.

use crate::args::{StorageCommand, StorageEnvArgs};
use aerie_s3::{Scope, StorageKeys};
use anyhow::Context;
use std::io::Write;
use std::time::Duration;

/// Runs one `storage` subcommand against the server at `endpoint`.
pub fn run(command: StorageCommand, endpoint: &str) -> anyhow::Result<()> {
    match command {
        StorageCommand::Env(args) => env(&args, endpoint),
    }
}

fn env(args: &StorageEnvArgs, endpoint: &str) -> anyhow::Result<()> {
    let data_dir = aerie_server::private_data_dir(args.store.data_dir.clone())?;
    let key_path = data_dir.join(aerie_server::STORAGE_KEY_FILE);
    let key = aerie_blob::load_or_create_key(&key_path)
        .with_context(|| format!("reading the storage key in {}", data_dir.display()))?;
    let scope = Scope::Bucket { write: args.write };
    let credential = StorageKeys::new(key).issue(&scope, Duration::from_secs(args.hours * 3600));
    let url = s3_endpoint(endpoint);
    let mut out = std::io::stdout().lock();
    for (name, value) in [
        ("FLYTE_AWS_ENDPOINT", url.as_str()),
        ("FLYTE_AWS_ACCESS_KEY_ID", &credential.access_key_id),
        ("FLYTE_AWS_SECRET_ACCESS_KEY", &credential.secret_access_key),
        ("AWS_ENDPOINT_URL", &url),
        ("AWS_ACCESS_KEY_ID", &credential.access_key_id),
        ("AWS_SECRET_ACCESS_KEY", &credential.secret_access_key),
    ] {
        writeln!(out, "export {name}='{value}'")?;
    }
    Ok(())
}

/// The bucket's URL for an aerie endpoint as the CLI takes it: `HOST:PORT`, `dns:///HOST:PORT`
/// or a URL.
fn s3_endpoint(endpoint: &str) -> String {
    if endpoint.starts_with("http://") || endpoint.starts_with("https://") {
        endpoint.trim_end_matches('/').to_owned()
    } else {
        format!("http://{}", endpoint.trim_start_matches("dns:///"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_url_keeps_a_given_scheme_and_defaults_to_http() {
        assert_eq!(s3_endpoint("localhost:30080"), "http://localhost:30080");
        assert_eq!(s3_endpoint("dns:///127.0.0.1:9"), "http://127.0.0.1:9");
        assert_eq!(
            s3_endpoint("https://aerie.example:443/"),
            "https://aerie.example:443"
        );
    }
}
