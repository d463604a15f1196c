"""The call counter: the provider's own calls apart, calls filed by function, refused writes billed without GSIs."""
from __future__ import annotations

import threading

import boto3
import pytest
from moto import mock_aws

from relay.capacity.call_counter import CallCounter, function_of_thread


@pytest.mark.parametrize(("name", "function"), [
    ("invoke-relay-local-send-worker", "send_worker"), ("invoke-relay-local-log-indexer_7", "log_indexer"),
    ("invoke-relay-prod-eu-api", "api"), ("relay-api", None), ("MainThread", None),
])
def test_the_function_is_read_from_the_invocation_threads_name(name, function):
    assert function_of_thread(name) == function


def _put(table: str, item: dict) -> None:
    boto3.client("dynamodb", region_name="us-east-1").put_item(TableName=table, Item=item)


@mock_aws
def test_a_providers_calls_are_its_own_and_every_call_is_filed_by_function():
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    ddb.create_table(TableName="t", BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    # this module plays the handler, and the provider prefix names it too for the second call
    with CallCounter(handler_prefixes=(__name__,), plane_prefixes=("nothing.",),
                     provider_prefixes=("nothing.",)) as handler_counter:
        t = threading.Thread(target=_put, args=("t", {"pk": {"S": "a"}}), name="invoke-relay-local-send-worker")
        t.start()
        t.join()
    with CallCounter(handler_prefixes=("nothing.",), provider_prefixes=(__name__,)) as provider_counter:
        t = threading.Thread(target=_put, args=("t", {"pk": {"S": "b"}}), name="invoke-relay-local-send-worker_2")
        t.start()
        t.join()
    assert handler_counter.tally("handler").function_calls() == {"send_worker": {"dynamodb:PutItem": 1.0}}
    provider = provider_counter.tally("provider")
    assert provider.calls["dynamodb:PutItem"] == 1 and provider_counter.tally("handler").calls == {}
    assert provider.function_calls() == {"send_worker": {"dynamodb:PutItem": 1.0}}


@mock_aws
def test_a_refused_conditional_write_is_billed_its_item_but_no_index():
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    ddb.create_table(
        TableName="log", BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "r", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[{"IndexName": "by_r", "KeySchema": [{"AttributeName": "r", "KeyType": "HASH"}],
                                 "Projection": {"ProjectionType": "ALL"}}])
    item = {"pk": {"S": "m"}, "r": {"S": "u"}}
    with CallCounter(handler_prefixes=(__name__,)) as counter:
        ddb.put_item(TableName="log", Item=item, ConditionExpression="attribute_not_exists(pk)")
        with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
            ddb.put_item(TableName="log", Item=item, ConditionExpression="attribute_not_exists(pk)")
    assert counter.tally("handler").dynamodb_wru == 2 + 1  # written: item + its index; refused: the item only
