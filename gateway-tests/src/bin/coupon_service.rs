//! `coupon-service serve` for the gateway tests: settings from the
//! environment (`APP_…`), then the port it bound on stdout.

use anyhow::Context;
use coupon_service::{configuration::Settings, startup::Application, telemetry};

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    gateway_tests::exit_when_stdin_closes();
    let settings = Settings::load().context("loading configuration")?;
    telemetry::init(&settings.log);
    let application = Application::build(settings)
        .await
        .context("starting coupon-service")?;
    println!("listening on {}", application.port());
    application.run_until_stopped().await.context("serving")?;
    Ok(())
}
