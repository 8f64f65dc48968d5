"""A real single-node SLURM on this machine for the workflow's tests: munged, slurmctld and
slurmd on localhost, started by the fixture and stopped by it, whatever the test did. The
packages (Debian's slurm-wlm and munge) come with `make setup`.

SLURM's own commands inside a job (the executor's srun) find the cluster at
/etc/slurm/slurm.conf only (the executor clears SLURM_* variables, SLURM_CONF among them), so
the fixture writes it there, marked as its own, and removes it after; a machine with a
slurm.conf of its own is refused in a sentence rather than touched.
"""
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

CONF = Path("/etc/slurm/slurm.conf")
MARK = "# written by the two-stream project's tests (tests/workflow/conftest.py)"
DAEMONS = ("munged", "slurmctld", "slurmd")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def slurm_conf(folder: Path) -> str:
    host = socket.gethostname()
    mem = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")) ) // 1024 // 2
    return "\n".join([
        MARK, "ClusterName=twostreamtest", f"SlurmctldHost={host}", "SlurmUser=root",
        "SlurmdUser=root", "AuthType=auth/munge", f"AuthInfo=socket={folder}/munge.sock",
        "CredType=cred/munge", f"StateSaveLocation={folder}/state",
        f"SlurmdSpoolDir={folder}/spool", f"SlurmctldPidFile={folder}/slurmctld.pid",
        f"SlurmdPidFile={folder}/slurmd.pid", f"SlurmctldPort={free_port()}",
        f"SlurmdPort={free_port()}", f"SlurmctldLogFile={folder}/slurmctld.log",
        f"SlurmdLogFile={folder}/slurmd.log", "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none", "JobAcctGatherType=jobacct_gather/none",
        # No accounting database: the executor asks squeue, which must still list a finished
        # job when it looks (MinJobAge, seconds).
        "AccountingStorageType=accounting_storage/none", "MinJobAge=3600",
        "SelectType=select/cons_tres", "SelectTypeParameters=CR_CPU", "ReturnToService=2",
        "MpiDefault=none", f"NodeName={host} CPUs={os.cpu_count()} RealMemory={mem} State=UNKNOWN",
        f"PartitionName=local Nodes={host} Default=YES MaxTime=INFINITE State=UP", ""])


def stop(folder: Path) -> None:
    for daemon in reversed(DAEMONS):
        pid_file = folder / f"{daemon}.pid"
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text().split()[0]), signal.SIGTERM)
            except (ProcessLookupError, ValueError):
                pass
    deadline = time.time() + 20
    while time.time() < deadline and any(
            running(folder / f"{d}.pid") for d in DAEMONS):
        time.sleep(0.2)


def running(pid_file: Path) -> bool:
    try:
        os.kill(int(pid_file.read_text().split()[0]), 0)
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return False
    return True


@pytest.fixture(scope="session")
def slurm(tmp_path_factory):
    """The cluster's environment for the commands that use it (sbatch, squeue, snakemake)."""
    missing = [d for d in (*DAEMONS, "sbatch", "squeue", "srun") if shutil.which(d) is None]
    assert not missing, f"{', '.join(missing)} missing: run `make setup` (slurm-wlm, munge)"
    assert os.geteuid() == 0, "the test's SLURM runs its daemons as root"
    if CONF.exists() and not CONF.read_text().startswith(MARK):
        pytest.fail(f"{CONF} is this machine's own SLURM configuration; the test would replace "
                    "it: run the SLURM test on a machine without one.")
    folder = tmp_path_factory.mktemp("slurm")
    for sub in ("state", "spool"):
        (folder / sub).mkdir()
    key = folder / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    CONF.parent.mkdir(parents=True, exist_ok=True)
    CONF.write_text(slurm_conf(folder))
    env = {**os.environ, "SLURM_CONF": str(CONF)}
    try:
        subprocess.run(["munged", "--force", f"--socket={folder}/munge.sock",
                        f"--key-file={key}", f"--pid-file={folder}/munged.pid",
                        f"--log-file={folder}/munged.log", f"--seed-file={folder}/munged.seed"],
                       check=True, env=env)
        subprocess.run(["slurmctld"], check=True, env=env)
        subprocess.run(["slurmd"], check=True, env=env)
        deadline = time.time() + 60
        while time.time() < deadline:
            state = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True,
                                   env=env).stdout.strip()
            if state == "idle":
                break
            time.sleep(0.5)
        assert state == "idle", f"the node is {state!r}: {folder}/slurmd.log"
        yield env
    finally:
        stop(folder)
        CONF.unlink(missing_ok=True)
