//! One runner per subcommand that needs more than a line in `main`: each
//! turns its parsed flags into calls on the modules that do the work
//! (`batch`, `report`, `prune`, `reprocess`) and prints what they did.

pub mod inspect;
pub mod process;
pub mod prune;
pub mod reprocess;

/// The async runtime for the subcommands that talk to S3.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
