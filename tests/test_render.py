"""Pure renderers: bootstrap script (checked by the real shellcheck) and firewall rule sets."""

from __future__ import annotations

import subprocess

import pytest
import yaml
from shell import SHELLCHECK

from components.render.bootstrap import BootstrapSpec, bootstrap_script, docker_user_rules, header, privileged
from components.render.firewall import WORLD, rule_set

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJVc7kLB2cyTcx5yxFdObcCbxldwxgOCh801EjDLSqGC ops@x"
SPECS = {
    "cloud host with volume and swap": BootstrapSpec(volume_device="/dev/disk/by-id/scsi-0DO_Volume_app-web-1-data",
                                                     mount_path="/mnt/storage", swap_mb=2048),
    "distro docker, no volume": BootstrapSpec(docker_source="distribution"),
    "docker preinstalled": BootstrapSpec(docker_source="preinstalled"),
    "existing host with keys and ufw": BootstrapSpec(
        user="deploy", authorized_keys=(KEY,),
        host_firewall=rule_set(2222, ["198.51.100.0/24"], list(WORLD), None)),
}


@pytest.mark.parametrize("name", list(SPECS))
def test_bootstrap_passes_shellcheck(name, tmp_path):
    script = tmp_path / "bootstrap.sh"
    script.write_text(bootstrap_script(SPECS[name]))
    result = subprocess.run([SHELLCHECK, "--shell=bash", "--severity=style", str(script)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("name", list(SPECS))
def test_bootstrap_is_byte_identical_across_renders(name):
    assert bootstrap_script(SPECS[name]) == bootstrap_script(SPECS[name])


def test_bootstrap_formats_only_blank_volumes_and_mounts_nofail():
    script = bootstrap_script(SPECS["cloud host with volume and swap"])
    assert 'if ! blkid -p "$device"' in script and 'mkfs.ext4 -q -F "$device"' in script
    assert script.index("blkid -p") < script.index("mkfs.ext4")
    assert "defaults,nofail,discard" in script
    assert "fallocate -l 2048M /swapfile" in script
    assert "PasswordAuthentication no" in script and "PermitRootLogin prohibit-password" in script
    assert "docker network create kamal" in script
    assert 'APT::Periodic::Unattended-Upgrade "1";' in script


def test_bootstrap_without_volume_or_swap_leaves_them_out():
    script = bootstrap_script(SPECS["distro docker, no volume"])
    assert "mkfs" not in script and "swapfile" not in script and "ufw" not in script
    assert "apt_install docker.io" in script


def test_existing_host_gets_keys_and_host_firewall():
    script = bootstrap_script(SPECS["existing host with keys and ufw"])
    assert KEY in script
    assert "ufw allow proto tcp from 198.51.100.0/24 to any port 2222" in script
    assert "ufw allow proto tcp from any to any port 443" in script
    assert "ufw default deny incoming" in script


def test_privileged_uses_sudo_for_non_root():
    assert privileged("bash -s", "root") == "bash -s"
    assert privileged("bash -s", "deploy") == "sudo -n bash -s"
    # a line of several commands runs whole as root, not only its first command
    assert privileged("docker start a >/dev/null && docker exec b x", "deploy") == \
        "sudo -n sh -c 'docker start a >/dev/null && docker exec b x'"
    assert privileged("docker info --format '{{json .}}'", "deploy") == "sudo -n docker info --format '{{json .}}'"


def test_rule_set_is_explicit_both_ways():
    rules = rule_set(22, ["203.0.113.7/32"], list(WORLD), None)
    assert [(r.protocol, r.ports, r.addresses) for r in rules.inbound] == [
        ("tcp", "22", ("203.0.113.7/32",)), ("tcp", "80", WORLD), ("tcp", "443", WORLD)]
    assert {(r.protocol, r.ports) for r in rules.outbound} == {("tcp", "1-65535"), ("udp", "1-65535"), ("icmp", None)}
    locked = rule_set(22, ["203.0.113.7/32"], list(WORLD), [("tcp", "443", ["0.0.0.0/0"])])
    assert [(r.protocol, r.ports) for r in locked.outbound] == [("tcp", "443")]


def test_the_shellcheck_helper_reports_findings(tmp_path):
    from shell import shellcheck

    assert "SC2086" in shellcheck({"unquoted": "rm $1"}, tmp_path)


def test_database_url_quotes_credentials_and_requires_tls_unless_told():
    from components.render.database import database_url

    assert database_url("u", "p@ss/w:rd", "db.example", 25060, "app") == (
        "postgres://u:p%40ss%2Fw%3Ard@db.example:25060/app?sslmode=require")
    assert database_url("u", "p", "app-db", 5432, "app", sslmode=None) == "postgres://u:p@app-db:5432/app"


@pytest.mark.parametrize(("os_release", "refusal"), [
    ('ID=ubuntu\nVERSION_CODENAME=noble\nPRETTY_NAME="Ubuntu 24.04.1 LTS"\n', None),
    ('ID=debian\nVERSION_CODENAME=bookworm\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n', None),
    ('ID=fedora\nPRETTY_NAME="Fedora Linux 41 (Server Edition)"\n',
     "berth: Fedora Linux 41 (Server Edition) is not supported; Berth sets up Ubuntu and Debian hosts"),
    ('ID=rocky\n', "berth: this distribution is not supported; Berth sets up Ubuntu and Debian hosts"),
])
def test_the_bootstrap_refuses_distributions_it_does_not_speak_by_name(os_release, refusal, tmp_path):
    """The header runs for real (bash) against each os-release; the Docker step then uses $ID."""
    path = tmp_path / "os-release"
    path.write_text(os_release)
    result = subprocess.run(["bash", "-c", header(str(path)) + 'echo "docker tree: $ID"'],
                            capture_output=True, text=True)
    if refusal is None:
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"docker tree: {os_release.split()[0].removeprefix('ID=')}"
    else:
        assert (result.returncode, result.stderr.strip()) == (1, refusal)


def test_docker_comes_from_the_tree_of_the_hosts_distribution():
    script = bootstrap_script(BootstrapSpec())
    assert 'https://download.docker.com/linux/$ID/gpg' in script
    assert 'https://download.docker.com/linux/$ID ${VERSION_CODENAME} stable' in script
    assert "linux/ubuntu" not in script


def test_a_non_root_ssh_user_joins_the_docker_group():
    assert "usermod -aG docker deploy" in bootstrap_script(BootstrapSpec(user="deploy"))
    assert "usermod" not in bootstrap_script(BootstrapSpec(user="root"))


def test_docker_user_restricts_published_ports_like_ufw_does():
    rules = rule_set(22, ["198.51.100.7/32"], ["173.245.48.0/20", "2400:cb00::/32"], None)
    v4 = docker_user_rules(rules, ipv6=False).splitlines()
    assert v4[:2] == ["*filter", ":DOCKER-USER - [0:0]"] and v4[-1] == "COMMIT"
    match = "-p tcp -m conntrack --ctstate DNAT --ctorigdstport 443 --ctdir ORIGINAL"
    assert v4.index(f"-A DOCKER-USER {match} -s 173.245.48.0/20 -j RETURN") < v4.index(f"-A DOCKER-USER {match} -j DROP")
    assert "2400:cb00::/32" not in "\n".join(v4)
    assert f"-A DOCKER-USER {match} -s 2400:cb00::/32 -j RETURN" in docker_user_rules(rules, ipv6=True)
    script = bootstrap_script(BootstrapSpec(host_firewall=rules))
    assert "cat >> /etc/ufw/after.rules <<'RULES'" in script and "cat >> /etc/ufw/after6.rules <<'RULES'" in script
    assert script.index("after.rules") < script.index("ufw --force enable")


def test_world_open_web_ports_get_an_empty_docker_user_chain():
    """Declared and empty, so that loading it clears a restriction an earlier bootstrap wrote."""
    rules = rule_set(22, list(WORLD), list(WORLD), None)
    assert docker_user_rules(rules, ipv6=False) == "*filter\n:DOCKER-USER - [0:0]\nCOMMIT"
    assert "cat >> /etc/ufw/after6.rules <<'RULES'" in bootstrap_script(BootstrapSpec(host_firewall=rules))


def _cloud_init_schema(text: str, tmp_path) -> subprocess.CompletedProcess:
    import shutil

    binary = shutil.which("cloud-init")
    assert binary, "cloud-init is not installed (apt-get install cloud-init; make test does)"
    path = tmp_path / "user-data"
    path.write_text(text)
    return subprocess.run([binary, "schema", "-c", str(path)], capture_output=True, text=True)


HOST_KEY_PRIVATE = """-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACBt6ocAWLlrg0vYoRPUB7L1OvOqExmQNSZpZEar9VPG9QAAAJA=
-----END OPENSSH PRIVATE KEY-----
"""
HOST_KEY_PUBLIC = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG3qhwBYuWuDS9ihE9QHsvU686oTGZA1JmlkRqv1U8b1"


@pytest.mark.parametrize(("user", "port"), [("deploy", 22), ("root", 2222), ("deploy", 2222), ("root", 22)])
def test_cloud_init_sets_up_the_ssh_user_port_and_host_key_before_the_first_connection(user, port, tmp_path):
    from components.render.cloudinit import PORT_DROP_IN, CloudInit, HostKey, user_data

    text = user_data(CloudInit(user, port, (KEY,)), HostKey(HOST_KEY_PRIVATE, HOST_KEY_PUBLIC))
    result = _cloud_init_schema(text, tmp_path)
    assert result.returncode == 0 and "Valid cloud-config" in result.stdout, result.stdout + result.stderr
    document = yaml.safe_load(text)
    if user != "root":
        (created,) = [u for u in document["users"] if isinstance(u, dict)]
        assert created["name"] == user and created["ssh_authorized_keys"] == [KEY]
        assert created["sudo"] == "ALL=(ALL) NOPASSWD:ALL"
    else:
        assert "users" not in document
    contents = [f["content"] for f in document.get("write_files", [])]
    assert contents == ([f"Port {port}\n"] if port != 22 else [])
    assert (PORT_DROP_IN in text) == (port != 22)
    # cloud-init writes these as /etc/ssh/ssh_host_ed25519_key{,.pub} (cc_ssh CONFIG_KEY_TO_FILE), byte for byte,
    # and, given ssh_keys, deletes the image's keys and generates no other type
    assert document["ssh_keys"] == {"ed25519_private": HOST_KEY_PRIVATE, "ed25519_public": HOST_KEY_PUBLIC}
    assert "ssh_genkeytypes" not in document and "ssh_deletekeys" not in document


def test_root_on_port_22_without_a_host_key_needs_no_user_data():
    from components.render.cloudinit import CloudInit, user_data

    assert user_data(CloudInit("root", 22, (KEY,))) is None


def test_a_misspelt_host_key_entry_is_refused_by_cloud_inits_schema(tmp_path):
    """The schema check above is not vacuous for ssh_keys: cloud-init names only {dsa,ecdsa,ed25519,rsa}_{private,
    public,certificate} there."""
    result = _cloud_init_schema(f"#cloud-config\nssh_keys:\n  ed25519_secret: {HOST_KEY_PUBLIC}\n", tmp_path)
    assert result.returncode != 0
    assert "'ed25519_secret' does not match any of the regexes" in result.stdout + result.stderr


def test_cloud_init_schema_check_is_not_vacuous(tmp_path):
    result = _cloud_init_schema("#cloud-config\nusers: 5\nruncmd: oops\n", tmp_path)
    assert "Invalid cloud-config" in result.stdout + result.stderr or result.returncode != 0


def test_the_ipv6_docker_user_guard_is_there_only_where_a_port_is_restricted():
    from components.render.bootstrap import _IPV6_NEEDS_DOCKER_USER

    guard = _IPV6_NEEDS_DOCKER_USER.format(network="kamal")
    assert guard in bootstrap_script(SPECS["existing host with keys and ufw"])  # 22 from one range only
    open_to_all = BootstrapSpec(host_firewall=rule_set(22, list(WORLD), list(WORLD), None))
    assert "ufw default deny incoming" in bootstrap_script(open_to_all)
    assert guard not in bootstrap_script(open_to_all)


@pytest.mark.parametrize(("network_ipv6", "ip6_nat", "user_jump", "refused"), [
    ("true", 0, 1, True),    # Docker 20.10 with ip6tables and an IPv6 network: DNAT past every rule
    ("true", 0, 0, False),   # a Docker that jumps to DOCKER-USER for IPv6 (moby/moby#44706)
    ("true", 1, 1, False),   # ip6tables off: IPv6 clients go through docker-proxy and ufw
    ("false", 0, 1, False),  # the network as Berth and Kamal make it
])
def test_the_ipv6_docker_user_guard_refuses_only_dnat_past_docker_user(network_ipv6, ip6_nat, user_jump, refused,
                                                                      tmp_path):
    """The guard runs for real (bash, strict mode) against stand-ins for docker and ip6tables."""
    from components.render.bootstrap import _IPV6_NEEDS_DOCKER_USER

    (tmp_path / "docker").write_text(f"#!/bin/sh\necho {network_ipv6}\n")
    (tmp_path / "ip6tables").write_text(
        f'#!/bin/sh\ncase "$*" in\n  "-t nat -n -L DOCKER") exit {ip6_nat} ;;\n'
        f'  "-C FORWARD -j DOCKER-USER") exit {user_jump} ;;\nesac\nexit 2\n')
    for tool in ("docker", "ip6tables"):
        (tmp_path / tool).chmod(0o755)
    script = "set -euo pipefail\n" + _IPV6_NEEDS_DOCKER_USER.format(network="kamal") + "echo passed\n"
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                            env={"PATH": f"{tmp_path}:/usr/bin:/bin"})
    if refused:
        assert result.returncode == 1 and result.stdout == ""
        assert "the kamal network has IPv6" in result.stderr and "docker network rm kamal" in result.stderr
    else:
        assert (result.returncode, result.stdout) == (0, "passed\n"), result.stderr


@pytest.mark.parametrize("text", [
    "postgres \\\n -c shared_buffers=64MB \\\n -c work_mem=2MB\n",
    "bin/jobs \\\n  --queues \"default,mailers\" \\\n  --threads 3\n",
    "sh -c 'echo a \\\nb'", 'echo "a \\\nb"', "echo a\\ b \\\\\n", "bin/rails server -b 0.0.0.0",
])
def test_a_command_splits_as_a_posix_shell_splits_it(text):
    """render/argv.py against /bin/sh itself: a backslash-newline is a continuation outside single quotes."""
    import subprocess

    from components.render.argv import shell_words

    done = subprocess.run(["sh", "-c", f"set -f; set -- {text}\nprintf '%s\\0' \"$@\""], capture_output=True, check=True)
    assert shell_words(text) == done.stdout.decode().split("\0")[:-1]


@pytest.mark.parametrize(("ssh_v", "refused"), [
    ("OpenSSH_9.2p1 Debian-2+deb12u10, OpenSSL 3.0.22 25 Aug 2026", False),
    ("OpenSSH_8.5p1, OpenSSL 1.1.1k", False),
    ("OpenSSH_9.0p1, LibreSSL 3.3.6", False),  # macOS 13
    ("OpenSSH_8.4p1 Debian-5+deb11u3, OpenSSL 1.1.1w  27 May 2025", True),  # Debian 11
    ("OpenSSH_8.2p1 Ubuntu-4ubuntu0.13, OpenSSL 1.1.1f  31 Mar 2020", True),  # Ubuntu 20.04
    ("OpenSSH_for_Windows_8.1p1, LibreSSL 3.0.2", True),
    ("Dropbear v2022.83", False),  # not OpenSSH: Berth cannot tell, ssh says it itself
])
def test_a_pinned_key_needs_openssh_8_5(ssh_v, refused):
    from components.render.hostkeys import too_old

    assert (too_old(ssh_v) is not None) == refused


def test_this_machines_ssh_can_check_a_pinned_key():
    import shutil

    from components.render.hostkeys import too_old

    if shutil.which("ssh") is None:
        pytest.skip("no ssh client here")
    version = subprocess.run(["ssh", "-V"], capture_output=True, text=True)
    assert too_old(version.stderr) is None, version.stderr


def test_pinned_options_accept_exactly_one_key_and_read_no_file():
    from components.render.hostkeys import pinned_options, public_key

    key = public_key("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG3qhwBYuWuDS9ihE9QHsvU686oTGZA1JmlkRqv1U8b1 a comment\n")
    options = dict(o.split("=", 1) for o in pinned_options(key)[1::2])
    assert options == {"StrictHostKeyChecking": "yes", "UserKnownHostsFile": "/dev/null",
                       "GlobalKnownHostsFile": "/dev/null", "HostKeyAlgorithms": "ssh-ed25519",
                       "KnownHostsCommand": f"/bin/echo * {key}", "ControlPath": "none"}
    with pytest.raises(ValueError):
        public_key("ssh-rsa AAAAB3NzaC1yc2E")


@pytest.mark.parametrize(("keepers", "pinned"), [
    ({"userData": "h1", "kept": "h1", "hostKey": "K"}, "K"),  # created together: a new server, or a replaced one
    ({"userData": "h2", "kept": "h1", "hostKey": "K"}, None),  # a server from before: its own user data's hash
    ({"userData": "h2", "kept": "", "hostKey": "K"}, None),  # a server from before, created without user data
    ({"userData": "", "kept": "", "hostKey": "K"}, None),
    (None, None),
])
def test_a_server_is_pinned_only_when_it_was_created_from_the_user_data_that_carried_the_key(keepers, pinned):
    from components.hostkeys import pinned as answer

    assert answer(keepers) == pinned
