use anyhow::Context;
use notify_service::{configuration::Settings, startup::Application, telemetry};
use service_kit::shutdown::wait_for_signal;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load().context("loading configuration")?;
    telemetry::init(&settings.log);
    let application = Application::build(settings)
        .await
        .context("starting notify-service")?;
    tracing::info!(port = application.port(), "notify-service listening");
    let shutdown = application.shutdown_handle();
    tokio::spawn(async move {
        wait_for_signal().await;
        shutdown.trigger();
    });
    application.run_until_stopped().await.context("serving")?;
    tracing::info!("notify-service stopped");
    Ok(())
}
