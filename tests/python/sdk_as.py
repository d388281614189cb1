"""One SDK operation under a credential, in a process of its own (the test session's SDK is
initialised once, without auth). Prints one JSON line: the result, or the error and its code.

    python sdk_as.py OPERATION [ARG...]

Credentials come from the environment: FLYTE_API_KEY (the SDK's API key), or AERIE_TEST_ENDPOINT,
AERIE_TEST_CLIENT_ID and AERIE_TEST_CLIENT_SECRET (an explicit endpoint and client credentials).
The CA is SSL_CERT_FILE (the SDK's token client reads only that; its RPC client is also given it
as ca_cert_file_path).
"""

from __future__ import annotations

import json
import os
import sys

import flyte
import flyte.remote as remote
from helpers import DOMAIN, PROJECT, TESTS_DIR


def init() -> None:
    if os.environ.get("FLYTE_API_KEY"):
        flyte.init_from_api_key(project=PROJECT, domain=DOMAIN, root_dir=TESTS_DIR)
        return
    flyte.init(
        endpoint=os.environ["AERIE_TEST_ENDPOINT"],
        insecure=False,
        ca_cert_file_path=os.environ["SSL_CERT_FILE"],
        client_id=os.environ["AERIE_TEST_CLIENT_ID"],
        client_credentials_secret=os.environ["AERIE_TEST_CLIENT_SECRET"],
        auth_type="ClientSecret",
        project=PROJECT,
        domain=DOMAIN,
        root_dir=TESTS_DIR,
    )


def run(task: str, args: str) -> dict:
    from workflows import trust

    launched = flyte.run(getattr(trust, task), **json.loads(args))
    launched.wait()
    details = remote.ActionDetails.get(run_name=launched.name, name="a0")
    outputs = list(launched.outputs()) if details.phase.name == "SUCCEEDED" else None
    return {"run": launched.name, "phase": details.phase.name, "outputs": outputs}


def start(task: str, args: str) -> dict:
    from workflows import trust

    return {"run": flyte.run(getattr(trust, task), **json.loads(args)).name}


def creator(run_name: str) -> dict:
    run = remote.Run.get(name=run_name)
    return {"created_by": run.pb2.action.metadata.executed_by.user.spec.user_handle}


def abort(run_name: str) -> dict:
    remote.Run.get(name=run_name).abort(reason="stopped by the trust test")
    return {"aborted": run_name}


def aborted_by(run_name: str) -> dict:
    details = remote.ActionDetails.get(run_name=run_name, name="a0")
    return {"phase": details.phase.name, "aborted_by": details.abort_info.aborted_by.user.spec.user_handle}


def runs() -> dict:
    return {"runs": [run.name for run in remote.Run.listall()]}


OPERATIONS = {"run": run, "start": start, "creator": creator, "abort": abort, "aborted_by": aborted_by, "runs": runs}

if __name__ == "__main__":
    operation, *rest = sys.argv[1:]
    try:
        init()
        print(json.dumps(OPERATIONS[operation](*rest)))
    except Exception as err:  # the test reads the error and its Connect code
        code = None
        cause: BaseException | None = err
        while cause is not None and code is None:
            code = getattr(getattr(cause, "code", None), "value", None)
            cause = cause.__cause__ or cause.__context__
        print(json.dumps({"error": type(err).__name__, "message": str(err), "code": code}))
        sys.exit(1)
