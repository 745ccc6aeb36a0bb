"""The lab, made once for the whole real-host suite and torn down after it, also when a test fails."""

from __future__ import annotations

import os
import shutil

import pytest

from .world import World, versions_under_test

NEEDED = ("dockerd", "sshd", "docker", "docker-registry", "ufw", "nsenter", "unshare", "ip", "go", "htpasswd",
          "busybox", "sqlite3", "curl", "openssl", "ssh-agent")


# The scenarios share one lab and build on each other's deployments, in the order a team would meet them.
# The stack file oracle needs no lab and goes first: hypothesis runs before the SDK leaves threads behind.
ORDER = ("test_stack_file_oracle", "test_preview", "test_release", "test_ops", "test_stack", "test_restart",
         "test_interrupt", "test_teams", "test_declarations", "test_failures", "test_database", "test_rebuilt",
         "test_litestream", "test_origin", "test_shared_proxy", "test_shared_machines", "test_upgrade", "test_hosts",
         "test_host_security", "test_kamal", "test_bench", "test_machines")


def pytest_addoption(parser):
    parser.addoption("--bench", action="store_true", help="run the release bench (make bench-release)")
    parser.addoption("--machines", action="store_true",
                     help="the machine tier on booted machines, and only it (make e2e-machines)")


def pytest_sessionstart(session):
    """The run's first line, also under -q: every version under test, as its own binary prints it."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("versions under test: " + ", ".join(f"{k} {v}" for k, v in versions_under_test().items()))


def pytest_configure(config):
    config.addinivalue_line("markers", "bench: the release bench, run by make bench-release only")
    config.addinivalue_line("markers", "machines: the machine tier, run by make e2e-machines only")


def pytest_collection_modifyitems(config, items):
    if not config.getoption("--bench"):
        items[:] = [item for item in items if "bench" not in item.keywords]
    machines = config.getoption("--machines")
    items[:] = [item for item in items if ("machines" in item.keywords) == machines]
    def rank(item) -> int:
        module = item.module.__name__.rsplit(".", 1)[-1]
        return ORDER.index(module) if module in ORDER else len(ORDER)

    items.sort(key=rank)  # stable: tests keep their order within a module


@pytest.fixture(scope="session")
def world(request):
    """The lab, made on first use: the previews of test_preview need none."""
    missing = [tool for tool in NEEDED if shutil.which(tool) is None and not os.path.exists(f"/usr/sbin/{tool}")]
    if os.geteuid() != 0:
        pytest.fail("the real-host suite makes network namespaces and runs dockerd: run it as root (make e2e)")
    if missing:
        pytest.fail(f"the real-host suite needs {', '.join(missing)}; `make e2e` installs them (apt-get, go)")
    world = World.start(machines=request.config.getoption("--machines"))
    try:
        yield world
    finally:
        world.stop()
