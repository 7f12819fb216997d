//! The minimal mock (`switchyard sim --minimal`) over real HTTP.

use std::time::Duration;

use switchyard_sim::{serve_minimal, MINIMAL_REPLY};

#[tokio::test]
async fn answers_every_request_with_the_canned_completion_until_shutdown() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_minimal(listener, async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    // Any path, any body, streaming asked for or not: the same reply, on a kept-alive connection.
    for (path, body) in [
        (
            "/v1/chat/completions",
            r#"{"model":"gpt-4o-mini","messages":[]}"#,
        ),
        ("/anything", r#"{"stream":true}"#),
    ] {
        let resp = client
            .post(format!("http://{addr}{path}"))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "application/json");
        assert_eq!(resp.text().await.unwrap(), MINIMAL_REPLY);
    }
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("serve_minimal returns once shutdown resolves")
        .unwrap()
        .unwrap();
    // The listener is closed with it.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
