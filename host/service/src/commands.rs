//! Runs the subcommand the command line chose: one line per command, each handing its
//! arguments to the module that does the job. `cli.rs` holds only the clap types.

use std::process::ExitCode;

use crate::cli::{Cli, Command, NewCommand, PluginsCommand, RadistCommand, WebhooksCommand};

/// Runs the chosen subcommand.
pub async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check(args) => crate::check::check(&cli.config, args.event.as_deref()).await,
        Command::Run(args) => crate::run::run(&cli.config, args).await,
        Command::Sandbox(args) => crate::sandbox::serve(args).await,
        Command::Serve(args) => crate::serve::serve(&cli.config, args).await,
        Command::Runs(command) => crate::history::runs(&cli.config, command).await,
        Command::Events(command) => crate::history::events(&cli.config, command).await,
        Command::Quarantine(command) => crate::history::quarantine(&cli.config, command).await,
        Command::Plugins(args) => match args.command {
            None => crate::operations::plugins(&cli.config, args.list.json).await,
            Some(PluginsCommand::List(list)) => {
                crate::operations::plugins(&cli.config, list.json).await
            }
            Some(PluginsCommand::Build { path }) => {
                crate::build::build(&cli.config, path.as_deref())
            }
        },
        Command::New(NewCommand::Plugin(args)) => {
            crate::scaffold::new_plugin(&crate::scaffold::NewPlugin {
                name: &args.name,
                lang: args.lang.language(),
                dir: &args.dir,
                world_only: args.world_only,
            })
        }
        Command::Db(command) => crate::operations::db(&cli.config, command).await,
        Command::Schedules(args) => crate::operations::schedules(&cli.config, args.json).await,
        Command::Nodes(args) => crate::operations::nodes(&cli.config, args.json).await,
        Command::Radist(RadistCommand::Webhooks(WebhooksCommand::Sync { public_url })) => {
            crate::operations::webhooks_sync(&cli.config, &public_url).await
        }
    }
}
