//! HTTPS tests: the simulator serving TLS with the committed test identity (`testdata/tls`),
//! over HTTP/2 and HTTP/1.1 chosen by ALPN.
#![expect(clippy::unwrap_used, reason = "helpers of an integration test binary")]

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};
use switchyard_sim::{serve, start, SimConfig, SimHandle, SimTls};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MODEL: &str = "gpt-4o-mini";

fn testdata(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/tls")
        .join(file)
}

fn test_tls() -> SimTls {
    SimTls::from_pem_files(testdata("server.pem"), testdata("server.key")).unwrap()
}

fn tls_config(tls: SimTls) -> SimConfig {
    SimConfig {
        record_requests: true,
        tls: Some(tls),
        ..SimConfig::default()
    }
}

async fn tls_sim() -> SimHandle {
    start("127.0.0.1:0".parse().unwrap(), tls_config(test_tls()))
        .await
        .unwrap()
}

/// A client trusting only the test CA.
fn client_builder() -> reqwest::ClientBuilder {
    let ca = std::fs::read(testdata("ca.pem")).unwrap();
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .tls_built_in_root_certs(false)
        .timeout(Duration::from_secs(5))
}

fn h2_client() -> reqwest::Client {
    client_builder().build().unwrap()
}

fn h1_client() -> reqwest::Client {
    client_builder().http1_only().build().unwrap()
}

/// Sends a chat completion, checks the reply and returns the HTTP version it came back over.
async fn chat(client: &reqwest::Client, base_url: &str, content: &str) -> reqwest::Version {
    let response = client
        .post(format!("{base_url}/v1/chat/completions"))
        .bearer_auth("sk-test")
        .json(&json!({"model": MODEL, "messages": [{"role": "user", "content": content}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let version = response.version();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["object"], "chat.completion");
    assert!(
        body["choices"][0]["message"]["content"]
            .as_str()
            .is_some_and(|text| !text.is_empty()),
        "{body}"
    );
    version
}

fn recorded_versions(sim: &SimHandle) -> Vec<String> {
    sim.requests(MODEL).into_iter().map(|r| r.version).collect()
}

#[tokio::test]
async fn serves_http2_and_http1_over_tls() {
    let sim = tls_sim().await;
    let base = sim.base_url();
    assert_eq!(base, format!("https://{}", sim.addr()));

    assert_eq!(
        chat(&h2_client(), &base, "over h2").await,
        reqwest::Version::HTTP_2
    );
    assert_eq!(
        chat(&h1_client(), &base, "over http/1.1").await,
        reqwest::Version::HTTP_11
    );
    assert_eq!(recorded_versions(&sim), ["HTTP/2.0", "HTTP/1.1"]);
    assert_eq!(sim.request_count(MODEL), 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn leaf_is_valid_for_localhost_too() {
    let sim = tls_sim().await;
    let base = format!("https://localhost:{}", sim.addr().port());
    assert_eq!(
        chat(&h1_client(), &base, "by name").await,
        reqwest::Version::HTTP_11
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn untrusting_and_cleartext_clients_are_refused() {
    let sim = tls_sim().await;
    // Default roots only: the test CA is unknown, so the handshake fails.
    let strict = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let err = strict
        .get(format!("{}/v1/models", sim.base_url()))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    // Plain HTTP to the TLS port gets no HTTP response.
    let plain = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    assert!(plain
        .get(format!("http://{}/v1/models", sim.addr()))
        .bearer_auth("sk-test")
        .send()
        .await
        .is_err());
    assert_eq!(
        chat(&h2_client(), &sim.base_url(), "still up").await,
        reqwest::Version::HTTP_2
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn failed_handshake_does_not_stop_the_server() {
    let sim = tls_sim().await;
    let client = h2_client();
    assert_eq!(
        chat(&client, &sim.base_url(), "before").await,
        reqwest::Version::HTTP_2
    );

    let mut raw = TcpStream::connect(sim.addr()).await.unwrap();
    raw.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut reply = Vec::new();
    // The server drops the connection (maybe after a TLS alert), never answering in cleartext.
    let read = tokio::time::timeout(Duration::from_secs(5), raw.read_to_end(&mut reply))
        .await
        .unwrap();
    assert!(
        read.is_ok()
            || read
                .as_ref()
                .is_err_and(|e| e.kind() == ErrorKind::ConnectionReset),
        "{read:?}"
    );
    assert!(!reply.starts_with(b"HTTP/"), "{reply:?}");

    // A fresh client (new connection and handshake) still gets served.
    assert_eq!(
        chat(&h2_client(), &sim.base_url(), "after").await,
        reqwest::Version::HTTP_2
    );
    assert_eq!(recorded_versions(&sim), ["HTTP/2.0", "HTTP/2.0"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn stalled_handshake_does_not_block_others() {
    let sim = tls_sim().await;
    // Connected but silent: its handshake waits (up to the 10 s timeout) in its own task.
    let _stalled = TcpStream::connect(sim.addr()).await.unwrap();
    let mut half = TcpStream::connect(sim.addr()).await.unwrap();
    half.write_all(&[0x16, 0x03, 0x01]).await.unwrap(); // a record header, then nothing

    let started = tokio::time::Instant::now();
    let version = tokio::time::timeout(
        Duration::from_secs(3),
        chat(&h1_client(), &sim.base_url(), "not blocked"),
    )
    .await
    .unwrap();
    assert_eq!(version, reqwest::Version::HTTP_11);
    assert!(started.elapsed() < Duration::from_secs(3));
    sim.shutdown().await;
}

#[tokio::test]
async fn http1_only_identity_makes_h2_clients_fall_back() {
    let tls = test_tls().http1_only();
    assert!(format!("{tls:?}").contains("http/1.1"));
    assert!(!format!("{tls:?}").contains("h2"));
    let sim = start("127.0.0.1:0".parse().unwrap(), tls_config(tls))
        .await
        .unwrap();
    // The client offers h2 and http/1.1; the server only accepts http/1.1.
    assert_eq!(
        chat(&h2_client(), &sim.base_url(), "fallback").await,
        reqwest::Version::HTTP_11
    );
    assert_eq!(recorded_versions(&sim), ["HTTP/1.1"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn shutdown_is_prompt_with_open_connections_and_frees_the_port() {
    let sim = tls_sim().await;
    let addr = sim.addr();
    let h2 = h2_client();
    let h1 = h1_client();
    chat(&h2, &sim.base_url(), "keep-alive h2").await;
    chat(&h1, &sim.base_url(), "keep-alive h1").await;
    let _stalled = TcpStream::connect(addr).await.unwrap();

    let started = tokio::time::Instant::now();
    sim.shutdown().await;
    // Well under the 2 s after which `shutdown` gives up and aborts the server task.
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert_port_released(addr).await;
    assert!(h2
        .get(format!("https://{addr}/v1/models"))
        .send()
        .await
        .is_err());
}

async fn assert_port_released(addr: SocketAddr) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        if let Err(e) = TcpStream::connect(addr).await {
            if e.kind() == ErrorKind::ConnectionRefused {
                return;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{addr} still accepts"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn serve_honours_tls_and_graceful_shutdown() {
    let addr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let config = SimConfig {
        tls: Some(test_tls()),
        ..SimConfig::default()
    };
    let server = tokio::spawn(serve(addr, config, async move {
        let _ = stop_rx.await;
    }));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while TcpStream::connect(addr).await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "serve never listened"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let version = chat(&h2_client(), &format!("https://{addr}"), "serve").await;
    assert_eq!(version, reqwest::Version::HTTP_2);

    stop_tx.send(()).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(2), server)
        .await
        .unwrap()
        .unwrap();
    assert!(result.is_ok(), "{result:?}");
    assert_port_released(addr).await;
}

#[test]
fn pem_errors_are_clear_io_errors() {
    let missing = SimTls::from_pem_files(testdata("nope.pem"), testdata("server.key")).unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    assert!(missing.to_string().contains("nope.pem"), "{missing}");

    // A certificate file where the key should be.
    let no_key =
        SimTls::from_pem_files(testdata("server.pem"), testdata("server.pem")).unwrap_err();
    assert_eq!(no_key.kind(), ErrorKind::InvalidData);
    assert!(no_key.to_string().contains("private key"), "{no_key}");

    // A key file where the certificate should be.
    let no_cert =
        SimTls::from_pem_files(testdata("server.key"), testdata("server.key")).unwrap_err();
    assert_eq!(no_cert.kind(), ErrorKind::InvalidData);
    assert!(no_cert.to_string().contains("certificate"), "{no_cert}");

    // The CA certificate does not match the leaf's key.
    let mismatch = SimTls::from_pem_files(testdata("ca.pem"), testdata("server.key")).unwrap_err();
    assert_eq!(mismatch.kind(), ErrorKind::InvalidData);
    assert!(mismatch.to_string().contains("ca.pem"), "{mismatch}");
}

#[test]
fn debug_shows_alpn_and_no_key_material() {
    let tls = test_tls();
    let shown = format!("{tls:?}");
    assert!(
        shown.contains("h2") && shown.contains("http/1.1"),
        "{shown}"
    );
    let key = std::fs::read_to_string(testdata("server.key")).unwrap();
    let key_body = key.lines().nth(1).unwrap();
    assert!(!shown.contains(key_body), "{shown}");
    assert!(!shown.to_lowercase().contains("key"), "{shown}");
    assert_eq!(tls, tls.clone());
    assert_ne!(tls, test_tls());
}
