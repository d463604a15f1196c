"""Every change relay makes to moto and botocore, each applied once per process.

moto keeps its backends per process and botocore reads its built-in event handlers when a session is
created, so each patch is process-wide: :func:`once` makes an ``install`` function idempotent and
thread-safe (one home for the guard every patch module needs), :func:`botocore_hook` registers a
handler for every botocore session created afterwards, :func:`share_botocore_loaders` and the
``defer_*`` functions make a stage's start cheaper without changing what it does (issue 13), and
``relay.local.emulator._install_moto_patches`` is what the emulator applies before it serves.
"""
from __future__ import annotations

import collections
import functools
import hashlib
import json
import os
import pickle
import sys
import threading
import types
from typing import Any, Callable, TypeVar

__all__ = ["once", "botocore_hook", "share_botocore_loaders", "defer_ec2_for_ssm", "defer_kms_key_pairs",
           "defer_werkzeug_url_builders"]

F = TypeVar("F", bound=Callable[[], None])
_lock = threading.RLock()


def once(install: F) -> F:
    """Make ``install()`` run once per process, however many threads or emulators call it."""
    done = False

    @functools.wraps(install)
    def guarded() -> None:
        nonlocal done
        with _lock:
            if not done:
                install()
                done = True

    guarded.installed = lambda: done  # type: ignore[attr-defined]
    return guarded  # type: ignore[return-value]


def botocore_hook(event: str, handler: Callable[..., Any], first: bool = False) -> None:
    """Register ``handler`` for ``event`` in every botocore session created from now on."""
    import botocore.handlers

    if first:
        botocore.handlers.BUILTIN_HANDLERS.insert(0, (event, handler))
    else:
        botocore.handlers.BUILTIN_HANDLERS.append((event, handler))


class _ModelUnpickler(pickle.Unpickler):
    """Unpickles what a botocore JSON file parses to (dicts, lists, strings, numbers) and nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):  # botocore parses with object_pairs_hook
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"not a parsed model: {module}.{name}")


def _pickled_file_loader(cache_dir: Any) -> Any:
    """A botocore ``JSONFileLoader`` that keeps each large file it parses as a pickle in ``cache_dir``.

    Parsing a service model (gzipped JSON into ``OrderedDict`` s) costs three times what unpickling it
    does: ~150 ms of every stage start for the dozen services it uses. The pickle is keyed by the file's
    path, size and mtime, so an upgraded botocore or moto is parsed afresh; unreadable entries are parsed
    again, and a cache that cannot be written is skipped.
    """
    from botocore.loaders import JSONFileLoader

    class PickledJSONFileLoader(JSONFileLoader):
        def _load_file(self, full_path: str, open_method: Any) -> Any:
            try:
                st = os.stat(full_path)
            except OSError:
                return None
            if st.st_size < 8192:  # small files parse as fast as they unpickle
                return super()._load_file(full_path, open_method)
            digest = hashlib.sha1(f"{full_path}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:24]
            cached = cache_dir / f"{digest}.pickle"
            try:
                with open(cached, "rb") as fp:
                    return _ModelUnpickler(fp).load()
            except Exception:  # noqa: BLE001 - not cached yet, or a foreign entry: parse the file instead
                pass
            data = super()._load_file(full_path, open_method)
            if data is not None:
                _write_atomic(cached, pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))
            return data

    return PickledJSONFileLoader()


def _write_atomic(path: Any, data: bytes) -> None:
    """Write a cache entry whole or not at all (parallel stages share the cache); skip it if we cannot."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError:
        pass


class _UniquePaths(list):
    """A shared loader's search path: every boto3 ``Session`` appends boto3's data directory to it."""

    def append(self, path: Any) -> None:
        if path not in self:
            super().append(path)


def _share(loader: Any, file_loader: Any, cache_dir: Any) -> Any:
    """Make ``loader`` fit to be shared, and give it the cached file loader and service listings.

    ``list_available_services`` walks every service directory on the search path (~400, a few thousand
    ``stat`` s) for each model type, only to check a service name: ~40 ms of a start. Its answer is kept in
    ``cache_dir`` under botocore's and moto's versions and each search directory's mtime.
    """
    import botocore
    import moto

    loader._search_paths = _UniquePaths(loader.search_paths)
    loader.file_loader = file_loader
    listing = loader.list_available_services

    @functools.lru_cache(maxsize=None)
    def list_available_services(type_name: str) -> list[str]:
        stamp = [botocore.__version__, moto.__version__, type(loader).__qualname__, type_name]
        for path in loader.search_paths:
            try:
                stamp.append(f"{path}|{os.stat(path).st_mtime_ns}")
            except OSError:
                stamp.append(f"{path}|-")
        cached = cache_dir / f"services-{hashlib.sha1(repr(stamp).encode()).hexdigest()[:24]}.json"
        try:
            services = json.loads(cached.read_text())
            if isinstance(services, list):
                return services
        except (OSError, ValueError):
            pass
        services = listing(type_name)
        _write_atomic(cached, json.dumps(services).encode())
        return services

    loader.list_available_services = list_available_services
    return loader


@once
def share_botocore_loaders() -> None:
    """One botocore data loader per search path for the whole process, and one for moto.

    A loader caches every JSON file it parses (service models, endpoints, partitions), but botocore makes a
    new loader for each session and moto one for each service model it reads: a stage's start created
    about twenty, each listing botocore's ~400 service directories and parsing the same models again.
    Sessions of one process that share a loader is what botocore does for the clients of one session;
    the loaded models are read, never changed. moto's loader adds moto's extras, so it gets its own. Both
    read large files through a pickle cache in ``.relay/cache/models`` (:func:`_pickled_file_loader`).
    """
    import botocore.loaders
    import botocore.session

    from relay.local.deploy_cache import CACHE_DIR

    cache_dir = CACHE_DIR / "models"
    file_loader = _pickled_file_loader(cache_dir)
    create = botocore.loaders.create_loader

    @functools.lru_cache(maxsize=None)
    def shared_loader(search_path_string: str | None = None) -> Any:
        return _share(create(search_path_string), file_loader, cache_dir)

    botocore.session.create_loader = shared_loader  # the name botocore's Session calls

    from moto.core import loaders as moto_loaders, utils as moto_utils

    @functools.lru_cache(maxsize=None)
    def shared_moto_loader() -> Any:
        return _share(moto_loaders.create_loader(), file_loader, cache_dir)

    moto_utils.create_loader = shared_moto_loader

    # moto names the service of an error with a lookup table it builds from a new boto3 Session (~8 ms)
    # for each service's first error response; the table is the same every time, so build it once, from
    # the session moto keeps for its region lists
    from moto.core.base_backend import AccountSpecificBackend

    @functools.lru_cache(maxsize=None)
    def services_by_package() -> dict[str, str]:
        session = AccountSpecificBackend.get_session()
        return {name.replace("-", ""): name for name in session.get_available_services()}

    @functools.lru_cache(maxsize=None)
    def service_name_from_moto_package_name(moto_package_name: str) -> str:
        return services_by_package().get(moto_package_name, moto_package_name)

    moto_utils.service_name_from_moto_package_name = service_name_from_moto_package_name


class _DeferredEc2Backends:
    """Stands in for ``moto.ec2.ec2_backends`` inside ``moto.ssm.models`` until SSM first uses it."""

    def _real(self) -> Any:
        from moto.ec2 import ec2_backends

        sys.modules["moto.ssm.models"].ec2_backends = ec2_backends  # from now on, the real one directly
        return ec2_backends

    def __getitem__(self, key: str) -> Any:
        return self._real()[key]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real(), name)


@once
def defer_ec2_for_ssm() -> None:
    """Import ``moto.ssm`` without importing ``moto.ec2`` (0.4-0.6 s: EC2's instance types, AMIs, regions).

    ``moto.ssm.models`` imports ``ec2_backends`` only for ``SendCommand`` with instance targets; the local
    stage creates SSM parameters at every start and never an EC2 instance. So while ``moto.ssm.models`` is
    imported, ``moto.ec2`` is a stand-in whose ``ec2_backends`` imports the real module on first use; the
    stand-in is gone from ``sys.modules`` afterwards, so anything else importing ``moto.ec2`` gets moto's.
    """
    if "moto.ssm.models" in sys.modules or "moto.ec2" in sys.modules:
        return  # imported already: nothing left to save
    stand_in = types.ModuleType("moto.ec2")
    stand_in.ec2_backends = _DeferredEc2Backends()  # type: ignore[attr-defined]
    sys.modules["moto.ec2"] = stand_in
    try:
        import moto.ssm.models  # noqa: F401
    finally:
        if sys.modules.get("moto.ec2") is stand_in:
            del sys.modules["moto.ec2"]


class _DeferredPrivateKey:
    """A KMS key's signing key pair, generated when the key is first used to sign (never, for a symmetric key)."""

    def __init__(self, generate: Callable[[str], Any], key_spec: str) -> None:
        self._generate, self._key_spec = generate, key_spec
        self._key: Any = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # copy/pickle probe for dunders before __init__ ran
            raise AttributeError(name)
        with self._lock:
            if self._key is None:
                self._key = self._generate(self._key_spec)
        return getattr(self._key, name)


@once
def defer_kms_key_pairs() -> None:
    """moto generates an RSA-2048 key pair for every KMS key (30-100 ms of CPU), symmetric ones included.

    The local stage's start creates AWS-managed keys (DynamoDB's table encryption) that never sign: their
    pair is made on first use instead. Asymmetric specs (RSA_*, ECC_*) keep moto's eager generation.
    """
    import moto.kms.models as kms_models

    generate = kms_models.generate_private_key

    def generate_private_key(key_spec: str) -> Any:
        if key_spec.startswith(("RSA_", "ECC_")):
            return generate(key_spec)
        return _DeferredPrivateKey(generate, key_spec)

    kms_models.generate_private_key = generate_private_key  # type: ignore[assignment]


@once
def defer_werkzeug_url_builders() -> None:
    """werkzeug compiles two URL *builders* (Python source, per rule) for every route moto's server adds.

    moto routes ~150 rules per start through werkzeug (its Flask apps, and one rule per operation for the
    REST services: Lambda alone has 120) and never builds a URL from them; generating and compiling those
    builders was a tenth of a stage's start. Each builder is now compiled the first time it is used, with
    the same code, so ``url_for`` and ``Map.build`` answer exactly as before.
    """
    from werkzeug.routing.rules import Rule

    compile_builder = Rule._compile_builder

    def deferred(self: Any, append_unknown: bool = True) -> Callable[..., Any]:
        compiled: list[Callable[..., Any]] = []

        def build(rule: Any, *args: Any, **kwargs: Any) -> Any:
            if not compiled:
                compiled.append(compile_builder(rule, append_unknown))
            return compiled[0](rule, *args, **kwargs)

        return build

    Rule._compile_builder = deferred  # type: ignore[method-assign]
