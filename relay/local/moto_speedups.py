"""Narrow speed-ups for moto's server, which the local stage's throughput depends on.

1. **Request routing.** For every request, moto's server asks ``moto.backends.list_of_moto_modules()``
   whether the host names a backend, and that function lists moto's package directory and ``stat``s
   ~180 entries each time (~5 ms of a ~20 ms SQS call). The answer cannot change while the process
   runs, so we compute it once.

2. **The SQS clock.** moto 5.2's SQS asks every message "are you visible / delayed?" by computing *now* through
   ``moto.core.utils.unix_time`` — two naive-datetime constructions and a subtraction, ~20 µs. Every
   ``SendMessage`` builds ``queue.attributes`` (to read ``ContentBasedDeduplication``), which counts
   the visible and in-flight messages, and every ``ReceiveMessage`` scans the queue: with a few
   thousand messages in a DLQ each call cost tens of milliseconds, almost all of it in that clock.
   We rebind the names ``unix_time`` / ``unix_time_millis`` *inside moto.sqs.models* to
   ``time.time()`` based versions (same value, same units; a given ``dt`` still goes to moto's own
   function). moto's other services are untouched.

3. **SQS calls that scan the whole queue.** With tens of thousands of messages in a DLQ (the console's bulk
   actions), every SQS call moto makes is O(queue) or worse, and the console's scans make thousands:
   ``ReceiveMessage`` builds ``queue.attributes`` — three counting passes over the queue — for *each*
   message it returns, only to read the retention period; the visibility/delay counts ask each message
   for the clock; ``DeleteMessage`` and ``ChangeMessageVisibility`` find a receipt handle by building a
   list of every message's handles. We read the retention period directly, count in one pass with one
   clock reading, and find a current receipt handle in an index (weak: it forgets deleted messages) —
   falling back to moto's own code for anything else (an old handle, a handle of another queue). Same
   answers, same errors; a 20,000-message DLQ costs milliseconds per call instead of seconds.

4. **DynamoDB condition expressions.** moto lexes a ``ConditionExpression`` character class by character
   class, compiling its regexes again for every token, and a conditional ``PutItem`` parses its condition
   twice (the request's validation, then the write): a third of the CPU of the log indexer's VIEW write.
   The tokens depend on the expression's text alone (names and values are looked up after lexing), and
   relay's writers send the same few expressions again and again, so the lexed tokens are kept per text
   (immutable tuples; each parse gets its own deque). An expression that fails to lex is never kept.
   And the write's second parse, in the same request on the same thread with the very same names and
   values objects, reuses the first one's tree (operators are evaluated, never changed).
"""
from __future__ import annotations

import functools
import threading
import time
import weakref
from datetime import datetime
from typing import Any

from relay.local.patches import once

__all__ = ["install"]



@once
def install() -> None:
    """Cache moto's module list, rebind the SQS clock, and make SQS's whole-queue scans cheap (idempotent)."""
    import moto.backends as moto_backends
    import moto.sqs.models as sqs_models

    modules = tuple(moto_backends.list_of_moto_modules())
    moto_backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]

    original_unix_time = sqs_models.unix_time
    original_unix_time_millis = sqs_models.unix_time_millis

    def unix_time(dt: datetime | None = None) -> float:
        return time.time() if dt is None else original_unix_time(dt)

    def unix_time_millis(dt: datetime | None = None) -> float:
        return time.time() * 1000.0 if dt is None else original_unix_time_millis(dt)

    sqs_models.unix_time = unix_time  # type: ignore[assignment]
    sqs_models.unix_time_millis = unix_time_millis  # type: ignore[assignment]
    _install_sqs_scans(sqs_models)
    _install_condition_lex_cache()


def _install_condition_lex_cache() -> None:
    from collections import deque

    from moto.dynamodb.comparisons import ConditionExpressionParser

    original_lex = ConditionExpressionParser._lex_condition_expression
    lexed: dict[str, tuple] = {}  # expression text -> its tokens (namedtuples no parse stage mutates)

    def lex(self: Any) -> deque:
        text = self.condition_expression
        tokens = lexed.get(text)
        if tokens is None:
            tokens = tuple(original_lex(self))  # raises for a malformed expression: nothing kept
            if len(lexed) < 4096:  # bounded: a client that builds expressions per item cannot grow it forever
                lexed[text] = tokens
        return deque(tokens)

    ConditionExpressionParser._lex_condition_expression = lex  # type: ignore[method-assign]

    original_parse = ConditionExpressionParser.parse
    last = threading.local()  # per thread: (text, names, values, tree, names found, values found)

    def parse(self: Any) -> Any:
        names, values = self.expression_attribute_names, self.expression_attribute_values
        hit = getattr(last, "parse", None)
        # identity, not equality: the same request's own dicts (kept referenced here, so ids are not reused)
        if hit is not None and hit[0] == self.condition_expression and hit[1] is names and hit[2] is values:
            self.expr_attr_names_found.extend(hit[4])
            self.expr_attr_values_found.extend(hit[5])
            return hit[3]
        tree = original_parse(self)
        last.parse = (self.condition_expression, names, values, tree, list(self.expr_attr_names_found),
                      list(self.expr_attr_values_found))
        return tree

    ConditionExpressionParser.parse = parse  # type: ignore[method-assign]


def _install_sqs_scans(sqs_models: Any) -> None:
    Queue, Message, SQSBackend = sqs_models.Queue, sqs_models.Message, sqs_models.SQSBackend
    # attributes are named by camelcase_to_underscores on every call; the names are a handful of constants
    sqs_models.camelcase_to_underscores = functools.lru_cache(maxsize=256)(sqs_models.camelcase_to_underscores)

    def messages(self: Any) -> list:
        now = time.time() * 1000.0  # Message.visible / .delayed each read the clock: once is enough
        return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]

    def not_visible(self: Any) -> int:
        now = time.time() * 1000.0
        return sum(1 for m in self._messages if not now > m.visible_at)

    def delayed(self: Any) -> int:
        now = time.time() * 1000.0
        return sum(1 for m in self._messages if now < m.delayed_until)

    Queue.messages = property(messages)  # type: ignore[assignment]
    Queue.approximate_number_of_messages_not_visible = property(not_visible)  # type: ignore[assignment]
    Queue.approximate_number_of_messages_delayed = property(delayed)  # type: ignore[assignment]

    def retention_ok(self: Any, queue_name: str, message: Any) -> bool:
        retention = int(self.get_queue(queue_name).message_retention_period)
        return retention + message.sent_timestamp / 1000 > time.time()

    SQSBackend.is_message_valid_based_on_retention_period = retention_ok  # type: ignore[method-assign]

    by_handle: weakref.WeakValueDictionary = weakref.WeakValueDictionary()  # current receipt handle -> message
    original_mark_received = Message.mark_received

    def mark_received(self: Any, visibility_timeout: int | None = None) -> None:
        original_mark_received(self, visibility_timeout)
        by_handle[self.receipt_handle] = self

    Message.mark_received = mark_received  # type: ignore[method-assign]

    def current(queue: Any, receipt_handle: str) -> tuple[Any, int]:
        """The message whose *current* handle this is, and its index in ``queue._messages`` (or None, -1)."""
        message = by_handle.get(receipt_handle)
        if message is None or message.receipt_handle != receipt_handle:
            return None, -1
        try:
            return message, queue._messages.index(message)  # identity comparisons in C
        except ValueError:
            return None, -1  # deleted, or a message of another queue

    original_delete = Queue.delete_message

    def delete_message(self: Any, receipt_handle: str) -> None:
        message, i = current(self, receipt_handle)
        if message is None:
            return original_delete(self, receipt_handle)
        # a new list, assigned at once (as moto does): a reader iterating the old one is never disturbed
        self._messages = self._messages[:i] + self._messages[i + 1:]
        self.pending_messages.discard(message)
        self.deleted_messages.update(message.all_receipt_handles)

    Queue.delete_message = delete_message  # type: ignore[method-assign]

    original_change = SQSBackend.change_message_visibility

    def change_message_visibility(self: Any, queue_name: str, receipt_handle: str, visibility_timeout: int) -> None:
        queue = self.get_queue(queue_name)
        message, _ = current(queue, receipt_handle)
        if message is None:
            return original_change(self, queue_name, receipt_handle, visibility_timeout)
        given = time.time() * 1000.0 + int(visibility_timeout) * 1000
        if given - message.sent_timestamp > 43200 * 1000:  # moto's own check and message, same order
            return original_change(self, queue_name, receipt_handle, visibility_timeout)
        message.change_visibility(visibility_timeout)
        if message.visible and message in queue.pending_messages:
            queue.pending_messages.remove(message)

    SQSBackend.change_message_visibility = change_message_visibility  # type: ignore[method-assign]
