use super::*;

fn env(vars: &[(&str, &str)], cwd: Option<&Path>, home: Option<&Path>) -> Environment {
    Environment {
        vars: vars
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect(),
        cwd: cwd.map(Path::to_owned),
        home: home.map(Path::to_owned),
    }
}

const DEVBOX: &str = "admin:\n  endpoint: dns:///localhost:30080\n  insecure: true\n  \
                      caCertFilePath: ca.pem\nimage:\n  builder: local\ntask:\n  \
                      domain: development\n  project: flytesnacks\n  org: acme\n";

#[test]
fn the_devbox_config_reads_as_the_sdk_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, DEVBOX).unwrap();
    let config = Config::from_file(&path).unwrap();
    assert_eq!(config.endpoint.as_deref(), Some("dns:///localhost:30080"));
    assert!(config.insecure);
    assert_eq!(config.ca_cert_file, Some(dir.path().join("ca.pem")));
    assert_eq!(config.project.as_deref(), Some("flytesnacks"));
    assert_eq!(config.domain.as_deref(), Some("development"));
    assert_eq!(config.org.as_deref(), Some("acme"));
    assert_eq!(config.file, Some(path));
}

#[test]
fn the_working_directory_wins_over_the_home_directory() {
    let cwd = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".flyte")).unwrap();
    std::fs::write(
        home.path().join(".flyte/config.yaml"),
        "admin:\n  endpoint: dns:///home.example\n",
    )
    .unwrap();
    let found = Config::discover_in(&env(&[], Some(cwd.path()), Some(home.path()))).unwrap();
    assert_eq!(found.endpoint.as_deref(), Some("dns:///home.example"));
    assert!(!found.insecure);
    std::fs::create_dir(cwd.path().join(".flyte")).unwrap();
    std::fs::write(
        cwd.path().join(".flyte/config.yaml"),
        "admin:\n  endpoint: dns:///cwd.example\n",
    )
    .unwrap();
    let found = Config::discover_in(&env(&[], Some(cwd.path()), Some(home.path()))).unwrap();
    assert_eq!(found.endpoint.as_deref(), Some("dns:///cwd.example"));
}

#[test]
fn flytectl_config_names_the_file_and_the_sdk_variables_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("elsewhere.yaml");
    std::fs::write(&path, DEVBOX).unwrap();
    let path_text = path.to_str().unwrap();
    let found = Config::discover_in(&env(
        &[
            ("FLYTECTL_CONFIG", path_text),
            ("FLYTE_TASK_PROJECT", "ml"),
            ("FLYTE_ADMIN_INSECURE", "false"),
            ("FLYTE_API_KEY", "a2V5"),
        ],
        None,
        None,
    ))
    .unwrap();
    assert_eq!(found.file, Some(path));
    assert_eq!(found.project.as_deref(), Some("ml"));
    assert_eq!(found.domain.as_deref(), Some("development"));
    assert!(!found.insecure, "FLYTE_ADMIN_INSECURE=false means false");
    assert_eq!(found.api_key.as_deref(), Some("a2V5"));
}

#[test]
fn aerie_endpoint_wins_and_says_plaintext_unless_https() {
    let found = Config::discover_in(&env(
        &[
            ("FLYTE_ADMIN_ENDPOINT", "dns:///flyte.example"),
            ("AERIE_ENDPOINT", "localhost:30081"),
        ],
        None,
        None,
    ))
    .unwrap();
    assert_eq!(found.endpoint.as_deref(), Some("localhost:30081"));
    assert!(found.insecure);
    let tls =
        Config::discover_in(&env(&[("AERIE_ENDPOINT", "https://a.example")], None, None)).unwrap();
    assert!(!tls.insecure);
}

#[test]
fn nothing_found_is_the_empty_config_and_a_broken_file_is_an_error() {
    assert_eq!(
        Config::discover_in(&env(&[], None, None)).unwrap(),
        Config::default()
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, "admin: [not, a, map").unwrap();
    assert!(matches!(Config::from_file(&path), Err(Error::Config(_))));
}
