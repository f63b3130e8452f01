//! The engine's settings on the command line: one flag per engine variable
//! of the function's configuration (`JPEG_QUALITY` → `--jpeg-quality`), taken
//! from the flag, else from the environment, and checked by the same loader
//! as the function's (`imgflow_lambda::config`).

use clap::parser::ValueSource;
use clap::{Arg, ArgMatches, Args, Command, FromArgMatches};
use imgflow_engine::Settings;
use imgflow_lambda::config::{self, ConfigError};
use std::collections::{HashMap, HashSet};

/// The values clap found, by variable name.
#[derive(Debug, Clone, Default)]
pub struct EngineFlags {
    values: HashMap<String, String>,
    /// The variables given as flags (the others came from the environment).
    from_flags: HashSet<String>,
}

impl EngineFlags {
    /// A variable's value from its flag or the environment.
    pub fn get(&self, name: &str) -> Option<String> {
        self.values.get(name).cloned()
    }

    /// The engine's settings, checked; the error names the flag or the
    /// variable, whichever gave the value.
    pub fn settings(&self) -> Result<Settings, ConfigError> {
        config::engine_settings(&|name| self.get(name)).map_err(|mut e| {
            e.variable = self.given_as(&e.variable);
            e
        })
    }

    /// How `variable` was given: its flag (`--jpeg-quality`) when it came
    /// from the command line, else the variable's name.
    pub fn given_as(&self, variable: &str) -> String {
        if self.from_flags.contains(variable) {
            format!("--{}", config::flag_of(variable))
        } else {
            variable.to_owned()
        }
    }

    /// The values as variables, to hand the same settings to a child process.
    pub fn as_env(&self) -> impl Iterator<Item = (&String, &String)> {
        self.values.iter()
    }
}

impl FromArgMatches for EngineFlags {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut flags = Self::default();
        for v in config::engine_variables() {
            let Some(value) = matches.get_one::<String>(&v.name) else {
                continue;
            };
            if matches.value_source(&v.name) == Some(ValueSource::CommandLine) {
                flags.from_flags.insert(v.name.clone());
            }
            flags.values.insert(v.name, value.clone());
        }
        Ok(flags)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Args for EngineFlags {
    fn augment_args(cmd: Command) -> Command {
        config::engine_variables().into_iter().fold(cmd, |cmd, v| {
            cmd.arg(
                Arg::new(v.name.clone())
                    .long(v.flag())
                    .env(v.name.clone())
                    .value_name("VALUE")
                    .help(format!("{} [default: {}]", v.help, v.default))
                    .help_heading("Engine settings"),
            )
        })
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        engine: EngineFlags,
    }

    #[test]
    fn every_engine_variable_is_a_flag() {
        let cli = Cli::try_parse_from([
            "imgflow",
            "--jpeg-quality",
            "70",
            "--variants",
            "png,thumbnail",
            "--thumbnail-size",
            "64x64",
        ])
        .unwrap();
        let s = cli.engine.settings().unwrap();
        let names: Vec<_> = s.variants.iter().map(|v| v.spec.name).collect();
        assert_eq!(names, ["png", "thumbnail"]);
        assert_eq!(s.variants[1].quality, Some(70));
        assert_eq!(s.variants[1].fit, Some((64, 64)));
        let bad = Cli::try_parse_from(["imgflow", "--webp-quality", "0"]).unwrap();
        assert_eq!(
            bad.engine.settings().unwrap_err().to_string(),
            "--webp-quality=\"0\" is invalid: expected an integer from 1 to 100"
        );
    }
}
