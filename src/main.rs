use clap::Parser;
use keyplane::cli::{Cli, Command};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let _flush_access_log = keyplane::telemetry::init();
    let result = match cli.command {
        Command::Serve(args) => keyplane::app::serve(*args).await,
        Command::Admin(args) => keyplane::app::admin(args).await,
        Command::Migrate(args) => keyplane::migrate::run(args).await,
        Command::Import(args) => keyplane::import::run(*args).await,
        Command::Audit(args) => keyplane::app::audit(args).await,
        Command::HaproxyMap(args) => keyplane::app::haproxy_map(args).await,
        Command::SecretHelper(args) => keyplane::secret_helper::run(args).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
