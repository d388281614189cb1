//! `aerie io RUN [ACTION]`: the inputs, and the outputs once the action is over.

use super::write_json;
use crate::args::{IoArgs, OutputFormat};
use crate::output::{Table, phase_label};
use aerie_client::data::LiteralList;
use aerie_client::wire::flyteidl2::task::{Inputs, Outputs};
use aerie_client::{ActionDetails, ActionOutputs, ActionSummary, Client, NamedLiterals};
use std::io::{Write, stdout};

pub async fn run(client: &Client, args: IoArgs) -> anyhow::Result<()> {
    let action = args.target.action_id(client);
    let details = ActionDetails::get_details(client, &action).await?;
    let inputs = details.inputs(client).await?;
    let outputs: Option<&ActionOutputs> = if details.done() {
        Some(details.outputs(client).await?)
    } else {
        None
    };
    let mut out = stdout().lock();
    if args.output.format == OutputFormat::Json {
        let io = Io {
            inputs: inputs.wire(),
            outputs: outputs.map(NamedLiterals::wire),
        };
        write_json(&mut out, &io)?;
    } else {
        writeln!(out, "inputs")?;
        literal_table(inputs).write_to(&mut out)?;
        writeln!(out, "outputs")?;
        match outputs {
            Some(outputs) => literal_table(outputs).write_to(&mut out)?,
            None => writeln!(out, "  (none yet: the action is {})", phase_label(&details))?,
        }
    }
    Ok(out.flush()?)
}

/// The JSON of `io`: `{"inputs": …, "outputs": … or null}`, each the proto3 JSON of the wire
/// message.
#[derive(serde::Serialize)]
struct Io<'a> {
    inputs: &'a Inputs,
    outputs: Option<&'a Outputs>,
}

/// One indented `name  value` row per literal, or `(none)`.
fn literal_table<W: LiteralList>(literals: &NamedLiterals<W>) -> Table {
    let mut table = Table::default();
    if literals.is_empty() {
        table.push(vec!["  (none)".to_owned()]);
    }
    for (name, value) in literals.rendered() {
        table.push(vec![format!("  {name}"), value]);
    }
    table
}
