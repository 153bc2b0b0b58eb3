"""A real Apache Kafka 4.x broker (single-node KRaft) built from Maven Central artifacts.

The jars are fetched once with Maven (``kafka-pom.xml`` beside this file) into a cache folder and reused
offline afterwards. The broker runs as a plain JVM process with ``kafka.Kafka``.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from deploy.local.errors import RuntimeProblem
from deploy.local.procs import read_pid, spawn, stop_pid, wait_until

HERE = Path(__file__).resolve().parent
POM = HERE / "kafka-pom.xml"
LOG4J = HERE / "log4j2.properties"


def kafka_version() -> str:
    match = re.search(r"<kafka.version>([^<]+)</kafka.version>", POM.read_text())
    assert match, "kafka-pom.xml lost its <kafka.version>"
    return match.group(1)


def cache_root() -> Path:
    return Path(os.environ.get("PASARKOTA_CACHE_DIR", Path.home() / ".cache" / "pasarkota"))


def find_java() -> str:
    """Path of a ``java`` of version 17 or newer, or a clear problem saying how to get one."""
    candidates = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(str(Path(os.environ["JAVA_HOME"]) / "bin" / "java"))
    on_path = shutil.which("java")
    if on_path:
        candidates.append(on_path)
    for java in candidates:
        try:
            out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
        except OSError:
            continue
        match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
        if match:
            major = int(match.group(1))
            if major == 1 and match.group(2):
                major = int(match.group(2))
            if major >= 17:
                return java
    raise RuntimeProblem(
        "no Java 17 or newer found (Kafka needs it): install one, e.g. `apt-get install openjdk-17-jre-headless`, "
        "or set JAVA_HOME to a JDK >= 17"
    )


def ensure_jars() -> Path:
    """The folder with the broker's jars; fetched with Maven on first use, cached afterwards."""
    libs = cache_root() / f"kafka-{kafka_version()}" / "libs"
    if (libs / ".complete").exists():
        return libs
    mvn = shutil.which("mvn")
    if not mvn:
        raise RuntimeProblem(
            f"Kafka {kafka_version()} jars are not cached in {libs} and Maven is not installed to fetch them: "
            "install Maven (`apt-get install maven`) and run again"
        )
    libs.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="libs-", dir=libs.parent))
    print(f"fetching Apache Kafka {kafka_version()} from Maven Central into {libs} (once) ...", file=sys.stderr)
    proc = subprocess.run(
        [mvn, "-q", "-B", "-f", str(POM), "dependency:copy-dependencies", "-DincludeScope=runtime",
         f"-DoutputDirectory={staging}"],
        capture_output=True, text=True,
    )
    if proc.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
        raise RuntimeProblem("Maven could not fetch the Kafka jars: " + " | ".join(tail))
    (staging / ".complete").write_text(kafka_version())
    if libs.exists():
        shutil.rmtree(libs)
    staging.rename(libs)
    return libs


def _port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class KafkaBroker:
    """One local KRaft broker+controller with its data under ``data_dir``."""

    data_dir: Path
    port: int = 19092
    controller_port: int = 19093
    heap: str = "768m"
    # A second client listener with SASL (SCRAM-SHA-256/512) over TLS, as managed clusters have; used by the
    # tests of PASARKOTA_KAFKA_SECURITY_PROTOCOL=SASL_SSL. Users are created when the storage is formatted.
    secure_port: int | None = None
    scram_users: dict[str, str] = field(default_factory=dict)
    tls_cert_pem: str | None = None   # the broker's certificate chain (PEM)
    tls_key_pem: str | None = None    # its private key (PEM, PKCS#8, unencrypted)

    @property
    def secure_bootstrap(self) -> str:
        if self.secure_port is None:
            raise ValueError("this broker has no SASL_SSL listener")
        return f"127.0.0.1:{self.secure_port}"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "kafka.log"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "kafka.pid"

    def running_pid(self) -> int | None:
        return read_pid(self.pid_file)

    def _write_properties(self) -> Path:
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": f"127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir / "logs"),
            "num.partitions": "1",
            "auto.create.topics.enable": "false",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "4",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "num.network.threads": "2",
            "num.io.threads": "4",
            "num.recovery.threads.per.data.dir": "1",
            "log.retention.hours": "168",
        }
        if self.secure_port is not None:
            secure = f"SASL_SSL://127.0.0.1:{self.secure_port}"
            props["listeners"] += "," + secure
            props["advertised.listeners"] += "," + secure
            props["listener.security.protocol.map"] += ",SASL_SSL:SASL_SSL"
            props["sasl.enabled.mechanisms"] = "SCRAM-SHA-256,SCRAM-SHA-512"
            for mechanism in ("scram-sha-256", "scram-sha-512"):
                props[f"listener.name.sasl_ssl.{mechanism}.sasl.jaas.config"] = (
                    "org.apache.kafka.common.security.scram.ScramLoginModule required;")
            props["listener.name.sasl_ssl.ssl.keystore.type"] = "PEM"
            props["listener.name.sasl_ssl.ssl.keystore.certificate.chain"] = self.tls_cert_pem or ""
            props["listener.name.sasl_ssl.ssl.keystore.key"] = self.tls_key_pem or ""
        path = self.data_dir / "server.properties"
        # Java properties: a "\n" escape is a newline inside a value (the PEM blocks)
        path.write_text("".join(f"{k}={v.strip().replace(chr(10), chr(92) + 'n')}\n" for k, v in props.items()))
        return path

    def start(self, timeout: float = 120.0) -> None:
        """Start the broker (or adopt one already running from this data dir) and wait until it serves."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.running_pid():
            wait_until(lambda: _port_answers(self.port), timeout, "Kafka", log_file=self.log_file)
            return
        from deploy.local.procs import require_free_port

        require_free_port(self.port, "Kafka", "PASARKOTA_KAFKA_PORT")
        require_free_port(self.controller_port, "the Kafka controller", "PASARKOTA_KAFKA_CONTROLLER_PORT")
        java = find_java()
        libs = ensure_jars()
        props = self._write_properties()
        classpath = f"{libs}/*"
        base = [java, f"-Xmx{self.heap}", "-Xms128m", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
                "-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={LOG4J}", "-cp", classpath]
        cluster_file = self.data_dir / "cluster.id"
        if not cluster_file.exists():
            cluster_file.write_text(uuid.uuid4().hex[:22])
        cluster_id = _kafka_cluster_id(cluster_file.read_text().strip())
        fmt = subprocess.run(
            [*base, "kafka.tools.StorageTool", "format", "--standalone", "--ignore-formatted",
             f"--cluster-id={cluster_id}", "-c", str(props), *self._scram_arguments()],
            capture_output=True, text=True,
        )
        if fmt.returncode != 0 and "already formatted" not in (fmt.stdout + fmt.stderr):
            # A half-written data dir from a crash during format: start it afresh.
            shutil.rmtree(self.data_dir / "logs", ignore_errors=True)
            fmt = subprocess.run(
                [*base, "kafka.tools.StorageTool", "format", "--standalone", f"--cluster-id={cluster_id}",
                 "-c", str(props), *self._scram_arguments()],
                capture_output=True, text=True,
            )
            if fmt.returncode != 0:
                raise RuntimeProblem("Kafka storage format failed: " + (fmt.stdout + fmt.stderr).strip()[-400:])
        offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        proc = spawn([*base, "kafka.Kafka", str(props)], self.log_file, self.pid_file)

        def ready() -> bool:
            if proc.poll() is not None:
                tail = self.log_file.read_text(errors="replace")[offset:].strip().splitlines()[-5:]
                raise RuntimeProblem("Kafka exited while starting: " + " | ".join(tail))
            with open(self.log_file, errors="replace") as log:
                log.seek(offset)
                started = "Kafka Server started" in log.read()
            return started and _port_answers(self.port)

        wait_until(ready, timeout, "Kafka", interval=0.2, log_file=self.log_file)

    def _scram_arguments(self) -> list[str]:
        return [arg for user, password in self.scram_users.items() for mechanism in ("SCRAM-SHA-256", "SCRAM-SHA-512")
                for arg in ("--add-scram", f"{mechanism}=[name={user},password={password}]")]

    def stop(self) -> None:
        pid = self.running_pid()
        if pid:
            stop_pid(pid, timeout=30)
        self.pid_file.unlink(missing_ok=True)


def _kafka_cluster_id(seed: str) -> str:
    """Kafka wants a base64url-encoded 16-byte UUID (22 chars)."""
    import base64

    raw = uuid.UUID(hex=(seed * 2)[:32]).bytes if len(seed) < 32 else uuid.UUID(seed[:32]).bytes
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
