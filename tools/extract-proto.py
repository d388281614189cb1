#!/usr/bin/env python3
"""Extract the flyteidl2 schema aerie speaks into proto/flyteidl2.binpb.

The descriptors come from the pinned PyPI package `flyteidl2` (the version `flyte==2.12.1`
installs). Every `*_pb2` module of the package registers its file in the default descriptor
pool; this script imports them all and writes one FileDescriptorSet holding every file and its
imports, dependencies first, so code generation needs no `.proto` sources and no `protoc`.

Usage: python tools/extract-proto.py [OUTPUT]   (run inside an environment with flyteidl2==2.0.51)
"""

import importlib
import pathlib
import pkgutil
import sys

import flyteidl2
from google.protobuf import descriptor_pb2, descriptor_pool

PINNED_VERSION = "2.0.51"


def import_all_pb2_modules() -> None:
    for module in pkgutil.walk_packages(flyteidl2.__path__, prefix="flyteidl2."):
        if module.name.endswith("_pb2"):
            importlib.import_module(module.name)


def files_in_dependency_order() -> list:
    pool = descriptor_pool.Default()
    ordered, seen = [], set()

    def visit(file_descriptor):
        if file_descriptor.name in seen:
            return
        seen.add(file_descriptor.name)
        for dependency in file_descriptor.dependencies:
            visit(dependency)
        ordered.append(file_descriptor)

    roots = sorted(
        name for name in _registered_file_names(pool) if name.startswith("flyteidl2/")
    )
    for name in roots:
        visit(pool.FindFileByName(name))
    return ordered


def _registered_file_names(pool) -> list:
    names = []
    for module in list(sys.modules.values()):
        descriptor = getattr(module, "DESCRIPTOR", None)
        name = getattr(descriptor, "name", None)
        if module.__name__.startswith("flyteidl2.") and isinstance(name, str):
            names.append(name)
    return names


def main() -> None:
    from importlib.metadata import version

    installed = version("flyteidl2")
    if installed != PINNED_VERSION:
        sys.exit(f"extract-proto: flyteidl2 {installed} installed, {PINNED_VERSION} pinned")
    import_all_pb2_modules()
    descriptor_set = descriptor_pb2.FileDescriptorSet()
    for file_descriptor in files_in_dependency_order():
        file_proto = descriptor_set.file.add()
        file_descriptor.CopyToProto(file_proto)
    output = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "proto/flyteidl2.binpb")
    output.write_bytes(descriptor_set.SerializeToString(deterministic=True))
    print(f"wrote {len(descriptor_set.file)} files to {output}")


if __name__ == "__main__":
    main()
