use std::collections::HashMap;
use std::time::Duration;

use super::*;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn zero_config_serves_every_provider_with_a_key() {
    let cfg = from_env(&env(&[
        ("OPENAI_API_KEY", "sk-o"),
        ("ANTHROPIC_API_KEY", "sk-a"),
        ("DEEPSEEK_BASE_URL", "http://127.0.0.1:9/ds"),
        ("DEEPSEEK_API_KEY", "sk-d"),
    ]))
    .unwrap();
    let names: Vec<&str> = cfg.providers.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["openai", "anthropic", "deepseek"]);
    assert_eq!(
        cfg.provider("deepseek").unwrap().base_url,
        "http://127.0.0.1:9/ds"
    );
    assert_eq!(
        cfg.provider("openai").unwrap().base_url,
        "https://api.openai.com/v1"
    );
    assert_eq!(cfg.server.listen.to_string(), "127.0.0.1:4000");
    assert!(cfg.server.master_key.is_none());
}

#[test]
fn full_config_parses_and_interpolates() {
    let yaml = r#"
version: 1
server:
  listen: 0.0.0.0:8080
  master_key: ${MK}
  body_limit: 2MiB
  unsupported_params: reject
timeouts: { connect: 2s, first_byte: 10s }
providers:
  - name: oai
    kind: openai
    api_key: ${OPENAI_KEY}
  - name: claude
    kind: anthropic
    api_key: sk-ant
models:
  - name: smart
    strategy: least_latency
    deployments:
      - provider: oai
        model: gpt-4o
        weight: 3
        rpm: 100
      - claude/claude-sonnet-4-5
    fallbacks:
      - model: cheap
        on: [rate_limited, timeout]
  - name: cheap
    deployments: [oai/gpt-4o-mini]
"#;
    let cfg = load_str(yaml, &env(&[("MK", "master"), ("OPENAI_KEY", "sk-1")])).unwrap();
    assert_eq!(cfg.server.master_key.as_ref().unwrap().expose(), "master");
    assert_eq!(
        format!("{:?}", cfg.server.master_key),
        "Some(Secret([redacted]))"
    );
    assert_eq!(cfg.server.body_limit, 2 * 1024 * 1024);
    assert_eq!(cfg.server.unsupported_params, ParamPolicy::Reject);
    let smart = cfg.model("smart").unwrap();
    assert_eq!(smart.strategy, Strategy::LeastLatency);
    assert_eq!(smart.deployments[1].id, "claude/claude-sonnet-4-5");
    assert_eq!(smart.deployments[0].timeouts.connect.as_secs(), 2);
    assert_eq!(smart.fallbacks[0].on.len(), 2);
}

#[test]
fn errors_name_the_field_path() {
    let err = load_str(
        "models:\n  - name: a\n    deployments:\n      - provider: nope\n        model: x\n",
        &env(&[]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("models[0].deployments[0].provider"),
        "{err}"
    );

    let err = load_str("server:\n  listen: 1.2.3.4:1\n  colour: red\n", &env(&[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("server") && err.contains("colour"), "{err}");

    let err = load_str("timeouts:\n  idle: soon\n", &env(&[]))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("timeouts.idle"), "{err}");

    let err = load_str(
        "providers: [{name: o, kind: openai, api_key: k}]\nmodels:\n  - name: a\n    deployments: [o/x]\n    fallbacks: [{model: ghost}]\n",
        &env(&[]),
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("models[0].fallbacks[0].model"), "{err}");
}

/// Every ```yaml block of docs/configuration.md parses and validates.
#[test]
fn docs_examples_parse() {
    let doc = include_str!("../../../docs/configuration.md");
    let env = env(&[
        ("OPENAI_API_KEY", "sk-o"),
        ("ANTHROPIC_API_KEY", "sk-a"),
        ("GEMINI_API_KEY", "g"),
        ("MISTRAL_API_KEY", "m"),
    ]);
    let mut blocks = 0;
    for block in doc.split("```yaml").skip(1) {
        let yaml = block.split("```").next().unwrap();
        load_str(yaml, &env).unwrap_or_else(|e| panic!("docs example failed: {e}\n{yaml}"));
        blocks += 1;
    }
    assert!(blocks >= 2, "found {blocks} yaml blocks");
}

/// Every benchmark scenario's `bench/scenarios/*/gateway.yaml` validates, so that a config
/// change cannot break the harness unnoticed.
#[test]
fn bench_scenario_configs_parse() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = root.join("bench/scenarios");
    let tls = root.join("crates/switchyard-sim/testdata/tls");
    let env = env(&[
        ("BENCH_SIM", "127.0.0.1:14010"),
        ("BENCH_TLS_DIR", tls.to_str().unwrap()),
    ]);
    let mut configs = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path().join("gateway.yaml");
        let Ok(yaml) = std::fs::read_to_string(&path) else {
            continue;
        };
        load_str(&yaml, &env).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        configs += 1;
    }
    assert!(
        configs >= 10,
        "found {configs} scenario configs in {}",
        dir.display()
    );
}

#[test]
fn http_version_is_auto_unless_set() {
    let yaml =
        |extra: &str| format!("providers:\n  - name: o\n    kind: openai\n    api_key: k\n{extra}");
    let version = |extra: &str| load_str(&yaml(extra), &env(&[])).unwrap().providers[0].http;
    assert_eq!(version(""), HttpVersion::Auto);
    assert_eq!(version("    http2: true\n"), HttpVersion::Http2);
    assert_eq!(version("    http2: false\n"), HttpVersion::Http1);
    let from_env = from_env(&env(&[("OPENAI_API_KEY", "sk")])).unwrap();
    assert_eq!(from_env.providers[0].http, HttpVersion::Auto);
}

#[test]
fn http2_max_streams_defaults_to_100_and_refuses_out_of_range() {
    let yaml =
        |extra: &str| format!("providers:\n  - name: o\n    kind: openai\n    api_key: k\n{extra}");
    let streams =
        |extra: &str| load_str(&yaml(extra), &env(&[])).map(|c| c.providers[0].http2_max_streams);
    assert_eq!(streams("").unwrap(), DEFAULT_HTTP2_MAX_STREAMS);
    assert_eq!(DEFAULT_HTTP2_MAX_STREAMS, 100);
    assert_eq!(streams("    http2_max_streams: 8\n").unwrap(), 8);
    assert_eq!(streams("    http2_max_streams: 1000\n").unwrap(), 1000);
    for bad in ["0", "1001", "-3"] {
        let err = streams(&format!("    http2_max_streams: {bad}\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("http2_max_streams"), "{bad}: {err}");
    }
    let from_env = from_env(&env(&[("OPENAI_API_KEY", "sk")])).unwrap();
    assert_eq!(from_env.providers[0].http2_max_streams, 100);
}

#[test]
fn ca_file_is_read_and_checked_at_load() {
    let yaml = |file: &str| {
        format!("providers:\n  - name: o\n    kind: openai\n    api_key: k\n    ca_file: {file}\n")
    };
    let dir = std::env::temp_dir().join(format!("switchyard-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let missing = dir.join("missing.pem");
    let err = load_str(&yaml(missing.to_str().unwrap()), &env(&[]))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("cannot read") && err.contains("missing.pem"),
        "{err}"
    );

    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let err = load_str(&yaml(empty.to_str().unwrap()), &env(&[]))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("providers[0].ca_file"), "{err}");

    let ca = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../switchyard-sim/testdata/tls/ca.pem"
    );
    let cfg = load_str(&yaml(ca), &env(&[])).unwrap();
    let bundle = cfg.providers[0].ca.as_ref().unwrap();
    assert_eq!(bundle.certs.len(), 1);
    assert_eq!(bundle.path, ca);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn egress_proxy_comes_from_the_environment() {
    let cfg = load_str(
        "",
        &env(&[
            ("HTTPS_PROXY", "http://user:secret@proxy.corp:3128"),
            ("no_proxy", "localhost,.internal"),
            ("NO_PROXY", "ignored"),
        ]),
    )
    .unwrap();
    assert!(cfg.proxy.is_set());
    assert_eq!(
        cfg.proxy.https.as_ref().unwrap().expose(),
        "http://user:secret@proxy.corp:3128"
    );
    assert_eq!(cfg.proxy.no_proxy.as_deref(), Some("localhost,.internal"));
    assert!(
        !format!("{:?}", cfg.proxy).contains("secret"),
        "credentials in Debug"
    );
    assert!(!load_str("", &env(&[])).unwrap().proxy.is_set());

    let err = load_str("", &env(&[("ALL_PROXY", "socks5://127.0.0.1:1080")]))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("ALL_PROXY") && err.contains("socks5"),
        "{err}"
    );
}

#[test]
fn client_timeouts_default_parse_and_refuse_under_a_second() {
    let cfg = load_str("version: 1\n", &env(&[])).unwrap();
    assert_eq!(cfg.server.client_header_timeout, Duration::from_secs(30));
    assert_eq!(cfg.server.client_idle_timeout, Duration::from_secs(75));
    let cfg = load_str(
        "server: { client_header_timeout: 10s, client_idle_timeout: 10m }\n",
        &env(&[]),
    )
    .unwrap();
    assert_eq!(cfg.server.client_header_timeout, Duration::from_secs(10));
    assert_eq!(cfg.server.client_idle_timeout, Duration::from_secs(600));
    let err = load_str("server: { client_idle_timeout: 500ms }\n", &env(&[]))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("server.client_idle_timeout") && err.contains("at least 1s"),
        "{err}"
    );
    let err = load_str("server: { client_header_timeout: soon }\n", &env(&[]))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("server.client_header_timeout"), "{err}");
}

#[test]
fn busy_poll_is_off_by_default_and_zero_turns_it_off() {
    let cfg = load_str("version: 1\n", &env(&[])).unwrap();
    assert_eq!(cfg.server.busy_poll, None);
    let cfg = load_str("server: { busy_poll: 200us }\n", &env(&[])).unwrap();
    assert_eq!(cfg.server.busy_poll, Some(Duration::from_micros(200)));
    let cfg = load_str("server: { busy_poll: 0 }\n", &env(&[])).unwrap();
    assert_eq!(cfg.server.busy_poll, None);
    let err = load_str("server: { busy_poll: fast }\n", &env(&[]))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("server.busy_poll"), "{err}");
}
