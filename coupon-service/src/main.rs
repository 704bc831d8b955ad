use anyhow::Context;
use contract::jwt::Role;
use coupon_service::{cli, configuration::Settings, startup, telemetry};

/// mimalloc: glibc malloc's bookkeeping (consolidation, unlinking) was a
/// visible share of the CPU under load; see docs/benchmarks.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load().context("loading configuration")?;
    telemetry::init(&settings.log);
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] | ["serve"] => {
            let application = startup::Application::build(settings)
                .await
                .context("starting coupon-service")?;
            tracing::info!(port = application.port(), "coupon-service listening");
            application.run_until_stopped().await.context("serving")?;
        }
        ["migrate"] => {
            startup::connect_postgres(&settings, true).await?;
        }
        ["seed-demo", rest @ ..] => {
            let (admin_password, user_password) = cli::demo_passwords(rest)?;
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
        ["create-admin", rest @ ..] => {
            let flag = |name: &str| {
                rest.iter()
                    .position(|a| *a == name)
                    .and_then(|i| rest.get(i + 1))
                    .copied()
            };
            let (Some(email), Some(password)) = (flag("--email"), flag("--password")) else {
                anyhow::bail!(
                    "usage: coupon-service create-admin --email E --password P [--name N]"
                );
            };
            let db = startup::connect_postgres(&settings, true).await?;
            let id = cli::upsert_account(
                &db,
                email,
                password,
                flag("--name").unwrap_or("Admin"),
                Role::Admin,
                true,
            )
            .await?;
            println!("admin {email} has id {id}");
        }
        ["dev-token", user] | ["dev-token", user, _] => {
            let user: i64 = user
                .parse()
                .context("dev-token: the user id must be an integer")?;
            let role = if args.get(2).is_some_and(|r| r.eq_ignore_ascii_case("admin")) {
                Role::Admin
            } else {
                Role::User
            };
            println!("{}", cli::dev_token(&settings, user, role)?);
        }
        _ => anyhow::bail!(
            "usage: coupon-service [serve | migrate | seed-demo [--fixed-passwords] | dev-token <user id> [USER|ADMIN]]"
        ),
    }
    Ok(())
}
