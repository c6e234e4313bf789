//! The router over a real TCP socket on port 0, with graceful shutdown.

use crate::state;

/// Serves the test state on a free port; returns its base URL and a shutdown trigger.
pub async fn spawn_server() -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    serve_state(state()).await
}

/// Serves `state` on a free port; returns its base URL and a shutdown trigger.
pub async fn serve_state(
    state: raremesh::AppState,
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = raremesh::http::app(state);
    let handle = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
            .expect("serve");
    });
    (format!("http://{addr}"), tx, handle)
}

#[tokio::test]
async fn serves_over_a_real_socket() {
    let (base, stop, handle) = spawn_server().await;
    let client = reqwest::Client::new();
    let res = client
        .get(format!("{base}/api/v1/terms?q=seizur&limit=1"))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["results"][0]["id"], "HP:0001250");
    let page = client.get(format!("{base}/")).send().await.expect("send");
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .is_ok_and(|c| c.contains("default-src 'self'"))
    );
    assert!(
        page.text()
            .await
            .expect("text")
            .contains("Look up a symptom")
    );
    let css = client
        .get(format!("{base}/assets/style.css"))
        .send()
        .await
        .expect("send");
    assert!(
        css.headers()["content-type"]
            .to_str()
            .is_ok_and(|c| c.starts_with("text/css"))
    );
    let _ = stop.send(());
    handle.await.expect("server stops cleanly");
}
