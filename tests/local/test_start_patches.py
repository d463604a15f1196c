"""The start-up savings of relay.local.patches change nothing a stage does: same models, same answers."""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from relay.local.emulator import Emulator

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(port=0) as emu:
        yield emu


def test_sessions_share_one_loader_and_its_models_equal_a_fresh_parse() -> None:
    import boto3
    from botocore.loaders import Loader

    from relay.local.patches import share_botocore_loaders

    share_botocore_loaders()
    one, two = boto3.session.Session(), boto3.session.Session()
    shared = one._session.get_component("data_loader")
    assert shared is two._session.get_component("data_loader")
    assert len(shared.search_paths) == len(set(shared.search_paths)), "each Session appends boto3's data dir once"
    fresh = Loader()  # botocore's own loader: plain JSON parsing, no cache
    for service in ("dynamodb", "sqs", "lambda"):
        version = fresh.determine_latest_version(service, "service-2")
        model = shared.load_service_model(service, "service-2", version)
        assert model == fresh.load_service_model(service, "service-2", version)
    assert shared.list_available_services("service-2") == fresh.list_available_services("service-2")


def test_a_foreign_pickle_in_the_model_cache_is_refused_and_the_file_parsed(tmp_path: Path) -> None:
    from relay.local.patches import _pickled_file_loader

    model = Path(__import__("botocore").__file__).parent / "data" / "dynamodb"
    path = next(model.glob("*/service-2.json.gz"))
    loader = _pickled_file_loader(tmp_path)
    parsed = loader.load_file(str(path)[: -len(".json.gz")])
    entries = list(tmp_path.glob("*.pickle"))
    assert parsed and len(entries) == 1  # a large file: parsed once, then kept

    class Evil:
        def __reduce__(self) -> Any:
            return (os.system, ("echo pwned",))

    entries[0].write_bytes(pickle.dumps(Evil()))
    again = _pickled_file_loader(tmp_path).load_file(str(path)[: -len(".json.gz")])
    assert again == parsed  # the entry was refused (only OrderedDicts unpickle) and the file parsed again


def test_ssm_imports_without_ec2_until_a_command_targets_instances() -> None:
    # a fresh interpreter: in this one moto.ec2 may already be imported by other tests
    code = (
        "import sys; from relay.local.emulator import Emulator\n"
        "with Emulator(port=0) as emu:\n"
        "    ssm = emu.client('ssm'); ssm.put_parameter(Name='/p', Value='v', Type='String')\n"
        "    before = 'moto.ec2.models' in sys.modules\n"
        "    out = ssm.send_command(Targets=[{'Key': 'tag:role', 'Values': ['web']}], DocumentName='AWS-RunShellScript',\n"
        "                           Parameters={'commands': ['true']})\n"
        "    print(before, 'moto.ec2.models' in sys.modules, out['Command']['Status'])\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-3:] == ["False", "True", "Success"], done.stdout


def test_symmetric_keys_encrypt_and_asymmetric_keys_sign(emulator: Emulator) -> None:
    kms = emulator.client("kms")
    sym = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=sym, Plaintext=b"secret")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"secret"
    rsa = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    sig = kms.sign(KeyId=rsa, Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256")["Signature"]
    assert kms.verify(KeyId=rsa, Message=b"m", Signature=sig, SigningAlgorithm="RSASSA_PSS_SHA_256")["SignatureValid"]
    assert kms.get_public_key(KeyId=rsa)["PublicKey"]


def test_werkzeug_builds_urls_as_before(emulator: Emulator) -> None:
    from werkzeug.routing import Map, Rule

    from relay.local.patches import defer_werkzeug_url_builders

    defer_werkzeug_url_builders()
    urls = Map([Rule("/2015-03-31/functions/<name>/invocations", endpoint="invoke"),
                Rule("/queues/<int:n>", endpoint="queue")]).bind("example.com")
    for _ in range(2):  # compiled on the first build, reused on the second
        assert urls.build("invoke", {"name": "f n", "Qualifier": "$LATEST"}) == \
            "/2015-03-31/functions/f%20n/invocations?Qualifier=$LATEST"
        assert urls.build("queue", {"n": 7}) == "/queues/7"
        assert urls.build("queue", {"n": 7}, force_external=True) == "http://example.com/queues/7"
