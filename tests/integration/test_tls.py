"""TLS and SASL settings reach the clients that use them: the Talkwalker source trusts exactly
the CA in `talkwalker.ca_file` (a CA this test generates), and the Kafka settings carry SASL PLAIN
over TLS to librdkafka against a broker with a SASL_SSL listener (right password: records go
through; wrong password or unknown CA: a clear failure, never a silent one)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr

from socialstream.connectors.talkwalker.source import TalkwalkerSource
from socialstream.deploy.kafka.launcher import KafkaBroker, SecureListener, free_port
from socialstream.runtime.codec import SingleObjectCodec
from socialstream.runtime.settings import (
    KafkaSettings,
    Settings,
    TalkwalkerSettings,
    TopicSettings,
)
from socialstream.runtime.topics import apply_topics
from socialstream.simulators.records import produce, scored_documents
from socialstream.simulators.talkwalker import Corpus, TalkwalkerSimulator
from tests.integration.polling_harness import records, running, settled, wait_for

PASSWORD = "kafka-tls-8d41c0f2"


@dataclass(frozen=True)
class Pki:
    ca: Path
    chain: Path
    key: Path
    keystore: Path  # key + chain, as Kafka's PEM keystore wants


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A CA and a server certificate for 127.0.0.1 and localhost, made for this run."""
    folder = tmp_path_factory.mktemp("pki")
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("socialstream test CA"))
        .issuer_name(_name("socialstream test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    server = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    chain_pem = server.public_bytes(pem) + ca.public_bytes(pem)
    paths = Pki(folder / "ca.pem", folder / "chain.pem", folder / "key.pem", folder / "ks.pem")
    paths.ca.write_bytes(ca.public_bytes(pem))
    paths.chain.write_bytes(chain_pem)
    paths.key.write_bytes(key_pem)
    paths.keystore.write_bytes(key_pem + chain_pem)
    return paths


def _settings(kafka: KafkaSettings, topics: TopicSettings, sim: TalkwalkerSimulator,
              ca_file: str | None) -> Settings:  # fmt: skip
    tw = TalkwalkerSettings(
        base_url=sim.url,
        access_token=SecretStr(sim.token),
        ca_file=ca_file,
        lease_session_timeout_ms=2000,
        calls_per_window=sim.calls_per_window,
        window_s=sim.window_s,
    )
    return Settings(kafka=kafka, topics=topics, talkwalker=tw)


def test_the_talkwalker_source_trusts_the_configured_ca_and_only_it(
    kafka: KafkaSettings, topics: TopicSettings, pki: Pki
) -> None:
    apply_topics(kafka, topics)
    corpus = Corpus(seed=29, timeframes=2, per_timeframe=50)
    codec = SingleObjectCodec()
    with TalkwalkerSimulator(corpus, tls=(str(pki.chain), str(pki.key)), window_s=3.0) as sim:
        assert sim.url.startswith("https://127.0.0.1:")
        untrusted = TalkwalkerSource(_settings(kafka, topics, sim, None), codec)
        with running(untrusted):
            errors = settled(kafka, topics, "talkwalker.errors", 1, timeout_s=60)
            assert "upstream unreachable" in str(untrusted.not_ready())  # /readyz says why
        assert records(kafka, topics, "talkwalker.results") == []
        assert "CERTIFICATE_VERIFY_FAILED" in str(errors[0][1]), errors[0]
        with running(TalkwalkerSource(_settings(kafka, topics, sim, str(pki.ca)), codec)):
            settled(kafka, topics, "talkwalker.results", 100, timeout_s=60)


@pytest.fixture(scope="module")
def secured_broker(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    secure = SecureListener(free_port(), pki.keystore, {"socialstream": PASSWORD})
    broker = KafkaBroker.create(tmp_path_factory.mktemp("kafka-sasl"), secure=secure).start()
    try:
        yield broker
    finally:
        broker.stop()


def _sasl_ssl(broker: KafkaBroker, password: str, ca: Path | None) -> KafkaSettings:
    assert broker.secure is not None
    properties = {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "PLAIN",
        "sasl.username": "socialstream",
    }
    if ca is not None:
        properties["ssl.ca.location"] = str(ca)
    return KafkaSettings(
        bootstrap_servers=f"127.0.0.1:{broker.secure.port}",
        properties=properties,
        sasl_password=SecretStr(password),
        transactional_id_prefix=f"tls-{uuid.uuid4().hex[:6]}",
    )


def _refusal(kafka: KafkaSettings) -> str:
    """What the cluster says to these settings (an admin metadata request)."""
    failures: list[str] = []
    config = {**kafka.client_config(), "error_cb": lambda e: failures.append(str(e))}
    admin = AdminClient(config)
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=10)
    wait_for(lambda: admin.poll(0.5) is not None and bool(failures), 20, "an error callback")
    return " ".join(failures)


def test_sasl_ssl_settings_reach_librdkafka(secured_broker: KafkaBroker, pki: Pki) -> None:
    kafka = _sasl_ssl(secured_broker, PASSWORD, pki.ca)
    topics = TopicSettings(prefix="tls.", partitions=1)
    apply_topics(kafka, topics)
    docs = scored_documents(Corpus(seed=41, timeframes=1, per_timeframe=5))
    keyed = [(d["document"]["document_id"], d, None) for d in docs]
    produce(kafka, topics, "documents.scored", keyed)  # a transaction over SASL_SSL
    back = records(kafka, topics, "documents.scored")  # read_committed over SASL_SSL
    assert sorted(key for key, _ in back) == sorted(key for key, _, _ in keyed)
    wrong = _refusal(_sasl_ssl(secured_broker, "not-the-password", pki.ca))
    assert "SASL authentication error: Authentication failed" in wrong, wrong
    assert "not-the-password" not in wrong
    untrusted = _refusal(_sasl_ssl(secured_broker, PASSWORD, None))
    assert "SSL handshake failed" in untrusted and "certificate verify failed" in untrusted
