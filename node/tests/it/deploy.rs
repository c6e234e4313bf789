//! The deployment an organization copies (`docker/`), checked by the programs that read
//! it: docker-compose (its `config` check: no container engine runs here) and Caddy; and
//! the Synapse additions point where `raremesh setup` writes in the container. That setup's
//! files make a working pair with real homeservers is `setup.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn docker() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docker")
}

/// `KEY=value` lines of `docker/env.example`.
fn example_env() -> Vec<(String, String)> {
    std::fs::read_to_string(docker().join("env.example"))
        .expect("env.example")
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

#[test]
fn the_compose_file_is_valid_and_refuses_to_run_without_its_settings() {
    let out = Command::new("docker-compose")
        .arg("-f")
        .arg(docker().join("compose.yaml"))
        .arg("--env-file")
        .arg(docker().join("env.example"))
        .arg("config")
        .output()
        .expect("docker-compose (scripts/install-test-deps.sh installs it)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config: serde_yaml::Value = serde_yaml::from_str(&text).expect("yaml");
    let services = config["services"].as_mapping().expect("services");
    for name in ["postgres", "synapse", "raremesh", "caddy"] {
        assert!(
            services.contains_key(name),
            "{name} is in the deployment: {text}"
        );
        if name != "caddy" {
            assert!(
                !config["services"][name]["healthcheck"].is_null(),
                "{name} has a health check"
            );
        }
    }
    // Only the proxy is reachable from outside.
    for name in ["postgres", "synapse", "raremesh"] {
        assert!(
            config["services"][name]["ports"].is_null(),
            "{name} publishes no port"
        );
    }
    for volume in [
        "postgres-data",
        "synapse-data",
        "raremesh-config",
        "raremesh-data",
        "caddy-data",
    ] {
        assert!(
            config["volumes"]
                .as_mapping()
                .expect("volumes")
                .contains_key(volume),
            "{volume} is a volume"
        );
    }
    // The node reads the configuration `raremesh setup` writes into its volume.
    let command: Vec<String> =
        serde_yaml::from_value(config["services"]["raremesh"]["command"].clone()).expect("command");
    assert_eq!(command, ["--config", "/config/raremesh.toml", "serve"]);

    // Without docker/.env it refuses, naming what is missing.
    let out = Command::new("docker-compose")
        .arg("-f")
        .arg(docker().join("compose.yaml"))
        .arg("config")
        .env_remove("POSTGRES_PASSWORD")
        .output()
        .expect("docker-compose");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("POSTGRES_PASSWORD"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn caddy_accepts_the_proxy_configuration() {
    let out = Command::new("caddy")
        .args(["validate", "--adapter", "caddyfile", "--config"])
        .arg(docker().join("Caddyfile"))
        .envs(example_env())
        .output()
        .expect("caddy (scripts/install-test-deps.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn synapse_loads_the_registration_setup_writes_in_the_container() {
    let text = std::fs::read_to_string(docker().join("synapse-raremesh.yaml")).expect("file");
    let extra: serde_yaml::Value = serde_yaml::from_str(&text).expect("yaml");
    let files: Vec<String> =
        serde_yaml::from_value(extra["app_service_config_files"].clone()).expect("list");
    // `raremesh setup --out /config/raremesh.toml` writes the registration next to it.
    let config = Path::new("/config/raremesh.toml");
    assert_eq!(
        files,
        [config
            .with_file_name("raremesh-registration.yaml")
            .display()
            .to_string()]
    );
    assert_eq!(extra["database"]["name"], "psycopg2");
    assert_eq!(extra["database"]["args"]["host"], "postgres");
}
