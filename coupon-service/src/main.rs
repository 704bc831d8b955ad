use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use contract::jwt::Role;
use coupon_service::{cli, configuration::Settings, startup, telemetry};
use service_kit::shutdown::wait_for_signal;

/// mimalloc: glibc malloc's bookkeeping (consolidation, unlinking) was a
/// visible share of the CPU under load; see docs/benchmarks.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// First-come coupon issuance: the HTTP API and its operator commands.
/// Settings come from configuration/*.yaml and `APP_…` variables.
#[derive(Parser)]
#[command(name = "coupon-service", version)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (the default when no command is given).
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
    /// Create (or reset) the demo admin and user and a live demo event;
    /// prints their credentials.
    SeedDemo {
        /// The well-known demo passwords instead of random ones (local use).
        #[arg(long)]
        fixed_passwords: bool,
    },
    /// Create an ADMIN account, or make an existing account an admin with
    /// this password.
    CreateAdmin {
        #[arg(long)]
        email: String,
        /// Taken from COUPON_ADMIN_PASSWORD when not given (keeps it out of
        /// the shell history and the process list).
        #[arg(long, env = "COUPON_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long, default_value = "Admin")]
        name: String,
    },
    /// Print an access token signed with the configured private key (for
    /// development and load tests).
    DevToken {
        user_id: i64,
        #[arg(value_enum, ignore_case = true, default_value = "user")]
        role: RoleArg,
    },
    /// Check a waiting room's proof (the answer of GET
    /// /api/coupons/events/{id}/queue/proof, saved to a file, or `-` for
    /// stdin): the seed against its commitment, the order, the admissions.
    /// Needs no configuration; exits 1 when a check fails.
    VerifyQueue {
        proof: std::path::PathBuf,
        /// Also say which position this account holds.
        #[arg(long)]
        user: Option<i64>,
    },
    /// Check a draw's proof (the answer of GET
    /// /api/coupons/events/{id}/draw/proof, saved to a file, or `-` for
    /// stdin): the seed against its commitment, the entrant list against
    /// its digest, the ranking with the beacon, the wins round by round.
    /// Needs no configuration; exits 1 when a check fails.
    VerifyDraw {
        proof: std::path::PathBuf,
        /// Also say which rank this account holds, and whether it won.
        #[arg(long)]
        user: Option<i64>,
    },
    /// Print the OpenAPI document of the HTTP API, as served at
    /// /api/openapi.json (clients generate their types from it). Needs no
    /// configuration.
    Openapi,
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    User,
    Admin,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::User => Role::User,
            RoleArg::Admin => Role::Admin,
        }
    }
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    // Arguments first: `--help` works without any configuration.
    let args = Args::parse();
    match &args.command {
        Some(Command::VerifyQueue { proof, user }) => {
            return cli::verify_proof(proof, *user, cli::ProofKind::Queue);
        }
        Some(Command::VerifyDraw { proof, user }) => {
            return cli::verify_proof(proof, *user, cli::ProofKind::Draw);
        }
        Some(Command::Openapi) => {
            println!("{}", startup::api_doc().to_pretty_json()?);
            return Ok(());
        }
        _ => {}
    }
    let settings = Settings::load().context("loading configuration")?;
    telemetry::init(&settings.log);
    match args.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let application = startup::Application::build(settings)
                .await
                .context("starting coupon-service")?;
            tracing::info!(port = application.port(), "coupon-service listening");
            let shutdown = application.shutdown_trigger();
            tokio::spawn(async move {
                wait_for_signal().await;
                shutdown.trigger();
            });
            application.run_until_stopped().await.context("serving")?;
        }
        Command::Migrate => {
            startup::connect_postgres(&settings, true).await?;
        }
        Command::SeedDemo { fixed_passwords } => {
            let (admin_password, user_password) = cli::demo_passwords(fixed_passwords);
            let db = startup::connect_postgres(&settings, true).await?;
            let (user, event) = cli::seed_demo(&db, &admin_password, &user_password).await?;
            println!("demo_user_id={user} demo_event_id={event}");
            println!(
                "demo_admin={} demo_admin_password={admin_password}",
                cli::DEMO_ADMIN.0
            );
            println!(
                "demo_user={} demo_user_password={user_password}",
                cli::DEMO_USER.0
            );
        }
        Command::CreateAdmin {
            email,
            password,
            name,
        } => {
            let db = startup::connect_postgres(&settings, true).await?;
            let id = cli::upsert_account(&db, &email, &password, &name, Role::Admin, true).await?;
            println!("admin {email} has id {id}");
        }
        Command::DevToken { user_id, role } => {
            println!("{}", cli::dev_token(&settings, user_id, role.into())?);
        }
        Command::VerifyQueue { .. } | Command::VerifyDraw { .. } | Command::Openapi => {
            unreachable!("answered before the configuration is read")
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("coupon-service").chain(args.iter().copied()))
    }

    #[test]
    fn the_command_line_is_consistent_and_its_help_lists_every_command() {
        Args::command().debug_assert();
        let help = Args::command().render_long_help().to_string();
        for command in [
            "serve",
            "migrate",
            "seed-demo",
            "create-admin",
            "dev-token",
            "verify-queue",
            "verify-draw",
            "openapi",
        ] {
            assert!(help.contains(command), "{command} missing from:\n{help}");
        }
    }

    #[test]
    fn commands_parse_and_mistakes_are_refused() {
        assert!(parse(&[]).unwrap().command.is_none());
        assert!(matches!(
            parse(&["seed-demo", "--fixed-passwords"]).unwrap().command,
            Some(Command::SeedDemo {
                fixed_passwords: true
            })
        ));
        assert!(matches!(
            parse(&["dev-token", "7", "ADMIN"]).unwrap().command,
            Some(Command::DevToken {
                user_id: 7,
                role: RoleArg::Admin
            })
        ));
        assert!(parse(&["seed-demo", "--fixed"]).is_err());
        assert!(parse(&["dev-token", "seven"]).is_err());
        assert!(
            parse(&["create-admin", "--password", "x"]).is_err(),
            "no email"
        );
    }
}
