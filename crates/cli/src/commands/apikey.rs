//! `aerie apikey create|list|revoke`: API keys, made and revoked in the store directly, so the
//! first key can be made before anyone can call aerie. A running aerie sees a revocation on
//! the next request.

use crate::args::{ApiKeyCommand, ApiKeyCreateArgs};
use aerie_server::auth::api_key;
use aerie_store::Store;
use anyhow::{Context, bail};
use std::io::Write;

/// Runs one `apikey` subcommand.
pub async fn run(command: ApiKeyCommand) -> anyhow::Result<()> {
    let store_args = match &command {
        ApiKeyCommand::Create(args) => &args.store,
        ApiKeyCommand::List(args) => args,
        ApiKeyCommand::Revoke(args) => &args.store,
    };
    aerie_server::private_data_dir(store_args.data_dir.clone())?;
    let store = Store::open(&store_args.backend()?)
        .await
        .context("opening aerie's store")?;
    let outcome = match command {
        ApiKeyCommand::Create(args) => create(&store, &args).await,
        ApiKeyCommand::List(_) => list(&store).await,
        ApiKeyCommand::Revoke(args) => match store.revoke_api_key(&args.name).await? {
            true => {
                println!("revoked API key {:?}", args.name);
                Ok(())
            }
            false => Err(anyhow::anyhow!(
                "no active API key is named {:?}",
                args.name
            )),
        },
    };
    store.close().await;
    outcome
}

async fn create(store: &Store, args: &ApiKeyCreateArgs) -> anyhow::Result<()> {
    if args.name.trim().is_empty() || args.name.chars().any(char::is_control) {
        bail!("a key's name must be printable and not empty");
    }
    let issued = api_key::issue(&args.name, args.role, &args.endpoint);
    store.create_api_key(issued.stored.clone()).await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "name:      {}", args.name)?;
    writeln!(out, "role:      {}", args.role)?;
    writeln!(out, "client id: {}", issued.stored.client_id)?;
    writeln!(out, "secret:    {}", issued.secret)?;
    writeln!(out, "api key:   {}", issued.encoded)?;
    writeln!(
        out,
        "\nThe secret is shown once; aerie keeps only its hash. Use the API key as FLYTE_API_KEY \
         or flyte.init(api_key=...), or the client id and secret with flyte.init(endpoint=..., \
         client_id=..., client_credentials_secret=..., auth_type=\"ClientSecret\")."
    )?;
    if !api_key::endpoint_fits_in_key(&args.endpoint) {
        writeln!(
            out,
            "Note: the Flyte SDK cannot read a port (or scheme) out of an API key, so this key \
             points it at the host alone, on port 443. Serve on 443 behind that name, or use \
             the client id and secret with an explicit endpoint."
        )?;
    }
    Ok(())
}

async fn list(store: &Store) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<24} {:<10} {:<24} STATUS",
        "NAME", "ROLE", "CLIENT ID"
    )?;
    for key in store.list_api_keys().await? {
        let status = match key.revoked_at {
            Some(at) => format!("revoked {}", at.to_rfc3339()),
            None => format!("active since {}", key.created_at.to_rfc3339()),
        };
        writeln!(
            out,
            "{:<24} {:<10} {:<24} {status}",
            key.name,
            key.role.as_str(),
            key.client_id
        )?;
    }
    Ok(())
}
