//! `procura schema instance|outcome`: the JSON Schemas (draft 2020-12) of
//! instance files and of the outcomes `procura clear` writes, derived in
//! `procura-format` from the types that read and write them.

/// Print the JSON Schema of instance files or of outcomes.
///
/// `instance` covers both markets (procurement with `providers`, threshold
/// with `users`); `outcome` covers the outcome of one mechanism as
/// `procura clear --format json` writes it. A schema checks shapes, types,
/// required and unknown fields and single-number ranges; rules that relate
/// several values (unique ids) are checked by `procura clear` itself.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Which format's schema.
    #[arg(value_parser = ["instance", "outcome"])]
    format: String,
}

/// The schema, pretty-printed JSON.
pub(crate) fn run(args: &Args) -> anyhow::Result<String> {
    Ok(match args.format.as_str() {
        "instance" => procura_format::schema::instance(),
        _ => procura_format::schema::outcome(),
    })
}
