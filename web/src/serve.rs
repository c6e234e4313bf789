//! Serving over TCP with graceful shutdown on SIGINT and SIGTERM, and the admin socket
//! beside it.

use tokio::net::TcpListener;

use crate::{Error, Result, http};
use raremesh_domain::state::AppState;

/// Serves `state` on `listener` until SIGINT or SIGTERM, then lets requests in flight finish.
pub async fn serve(listener: TcpListener, state: AppState) -> Result<()> {
    // The pages' templates are compiled now: one that does not compile stops the start.
    http::templates::shared()
        .map_err(|e| Error::Serve(std::io::Error::other(format!("templates: {e}"))))?;
    let federation = state.federation.clone().map(|f| f.start());
    let notices = raremesh_domain::notify::start(&state.notifier);
    let digests =
        raremesh_domain::qa::notices::start(&state.qa, std::time::Duration::from_secs(3600));
    let admin = match raremesh_domain::backup::socket::start(&state) {
        Ok(path) => Some(path),
        Err(error) => {
            tracing::warn!(%error, "no admin socket: `raremesh admin backup` needs the node stopped");
            None
        }
    };
    let limited = crate::connections::LimitedListener::new(listener, state.config.server.limits());
    let app =
        http::app(state).into_make_service_with_connect_info::<crate::connections::ClientAddr>();
    let served = axum::serve(limited, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(Error::Serve);
    if let Some(f) = federation {
        f.abort();
    }
    notices.abort();
    digests.abort();
    if let Some(path) = admin {
        let _ = std::fs::remove_file(path);
    }
    served
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
