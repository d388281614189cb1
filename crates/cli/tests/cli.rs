//! The `aerie` binary driven as a user would, against the client's scripted server.
//!
//! Each test starts its own server on a port the OS picks and runs the real binary with a
//! cleared `AERIE_ENDPOINT`; a failure prints the command, its exit status, stdout and stderr.

#[path = "../../client/tests/support/mod.rs"]
mod support;

use std::process::{Command, Output};
use std::sync::Arc;
use support::{Fake, start};

/// `aerie ARGS…` against a fresh fake server; returns the fake (to inspect) and the output.
fn aerie(args: &[&str]) -> (Arc<Fake>, Output) {
    let fake = Arc::new(Fake::default());
    let endpoint = start(Arc::clone(&fake)).to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_aerie"))
        .args(args)
        .args(["--endpoint", &endpoint])
        .env_remove("AERIE_ENDPOINT")
        .output()
        .expect("the aerie binary runs");
    (fake, output)
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

#[track_caller]
fn assert_exit(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "status {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        stdout(output),
        stderr(output)
    );
}

#[test]
fn get_run_lists_every_page_as_a_table() {
    let (_, output) = aerie(&["get", "run"]);
    assert_exit(&output, 0);
    let text = stdout(&output);
    let lines: Vec<_> = text.lines().collect();
    assert!(
        lines[0].starts_with("RUN  ") && lines[0].contains("PHASE"),
        "{text}"
    );
    let runs: Vec<_> = lines[1..]
        .iter()
        .map(|line| line.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(runs, ["r1", "r2", "r3"], "{text}");
}

#[test]
fn get_run_by_name_shows_the_root_action() {
    let (_, output) = aerie(&["get", "run", "r1"]);
    assert_exit(&output, 0);
    let text = stdout(&output);
    assert!(text.contains("phase     SUCCEEDED"), "{text}");
    assert!(text.contains("action    a0"), "{text}");
}

#[test]
fn get_action_json_is_the_proto3_action_details() {
    let (_, output) = aerie(&["get", "action", "r1", "n1", "-o", "json"]);
    assert_exit(&output, 0);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["id"]["name"], "n1");
    assert_eq!(json["status"]["phase"], "ACTION_PHASE_RUNNING");
    assert!(json["status"]["startTime"].is_string());
}

#[test]
fn get_action_without_a_name_lists_the_runs_actions() {
    let (_, output) = aerie(&["get", "action", "r1"]);
    assert_exit(&output, 0);
    let text = stdout(&output);
    assert!(
        text.contains("a0") && text.contains("n1") && text.contains("RUNNING"),
        "{text}"
    );
}

#[test]
fn watch_prints_one_line_per_change_and_exits_zero_on_success() {
    let (_, output) = aerie(&["watch", "r1", "n1"]);
    assert_exit(&output, 0);
    let text = stdout(&output);
    let phases: Vec<_> = text
        .lines()
        .map(|line| line.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(phases, ["QUEUED", "RUNNING", "SUCCEEDED"], "{text}");
    assert!(text.starts_with("r1/n1  QUEUED     attempt 1  "), "{text}");
}

#[test]
fn logs_are_printed_exactly_as_written() {
    let (_, output) = aerie(&["logs", "r1", "n1", "--follow"]);
    assert_exit(&output, 0);
    assert_eq!(stdout(&output), "hello\nworld\ndone\n");
}

#[test]
fn io_shows_inputs_and_outputs_of_a_finished_action() {
    let (_, output) = aerie(&["io", "r1"]);
    assert_exit(&output, 0);
    assert_eq!(stdout(&output), "inputs\n  x  3\noutputs\n  o0  6\n");
}

#[test]
fn io_of_a_running_action_says_outputs_are_not_there_yet() {
    let (_, output) = aerie(&["io", "r1", "n1", "-o", "json"]);
    assert_exit(&output, 0);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["inputs"]["literals"][0]["name"], "x");
    assert!(json["outputs"].is_null());
}

#[test]
fn abort_is_quiet_on_success_and_sends_the_reason() {
    let (fake, output) = aerie(&["abort", "run", "r1", "--reason", "wrong input"]);
    assert_exit(&output, 0);
    assert_eq!(stdout(&output), "");
    assert_eq!(stderr(&output), "");
    assert_eq!(*fake.aborts.lock().unwrap(), ["run r1: wrong input"]);
}

#[test]
fn a_failed_call_is_one_line_on_stderr_and_exit_1() {
    let (_, output) = aerie(&["get", "action", "r1", "zz"]);
    assert_exit(&output, 1);
    assert_eq!(
        stderr(&output),
        "aerie: get action flytesnacks/development/r1/zz: action zz not found (not_found)\n"
    );
    assert_eq!(stdout(&output), "");
}

#[test]
fn an_unreachable_server_is_named() {
    let output = Command::new(env!("CARGO_BIN_EXE_aerie"))
        .args(["get", "run", "--endpoint", "127.0.0.1:1"])
        .env_remove("AERIE_ENDPOINT")
        .output()
        .unwrap();
    assert_exit(&output, 1);
    let text = stderr(&output);
    assert!(
        text.starts_with("aerie: cannot reach 127.0.0.1:1 (is `aerie serve` running?): "),
        "{text}"
    );
    assert_eq!(text.lines().count(), 1, "{text}");
}

#[test]
fn usage_errors_exit_2() {
    let (_, output) = aerie(&["get", "run", "../etc"]);
    assert_exit(&output, 2);
}
