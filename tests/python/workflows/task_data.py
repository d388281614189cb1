"""Tasks whose data goes through aerie's bucket: File and Dir outputs made in temporary
directories, a consumer of another run's data, and a 1 GiB file."""

from __future__ import annotations

import hashlib
import pathlib
import tempfile

import flyte
from flyte.io import Dir, File

env = flyte.TaskEnvironment("task_data")

BLOCK = 1024 * 1024


@env.task
async def make_dir() -> Dir:
    """A Dir built in a temporary directory that the task removes before it ends."""
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        (root / "a.txt").write_text("alpha")
        (root / "sub").mkdir()
        (root / "sub" / "b c.txt").write_text("beta")
        return await Dir.from_local(str(root))


@env.task
async def read_dir(d: Dir) -> str:
    """`name=content` for every file of `d`, sorted."""
    local = pathlib.Path(await d.download())
    files = sorted(p for p in local.rglob("*") if p.is_file())
    return ",".join(f"{p.relative_to(local)}={p.read_text()}" for p in files)


@env.task
async def dir_through_a_child() -> str:
    """Makes a Dir in a child task and has another child read it."""
    return await read_dir(await make_dir())


@env.task
async def make_file_and_dir(text: str) -> tuple[File, Dir]:
    """A File and a Dir, both made in temporary directories."""
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "note.txt"
        path.write_text(text)
        made_file = await File.from_local(str(path))
    with tempfile.TemporaryDirectory() as tmp:
        (pathlib.Path(tmp) / "one.txt").write_text(text + " one")
        made_dir = await Dir.from_local(tmp)
    return made_file, made_dir


@env.task
async def read_foreign(uri: str) -> str:
    """Tries to read `uri` (another run's output) and says what happened."""
    try:
        local = await File(path=uri).download()
    except Exception as err:  # noqa: BLE001 - the refusal is the answer
        return f"refused: {type(err).__name__}: {err}"
    return "read: " + pathlib.Path(local).read_text()


@env.task
async def own_credential() -> dict[str, str]:
    """The storage endpoint and credential this attempt was given (for a test to try later)."""
    import os

    names = ["FLYTE_AWS_ENDPOINT", "FLYTE_AWS_ACCESS_KEY_ID", "FLYTE_AWS_SECRET_ACCESS_KEY"]
    return {name: os.environ[name] for name in names}


@env.task
async def write_big(mib: int) -> tuple[File, str]:
    """A file of `mib` MiB and its SHA-256."""
    block = hashlib.sha256(b"aerie").digest() * (BLOCK // 32)
    digest = hashlib.sha256()
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "big.bin"
        with path.open("wb") as out:
            for i in range(mib):
                chunk = i.to_bytes(8, "big") + block[8:]
                out.write(chunk)
                digest.update(chunk)
        made = await File.from_local(str(path))
    return made, digest.hexdigest()


@env.task
async def hash_file(f: File) -> str:
    """`size:sha256` of `f`, read back from the store."""
    digest = hashlib.sha256()
    size = 0
    local = pathlib.Path(await f.download())
    with local.open("rb") as source:
        while chunk := source.read(BLOCK):
            digest.update(chunk)
            size += len(chunk)
    local.unlink()
    return f"{size}:{digest.hexdigest()}"


@env.task
async def big_round_trip(mib: int) -> tuple[str, str]:
    """Writes a `mib` MiB file in one child and hashes it in another."""
    made, digest = await write_big(mib)
    return f"{mib * BLOCK}:{digest}", await hash_file(made)
