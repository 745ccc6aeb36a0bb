"""The `command` package (pulumi-command 1.2.1): `command:remote:Command`, run over real SSH.

As provider/pkg/provider/remote at v1.2.1 does it:
- one connection per run, dialled with retries (connection.go `Dial`, `dialWithRetry`): `dialErrorLimit` + 1
  attempts (default 10, -1 for no limit), failing with "after <limit> failed attempts: <the last error>"; each
  attempt's TCP connect bounded by `perDialTimeout` (default 15 s; Go's ssh.Dial hands it to net.DialTimeout,
  so the SSH handshake is not bounded by it), waits of 100 ms growing 1.5x to at most 5 s between them
  (sdk/go/common/util/retry `Retryer`);
- the algorithms the Go client offers: pulumi-command sets no `ssh.Config`, so golang.org/x/crypto/ssh v0.48.0's
  defaults (common.go `defaultKexAlgos`, with `curve25519-sha256@libssh.org` added after `curve25519-sha256` by
  `Config.SetDefaults`, and `defaultCiphers`), in its order; OpenSSH's own first choice,
  sntrup761x25519-sha512, is not among them, and costs its client about 70 ms a dial on the lab's machine;
- the host key is not checked unless `hostKey` is given (`ssh.InsecureIgnoreHostKey`); given, only that key's type
  is asked for (`HostKeyAlgorithms`) and any other key fails the dial, which is retried like any dial error,
  as `ssh: handshake failed: ssh: host key mismatch` (golang.org/x/crypto/ssh v0.48.0 `FixedHostKey`,
  `NewClientConn`);
- `privateKey` alone when it is given (Go's client tries the "publickey" method once, so the agent's keys are
  never offered after it), else the ssh-agent at SSH_AUTH_SOCK; no ~/.ssh/config, no default key files;
- `stdin` on the session's standard input; the previous stdout and stderr as PULUMI_COMMAND_STDOUT and
  PULUMI_COMMAND_STDERR unless `addPreviousOutputInEnv` is false (a refusal by the server is only a
  warning there, and OpenSSH's client ignores it too);
- a failure reads `Process exited with status N: running "<command>":\n<stdout and stderr>`; a failed
  create leaves nothing in state (a plain error, not pulumi-go-provider's ResourceInitFailedError), so
  the next `up` creates it again;
- Update runs `update`, or `create` when there is none; Delete runs `delete`; Read changes nothing;
- `triggers` replaces (provider:"replaceOnChanges" in common/inputs.go); any other change updates.

The dial is an OpenSSH master connection (`ControlMaster`), so that a refused or failed connection is told
apart from a command that failed, exactly as the Go client's separate Dial and Run are.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import shlex
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from typing import Any

from .schema import Attr, Schema
from .server import Config, Failed, Kind, Package

SOURCE = "pulumi/pulumi-command v1.2.1 provider/pkg/provider/remote/command.go, common/inputs.go, connection.go"
CONNECTION_DEFAULTS = {"user": "root", "port": 22, "dialErrorLimit": 10, "perDialTimeout": 15}
RUN_TIMEOUT = 900  # the lab's bound on one command: nothing Berth runs should take this long
# golang.org/x/crypto/ssh v0.48.0 common.go `defaultKexAlgos` (as `Config.SetDefaults` completes it) and
# `defaultCiphers` (= `supportedCiphers`), in preference order.
GO_KEX_ALGORITHMS = ("mlkem768x25519-sha256", "curve25519-sha256", "curve25519-sha256@libssh.org",
                     "ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521",
                     "diffie-hellman-group14-sha256", "diffie-hellman-group14-sha1")
GO_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com",
              "aes128-ctr", "aes192-ctr", "aes256-ctr")


def _go_quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


@functools.cache
def _client_knows(query: str) -> frozenset[str]:
    """What this machine's OpenSSH client implements (`ssh -Q kex`, `ssh -Q cipher`)."""
    listed = subprocess.run(["ssh", "-Q", query], capture_output=True, text=True, timeout=30)
    return frozenset(listed.stdout.split())


def go_algorithms(kex_known: frozenset[str], ciphers_known: frozenset[str]) -> list[str]:
    """The Go client's preferences as OpenSSH options, less what this OpenSSH does not implement
    (mlkem768x25519-sha256 before OpenSSH 9.9, whose sshd would not take it either)."""
    kex = [name for name in GO_KEX_ALGORITHMS if name in kex_known]
    ciphers = [name for name in GO_CIPHERS if name in ciphers_known]
    return ["-o", f"KexAlgorithms={','.join(kex)}", "-o", f"Ciphers={','.join(ciphers)}"]


def _delays():
    """sdk/go/common/util/retry `Retryer`: 100 ms, growing 1.5x, at most 5 s."""
    delay = 0.1
    while True:
        yield min(delay, 5.0)
        delay *= 1.5


def _tcp_dial(host: str, port: int, timeout: int) -> str | None:
    """Go's net.DialTimeout: None when the TCP connection opens within `timeout` (0: no limit), else the error."""
    try:
        socket.create_connection((host, port), timeout=timeout or None).close()
        return None
    except TimeoutError:
        return f"dial tcp {host}:{port}: i/o timeout"
    except OSError as error:
        return f"dial tcp {host}:{port}: connect: {(error.strerror or str(error)).lower()}"


def go_dial_error(ssh_stderr: str, returncode: int) -> str:
    """OpenSSH's words for a failed handshake, as the Go client says them (golang.org/x/crypto/ssh v0.48.0)."""
    if "Host key verification failed" in ssh_stderr:
        return "ssh: handshake failed: ssh: host key mismatch"
    if "no matching host key type found" in ssh_stderr:
        offered = ssh_stderr.rsplit("Their offer:", 1)[-1].strip().split(",") if "Their offer:" in ssh_stderr else []
        return f"ssh: handshake failed: ssh: no common algorithm for host key; we offered: [ssh-ed25519], peer " \
               f"offered: [{' '.join(offered)}]"
    lines = ssh_stderr.strip().splitlines()
    return lines[-1] if lines else f"exit {returncode}"


class _Session:
    """An authenticated SSH connection to one host, over which commands run."""

    def __init__(self, connection: dict[str, Any], workdir: str):
        self.connection = {**CONNECTION_DEFAULTS, **connection}
        self.workdir = workdir
        self.control = os.path.join(workdir, "control")
        self.options = ["-F", "/dev/null", "-o", "BatchMode=yes", "-o", f"ControlPath={self.control}",
                        "-p", str(int(self.connection["port"])), "-l", self.connection["user"],
                        *go_algorithms(_client_knows("kex"), _client_knows("cipher"))]
        if self.connection.get("hostKey"):
            known = os.path.join(workdir, "known_hosts")
            with open(known, "w") as file:
                file.write(f"{self._target(self.connection['host'])} {self.connection['hostKey']}\n")
            self.options += ["-o", f"UserKnownHostsFile={known}", "-o", "GlobalKnownHostsFile=/dev/null",
                             "-o", "StrictHostKeyChecking=yes",
                             "-o", f"HostKeyAlgorithms={self.connection['hostKey'].split()[0]}"]
        else:
            self.options += ["-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no",
                             "-o", "LogLevel=ERROR"]
        if self.connection.get("privateKey"):
            key = os.path.join(workdir, "key")
            with os.fdopen(os.open(key, os.O_WRONLY | os.O_CREAT, 0o600), "w") as file:
                file.write(self.connection["privateKey"].rstrip("\n") + "\n")
            self.options += ["-i", key, "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none"]
        else:
            self.options += ["-o", "IdentityFile=none"]
            if self.connection.get("agentSocketPath"):
                self.options += ["-o", f"IdentityAgent={self.connection['agentSocketPath']}"]
            elif not os.environ.get("SSH_AUTH_SOCK"):
                self.options += ["-o", "IdentityAgent=none"]
        if self.connection.get("password"):
            raise Failed("the lab's command plugin authenticates with keys only (Berth passes no password)")

    def _target(self, host: str) -> str:
        port = int(self.connection["port"])
        return host if port == 22 else f"[{host}]:{port}"

    def dial(self) -> None:
        """`dialWithRetry`: attempt `try` (from 0) fails the dial once `try + 1 > limit`, saying `try`."""
        limit = int(self.connection["dialErrorLimit"])
        timeout = int(self.connection["perDialTimeout"])
        host, port = self.connection["host"], int(self.connection["port"])
        delays = _delays()
        attempt = 0
        while True:
            reason = _tcp_dial(host, port, timeout)
            if reason is None:  # the handshake, which perDialTimeout does not bound
                argv = ["ssh", *self.options, "-o", "ControlMaster=yes", "-o", "ControlPersist=yes", "-N", "-f", host]
                try:
                    result = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                                            timeout=RUN_TIMEOUT)
                    if result.returncode == 0:
                        return
                    reason = go_dial_error(result.stderr, result.returncode)
                except subprocess.TimeoutExpired:
                    reason = f"the SSH handshake took more than {RUN_TIMEOUT}s"
            if limit != -1 and attempt + 1 > limit:
                raise Failed(f"after {attempt} failed attempts: {reason}")
            time.sleep(next(delays))
            attempt += 1

    def run(self, command: str, stdin: str | None, env: dict[str, str]) -> tuple[str, str]:
        argv = ["ssh", *self.options, "-o", "ControlMaster=no"]
        for key, value in env.items():
            argv += ["-o", f"SetEnv={key}={shlex.quote(value)}"]
        argv += [self.connection["host"], command]
        try:
            result = subprocess.run(argv, input=stdin or "", capture_output=True, text=True, timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise Failed(f"the lab stopped {_go_quote(command)} after {RUN_TIMEOUT}s") from None
        if result.returncode != 0:
            raise Failed(f"Process exited with status {result.returncode}: running {_go_quote(command)}:\n"
                         f"{result.stdout}{result.stderr}")
        return result.stdout.removesuffix("\n"), result.stderr.removesuffix("\n")

    def close(self) -> None:
        subprocess.run(["ssh", *self.options, "-O", "exit", self.connection["host"]], capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=30)


@contextmanager
def session(connection: dict[str, Any]):
    with tempfile.TemporaryDirectory(prefix="berth-lab-ssh-") as workdir:
        os.chmod(workdir, 0o700)
        ssh = _Session(connection, workdir)
        ssh.dial()
        try:
            yield ssh
        finally:
            ssh.close()


class RemoteCommand(Kind):
    schema = Schema("command:remote:Command", {
        "connection": Attr(required=True),
        "create": Attr(),
        "update": Attr(),
        "delete": Attr(),
        "stdin": Attr(),
        "triggers": Attr(replace=True),
        "addPreviousOutputInEnv": Attr(),
        "logging": Attr(),
        "stdout": Attr(output=True),
        "stderr": Attr(output=True),
    }, SOURCE)

    def _run(self, state: dict[str, Any], command: str | None) -> dict[str, Any]:
        if command is None:
            return state
        env = {}
        if state.get("addPreviousOutputInEnv", True):
            env = {k: v for k, v in (("PULUMI_COMMAND_STDOUT", state.get("stdout") or ""),
                                     ("PULUMI_COMMAND_STDERR", state.get("stderr") or "")) if v}
        with session(state["connection"]) as ssh:
            stdout, stderr = ssh.run(command, state.get("stdin"), env)
        return {**state, "stdout": stdout, "stderr": stderr}

    def create(self, config: Config, name: str, inputs: dict[str, Any]):
        id_ = f"{name}{secrets.token_hex(4)}"  # resource.NewUniqueHex(name, 8, 0)
        state = {**inputs, "connection": {**CONNECTION_DEFAULTS, **inputs["connection"]}}
        return id_, self._run(state, inputs.get("create"))  # a failure leaves nothing in state

    def update(self, config, id_, olds, news):
        state = {**news, "connection": {**CONNECTION_DEFAULTS, **news["connection"]},
                 "stdout": olds.get("stdout", ""), "stderr": olds.get("stderr", "")}
        command = news.get("update") if news.get("update") is not None else news.get("create")
        return self._run(state, command)

    def delete(self, config, id_, state):
        self._run(state, state.get("delete"))


PACKAGE = Package("command", "pulumi_command", [RemoteCommand()])
