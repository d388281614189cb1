//! `aerie signal RUN ACTION VALUE`: signals a paused condition, reading VALUE as the type the
//! condition declares (any of the four for an untyped one).

use crate::args::SignalArgs;
use aerie_client::{ActionDetails, Client, SignalValue};
use anyhow::bail;

pub async fn run(client: &Client, args: SignalArgs) -> anyhow::Result<()> {
    let details = ActionDetails::get_by_name(client, &args.run, &args.action).await?;
    if !details.is_condition() {
        bail!(
            "action {} of run {} is not a condition; only conditions take signals",
            args.action,
            args.run
        );
    }
    let value = match details.condition_type() {
        Some(value_type) => value_type
            .parse(&args.value)
            .map_err(|reason| anyhow::anyhow!("{reason}; the condition takes {value_type}"))?,
        None => SignalValue::infer(&args.value),
    };
    details.signal(client, &value).await?;
    println!(
        "signalled condition {} of run {} with {value}",
        args.action, args.run
    );
    Ok(())
}
