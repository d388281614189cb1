"""The web console in headless Chromium against the live server, with real workflows run by the
official SDK: the page the SDK prints, the live run tree and phases, errors and tracebacks, inputs
and outputs, live logs, abort, signalling a condition, the runs list, hostile text, and a run of
10,000 actions (its page timings go to the test report).

Set AERIE_CONSOLE_SCREENSHOTS=DIR to keep screenshots of the main pages (docs/console holds the
committed ones)."""

from __future__ import annotations

import datetime
import http.client
import json
import os
import struct
import urllib.request
import zoneinfo
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import flyte
import flyte.remote
import pytest
from playwright.sync_api import expect
from conftest import CONSOLE_TIMINGS, start_aerie, stop_aerie_process
from helpers import DOMAIN, PROJECT, wait_terminal, wait_until
from workflows import basic, extras, fanout, frames, gated, scheduled, showcase

VIEWPORT = {"width": 1280, "height": 800}
#: How long the page may take to show what a test waits for (the task itself may still be starting).
SHOWN_MS = 60_000
SCREENSHOTS = os.environ.get("AERIE_CONSOLE_SCREENSHOTS")


@pytest.fixture
def page(browser, aerie):
    """A fresh browser tab on the session's server; a script error in the page fails the test."""
    context = browser.new_context(viewport=VIEWPORT, base_url=f"http://localhost:{aerie.port}")
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda err: errors.append(str(err)))
    yield tab
    context.close()
    assert not errors, f"the page threw: {errors}"


def run_path(run_name: str) -> str:
    return f"/v2/domain/{DOMAIN}/project/{PROJECT}/runs/{run_name}"


def run_phase(page, phase: str):
    """The run's phase badge in the page header, once it says `phase`."""
    return page.wait_for_selector(f"h1 .phase[data-phase={phase}]", timeout=SHOWN_MS)


def mark_page(page) -> None:
    """Marks the loaded document, so a later check can tell it was never reloaded."""
    page.evaluate("window.__sameDocument = true")


def same_document(page) -> bool:
    return page.evaluate("window.__sameDocument === true")


def screenshot(page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"))


def open_finished_run(page, phase: str, task, **inputs):
    """Runs `task` through the SDK, waits until it ends in `phase`, and opens its page."""
    run = flyte.run(task, **inputs)
    finished = wait_terminal(run)
    assert finished.phase.value == phase, finished.error_message
    page.goto(run_path(run.name))
    return run


def mark(page, name: str) -> float:
    """When the page set the performance mark `name`, in milliseconds from navigation start."""
    return page.evaluate("name => performance.getEntriesByName(name)[0].startTime", name)


def shown_after_ms(page) -> float:
    """Milliseconds from the start of the page's navigation to now (content is on screen)."""
    return page.evaluate("performance.now()")


def test_the_printed_url_shows_the_runs_inputs_and_outputs_without_a_click(page, succeeded_run):
    page.goto(succeeded_run.run.url)
    inputs = page.locator(".run-inputs")
    outputs = page.locator(".run-outputs")
    outputs.locator("[data-name=o1]").wait_for(timeout=SHOWN_MS)
    assert inputs.locator("[data-name=x] td").inner_text() == "41"
    assert inputs.locator("[data-name=name] .value.string").inner_text() == "aerie"
    assert outputs.locator("[data-name=o0] td").inner_text() == "42"
    assert outputs.locator("[data-name=o1] .value.string").inner_text() == "hello aerie"
    assert page.locator("h1 .phase").get_attribute("data-phase") == "SUCCEEDED"
    screenshot(page, "run-succeeded")


def test_a_failed_run_shows_the_error_kind_message_and_traceback_without_a_click(page, failed_run):
    page.goto(failed_run.run.url)
    failure = page.locator(".summary .failure")
    failure.locator(".traceback").wait_for(timeout=SHOWN_MS)
    assert failure.locator(".error-kind").inner_text() == "user error"
    assert failure.locator(".error-code").inner_text() == "ValueError"
    assert "boom: the answer was 41" in failure.locator(".error-message").inner_text()
    traceback = failure.locator(".traceback").inner_text()
    assert traceback.startswith("Traceback (most recent call last):"), traceback
    assert "fail_with_value_error" in traceback and traceback.rstrip().endswith(
        "ValueError: boom: the answer was 41"
    ), traceback
    screenshot(page, "run-failed")


def test_a_fan_out_shows_its_tree_with_counts_per_phase(page, sdk):
    open_finished_run(page, "succeeded", fanout.sum_of_squares, n=12)
    counts = page.locator(".summary .child-counts")
    counts.wait_for(timeout=SHOWN_MS)
    assert counts.inner_text().startswith("12 ·"), counts.inner_text()
    assert counts.locator("[data-phase=SUCCEEDED]").inner_text() == "12 succeeded"
    fold = page.locator(".tree-row.fold[data-fold=square]")
    assert "×12" in fold.inner_text() and "12 succeeded" in fold.inner_text()
    assert page.locator(".tree-row[data-action]").count() == 1, "children start folded"
    fold.click()
    expect(page.locator(".tree-row[data-action]")).to_have_count(13)
    assert page.locator(".tree-row[data-action][data-phase=SUCCEEDED]").count() == 13
    screenshot(page, "run-fan-out")


def test_a_group_folds_into_one_row_with_its_counts(page, sdk):
    open_finished_run(page, "succeeded", showcase.grouped_squares, n=4)
    group = page.locator(".tree-row.fold.group[data-fold=squares]")
    group.wait_for(timeout=SHOWN_MS)
    assert "×4" in group.inner_text() and "4 succeeded" in group.inner_text()


def test_a_phase_change_appears_live_without_a_reload(page, sdk):
    run = flyte.run(showcase.talk, lines=6, pause=1.0)
    page.goto(run_path(run.name))
    run_phase(page, "RUNNING")
    mark_page(page)
    run_phase(page, "SUCCEEDED")
    assert page.locator(".tree-row[data-action=a0]").get_attribute("data-phase") == "SUCCEEDED"
    page.locator(".run-outputs [data-name=o0]").wait_for(timeout=SHOWN_MS)
    assert page.locator(".run-outputs [data-name=o0] td").inner_text() == "6"
    assert same_document(page), "the page changed without a reload"


def test_logs_stream_into_the_page_while_the_task_runs(page, sdk):
    run = flyte.run(showcase.talk, lines=15, pause=1.0)
    page.goto(run_path(run.name))
    run_phase(page, "RUNNING")
    mark_page(page)
    page.get_by_role("tab", name="Logs").click()
    page.locator(".log-text", has_text="line 1").first.wait_for(timeout=SHOWN_MS)
    assert run_phase_now(page) == "RUNNING", "the first line arrived while the task ran"
    page.locator(".log-text", has_text="line 15").wait_for(timeout=SHOWN_MS)
    assert same_document(page)
    screenshot(page, "action-logs")
    page.get_by_placeholder("search the log").fill("line 12")
    expect(page.locator(".log-line")).to_have_count(1)
    assert page.locator(".log-text").inner_text() == "line 12"
    page.get_by_placeholder("search the log").fill("")
    with page.expect_download() as download:
        page.get_by_role("button", name="download").click()
    saved = Path(download.value.path()).read_text()
    assert "line 1\n" in saved and "line 15\n" in saved


def run_phase_now(page) -> str:
    return page.locator("h1 .phase").get_attribute("data-phase")


def test_abort_from_the_page_stops_the_run_with_the_reason(page, sdk):
    run = flyte.run(showcase.talk, lines=300, pause=1.0)
    page.goto(run_path(run.name))
    run_phase(page, "RUNNING")
    page.get_by_role("button", name="Abort run").click()
    page.get_by_placeholder("reason").fill("enough, from the browser")
    page.locator("form.abort-form button[type=submit]").click()
    run_phase(page, "ABORTED")
    page.locator(".summary .aborted").wait_for(timeout=SHOWN_MS)
    assert "enough, from the browser" in page.locator(".summary .aborted").inner_text()
    details = flyte.remote.ActionDetails.get(run_name=run.name, name="a0").pb2
    assert details.abort_info.reason == "enough, from the browser"


def test_a_waiting_condition_is_signalled_from_the_page(page, sdk):
    run = flyte.run(gated.approval, amount=5)
    page.goto(run_path(run.name))
    condition = page.locator(".tree-row", has=page.locator(".badge.condition"))
    condition.wait_for(timeout=SHOWN_MS)
    condition.click()
    form = page.locator("form.signal")
    form.wait_for(timeout=SHOWN_MS)
    assert page.locator(".condition .prompt").inner_text() == "Pay 5?"
    screenshot(page, "condition")
    form.locator("select[name=value]").select_option("true")
    form.get_by_role("button", name="Signal").click()
    run_phase(page, "SUCCEEDED")
    page.locator(".run-outputs [data-name=o0]").wait_for(timeout=SHOWN_MS)
    assert page.locator(".run-outputs [data-name=o0] .value.string").inner_text() == "paid 5"
    assert "Signalled" in page.locator(".card.condition").inner_text()


def test_the_runs_list_filters_and_shows_new_runs_live(page, succeeded_run, failed_run):
    page.goto(f"/v2/domain/{DOMAIN}/project/{PROJECT}/runs")
    page.locator("tr[data-run]").first.wait_for(timeout=SHOWN_MS)
    mark_page(page)
    fresh = flyte.run(basic.add_and_greet, x=1, name="live")
    page.locator(f"tr[data-run={fresh.name}]").wait_for(timeout=SHOWN_MS)
    assert same_document(page), "the new run appeared without a reload"
    screenshot(page, "runs")

    page.locator("select[name=phase]").select_option("FAILED")
    page.get_by_role("button", name="Filter").click()
    page.locator(f"tr[data-run={fresh.name}]").wait_for(state="detached", timeout=SHOWN_MS)
    phases = page.locator("tr[data-run] .phase").evaluate_all("els => els.map(e => e.dataset.phase)")
    assert phases and set(phases) == {"FAILED"}, phases
    page.get_by_placeholder("run name contains").fill(failed_run.name[2:14])
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tr[data-run]")).to_have_count(1)
    assert page.locator("tr[data-run]").get_attribute("data-run") == failed_run.name

    page.get_by_role("button", name="clear").click()
    page.get_by_placeholder("run name contains").fill(succeeded_run.name[2:14])
    page.get_by_role("button", name="Filter").click()
    expect(page.locator(f"tr[data-run]:not([data-run={succeeded_run.name}])")).to_have_count(0)
    assert page.locator("tr[data-run]").get_attribute("data-run") == succeeded_run.name
    assert wait_terminal(fresh).phase.value == "succeeded"


def test_hostile_text_in_a_log_and_an_error_is_shown_as_text(page, sdk):
    open_finished_run(page, "failed", showcase.hostile)
    message = page.locator(".summary .failure .error-message")
    message.wait_for(timeout=SHOWN_MS)
    assert showcase.HOSTILE_ERROR in message.inner_text()
    assert page.locator(".failure img").count() == 0
    page.get_by_role("tab", name="Logs").click()
    line = page.locator(".log-text", has_text=showcase.HOSTILE_LOG)
    line.wait_for(timeout=SHOWN_MS)
    assert page.locator(".log script, .log img").count() == 0
    assert page.evaluate("window.__pwned") is None, "no markup from the task ran"


def test_inputs_and_outputs_render_by_type_and_files_download(page, sdk):
    open_finished_run(
        page, "succeeded", showcase.describe, values=[1, 2, 3], weights={"a": 0.5}, where=showcase.Point(x=1, label="p")
    )
    outputs = page.locator(".run-outputs")
    outputs.locator("[data-name=o2]").wait_for(timeout=SHOWN_MS)
    inputs = page.locator(".run-inputs")
    assert inputs.locator("[data-name=values] li").all_inner_texts() == ["1", "2", "3"]
    assert "a" in inputs.locator("[data-name=weights]").inner_text()
    assert "0.5" in inputs.locator("[data-name=weights]").inner_text()
    assert inputs.locator("[data-name=where] .value.string").inner_text() == "p", "the dataclass, decoded"
    assert outputs.locator("[data-name=o0] li").all_inner_texts() == ["2", "4", "6"]
    assert outputs.locator("[data-name=o1] .value.string").inner_text() == "P"
    screenshot(page, "run-typed-data")
    with page.expect_download() as download:
        outputs.locator("[data-name=o2]").get_by_role("button", name="download").click()
    assert Path(download.value.path()).read_text() == "3 values, 1 weights\n"


def json_rpc(port: int, method: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/{method}",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", "connect-protocol-version": "1"},
    )
    with urllib.request.urlopen(request, timeout=60) as reply:
        return json.loads(reply.read() or b"{}")


def held_task(name: str, hold_seconds: int) -> dict:
    """A task spec the no-op executor holds RUNNING for `hold_seconds` (0: succeeds at once)."""
    env = [{"key": "AERIE_NOOP_HOLD", "value": str(hold_seconds)}] if hold_seconds else []
    return {
        "taskTemplate": {
            "id": {"project": PROJECT, "domain": DOMAIN, "name": name, "version": "v1"},
            "type": "python",
            "metadata": {},
            "container": {"args": ["true"], "env": env},
        },
        "shortName": name,
    }


ACTIONS = 10_000


def succeeded_children(port: int, run: dict) -> int:
    """How many children of the run's root have succeeded, as the first WatchActions message
    counts them."""
    body = json.dumps({"runId": run}).encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(
            "POST",
            "/flyteidl2.workflow.RunService/WatchActions",
            body=b"\x00" + struct.pack(">I", len(body)) + body,
            headers={"content-type": "application/connect+json"},
        )
        reply = conn.getresponse()
        length = struct.unpack(">I", reply.read(5)[1:])[0]
        first = json.loads(reply.read(length))
    finally:
        conn.close()
    root = next(item for item in first["enrichedActions"] if item["action"]["id"]["name"] == "a0")
    return root.get("childrenPhaseCounts", {}).get("5", 0)


@pytest.fixture(scope="module")
def big_run(tmp_path_factory):
    """A run of 10,000 actions (a held root and its finished children) on a server with the
    no-op executor, so the control plane and the console are what is measured."""
    server = start_aerie(tmp_path_factory.mktemp("aerie-big"), extra_args=("--executor", "noop"))
    port = server.port
    run = {"org": "", "project": PROJECT, "domain": DOMAIN, "name": "bigrun"}
    json_rpc(port, "flyteidl2.workflow.RunService/CreateRun", {"runId": run, "taskSpec": held_task("fan", 600)})
    uris = json_rpc(port, "flyteidl2.workflow.RunService/GetActionDataURIs", {"actionId": {"run": run, "name": "a0"}})
    child = held_task("leaf", 0)

    def enqueue(first: int) -> None:
        for number in range(first, ACTIONS, 8):
            json_rpc(
                port,
                "flyteidl2.workflow.QueueService/EnqueueAction",
                {
                    "actionId": {"run": run, "name": f"c{number}"},
                    "parentActionName": "a0",
                    "inputUri": uris["inputsUri"],
                    "runOutputBase": f"s3://aerie/runs/{PROJECT}/{DOMAIN}/bigrun",
                    "task": {"spec": child},
                },
            )

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(enqueue, range(8)))
    # The page is measured once the server has run every child, not while it still does.
    wait_until(lambda: succeeded_children(port, run) == ACTIONS, 180, f"{ACTIONS} children succeeded")
    yield server
    stop_aerie_process(server.proc)


def test_a_ten_thousand_action_run_opens_in_the_browser_and_renders_only_what_is_in_view(browser, big_run):
    context = browser.new_context(viewport=VIEWPORT, base_url=f"http://localhost:{big_run.port}")
    page = context.new_page()
    try:
        page.goto(run_path("bigrun"))
        fold = page.locator(".tree-row.fold[data-fold=leaf]")
        expect(page.locator(".run")).to_have_attribute("data-loading", "false", timeout=SHOWN_MS)
        CONSOLE_TIMINGS.append((f"run page of {ACTIONS + 1} actions: summary with counts shown", mark(page, "aerie:run-summary-shown")))
        CONSOLE_TIMINGS.append((f"run page of {ACTIONS + 1} actions: every action loaded", mark(page, "aerie:run-actions-loaded")))
        assert page.locator(".run").get_attribute("data-actions") == str(ACTIONS + 1)
        assert f"×{ACTIONS}" in fold.inner_text()
        assert page.locator(".summary .child-counts").inner_text().startswith(f"{ACTIONS} ·")

        started = page.evaluate("performance.now()")
        fold.click()
        page.locator(".tree-row[data-action]").nth(20).wait_for(timeout=SHOWN_MS)
        CONSOLE_TIMINGS.append(
            (f"unfolding {ACTIONS} children", page.evaluate("performance.now()") - started)
        )
        rendered = page.locator(".tree-row").count()
        assert rendered < 200, f"{rendered} rows in the DOM: the list is virtualized"
        first_shown = page.locator(".tree-row[data-action]").nth(1).get_attribute("data-action")
        page.locator(".tree").evaluate("el => { el.scrollTop = el.scrollHeight; }")
        page.locator(f".tree-row[data-action={first_shown}]").wait_for(state="detached", timeout=SHOWN_MS)
        assert 0 < page.locator(".tree-row[data-action]").count() < 200, "the end of the list, still virtualized"

        page.goto(f"{run_path('bigrun')}?action=c{ACTIONS // 2}")
        page.locator(f".action-panel[data-action=c{ACTIONS // 2}] .attempt").wait_for(timeout=SHOWN_MS)
        CONSOLE_TIMINGS.append(("an action of the 10,000-action run, opened by its link", shown_after_ms(page)))

        page.goto(f"/v2/domain/{DOMAIN}/project/{PROJECT}/runs")
        page.locator("tr[data-run=bigrun]").wait_for(timeout=SHOWN_MS)
        CONSOLE_TIMINGS.append(("runs list with the 10,000-action run", shown_after_ms(page)))
    finally:
        context.close()


def test_a_finished_run_is_rerun_from_the_page(page, succeeded_run):
    page.goto(run_path(succeeded_run.name))
    page.get_by_role("button", name="Rerun").click()
    page.wait_for_url(lambda url: "/runs/" in url and succeeded_run.name not in url, timeout=SHOWN_MS)
    run_phase(page, "SUCCEEDED")
    source = page.locator("dl.facts a", has_text=succeeded_run.name)
    assert source.count() == 1, "the new run names the run it reruns"
    page.locator(".run-outputs [data-name=o0]").wait_for(timeout=SHOWN_MS)
    assert page.locator(".run-outputs [data-name=o0] td").inner_text() == "42"
    rerun_name = page.url.rsplit("/", 1)[1]
    relation = flyte.remote.ActionDetails.get(run_name=rerun_name, name="a0").pb2.metadata.relation
    assert relation.related_to.name == succeeded_run.name


def test_a_report_is_shown_in_a_sandboxed_frame(page, sdk):
    open_finished_run(page, "succeeded", extras.with_report, title="<b>console report</b>")
    page.get_by_role("tab", name="Report").click()
    frame = page.locator("iframe.report")
    frame.wait_for(timeout=SHOWN_MS)
    assert frame.get_attribute("sandbox") == "", "no scripts, no origin of its own"
    assert page.frame_locator("iframe.report").locator("h1").inner_text(timeout=SHOWN_MS) == "console report"


def test_deployed_tasks_and_triggers_have_pages_with_the_next_fire_time(page, sdk):
    flyte.deploy(scheduled.env, version="console-v1")
    page.goto(f"/v2/domain/{DOMAIN}/project/{PROJECT}/tasks")
    task = page.locator("tr[data-task='scheduled.stamp']")
    task.wait_for(timeout=SHOWN_MS)
    assert "console-v1" in task.inner_text()
    page.get_by_role("link", name="Triggers").click()
    trigger = page.locator("tr[data-trigger=yearly]")
    trigger.wait_for(timeout=SHOWN_MS)
    assert "cron 0 0 1 1 * (Europe/Paris)" in trigger.inner_text()
    next_fire = trigger.locator(".next-fire time")
    next_fire.wait_for(timeout=SHOWN_MS)
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    new_year = datetime.datetime(datetime.datetime.now(paris).year + 1, 1, 1, tzinfo=paris)
    shown = datetime.datetime.fromisoformat(next_fire.get_attribute("datetime").replace("Z", "+00:00"))
    assert shown == new_year, f"next fire {shown}, expected midnight of New Year in Paris"


def test_a_dataframe_output_previews_its_first_rows(page, sdk):
    open_finished_run(page, "succeeded", frames.scores)
    output = page.locator(".run-outputs [data-name=o0]")
    output.wait_for(timeout=SHOWN_MS)
    assert "dataframe (parquet)" in output.inner_text()
    output.get_by_role("button", name="preview").click()
    table = output.locator("table.frame")
    table.wait_for(timeout=SHOWN_MS)
    assert table.locator("th").all_inner_texts()[:2] == ["name", "score"]
    rows = [row.locator("td").all_inner_texts()[:2] for row in table.locator("tbody tr").all()]
    assert rows == [["ada", "3"], ["<b>bob</b>", "5"], ["cy", "8"]], rows
    assert table.locator("b").count() == 0, "markup in a cell is text"
