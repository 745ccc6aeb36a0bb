"""The lab's stand-in for Docker's apt repository (tests/e2e/dockerrepo): each fact copied from Docker's packaging
pinned against its source (docs/compatibility.md, "Docker's apt repository", names them), the packages built with
dpkg-deb from tiny stand-in binaries, and the repository's indexes checked against the files they describe. A
real machine installing from it: the note of the proof (docs/compatibility.md names it)."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import re
import socket
import ssl
import subprocess
import sys
import urllib.error
from pathlib import Path

import pytest

from tests.e2e import dockerrepo as repo
from tests.e2e.dockerrepo.server import RepositoryServer

VERSIONS = repo.Versions(engine="29.8.1", cli="29.10.0", containerd="2.4.2", runc="1.5.3")
BINARIES = ("dockerd", "docker-proxy", "docker-init", "docker", "containerd", "containerd-shim-runc-v2", "ctr", "runc")
COMPLETIONS = {shell: f"# {shell} completion\n".encode() for shell in repo.COMPLETIONS}
# sha256 of each file as its source has it: moby/moby v2.0.0-beta.24 (= Docker 29.8.1) contrib/init, containerd
# v2.4.2's containerd.service after containerd-packaging's Makefile sed, containerd-packaging 2161c611 common/ and
# debian/control, docker-ce-packaging 2f12fe88 (master, 2026-08-20) deb/common, debhelper 13.11.4 and dh-apparmor
# 3.0.8-3 (Debian 12) autoscripts.
UPSTREAM_SHA256 = {
    "docker.service": "a12d90fd03761bf79659a185c4a2c40e08934d7ada9e05130e64bd5eb4d634aa",
    "docker.socket": "96cd0d89474816ddfb03893b44c36e7d744254aed1bf6d30eca65ff396114656",
    "docker.init": "4a23b31d8f74bb420b0fb16684c54c3c8785c2f92c36f902b82d2ef24baeed95",
    "docker.default": "3177ea62729e9f63474e41b5a740aeacd5c73eecd9c7b6cc499266adbc09d21b",
}


@pytest.fixture(scope="module")
def bin_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("bin")
    for name in BINARIES:
        (directory / name).write_bytes(f"#!/bin/sh\necho {name}\n".encode() * 300)  # a few KiB each
        (directory / name).chmod(0o755)
    return directory


def built(bin_dir: Path, distro: repo.Distro = repo.BOOKWORM) -> dict[str, repo.Package]:
    return {p.name: p for p in repo.packages(bin_dir, VERSIONS, distro, COMPLETIONS)}


def test_versions_are_written_as_dockers_packaging_writes_them():
    """deb/Makefile EPOCH?=5; deb/build-deb `${EPOCH}:${DEB_VERSION}-1~${DISTRO}.${VERSION_ID}~${SUITE}`, the epoch
    left out of the file name; gen-deb-ver's `-` to `~`; containerd.io's changelog `<version>-1`."""
    assert repo.docker_version("29.8.1", repo.BOOKWORM) == "5:29.8.1-1~debian.12~bookworm"
    assert repo.docker_version("29.10.0", repo.NOBLE) == "5:29.10.0-1~ubuntu.24.04~noble"
    assert repo.docker_version("29.9.0-rc.1", repo.BOOKWORM) == "5:29.9.0~rc.1-1~debian.12~bookworm"
    assert repo.containerd_version("v2.4.2") == "2.4.2-1"
    assert repo.deb_filename("docker-ce", "5:29.8.1-1~debian.12~bookworm") == \
        "docker-ce_29.8.1-1~debian.12~bookworm_amd64.deb"
    assert repo.deb_filename("containerd.io", "2.4.2-1") == "containerd.io_2.4.2-1_amd64.deb"


def test_the_daemon_and_the_cli_keep_their_own_versions(bin_dir):
    """The lab's daemon is 29.8.1 and its CLI 29.10.0: each package says what it holds."""
    packages = built(bin_dir)
    assert packages["docker-ce"].version == "5:29.8.1-1~debian.12~bookworm"
    assert packages["docker-ce-cli"].version == "5:29.10.0-1~debian.12~bookworm"
    assert packages["containerd.io"].version == "2.4.2-1"


def test_docker_ce_control_is_docker_ces(bin_dir):
    """docker-ce-packaging deb/common/control (master 2f12fe88): relations as dpkg-gencontrol writes them."""
    control = built(bin_dir)["docker-ce"].control()
    assert list(control)[:5] == ["Package", "Version", "Architecture", "Maintainer", "Installed-Size"]
    assert control["Architecture"] == "amd64"
    assert control["Maintainer"] == "Docker <support@docker.com>"
    assert control["Pre-Depends"] == "init-system-helpers (>= 1.54~)"
    assert control["Depends"] == "containerd.io (>= 2.1.5), docker-ce-cli, iptables, nftables"
    assert control["Recommends"] == "apparmor, ca-certificates, docker-ce-rootless-extras, git, pigz, procps, xz-utils"
    assert control["Suggests"] == "cgroupfs-mount | cgroup-lite"
    assert control["Conflicts"] == "docker.io"
    assert control["Replaces"] == "docker-ce-cli (<< 5:28.0.0)"
    assert (control["Section"], control["Priority"], control["Homepage"]) == ("admin", "optional",
                                                                             "https://www.docker.com")
    assert control["Description"].startswith("Docker: the open-source application container engine\n Docker is")


def test_docker_ce_cli_control_is_docker_ce_clis(bin_dir):
    control = built(bin_dir)["docker-ce-cli"].control()
    assert control["Source"] == "docker-ce"
    assert "Depends" not in control  # ${shlibs:Depends} alone, and the lab's binaries are static
    assert control["Recommends"] == "docker-buildx-plugin, docker-compose-plugin"
    assert control["Suggests"] == "docker-model-plugin"
    assert control["Conflicts"] == "docker.io, docker-cli"
    assert control["Replaces"] == control["Breaks"] == "docker-ce (<< 5:0)"


def test_containerd_io_control_is_containerd_ios(bin_dir):
    """containerd-packaging debian/control."""
    control = built(bin_dir)["containerd.io"].control()
    assert "Source" not in control and "Depends" not in control
    assert control["Provides"] == control["Conflicts"] == control["Replaces"] == "containerd, runc"
    assert control["Maintainer"] == "Containerd team <help@containerd.io>"
    assert (control["Section"], control["Homepage"]) == ("devel", "https://containerd.io")


def test_the_files_are_where_dockers_packages_put_them(bin_dir):
    """deb/common/rules override_dh_auto_install, docker-ce.dirs, dh_installsystemd/dh_installinit --name=docker;
    containerd-packaging debian/rules override_dh_auto_install."""
    packages = built(bin_dir)
    paths = {name: sorted(m.path for m in p.members) for name, p in packages.items()}
    assert paths["docker-ce"] == ["/etc/default/docker", "/etc/init.d/docker", "/lib/systemd/system/docker.service",
                                  "/lib/systemd/system/docker.socket", "/usr/bin/docker-proxy", "/usr/bin/dockerd",
                                  "/usr/libexec/docker/docker-init"]
    assert packages["docker-ce"].dirs == ("/etc/docker",)
    assert paths["docker-ce-cli"] == ["/usr/bin/docker", "/usr/share/bash-completion/completions/docker",
                                      "/usr/share/fish/vendor_completions.d/docker.fish",
                                      "/usr/share/zsh/vendor-completions/_docker"]
    assert paths["containerd.io"] == ["/etc/containerd/config.toml", "/lib/systemd/system/containerd.service",
                                      "/usr/bin/containerd", "/usr/bin/containerd-shim-runc-v2", "/usr/bin/ctr",
                                      "/usr/bin/runc"]
    assert packages["docker-ce"].conffiles == ("/etc/default/docker", "/etc/init.d/docker")
    assert packages["containerd.io"].conffiles == ("/etc/containerd/config.toml",)


@pytest.mark.parametrize(("name", "sha256"), sorted(UPSTREAM_SHA256.items()))
def test_units_and_init_files_are_the_engines_own(name, sha256):
    assert hashlib.sha256((repo.UPSTREAM / name).read_bytes()).hexdigest() == sha256


def test_units_start_dockers_binaries():
    docker = (repo.UPSTREAM / "docker.service").read_text()
    assert "ExecStart=/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock\n" in docker
    assert "Requires=docker.socket\n" in docker and "WantedBy=multi-user.target\n" in docker
    socket = (repo.UPSTREAM / "docker.socket").read_text()
    assert "ListenStream=/run/docker.sock\n" in socket and "SocketGroup=docker\n" in socket
    containerd = (repo.UPSTREAM / "containerd.service").read_text()
    assert "ExecStart=/usr/bin/containerd\n" in containerd and "/usr/local/bin" not in containerd
    assert "ExecStartPre=-/sbin/modprobe overlay\n" in containerd
    config = (repo.UPSTREAM / "containerd.toml").read_text()
    assert [line for line in config.splitlines() if line and not line.startswith("#")] == ['disabled_plugins = ["cri"]']


def test_docker_ce_postinst_makes_the_group_then_enables_and_starts_the_units(bin_dir):
    """docker-ce.postinst (groupadd --system docker on first configure) with debhelper's snippets at #DEBHELPER#:
    dh_installsystemd (compat 12) enables docker.service and docker.socket and starts both."""
    scripts = built(bin_dir)["docker-ce"].scripts
    postinst = scripts["postinst"]
    assert "#DEBHELPER#" not in postinst and postinst.startswith("#!/bin/sh\nset -e\n")
    steps = ["groupadd --system docker", "deb-systemd-helper enable 'docker.service'",
             "deb-systemd-helper enable 'docker.socket'", "deb-systemd-invoke $_dh_action 'docker.service' 'docker.socket'"]
    positions = [postinst.index(step) for step in steps]
    assert positions == sorted(positions)
    assert "update-rc.d docker defaults" in postinst and "invoke-rc.d --skip-systemd-native docker" in postinst
    assert "# Automatically added by dh_installsystemd/13.11.4\n" in postinst
    assert "dpkg-maintscript-helper rm_conffile /etc/init/docker.conf 5:24.0.5-1~ -- \"$@\"" in scripts["preinst"]
    assert "deb-systemd-invoke stop 'docker.service' 'docker.socket'" in scripts["prerm"]
    assert "deb-systemd-helper purge 'docker.service' 'docker.socket'" in scripts["postrm"]


def test_containerd_io_enables_and_restarts_its_unit(bin_dir):
    scripts = built(bin_dir)["containerd.io"].scripts
    assert scripts["postinst"].startswith("#!/bin/sh\nset -e\n# Automatically added by dh_systemd_enable/13.11.4\n")
    assert "deb-systemd-helper enable 'containerd.service'" in scripts["postinst"]
    assert "_dh_action=restart" in scripts["postinst"]
    assert "deb-systemd-invoke $_dh_action 'containerd.service'" in scripts["postinst"]
    assert built(bin_dir)["docker-ce-cli"].scripts == {}


def test_maintainer_scripts_are_valid_shell(bin_dir):
    for package in built(bin_dir).values():
        for name, text in package.scripts.items():
            result = subprocess.run(["sh", "-n"], input=text, text=True, capture_output=True, check=False)
            assert result.returncode == 0, f"{package.name} {name}: {result.stderr}"


def test_prerm_and_postrm_run_debhelpers_snippets_in_reverse():
    scripts = repo.maintainer_scripts(repo.containerd_snippets())
    postrm = scripts["postrm"]
    assert postrm.index("daemon-reload") < postrm.index("deb-systemd-helper purge")


@pytest.fixture(scope="module")
def debs(bin_dir, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("debs")
    return {p.name: repo.build_deb(p, out) for p in built(bin_dir).values()}


def test_dpkg_deb_reads_back_what_was_built(bin_dir, debs):
    packages = built(bin_dir)
    for name, deb in debs.items():
        assert deb.name == packages[name].filename
        assert repo.deb_fields(deb) == packages[name].control()
        listing = subprocess.run(["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True,
                                 check=True).stdout.splitlines()
        owners = {line.split()[1] for line in listing}
        assert owners == {"root/root"}
        files = {line.split()[-1].removeprefix(".") for line in listing if not line.startswith("d")}
        assert files == {m.path for m in packages[name].members}
    dockerd = next(line for line in subprocess.run(["dpkg-deb", "--contents", str(debs["docker-ce"])],
                                                   capture_output=True, text=True, check=True).stdout.splitlines()
                   if line.endswith("./usr/bin/dockerd"))
    assert dockerd.startswith("-rwxr-xr-x root/root")


def test_packages_are_xz_compressed_as_dockers_rules_force(debs):
    """deb/common/rules and containerd-packaging's debian/rules: `dh_builddeb -- -Zxz`."""
    for deb in debs.values():
        data, members, offset = deb.read_bytes(), [], 8  # an ar archive: "!<arch>\n", then 60-byte headers
        assert data[:8] == b"!<arch>\n"
        while offset < len(data):
            header = data[offset:offset + 60]
            members.append(header[:16].decode().strip().rstrip("/"))
            size = int(header[48:58])
            offset += 60 + size + size % 2
        assert members == ["debian-binary", "control.tar.xz", "data.tar.xz"]


def test_control_archive_holds_scripts_md5sums_and_conffiles(debs, tmp_path):
    subprocess.run(["dpkg-deb", "--control", str(debs["docker-ce"]), str(tmp_path / "c")], check=True)
    names = sorted(p.name for p in (tmp_path / "c").iterdir())
    assert names == ["conffiles", "control", "md5sums", "postinst", "postrm", "preinst", "prerm"]
    md5sums = (tmp_path / "c" / "md5sums").read_text()
    assert "  usr/bin/dockerd\n" in md5sums and "etc/default/docker" not in md5sums  # conffiles are not listed
    assert (tmp_path / "c" / "conffiles").read_text() == "/etc/default/docker\n/etc/init.d/docker\n"


@pytest.fixture(scope="module")
def repository(debs, tmp_path_factory):
    root = tmp_path_factory.mktemp("repo")
    signer = repo.Signer(tmp_path_factory.mktemp("gpg") / "home", key_type="EDDSA")
    try:
        repo.write_repository(root, repo.BOOKWORM, list(debs.values()), signer, 1796616000.0)
    finally:
        signer.close()
    return root


def test_the_layout_is_dockers(repository):
    """download.docker.com/linux/debian: gpg, dists/<codename>/{InRelease,Release,Release.gpg},
    dists/<codename>/stable/binary-amd64/Packages(.gz), dists/<codename>/pool/stable/amd64/*.deb."""
    base = repository / "linux" / "debian"
    files = sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file())
    assert files == ["dists/bookworm/InRelease", "dists/bookworm/Release", "dists/bookworm/Release.gpg",
                     "dists/bookworm/pool/stable/amd64/containerd.io_2.4.2-1_amd64.deb",
                     "dists/bookworm/pool/stable/amd64/docker-ce-cli_29.10.0-1~debian.12~bookworm_amd64.deb",
                     "dists/bookworm/pool/stable/amd64/docker-ce_29.8.1-1~debian.12~bookworm_amd64.deb",
                     "dists/bookworm/stable/binary-amd64/Packages", "dists/bookworm/stable/binary-amd64/Packages.gz",
                     "gpg"]
    assert (base / "gpg").read_text().startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")


def test_packages_index_describes_the_files_it_names(repository):
    base = repository / "linux" / "debian"
    index = (base / "dists/bookworm/stable/binary-amd64/Packages").read_bytes()
    assert gzip.decompress((base / "dists/bookworm/stable/binary-amd64/Packages.gz").read_bytes()) == index
    stanzas = repo.parse_deb822(index.decode())
    assert sorted(s["Package"] for s in stanzas) == ["containerd.io", "docker-ce", "docker-ce-cli"]
    for stanza in stanzas:
        data = (base / stanza["Filename"]).read_bytes()
        assert stanza["Size"] == str(len(data))
        assert stanza["MD5sum"] == hashlib.md5(data).hexdigest()
        assert stanza["SHA256"] == hashlib.sha256(data).hexdigest()
        assert stanza["SHA512"] == hashlib.sha512(data).hexdigest()
        assert {k: v for k, v in stanza.items() if k in repo.FIELD_ORDER} == repo.deb_fields(base / stanza["Filename"])


def test_release_lists_each_index_with_its_size_and_hashes(repository):
    dists = repository / "linux" / "debian" / "dists" / "bookworm"
    release = repo.parse_deb822((dists / "Release").read_text())[0]
    assert (release["Origin"], release["Label"], release["Suite"]) == ("Docker", "Docker CE", "bookworm")
    assert "Codename" not in release
    assert (release["Architectures"], release["Components"]) == ("amd64", "stable")
    assert release["Date"] == "Mon, 07 Dec 2026 04:00:00 UTC"
    for field, digest in repo.RELEASE_HASHES:
        entries = [line.split() for line in release[field].splitlines() if line.strip()]
        assert [e[2] for e in entries] == ["stable/binary-amd64/Packages", "stable/binary-amd64/Packages.gz"]
        for hexdigest, size, path in entries:
            data = (dists / path).read_bytes()
            assert (hexdigest, int(size)) == (digest(data).hexdigest(), len(data))


def test_inrelease_and_release_gpg_verify_with_the_published_key(repository, tmp_path):
    base = repository / "linux" / "debian"
    keyring = tmp_path / "docker.gpg"
    subprocess.run(["gpg", "--batch", "--dearmor", "-o", str(keyring), str(base / "gpg")], check=True)
    dists = base / "dists" / "bookworm"
    subprocess.run(["gpgv", "--keyring", str(keyring), str(dists / "InRelease")], check=True, capture_output=True)
    subprocess.run(["gpgv", "--keyring", str(keyring), str(dists / "Release.gpg"), str(dists / "Release")], check=True,
                   capture_output=True)
    signed = subprocess.run(["gpgv", "--keyring", str(keyring), "--output", "-", str(dists / "InRelease")],
                            check=True, capture_output=True).stdout
    assert signed == (dists / "Release").read_bytes()


def test_a_cached_repository_is_reused_and_a_new_stamp_rebuilds(bin_dir, tmp_path, monkeypatch):
    (bin_dir / ".stamp").write_text("engine=29.8.1\n")
    first = repo.recipe_digest(bin_dir)
    cached = tmp_path / f"docker-repo-{first}"
    cached.mkdir()
    (cached / "done").write_text("")
    monkeypatch.setattr(repo, "binary_versions", lambda _: pytest.fail("a cached repository is built again"))
    assert repo.build_repository(bin_dir, tmp_path) == cached
    assert repo.recipe_digest(bin_dir, (repo.BOOKWORM,)) != first  # a Debian-only build is not both trees
    (bin_dir / ".stamp").write_text("engine=29.9.0\n")
    assert repo.recipe_digest(bin_dir) != first
    (bin_dir / ".stamp").unlink()


class _Connection(http.client.HTTPSConnection):
    """HTTPS to an address, verifying the certificate for download.docker.com, as a machine whose resolver maps
    the name to that address does."""

    def __init__(self, address: str, port: int, context: ssl.SSLContext):
        super().__init__(address, port, timeout=10)
        self.tls = context

    def connect(self) -> None:
        self.sock = self.tls.wrap_socket(socket.create_connection((self.host, self.port), self.timeout),
                                         server_hostname=repo.HOST)


def test_the_server_answers_as_download_docker_com_over_tls(repository, tmp_path):
    ca_key, ca, key, csr, cert = (tmp_path / n for n in ("ca.key", "ca.pem", "s.key", "s.csr", "s.pem"))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "1", "-subj", "/CN=test CA", "-keyout", str(ca_key), "-out", str(ca)], check=True,
                   capture_output=True)
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-subj", "/CN=download.docker.com", "-keyout", str(key), "-out", str(csr)], check=True,
                   capture_output=True)
    (tmp_path / "ext").write_text("subjectAltName=DNS:download.docker.com\n")
    subprocess.run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
                    "-CAcreateserial", "-days", "1", "-extfile", str(tmp_path / "ext"), "-out", str(cert)],
                   check=True, capture_output=True)
    context = ssl.create_default_context(cafile=str(ca))
    with RepositoryServer(repository, cert, key, "127.0.0.1", 0, tmp_path / "access.log") as server:
        def get(path: str) -> bytes:
            connection = _Connection("127.0.0.1", server.port, context)  # the name is verified, not resolved
            connection.request("GET", path, headers={"Host": "download.docker.com"})
            response = connection.getresponse()
            body = response.read()
            connection.close()
            if response.status != 200:
                raise urllib.error.HTTPError(path, response.status, "", response.headers, None)
            return body

        assert get("/linux/debian/gpg") == (repository / "linux/debian/gpg").read_bytes()
        assert get("/linux/debian/dists/bookworm/InRelease").startswith(b"-----BEGIN PGP SIGNED MESSAGE-----")
        with pytest.raises(urllib.error.HTTPError):
            get("/done")
    assert '"GET /linux/debian/gpg HTTP/1.1" 200' in (tmp_path / "access.log").read_text()


def test_every_test_the_compatibility_rows_name_exists():
    """docs/compatibility.md, "Docker's apt repository": each row's "pinned by" names a test of this file."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "compatibility.md").read_text()
    section = text.split("## Docker's apt repository", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`(test_[a-z0-9_]+)`", section))
    assert named, "the section names no test"
    module = sys.modules[__name__]
    assert sorted(name for name in named if not hasattr(module, name)) == []
