"""What every benchmark shares: the machine's description, the JSON it writes, the README table."""
from __future__ import annotations

import datetime
import json
import os
import platform
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "runs" / "bench"


def machine() -> dict:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        model = found.group(1).strip() if found else model
    return dict(cpu=model, cores=os.cpu_count(), system=platform.platform(),
                date=datetime.date.today().isoformat())


def write_results(name: str, figures: dict) -> Path:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    path = BENCH_DIR / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **figures}, indent=2, sort_keys=True) + "\n")
    return path


def update_readme(name: str, table: str, readme: Path = ROOT / "README.md") -> bool:
    """Replaces the text between <!-- bench:NAME --> and <!-- /bench:NAME --> in the README."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    text = readme.read_text()
    if start not in text or end not in text:
        return False
    before, rest = text.split(start, 1)
    after = rest.split(end, 1)[1]
    readme.write_text(f"{before}{start}\n{table.strip()}\n{end}{after}")
    return True
