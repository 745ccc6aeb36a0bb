"""The ssh options Berth pins a host key with, against a real sshd on 127.0.0.1 with a host key of its own: the
key Berth gave the server connects, any other is refused with ssh's "Host key verification failed.", and the
key `ssh-keyscan` reports is the one Berth compares when it says why. Skipped only where sshd is not installed
(make test installs it: tools/system-packages)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from berth import commands, hostkeys
from berth.outputs import HostAccess
from components.render.hostkeys import TRUST_FIRST, pinned_options, provider_options, public_key

SSHD = shutil.which("sshd") or next((p for p in ("/usr/sbin/sshd", "/sbin/sshd") if os.access(p, os.X_OK)), None)
pytestmark = pytest.mark.skipif(SSHD is None or shutil.which("ssh") is None,
                                reason="sshd or ssh is not installed (apt-get install openssh-server openssh-client)")


def _keygen(path: Path, comment: str) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)], check=True)
    return path.with_suffix(".pub").read_text().strip()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A throwaway sshd: its own host key, one client key, 127.0.0.1 only; stopped at the end."""
    home = tmp_path_factory.mktemp("sshd")
    home.chmod(0o700)
    host_key = _keygen(home / "host", "pinned")
    other_key = _keygen(home / "other", "another machine")
    client = _keygen(home / "client", "berth")
    (home / "authorized_keys").write_text(client + "\n")
    port = _free_port()
    (home / "sshd_config").write_text(f"""Port {port}
ListenAddress 127.0.0.1
HostKey {home / "host"}
AuthorizedKeysFile {home / "authorized_keys"}
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile {home / "sshd.pid"}
""")
    if os.geteuid() == 0:  # sshd as root wants its privilege separation directory, as its package makes it
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(home / "sshd_config")], stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None:
                    pytest.fail(f"sshd did not start: {process.stderr.read()}")
                time.sleep(0.05)
        import pwd

        yield {"port": port, "host_key": public_key(host_key), "other_key": public_key(other_key),
               "identity": home / "client", "user": pwd.getpwuid(os.geteuid()).pw_name}
    finally:
        process.terminate()
        process.wait(timeout=10)


def _ssh(server, options: list[str]) -> subprocess.CompletedProcess:
    """As docker/cli's connhelper runs it for the Docker provider: `ssh -l USER -p PORT <ssh_opts> -T -- HOST cmd`,
    plus this test's own identity and no user configuration."""
    argv = ["ssh", "-F", "/dev/null", "-l", server["user"], "-p", str(server["port"]), *options,
            "-o", f"IdentityFile={server['identity']}", "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
            "-T", "--", "127.0.0.1", "echo connected"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def test_the_key_berth_gave_the_server_connects(server):
    result = _ssh(server, provider_options(server["host_key"]))
    assert (result.returncode, result.stdout) == (0, "connected\n"), result.stderr


def test_any_other_key_is_refused(server):
    result = _ssh(server, provider_options(server["other_key"]))
    assert result.returncode == hostkeys.SSH_FAILED and result.stdout == ""
    assert "Host key verification failed." in result.stderr
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in result.stderr
    assert any(marker in result.stderr for marker in hostkeys.MISMATCH)


def test_trust_on_first_use_would_have_taken_any_key(server, tmp_path):
    """What the pin replaces: accept-new takes whatever answers first (here into a fresh known_hosts)."""
    result = _ssh(server, [*TRUST_FIRST, "-o", f"UserKnownHostsFile={tmp_path / 'known_hosts'}"])
    assert result.returncode == 0, result.stderr


def test_the_presented_key_is_read_as_berth_compares_it(server):
    host = HostAccess("web-1", "web", "127.0.0.1", server["user"], server["port"], host_key=server["other_key"])
    scan = subprocess.run(commands.presented_key(host), capture_output=True, text=True, timeout=60)
    assert hostkeys.presented(scan.stdout) == server["host_key"] != host.host_key


def test_the_berth_verbs_pass_the_same_options(server):
    host = HostAccess("web-1", "web", "127.0.0.1", server["user"], server["port"], host_key=server["host_key"])
    argv = commands.ssh(host, ["true"])
    assert argv[1:1 + len(pinned_options(server["host_key"]))] == pinned_options(server["host_key"])
