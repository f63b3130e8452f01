//! One runner per subcommand that needs more than a line in `main`: each
//! turns its parsed flags into calls on the modules that do the work
//! (`batch`, `report`, `prune`, `reprocess`) and prints what they did.

pub mod inspect;
pub mod process;
pub mod prune;
pub mod reprocess;
