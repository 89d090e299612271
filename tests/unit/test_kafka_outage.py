"""Which Kafka errors make a Quix processor rebuild its application instead of exiting."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException
from quixstreams.kafka.exceptions import (
    KafkaBrokerUnavailableError,
    KafkaConsumerException,
    KafkaProducerDeliveryError,
)

from socialstream.runtime.streaming import kafka_outage


@pytest.mark.parametrize(
    ("error", "restart"),
    [
        (KafkaError(KafkaError._TIMED_OUT, "retry call to resume", retriable=True), True),
        (KafkaError(KafkaError._ALL_BROKERS_DOWN, "2/2 brokers are down"), True),
        (KafkaError(KafkaError.COORDINATOR_LOAD_IN_PROGRESS, "loading"), True),
        # The broker timed the transaction out during the outage and bumped the epoch.
        (KafkaError(KafkaError._FENCED, "fenced by a newer instance", fatal=True), True),
        # ... or the abort of that transaction fails: seen when the broker came back.
        (KafkaError(KafkaError.INVALID_TXN_STATE, "Failed to end transaction", fatal=True), True),
        (KafkaError(KafkaError.INVALID_PRODUCER_ID_MAPPING, "unknown pid", fatal=True), True),
        # The member's session expired while the broker was away: its offsets are refused.
        (KafkaError(KafkaError.UNKNOWN_MEMBER_ID, "Failed to commit offsets to transaction"), True),
        (KafkaError(KafkaError.ILLEGAL_GENERATION, "generation is stale"), True),
        (KafkaError(KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, "no", fatal=True), False),
        (KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED, "not allowed"), False),
        (KafkaError(KafkaError._INVALID_ARG, "bad config", fatal=True), False),
    ],
)
def test_outages_restart_and_real_errors_do_not(error: KafkaError, restart: bool) -> None:
    assert kafka_outage(KafkaException(error)) is restart


def test_other_exceptions_are_not_outages() -> None:
    assert not kafka_outage(ValueError("a bug"))
    assert not kafka_outage(KafkaException("no KafkaError inside"))


def test_quix_delivery_timeouts_and_unreachable_brokers_are_outages() -> None:
    # A transactional producer's messages time out with transaction.timeout.ms; Quix raises its
    # own exception, carrying librdkafka's error, when the brokers were down that long.
    timed_out = KafkaError(KafkaError._MSG_TIMED_OUT, "Local: Message timed out")
    assert kafka_outage(KafkaProducerDeliveryError(timed_out))
    assert kafka_outage(KafkaConsumerException(KafkaError(KafkaError._TRANSPORT, "cut")))
    assert kafka_outage(KafkaBrokerUnavailableError("brokers unavailable for 120 s"))
    denied = KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED, "not allowed")
    assert not kafka_outage(KafkaProducerDeliveryError(denied))
