//! `notify-service` for the gateway tests: settings from the environment
//! (`APP_…`), then the port it bound on stdout; SIGTERM shuts it down in
//! order, as in production.

use anyhow::Context;
use notify_service::{configuration::Settings, startup::Application, telemetry};
use service_kit::shutdown::wait_for_signal;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    gateway_tests::exit_when_stdin_closes();
    let settings = Settings::load().context("loading configuration")?;
    telemetry::init(&settings.log);
    let application = Application::build(settings)
        .await
        .context("starting notify-service")?;
    println!("listening on {}", application.port());
    let shutdown = application.shutdown_handle();
    tokio::spawn(async move {
        wait_for_signal().await;
        shutdown.trigger();
    });
    application.run_until_stopped().await.context("serving")?;
    Ok(())
}
