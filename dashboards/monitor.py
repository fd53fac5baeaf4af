"""`make monitor`: Debian's Prometheus with the shipped rules, scraping the running Antri.

The shipped `prometheus.yml` names no port: this writes a copy with the targets filled in
(`127.0.0.1:$ANTRI_PORT`, or one `--target` per app process) and the rules' absolute path, under
`var/prometheus/`, and runs Prometheus on it with its data there too.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent


def config(targets: list[str], scrape_interval: str | None = None) -> dict[str, Any]:
    """The shipped configuration, scraping `targets`, with the rules named by absolute path."""
    shipped: dict[str, Any] = yaml.safe_load((HERE / "prometheus.yml").read_text())
    shipped["rule_files"] = [str((HERE / name).resolve()) for name in shipped["rule_files"]]
    for job in shipped["scrape_configs"]:
        if job["job_name"] == "antri":
            job["static_configs"] = [{"targets": targets}]
    if scrape_interval is not None:
        shipped["global"]["scrape_interval"] = scrape_interval
        shipped["global"]["evaluation_interval"] = scrape_interval
    return shipped


def write_config(directory: Path, targets: list[str], scrape_interval: str | None = None) -> Path:
    """Write the configuration into `directory`; its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "prometheus.yml"
    path.write_text(yaml.safe_dump(config(targets, scrape_interval), sort_keys=False))
    return path


def command(config_file: Path, data: Path, listen: str) -> list[str]:
    """How to run Debian's Prometheus on `config_file`, keeping its data in `data`."""
    binary = shutil.which("prometheus")
    if binary is None:
        raise SystemExit("prometheus is missing: `make prometheus` installs Debian's package")
    return [
        binary,
        f"--config.file={config_file}",
        f"--storage.tsdb.path={data}",
        f"--web.listen-address={listen}",
        "--storage.tsdb.retention.time=7d",
        "--log.level=warn",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make monitor", description=__doc__)
    parser.add_argument("--port", type=int, default=9090, help="Prometheus's port (9090)")
    parser.add_argument(
        "--target",
        action="append",
        help="host:port of an app process (repeat for each; default 127.0.0.1:$ANTRI_PORT)",
    )
    parser.add_argument(
        "--data-dir", type=Path, default=Path(os.environ.get("ANTRI_DATA_DIR", "var"))
    )
    args = parser.parse_args(argv)
    targets = args.target or [f"127.0.0.1:{os.environ.get('ANTRI_PORT', '8080')}"]
    directory = args.data_dir / "prometheus"
    config_file = write_config(directory, targets)
    listen = f"127.0.0.1:{args.port}"
    print(f"Prometheus on http://{listen}/ scraping {', '.join(targets)}; data in {directory}/")
    print(f"Alerts: http://{listen}/alerts   (Ctrl-C stops it)")
    try:
        return subprocess.call(command(config_file, directory / "data", listen))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
