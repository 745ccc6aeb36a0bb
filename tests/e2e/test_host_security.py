"""What a user relies on from a host Berth set up, shown by behaviour rather than by the text Berth renders: a
user without privileges reads no secret Berth writes, also during a release; sshd refuses a password; ufw
refuses a port nobody opened; and no secret shows in `ps` or the hosts' logs while a release runs. Each fails
with its defect planted (an env file written 0644, `PasswordAuthentication yes`: the closing note of issue 29)."""

from __future__ import annotations

import os
import subprocess
import threading
import time

from .testhost import ALLOWED, OPERATOR_IPV4, in_ns, sh

INTRUDER = "intruder"
# Where Berth writes on a host: its own state (release env files, the proxy's certificates, accessories'
# files) and the configuration it leaves (sshd, ufw, apt).
WRITTEN = ("/var/lib/berth", "/etc/ssh/sshd_config.d", "/etc/ufw", "/etc/apt/apt.conf.d")


def intruder(host) -> None:
    """A local account with no privileges (a compromised app user, a shared login), password `letmein-<host>`."""
    if host.in_host("id", INTRUDER, check=False).returncode != 0:
        host.in_host("useradd", "--create-home", "--shell", "/bin/sh", INTRUDER)
        host.in_host("sh", "-c", f"echo '{INTRUDER}:letmein-{host.name}' | chpasswd")


def readable_by_intruder(host, path: str) -> bool:
    return host.in_host("runuser", "-u", INTRUDER, "--", "cat", path, check=False).returncode == 0


def secret_values(world) -> list[str]:
    return [value for value in world.secrets.values() if len(value) >= 8]


def holds_secret(text: str, secrets: list[str]) -> bool:
    return "PRIVATE KEY-----" in text or any(secret in text for secret in secrets)


class Watch:
    """A host while an `up` runs (bounded by `seconds`): every process's command line, polled; and each env file a
    run writes, tried as the intruder the moment it lands (inotify: it lives only as long as its `docker run`)."""

    def __init__(self, host, seconds: float = 300):
        self.host, self.deadline = host, time.monotonic() + seconds
        self.commands: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        host.in_host("mkdir", "-p", "/var/lib/berth/run")
        script = ("inotifywait -m -q -e moved_to -e close_write --format '%w%f' /var/lib/berth/run | "
                  "while read -r f; do case $f in *.env) echo \"ENV $f\"; "
                  f"runuser -u {INTRUDER} -- cat \"$f\" >/dev/null 2>&1 && echo \"READ $f\";; esac; done")
        self._files = subprocess.Popen(["nsenter", f"--target={host.init_pid}", "--net", "--mount", "--uts",
                                        "sh", "-c", script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                       text=True, start_new_session=True)
        time.sleep(0.5)  # inotifywait has set its watch

    def _poll(self) -> None:
        while not self._stop.is_set() and time.monotonic() < self.deadline:
            self.commands.update(self.host.in_host("ps", "-eo", "args=", check=False).stdout.splitlines())
            time.sleep(0.05)

    def __enter__(self) -> "Watch":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        os.killpg(self._files.pid, 15)
        lines = self._files.communicate(timeout=30)[0].splitlines()
        self.env_files = {line[4:] for line in lines if line.startswith("ENV ")}
        self.read = {line[5:] for line in lines if line.startswith("READ ")}


def test_no_user_without_privileges_reads_a_secret_and_none_shows_in_ps_or_logs(world):
    """A release (the release command's env file, the app's secrets) and what Berth keeps on the hosts."""
    shop = world.deployment()
    assert shop.converged()
    hosts = world.lab.hosts[:2]
    for host in hosts:
        intruder(host)
    secrets = secret_values(world)
    current = shop.outputs["release"]["version"]
    with Watch(world.web) as web, Watch(world.jobs) as jobs:
        up = shop.up(version="v2" if current == "v1" else "v1")
    assert up.ok, up.error
    assert web.env_files, "the watch saw no env file of the release command: it polled too slowly to judge"
    assert (web.read, jobs.read) == (set(), set())
    for watch in (web, jobs):
        shown = [line for line in watch.commands if holds_secret(line, secrets)]
        assert shown == [], shown
    for host in hosts:
        for log in (world.lab.log / host.name).iterdir():  # dockerd's and sshd's own output
            assert not holds_secret(log.read_text(errors="replace"), secrets), log
        files = host.in_host("find", *WRITTEN, "-type", "f", check=False).stdout.split()
        assert files
        for path in files:
            text = host.path(path).read_text(errors="replace")
            if holds_secret(text, secrets):
                assert not readable_by_intruder(host, path), path
    key = "/var/lib/berth/proxy/apps-config/shop/tls/key.pem"
    assert holds_secret(world.web.path(key).read_text(), secrets) and not readable_by_intruder(world.web, key)


def test_sshd_refuses_a_password(world):
    """A local account with a password, tried over SSH as a scanner would: refused whatever the password."""
    host = world.web
    intruder(host)
    askpass = world.lab.run / "askpass"
    askpass.write_text(f"#!/bin/sh\necho letmein-{host.name}\n")
    askpass.chmod(0o700)
    env = {**os.environ, "SSH_ASKPASS": str(askpass), "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0"}
    attempt = subprocess.run(
        ["ssh", "-F", "/dev/null", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
         "-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password,keyboard-interactive",
         "-o", "NumberOfPasswordPrompts=1", "-o", "ConnectTimeout=5", f"{INTRUDER}@{host.address}", "echo in"],
        env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, start_new_session=True)
    assert attempt.returncode != 0 and "in" not in attempt.stdout.split()
    assert "Permission denied" in attempt.stderr, attempt.stderr


def test_ufw_refuses_a_port_nobody_opened(world):
    """Something listening on 8081 (an admin page started by hand): reachable on the host, from nowhere else."""
    host = world.web
    listener = subprocess.Popen(["nsenter", f"--target={host.init_pid}", "--net", "--mount", "--uts", "busybox",
                                 "httpd", "-f", "-p", "0.0.0.0:8081", "-h", "/etc"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        time.sleep(0.5)

        def status(*netns: str) -> str:
            argv = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "3",
                    f"http://{host.address}:8081/hostname"]
            done = in_ns(netns[0], *argv, check=False) if netns else sh(*argv, check=False)
            return done.stdout.strip()

        inside = host.in_host("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "3",
                              "http://127.0.0.1:8081/hostname", check=False).stdout.strip()
        assert inside == "200"
        assert status(ALLOWED.netns) == "000"  # no answer: dropped
        assert status() == "000", f"the operator ({OPERATOR_IPV4}) may reach SSH only"
    finally:
        listener.terminate()
        listener.wait(10)
