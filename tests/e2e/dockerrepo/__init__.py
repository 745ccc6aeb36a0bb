"""A stand-in for Docker's apt repository (https://download.docker.com/linux/debian and /linux/ubuntu), built from
the lab's Docker binaries (tools/docker-engine.sh), so that Berth's bootstrap installs `docker-ce docker-ce-cli
containerd.io` on a booted machine exactly as it does on a cloud server; only name resolution and trust of the
lab's CA differ.

    root = build_repository(bin_dir)                              # cached: a second run costs nothing
    server.RepositoryServer(root, cert, key, "10.250.0.1")        # HTTPS as download.docker.com, in a thread
    python3 -m tests.e2e.dockerrepo serve --root R --cert C --key K --address A   # the same, as a process

The packages are named, versioned, laid out and scripted as Docker's: docker/docker-ce-packaging (deb/common:
control, rules, docker-ce.postinst, .dirs, .maintscript) and docker/containerd-packaging (debian/control,
rules, common/containerd.toml), with the units of the engine and containerd versions built, and the maintainer
script snippets debhelper writes into them (upstream/ holds each verbatim; docs/compatibility.md, "Docker's apt
repository", names the source of every fact and the test that pins it, and what differs from Docker's real
repository, and why).
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
UPSTREAM = HERE / "upstream"
DEFAULT_CACHE = Path("/var/cache/berth-e2e")
HOST = "download.docker.com"
ARCH = "amd64"
CHANNEL = "stable"  # the component Berth's sources line names
EPOCH = "5"  # docker-ce-packaging deb/Makefile EPOCH?=5
PKG_REVISION = "1"  # deb/build-deb pkgRevision=1; containerd-packaging's first -N of a version
DEBHELPER = "13.11.4"  # Debian 12's debhelper, which Docker's debian-bookworm build image installs
DH_APPARMOR = "3.0.8-3"  # Debian 12's dh-apparmor
# The binaries each package installs, by their path in the binaries directory and Docker's path on the host.
DOCKER_CE_BINARIES = {"dockerd": "/usr/bin/dockerd", "docker-proxy": "/usr/bin/docker-proxy",
                      "docker-init": "/usr/libexec/docker/docker-init"}
DOCKER_CE_CLI_BINARIES = {"docker": "/usr/bin/docker"}
CONTAINERD_BINARIES = {"containerd": "/usr/bin/containerd", "containerd-shim-runc-v2": "/usr/bin/containerd-shim-runc-v2",
                       "ctr": "/usr/bin/ctr", "runc": "/usr/bin/runc"}
# docker-ce-packaging deb/common/rules: `docker completion <shell>` output (docker/cli scripts/build/shell-completion).
COMPLETIONS = {"bash": "/usr/share/bash-completion/completions/docker",
               "fish": "/usr/share/fish/vendor_completions.d/docker.fish",
               "zsh": "/usr/share/zsh/vendor-completions/_docker"}
UNITS = "/lib/systemd/system"  # dh_installsystemd's place below compat 14 (docker-ce is compat 12, containerd.io 10)


@dataclass(frozen=True)
class Distro:
    id: str  # os-release ID: the tree under /linux/
    version_id: str  # os-release VERSION_ID
    codename: str  # VERSION_CODENAME: the suite under dists/


BOOKWORM = Distro("debian", "12", "bookworm")
NOBLE = Distro("ubuntu", "24.04", "noble")  # Berth's default images are Ubuntu 24.04
DISTROS = (BOOKWORM, NOBLE)


@dataclass(frozen=True)
class Versions:
    """The upstream versions of the binaries, as they print them."""
    engine: str  # dockerd, docker-proxy: docker-ce
    cli: str  # docker: docker-ce-cli
    containerd: str  # containerd, ctr, the shim: containerd.io
    runc: str  # runc, also in containerd.io


def binary_versions(bin_dir: Path) -> Versions:
    def version(binary: str, pattern: str) -> str:
        text = subprocess.run([str(bin_dir / binary), "--version"], capture_output=True, text=True,
                              check=True).stdout
        found = re.search(pattern, text)
        if not found:
            raise RuntimeError(f"{bin_dir / binary} --version printed no version: {text!r}")
        return found.group(1)

    return Versions(engine=version("dockerd", r"Docker version ([^ ,]+)"),
                    cli=version("docker", r"Docker version ([^ ,]+)"),
                    containerd=version("containerd", r" v?(\d+\.\d+\.\d+[^ ]*)"),
                    runc=version("runc", r"runc version ([^ \n]+)"))


def _tilde(version: str) -> str:
    """deb/gen-deb-ver and containerd-packaging's new-deb-release: a pre-release's `-` becomes `~`."""
    return version.removeprefix("v").replace("-", "~")


def docker_version(upstream: str, distro: Distro) -> str:
    """deb/build-deb's changelog version: `${EPOCH}:${DEB_VERSION}-${pkgRevision}~${DISTRO}.${VERSION_ID}~${SUITE}`."""
    return f"{EPOCH}:{_tilde(upstream)}-{PKG_REVISION}~{distro.id}.{distro.version_id}~{distro.codename}"


def containerd_version(upstream: str) -> str:
    """containerd.io's debian/changelog: `<version>-1`, no epoch and no distribution in it."""
    return f"{_tilde(upstream)}-{PKG_REVISION}"


def deb_filename(package: str, version: str, arch: str = ARCH) -> str:
    """`<package>_<version without its epoch>_<arch>.deb`, as dpkg-deb and Docker name them."""
    return f"{package}_{version.split(':', 1)[-1]}_{arch}.deb"


# --- control files --------------------------------------------------------------------------------------------


def parse_deb822(text: str) -> list[dict[str, str]]:
    """The stanzas of a debian/control (comments dropped, continuation lines kept with their leading space)."""
    stanzas: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last = ""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        if not line.strip():
            if current:
                stanzas.append(current)
            current, last = {}, ""
            continue
        if line[0] in " \t":
            current[last] += "\n" + line
            continue
        name, _, value = line.partition(":")
        current[name] = value.strip()
        last = name
    if current:
        stanzas.append(current)
    return stanzas


def _relations(value: str, substvars: dict[str, str]) -> str:
    """A relation field as dpkg-gencontrol writes it: one line, substitution variables replaced, empty items gone."""
    items = []
    for item in value.replace("\n", " ").split(","):
        item = " ".join(item.split())
        item = re.sub(r"\$\{([^}]+)\}", lambda m: substvars.get(m.group(1), ""), item)
        items.extend(part.strip() for part in item.split(",") if part.strip())
    return ", ".join(items)


RELATIONS = ("Pre-Depends", "Depends", "Recommends", "Suggests", "Enhances", "Conflicts", "Replaces", "Breaks",
             "Provides")
# dpkg-gencontrol's field order for a binary package (Dpkg::Control::FieldsCore, the ones used here).
FIELD_ORDER = ("Package", "Source", "Version", "Architecture", "Maintainer", "Installed-Size", *RELATIONS,
               "Section", "Priority", "Homepage", "Description")


def binary_control(source_control: str, package: str, version: str, installed_size: int,
                   substvars: dict[str, str] | None = None) -> dict[str, str]:
    """The DEBIAN/control fields of `package` from its source package's debian/control, as dpkg-gencontrol makes
    them: the binary stanza's fields over the source stanza's Section, Priority, Maintainer and Homepage;
    `Architecture: linux-any`/`any` becomes the build's; ${shlibs:Depends} and ${misc:Depends} become what the
    build found (nothing: the lab's binaries are static)."""
    source, *binaries = parse_deb822(source_control)
    stanza = next(b for b in binaries if b["Package"] == package)
    fields: dict[str, str] = {"Package": package}
    if source["Source"] != package:
        fields["Source"] = source["Source"]
    fields["Version"] = version
    fields["Architecture"] = ARCH if stanza["Architecture"] in ("any", "linux-any") else stanza["Architecture"]
    fields["Maintainer"] = stanza.get("Maintainer", source["Maintainer"])
    fields["Installed-Size"] = str(installed_size)
    for name in RELATIONS:
        if name in stanza:
            value = _relations(stanza[name], substvars or {})
            if value:
                fields[name] = value
    for name in ("Section", "Priority", "Homepage"):
        value = stanza.get(name, source.get(name))
        if value:
            fields[name] = value
    fields["Description"] = stanza["Description"]
    return {name: fields[name] for name in FIELD_ORDER if name in fields}


def render_control(fields: dict[str, str]) -> str:
    return "".join(f"{name}: {value}\n" for name, value in fields.items())


# --- maintainer scripts, as debhelper assembles them --------------------------------------------------------


@dataclass(frozen=True)
class Snippet:
    tool: str  # e.g. dh_installsystemd/13.11.4
    script: str  # preinst, postinst, prerm, postrm
    template: str  # a file of upstream/autoscripts
    replace: dict[str, str] = field(default_factory=dict)
    service: bool = False  # debhelper's 'snippet-order' => 'service': after the others in postinst


def _snippet_text(snippet: Snippet) -> str:
    text = (UPSTREAM / "autoscripts" / snippet.template).read_text()
    for name, value in snippet.replace.items():
        text = text.replace(f"#{name}#", value)
    return f"# Automatically added by {snippet.tool}\n{text}# End automatically added section\n"


def maintainer_scripts(snippets: Iterable[Snippet], own: dict[str, str] | None = None) -> dict[str, str]:
    """Dh_Lib's autoscript and debhelper_script_subst: snippets in the order the tools ran; appended for preinst and
    postinst, prepended for prerm and postrm (so removal runs them in reverse); the 'service' ones in a file of
    their own that comes after the others in preinst/postinst and before them in prerm/postrm. A package's own
    script gets them at #DEBHELPER#; otherwise the script is `#!/bin/sh`, `set -e` and the snippets."""
    files: dict[tuple[str, bool], list[str]] = {}
    for snippet in snippets:
        chunks = files.setdefault((snippet.script, snippet.service), [])
        if snippet.script in ("prerm", "postrm"):
            chunks.insert(0, _snippet_text(snippet))
        else:
            chunks.append(_snippet_text(snippet))
    scripts = {}
    for script in ("preinst", "postinst", "prerm", "postrm"):
        order = (True, False) if script in ("prerm", "postrm") else (False, True)
        generated = "".join("".join(files.get((script, service), [])) for service in order)
        if own and script in own:
            scripts[script] = own[script].replace("#DEBHELPER#", generated.rstrip("\n"))
        elif generated:
            scripts[script] = "#!/bin/sh\nset -e\n" + generated
    return scripts


def docker_ce_snippets() -> list[Snippet]:
    """docker-ce (debhelper-compat 12, deb/common/rules): dh_apparmor --profile-name=docker-ce (from
    override_dh_install), dh_installinit --name=docker (/etc/init.d/docker), dh_installsystemd --name=docker
    (docker.service and docker.socket, enabled and started: no --no-enable, --no-start), dh_installdeb with
    docker-ce.maintscript; in dh's order."""
    dh = f"/{DEBHELPER}"
    init = {"SCRIPT": "docker", "INITPARMS": "defaults", "INVOKE_RCD_PARAMS": "--skip-systemd-native ",
            "ERROR_HANDLER": "exit 1"}
    units = "'docker.service' 'docker.socket'"
    maintscript = {"PARAMS": "rm_conffile /etc/init/docker.conf 5:24.0.5-1~"}
    return [
        Snippet(f"dh_apparmor/{DH_APPARMOR}", "postinst", "postinst-apparmor", {"PROFILE": "docker-ce"}),
        Snippet(f"dh_apparmor/{DH_APPARMOR}", "postrm", "postrm-apparmor", {"PROFILE": "docker-ce"}),
        Snippet("dh_installinit" + dh, "preinst", "preinst-init-chmod", init, service=True),
        Snippet("dh_installinit" + dh, "postinst", "postinst-init-restart", init, service=True),
        Snippet("dh_installinit" + dh, "prerm", "prerm-init-norestart", init, service=True),
        Snippet("dh_installinit" + dh, "postrm", "postrm-init", init, service=True),
        Snippet("dh_installsystemd" + dh, "postinst", "postinst-systemd-enable", {"UNITFILE": "'docker.service'"},
                service=True),
        Snippet("dh_installsystemd" + dh, "postinst", "postinst-systemd-enable", {"UNITFILE": "'docker.socket'"},
                service=True),
        Snippet("dh_installsystemd" + dh, "postrm", "postrm-systemd", {"UNITFILES": units}),
        Snippet("dh_installsystemd" + dh, "postinst", "postinst-systemd-restart",
                {"UNITFILES": units, "RESTART_ACTION": "restart"}, service=True),
        Snippet("dh_installsystemd" + dh, "prerm", "prerm-systemd-restart", {"UNITFILES": units}, service=True),
        Snippet("dh_installsystemd" + dh, "postrm", "postrm-systemd-reload-only", {"UNITFILES": units}),
        *(Snippet("dh_installdeb" + dh, script, "maintscript-helper", maintscript)
          for script in ("postinst", "preinst", "prerm", "postrm")),
    ]


def containerd_snippets() -> list[Snippet]:
    """containerd.io (debian/compat 10, debian/rules): dh_systemd_enable, then dh_systemd_start
    --restart-after-upgrade, whose `try-restart` the rules' sed turns into `restart` (the restart snippet already
    says restart when the unit is started, so the sed changes nothing there)."""
    dh = f"/{DEBHELPER}"
    unit = "'containerd.service'"
    return [
        Snippet("dh_systemd_enable" + dh, "postinst", "postinst-systemd-enable", {"UNITFILE": unit}),
        Snippet("dh_systemd_enable" + dh, "postrm", "postrm-systemd", {"UNITFILES": unit}),
        Snippet("dh_systemd_start" + dh, "postinst", "postinst-systemd-restart",
                {"UNITFILES": unit, "RESTART_ACTION": "restart"}),
        Snippet("dh_systemd_start" + dh, "postrm", "postrm-systemd-reload-only", {"UNITFILES": unit}),
        Snippet("dh_systemd_start" + dh, "prerm", "prerm-systemd-restart", {"UNITFILES": unit}),
    ]


# --- packages ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    path: str  # where dpkg puts it, e.g. /usr/bin/dockerd
    mode: int
    source: Path | None = None  # a file to copy
    data: bytes | None = None  # or its content

    def size(self) -> int:
        return len(self.data) if self.data is not None else self.source.stat().st_size  # type: ignore[union-attr]

    def read(self) -> bytes:
        return self.data if self.data is not None else self.source.read_bytes()  # type: ignore[union-attr]


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    control_source: str  # the source package's debian/control
    members: tuple[Member, ...]
    dirs: tuple[str, ...] = ()  # empty directories the package owns (docker-ce.dirs)
    conffiles: tuple[str, ...] = ()  # compat >= 12 and dh_installdeb: every file under /etc
    scripts: dict[str, str] = field(default_factory=dict)

    @property
    def filename(self) -> str:
        return deb_filename(self.name, self.version)

    def directories(self) -> list[str]:
        """Every directory the package holds, parents first (dpkg-deb lists them all)."""
        found = set()
        for path in [m.path for m in self.members] + list(self.dirs):
            parts = Path(path).parts
            top = len(parts) if path in self.dirs else len(parts) - 1
            for i in range(2, top + 1):
                found.add(str(Path(*parts[:i])))
        return sorted(found)

    def installed_size(self) -> int:
        """dpkg-gencontrol's Installed-Size: KiB per file rounded up, 1 per directory."""
        return sum(-(-m.size() // 1024) for m in self.members) + len(self.directories())

    def control(self) -> dict[str, str]:
        return binary_control(self.control_source, self.name, self.version, self.installed_size())


def _upstream(name: str, path: str, mode: int = 0o644) -> Member:
    return Member(path, mode, source=UPSTREAM / name)


def packages(bin_dir: Path, versions: Versions, distro: Distro, completions: dict[str, bytes]) -> list[Package]:
    """docker-ce, docker-ce-cli and containerd.io for one distribution, from the binaries directory."""
    docker_control = (UPSTREAM / "docker-ce.control").read_text()
    engine = docker_version(versions.engine, distro)
    cli = docker_version(versions.cli, distro)
    docker_ce = Package(
        "docker-ce", engine, docker_control,
        members=(
            *(Member(path, 0o755, source=bin_dir / name) for name, path in DOCKER_CE_BINARIES.items()),
            _upstream("docker.service", f"{UNITS}/docker.service"),
            _upstream("docker.socket", f"{UNITS}/docker.socket"),
            _upstream("docker.init", "/etc/init.d/docker", 0o755),
            _upstream("docker.default", "/etc/default/docker"),
        ),
        dirs=("/etc/docker",),
        conffiles=("/etc/default/docker", "/etc/init.d/docker"),
        scripts=maintainer_scripts(docker_ce_snippets(), {"postinst": (UPSTREAM / "docker-ce.postinst").read_text()}),
    )
    docker_ce_cli = Package(
        "docker-ce-cli", cli, docker_control,
        members=(
            *(Member(path, 0o755, source=bin_dir / name) for name, path in DOCKER_CE_CLI_BINARIES.items()),
            *(Member(path, 0o644, data=completions[shell]) for shell, path in COMPLETIONS.items()),
        ),
    )
    containerd = Package(
        "containerd.io", containerd_version(versions.containerd), (UPSTREAM / "containerd.io.control").read_text(),
        members=(
            *(Member(path, 0o755, source=bin_dir / name) for name, path in CONTAINERD_BINARIES.items()),
            _upstream("containerd.service", f"{UNITS}/containerd.service"),
            _upstream("containerd.toml", "/etc/containerd/config.toml"),
        ),
        conffiles=("/etc/containerd/config.toml",),
        scripts=maintainer_scripts(containerd_snippets()),
    )
    return [docker_ce, docker_ce_cli, containerd]


def cli_completions(bin_dir: Path) -> dict[str, bytes]:
    """docker/cli scripts/build/shell-completion: `docker completion <shell>` of the CLI being packaged."""
    with tempfile.TemporaryDirectory() as home:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "DOCKER_CONFIG": home}
        return {shell: subprocess.run([str(bin_dir / "docker"), "completion", shell], capture_output=True,
                                      check=True, env=env).stdout
                for shell in COMPLETIONS}


def build_deb(package: Package, out_dir: Path) -> Path:
    """The .deb, with dpkg-deb --build (xz, as deb/common/rules and containerd's rules force: `dh_builddeb -- -Zxz`,
    at level 1 rather than dpkg's 6: the level is no part of the format apt reads, and at 6 compressing ~100 MB of
    dockerd was nearly all of a cold build's 9-13 minutes); files owned by root, DEBIAN/md5sums as dh_md5sums
    writes it (conffiles left out)."""
    with tempfile.TemporaryDirectory(dir=out_dir) as stage_dir:
        stage = Path(stage_dir) / "root"
        for directory in package.directories():
            (stage / directory.lstrip("/")).mkdir(mode=0o755, parents=True, exist_ok=True)
        md5sums = []
        for member in sorted(package.members, key=lambda m: m.path):
            target = stage / member.path.lstrip("/")
            if member.source is not None:
                shutil.copyfile(member.source, target)
            else:
                target.write_bytes(member.data or b"")
            target.chmod(member.mode)
            if member.path not in package.conffiles:
                md5sums.append(f"{hashlib.md5(target.read_bytes()).hexdigest()}  {member.path.lstrip('/')}\n")
        debian = stage / "DEBIAN"
        debian.mkdir(mode=0o755)
        (debian / "control").write_text(render_control(package.control()))
        (debian / "md5sums").write_text("".join(md5sums))
        if package.conffiles:
            (debian / "conffiles").write_text("".join(f"{c}\n" for c in package.conffiles))
        for name in ("control", "md5sums", "conffiles"):
            if (debian / name).exists():
                (debian / name).chmod(0o644)
        for script, text in package.scripts.items():
            (debian / script).write_text(text)
            (debian / script).chmod(0o755)
        for path in [stage, *stage.rglob("*")]:
            if path.is_dir():
                path.chmod(0o755)
        out = out_dir / package.filename
        subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "-z1", "--build", str(stage), str(out)], check=True,
                       capture_output=True)
    return out


# --- the repository ---------------------------------------------------------------------------------------------


def pool_dir(distro: Distro) -> str:
    """Docker's pool, below the distribution's tree: dists/<codename>/pool/<channel>/<arch>."""
    return f"dists/{distro.codename}/pool/{CHANNEL}/{ARCH}"


def packages_index(distro: Distro) -> str:
    """The index apt fetches for `<codename> stable` on amd64, relative to dists/<codename>."""
    return f"{CHANNEL}/binary-{ARCH}/Packages"


def tree(root: Path, distro: Distro) -> Path:
    """The directory https://download.docker.com/linux/<ID> maps to."""
    return root / "linux" / distro.id


def deb_fields(deb: Path) -> dict[str, str]:
    """The control fields of a built .deb (dpkg-deb's own reading of it)."""
    text = subprocess.run(["dpkg-deb", "--field", str(deb)], capture_output=True, text=True, check=True).stdout
    return parse_deb822(text)[0]


def packages_stanza(fields: dict[str, str], filename: str, data: bytes) -> str:
    """One Packages entry as apt-ftparchive writes it: the control fields with Filename, Size and hashes added
    after the relations (apt-ftparchive's TFRewritePackageOrder puts them before Section and Description)."""
    extra = {"Filename": filename, "Size": str(len(data)), "MD5sum": hashlib.md5(data).hexdigest(),
             "SHA1": hashlib.sha1(data).hexdigest(), "SHA256": hashlib.sha256(data).hexdigest(),
             "SHA512": hashlib.sha512(data).hexdigest()}
    before = [n for n in fields if n not in ("Section", "Priority", "Homepage", "Description")]
    after = [n for n in fields if n in ("Section", "Priority", "Homepage", "Description")]
    lines = [f"{n}: {fields[n]}" for n in before] + [f"{n}: {v}" for n, v in extra.items()] + \
        [f"{n}: {fields[n]}" for n in after]
    return "\n".join(lines) + "\n"


RELEASE_HASHES = (("MD5Sum", hashlib.md5), ("SHA1", hashlib.sha1), ("SHA256", hashlib.sha256),
                  ("SHA512", hashlib.sha512))


def _rfc1123(epoch: float) -> str:
    t = time.gmtime(epoch)
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    return f"{days[t.tm_wday]}, {t.tm_mday:02d} {months[t.tm_mon - 1]} {t.tm_year} " \
           f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} UTC"


def release_text(distro: Distro, indexes: dict[str, bytes], date: float) -> str:
    """dists/<codename>/Release: Origin Docker, Label Docker CE, Suite the codename (and no Codename field, as
    observed on Docker's), the one architecture and component served, each index with its size and hashes."""
    lines = ["Origin: Docker", "Label: Docker CE", f"Suite: {distro.codename}", f"Architectures: {ARCH}",
             f"Components: {CHANNEL}", f"Date: {_rfc1123(date)}"]
    for name, digest in RELEASE_HASHES:
        lines.append(f"{name}:")
        width = max(len(str(len(d))) for d in indexes.values())
        lines += [f" {digest(data).hexdigest()} {len(data):>{width}} {path}" for path, data in sorted(indexes.items())]
    return "\n".join(lines) + "\n"


@dataclass
class Signer:
    """A GPG key the lab makes, in a throwaway GNUPGHOME: RSA 4096 as Docker's (a certifying primary key and a
    signing subkey, as Docker signs with a subkey); no passphrase; the agent is stopped on close."""
    home: Path
    key_type: str = "RSA"
    key_length: str = "4096"

    def __post_init__(self) -> None:
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        length = [f"Key-Length: {self.key_length}", f"Subkey-Length: {self.key_length}"] if self.key_type == "RSA" \
            else ["Key-Curve: ed25519", "Subkey-Curve: ed25519"]
        params = "\n".join([
            "%no-protection", f"Key-Type: {self.key_type}", length[0], "Key-Usage: cert",
            f"Subkey-Type: {self.key_type}", length[1], "Subkey-Usage: sign",
            "Name-Real: Berth lab stand-in for Docker's repository", f"Name-Email: docker-repo@lab.{HOST}.invalid",
            "Expire-Date: 0", "%commit", ""])
        self._gpg("--gen-key", input=params.encode())

    def _gpg(self, *args: str, input: bytes | None = None) -> bytes:
        return subprocess.run(["gpg", "--batch", "--quiet", "--no-tty", "--homedir", str(self.home), *args],
                              input=input, capture_output=True, check=True).stdout

    def public_key(self) -> bytes:
        return self._gpg("--armor", "--export")

    def fingerprint(self) -> str:
        listing = self._gpg("--with-colons", "--fingerprint").decode()
        return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))

    def clearsign(self, text: bytes) -> bytes:
        return self._gpg("--digest-algo", "SHA512", "--clearsign", input=text)

    def detach_sign(self, text: bytes) -> bytes:
        return self._gpg("--digest-algo", "SHA512", "--armor", "--detach-sign", input=text)

    def close(self) -> None:
        subprocess.run(["gpgconf", "--homedir", str(self.home), "--kill", "all"], capture_output=True, check=False)
        shutil.rmtree(self.home, ignore_errors=True)


def write_repository(root: Path, distro: Distro, debs: list[Path], signer: Signer, date: float) -> None:
    """One distribution's tree: the pool, the Packages index (plain and gzip), Release, InRelease, Release.gpg and
    the armoured public key at linux/<ID>/gpg."""
    base = tree(root, distro)
    pool = base / pool_dir(distro)
    pool.mkdir(parents=True, exist_ok=True)
    stanzas = []
    for deb in sorted(debs):
        target = pool / deb.name
        shutil.copyfile(deb, target)
        stanzas.append(packages_stanza(deb_fields(target), f"{pool_dir(distro)}/{deb.name}", target.read_bytes()))
    packages_text = "\n".join(stanzas).encode()
    index = packages_index(distro)
    indexes = {index: packages_text, f"{index}.gz": gzip.compress(packages_text, mtime=0)}
    dists = base / "dists" / distro.codename
    for path, data in indexes.items():
        (dists / path).parent.mkdir(parents=True, exist_ok=True)
        (dists / path).write_bytes(data)
    release = release_text(distro, indexes, date).encode()
    (dists / "Release").write_bytes(release)
    (dists / "InRelease").write_bytes(signer.clearsign(release))
    (dists / "Release.gpg").write_bytes(signer.detach_sign(release))
    (base / "gpg").write_bytes(signer.public_key())


def recipe_digest(bin_dir: Path, distros: tuple[Distro, ...] = DISTROS) -> str:
    """What the cached repository depends on: the binaries' stamp (tools/docker-engine.sh; without one, the
    binaries themselves) and the recipe, this file and the upstream files (not the server: serving it differently
    builds nothing again)."""
    digest = hashlib.sha256()
    stamp = bin_dir / ".stamp"
    digest.update(stamp.read_bytes() if stamp.exists() else b"".join(
        hashlib.sha256((bin_dir / name).read_bytes()).digest() for name in sorted(os.listdir(bin_dir))))
    digest.update(repr(distros).encode())
    recipe = [Path(__file__).resolve(), *sorted(p for p in UPSTREAM.rglob("*") if p.is_file())]
    for path in recipe:
        digest.update(str(path.relative_to(HERE)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def build_repository(bin_dir: Path, cache: Path = DEFAULT_CACHE, distros: tuple[Distro, ...] = DISTROS,
                     key_type: str = "RSA", log=None) -> Path:
    """The repository's root (its `linux/` is what https://download.docker.com/linux serves), built once per
    binaries stamp and recipe into `cache`, then reused. The signing key's fingerprint is in `<root>/key.txt`."""
    bin_dir = Path(bin_dir)
    out = cache / f"docker-repo-{recipe_digest(bin_dir, distros)}"
    if (out / "done").exists():
        return out
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".docker-repo.lock", "w") as lock:  # two runs at once: the second waits, then reuses
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / "done").exists():
            _build(bin_dir, out, distros, key_type, log)
    return out


def _build(bin_dir: Path, out: Path, distros: tuple[Distro, ...], key_type: str, log) -> None:
    work = Path(tempfile.mkdtemp(prefix=".docker-repo-", dir=out.parent))
    signer = Signer(Path(tempfile.mkdtemp(prefix="berth-gpg-")), key_type=key_type)
    try:
        versions = binary_versions(bin_dir)
        completions = cli_completions(bin_dir)
        date = time.time()
        built: dict[str, Path] = {}  # containerd.io names no distribution: one file serves every tree
        for distro in distros:
            debs_dir = work / "debs" / distro.codename
            debs_dir.mkdir(parents=True)
            debs = []
            for package in packages(bin_dir, versions, distro, completions):
                if package.filename not in built:
                    if log:
                        log(f"building {package.filename}")
                    built[package.filename] = build_deb(package, debs_dir)
                debs.append(built[package.filename])
            write_repository(work / "root", distro, debs, signer, date)
        root = work / "root"
        (root / "key.txt").write_text(f"{signer.fingerprint()}\n")
        (root / "versions.txt").write_text(
            f"engine={versions.engine} cli={versions.cli} containerd={versions.containerd} runc={versions.runc}\n")
        (root / "done").write_text("")
        shutil.rmtree(out, ignore_errors=True)
        root.rename(out)
    finally:
        signer.close()
        shutil.rmtree(work, ignore_errors=True)
