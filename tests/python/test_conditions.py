"""Conditions (`flyte.new_condition`) through the official SDK and CLI: a task waits PAUSED on a
condition until it is signalled (by `remote.Condition.signal`, `flyte signal condition` or
`aerie signal`), resumes with the value of the declared type, or ends on the condition's timeout;
wrong types and late signals get the right codes."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import urllib.error
import urllib.request

import flyte
import flyte.remote
import pytest
from flyteidl2.workflow import run_service_pb2
from helpers import (
    DOMAIN,
    PROJECT,
    HttpReply,
    action_id,
    aerie_cli,
    assert_connect_error,
    connect_unary,
    flyte_cli,
    wait_terminal,
    wait_until,
)
from workflows import gated

# `remote.Condition.phase` is the wire phase's name.
PAUSED, TIMED_OUT = "ACTION_PHASE_PAUSED", "ACTION_PHASE_TIMED_OUT"


def paused_condition(run_name: str, name: str) -> flyte.remote.Condition:
    """The condition `name` of the run, once it waits PAUSED."""

    def find():
        for condition in flyte.remote.Condition.listall(run_name=run_name):
            if condition.pb2.metadata.condition.name == name and condition.phase == PAUSED:
                return condition
        return None

    return wait_until(find, timeout=60, what=f"condition {name!r} of {run_name} to wait PAUSED")


def outputs(details) -> list:
    import asyncio

    return list(asyncio.run(details.outputs()))


def paused_run_names() -> set[str]:
    return {run.name for run in flyte.remote.Run.listall(paused_actions_only=True)}


def test_a_condition_signalled_true_by_the_sdk_resumes_the_task(sdk):
    run = flyte.run(gated.approval, amount=100)
    condition = paused_condition(run.name, "approve")
    assert run.name in paused_run_names(), "a run with a PAUSED condition is listed as paused"
    details = flyte.remote.ActionDetails.get(run_name=run.name, name=condition.action_name).pb2
    assert details.condition.prompt == "Pay 100?" and details.metadata.action_type == 3

    assert flyte.remote.Condition.get("approve", run_name=run.name).action_name == condition.action_name
    condition.signal(True)
    finished = wait_terminal(run)
    assert finished.phase.value == "succeeded", finished.error_message
    assert outputs(finished) == ["paid 100"]
    after = flyte.remote.ActionDetails.get(run_name=run.name, name=condition.action_name).pb2
    assert after.signal_info.output.scalar.primitive.boolean is True
    assert after.signal_info.signalled_by.user.spec.email or after.signal_info.signalled_by.user.id.subject
    assert run.name not in paused_run_names()


def test_the_flyte_cli_lists_and_signals_a_condition_false(sdk, tmp_path):
    run = flyte.run(gated.approval, amount=7)
    condition = paused_condition(run.name, "approve")
    listed = flyte_cli(sdk, "get", "condition", "-p", PROJECT, "-d", DOMAIN, run.name, cwd=tmp_path)
    assert listed.returncode == 0 and "approve" in listed.stdout, listed.explain()

    signalled = flyte_cli(
        sdk, "signal", "condition", "-p", PROJECT, "-d", DOMAIN, run.name, condition.action_name, "false",
        cwd=tmp_path,
    )
    assert signalled.returncode == 0 and "has been signaled" in signalled.stdout, signalled.explain()
    finished = wait_terminal(run)
    assert outputs(finished) == ["refused 7"]


def test_each_type_takes_its_own_values_and_refuses_the_others(sdk):
    run = flyte.run(gated.typed_answers)
    count = paused_condition(run.name, "count")
    with pytest.raises(Exception) as wrong:
        count.signal("three")
    assert "does not match" in str(wrong.value) and "INTEGER" in str(wrong.value), wrong.value
    count.signal(3)
    count.signal(3)  # the same value again is a retried call, accepted
    with pytest.raises(Exception) as late:
        count.signal(4)
    assert "already completed" in str(late.value), late.value

    paused_condition(run.name, "ratio").signal(0.5)
    paused_condition(run.name, "label").signal("blue")
    finished = wait_terminal(run)
    assert finished.phase.value == "succeeded", finished.error_message
    assert outputs(finished) == ["3 0.5 blue"]


def test_aerie_signal_parses_the_value_by_the_declared_type(sdk):
    run = flyte.run(gated.approval, amount=5)
    condition = paused_condition(run.name, "approve")
    wrong = aerie_cli(sdk, "signal", run.name, condition.action_name, "maybe")
    assert wrong.returncode != 0 and "BOOLEAN" in wrong.stderr, wrong.explain()
    cli = aerie_cli(sdk, "signal", run.name, condition.action_name, "yes")
    assert cli.returncode == 0, cli.explain()
    assert outputs(wait_terminal(run)) == ["paid 5"]
    shown = aerie_cli(sdk, "get", "action", run.name, condition.action_name)
    assert shown.returncode == 0, shown.explain()
    assert "BOOLEAN: Pay 5?" in shown.stdout and "true by" in shown.stdout, shown.stdout


def test_a_condition_times_out_and_the_task_sees_the_sdks_error(sdk):
    handled = flyte.run(gated.impatient, seconds=2.0)
    assert outputs(wait_terminal(handled)) == ["timed out"]
    late = next(c for c in flyte.remote.Condition.listall(run_name=handled.name))
    assert late.phase == TIMED_OUT
    with pytest.raises(Exception) as refused:
        late.signal(True)
    assert "already completed" in str(refused.value), refused.value

    unhandled = flyte.run(gated.gives_up, seconds=1.0)
    failed = wait_terminal(unhandled)
    assert failed.phase.value == "failed"
    assert failed.error_info.code == "ConditionTimedoutError", failed.error_info


def test_aborting_the_run_ends_its_paused_condition(sdk):
    run = flyte.run(gated.approval, amount=9)
    condition = paused_condition(run.name, "approve")
    run.abort(reason="no longer needed")
    wait_terminal(run)
    ended = flyte.remote.ActionDetails.get(run_name=run.name, name=condition.action_name)
    assert ended.phase.value == "aborted"
    with pytest.raises(Exception) as refused:
        condition.signal(True)
    assert "already completed" in str(refused.value), refused.value


def test_on_the_queue_service_path_a_condition_arrives_untyped_and_still_works(sdk):
    run = flyte.with_runcontext(env_vars={"_U_USE_ACTIONS": "0"}).run(gated.approval, amount=3)

    def untyped():
        for condition in flyte.remote.Condition.listall(run_name=run.name):
            if condition.phase == PAUSED:
                return condition
        return None

    condition = wait_until(untyped, timeout=60, what="the untyped condition to wait PAUSED")
    assert condition.pb2.metadata.condition.name == condition.action_name
    condition.signal(True)
    assert outputs(wait_terminal(run)) == ["paid 3"]


def test_signals_to_unknown_or_non_condition_actions_are_refused(sdk, succeeded_run):
    def signal_event(action: str, **payload) -> HttpReply:
        request = run_service_pb2.SignalEventRequest(
            action_id=action_id(succeeded_run.name, action), payload=run_service_pb2.EventPayload(**payload)
        )
        return connect_unary(sdk, "flyteidl2.workflow.RunService/SignalEvent", request.SerializeToString())

    assert_connect_error(signal_event("a0", bool_value=True), "failed_precondition", "not a condition")
    assert_connect_error(signal_event("nosuchaction", bool_value=True), "not_found")
    assert_connect_error(signal_event("a0"), "invalid_argument", "payload")
    cli = aerie_cli(sdk, "signal", succeeded_run.name, "a0", "true")
    assert cli.returncode != 0 and "not a condition" in cli.stderr, cli.explain()


def test_a_webhook_is_posted_once_and_its_callback_uri_signals_the_condition(sdk):
    received: list[dict] = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the http.server API
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"type": self.headers["Content-Type"], "body": json.loads(body)})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    try:
        run = flyte.run(gated.announced, hook_url=f"http://127.0.0.1:{hook.server_port}/hook")
        paused_condition(run.name, "ship")
        wait_until(lambda: received, timeout=30, what="the webhook's POST")
        posted = received[0]
        assert posted["type"].startswith("application/json")
        assert posted["body"]["n"] == 3, posted
        callback = posted["body"]["cb"]
        assert callback.startswith("http") and "/signal?" in callback, callback

        def post(url: str, body: bytes) -> int:
            request = urllib.request.Request(url, data=body, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=30) as reply:
                    return reply.status
            except urllib.error.HTTPError as refused:
                return refused.code

        assert post(callback.replace("signature=", "signature=00"), b"true") == 403
        assert post(callback, b'{"value": "yes"}') == 400, "a string for a BOOLEAN condition"
        assert post(callback, b'{"value": true}') == 200
        assert post(callback, b"false") == 409, "a condition takes one value"
        assert outputs(wait_terminal(run)) == ["shipped"]
        assert len(received) == 1, "the webhook is sent once"
    finally:
        hook.shutdown()


def test_the_actions_service_signal_takes_a_literal_of_the_declared_type(sdk):
    from flyteidl2.actions import actions_service_pb2
    from flyteidl2.core import literals_pb2

    run = flyte.run(gated.approval, amount=8)
    condition = paused_condition(run.name, "approve")

    def signal(**primitive) -> HttpReply:
        request = actions_service_pb2.SignalRequest(
            action_id=action_id(run.name, condition.action_name),
            parent_action_name="a0",
            value=literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(**primitive))),
        )
        return connect_unary(sdk, "flyteidl2.actions.ActionsService/Signal", request.SerializeToString())

    assert_connect_error(signal(integer=1), "invalid_argument", "does not match")
    reply = signal(boolean=False)
    assert reply.status == 200, reply.explain()
    assert outputs(wait_terminal(run)) == ["refused 8"]


def test_a_webhook_that_cannot_be_reached_does_not_fail_the_run(sdk):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    run = flyte.run(gated.announced, hook_url=f"http://127.0.0.1:{port}/nobody")
    paused_condition(run.name, "ship").signal(False)
    finished = wait_terminal(run)
    assert finished.phase.value == "succeeded", finished.error_message
    assert outputs(finished) == ["held"]
