use super::*;

#[test]
fn run_options_become_the_run_spec_and_lay_over_a_source_spec() {
    let options = RunOptions::new()
        .label("team", "ml")
        .env("MODE", "fast")
        .overwrite_cache(true)
        .max_concurrency(4)
        .interruptible(false);
    let spec = options.to_run_spec();
    assert_eq!(
        spec.labels.values.get("team").map(String::as_str),
        Some("ml")
    );
    assert_eq!(spec.envs.values.len(), 1);
    assert!(spec.overwrite_cache && spec.cache_config.overwrite_cache);
    assert_eq!(spec.max_action_concurrency, 4);
    assert!(!spec.interruptible.value);
    assert!(!spec.interruptible.is_unset());

    let mut source = RunOptions::new()
        .label("team", "data")
        .label("keep", "yes")
        .env("MODE", "slow")
        .env("OTHER", "1")
        .to_run_spec();
    options.apply_to(&mut source);
    assert_eq!(
        source.labels.values.get("team").map(String::as_str),
        Some("ml")
    );
    assert_eq!(
        source.labels.values.get("keep").map(String::as_str),
        Some("yes")
    );
    let envs: Vec<(&str, &str)> = source
        .envs
        .values
        .iter()
        .map(|pair| (pair.key.as_str(), pair.value.as_str()))
        .collect();
    assert_eq!(envs, [("OTHER", "1"), ("MODE", "fast")]);
    assert!(RunOptions::new().is_empty());
    assert!(RunOptions::new().to_run_spec().labels.is_unset());
}
