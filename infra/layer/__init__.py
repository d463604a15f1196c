"""The functions' dependency layer: lock files, the wheel cache, and a reproducible offline build.

* :mod:`infra.layer.lambda_platform` — the runtime and architectures the layer is built for;
* :mod:`infra.layer.lockfile` — ``requirements-<arch>.lock``: every pin with its wheel's sha256;
* :mod:`infra.layer.lock` — rewrites the lock files from pyproject.toml (needs the registry);
* :mod:`infra.layer.download_wheels` — fills ``build/wheels/<arch>`` from the lock files (``make setup``);
* :mod:`infra.layer.wheel_cache` — finds the locked wheels in the cache by hash;
* :mod:`infra.layer.build` — unpacks, byte-compiles and zips them deterministically, offline.

Submodules are imported by name; this package imports nothing so that ``infra.config`` can read the
platform constants without loading the build machinery.
"""
__all__: list[str] = []
