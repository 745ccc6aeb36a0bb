"""The provider SDKs Berth uses, each loaded as the few modules Berth declares from, never as a whole package.

Why: a generated Pulumi SDK's `__init__.py` imports every module of its package. `import pulumi_cloudflare`
ran all of its ~780 modules (2.7 s of the plan's 3.2 s, issue 18) for the five resources and functions the
Edge declares, and `import pulumi_digitalocean` ~190 for sixteen. Every `pulumi preview`, `up` and `make plan` paid
for that before declaring a single resource. (Cloudflare's few declarations now skip its SDK's types altogether:
components/cloudflare.py.) Here each package is a namespace (`docker.Container`) whose
names are the SDK's own classes and functions, loaded from their modules on first use, so a Hetzner stack
never loads DigitalOcean's modules and no stack loads a module it does not declare from.

What this relies on in the layout of the SDKs that pulumi-language-python generates (checked on every
package below by tests/test_sdk.py):
- each resource or function is in a module of its own (`pulumi_docker/container.py`) that names it in
  `__all__`; the `<Name>Args` types of nested inputs are in `_inputs` (the package exports its `__all__`);
- such a module reaches its package only through `from . import _utilities`, `from . import outputs`,
  `from ._inputs import *` and `from ._enums import *` (`from .. import _utilities` in a subpackage such as
  `pulumi_command.remote`), never through a name that the package's `__init__` defines;
- the plugin version the engine is asked for comes from `_utilities`, which reads the distribution's
  metadata (`importlib.metadata.version`), not from the `__init__`: it is the same either way;
- besides re-exporting the modules, the `__init__` only registers the package's resource modules with
  `pulumi.runtime` (`_utilities.register`). The engine needs those to turn a resource reference it sends
  back into an object (`rpc.deserialize_resource`), which never happens for Berth: its providers return no
  resource references and it uses no component packages or stack references (a preview of every shipped
  stack through the real engine deserialized none; tests/test_sdk.py checks it under the mocks).

A package loaded here sits in `sys.modules` with its `__init__` not yet run. The first lookup of any name
on it from elsewhere (a test's `pulumi_docker.ContainerArgs`, any code that imports the package) runs the
`__init__` in place first (a module `__getattr__`, PEP 562), so that code sees the whole package: the same
module objects, hence the same classes, and the resource modules registered as a full import does.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import sys
import threading
from types import ModuleType
from typing import TYPE_CHECKING, Any

# Serializes loading and completing; `_loading` is true while this module imports an SDK's modules, when a
# lookup on a deferred package is the import system's own `from . import outputs`, not a user's.
_lock = threading.RLock()
_loading = False


def _run_init(package: ModuleType, name: str) -> Any:
    """The `__getattr__` of a deferred package: someone wants the whole package (or, while loading, the
    import system asks whether a sibling module is there yet: the answer is no, so it imports it)."""
    with _lock:
        if _loading:
            raise AttributeError(f"module {package.__name__!r} has no attribute {name!r}")
        if package.__dict__.pop("__getattr__", None) is not None:  # from here on a plain module
            package.__spec__.loader.exec_module(package)
    return getattr(package, name)


def deferred(package: str) -> ModuleType:
    """The package as in `sys.modules`: imported already (whole or deferred), or created there without
    running its `__init__` (its parent packages likewise)."""
    if package in sys.modules:
        return sys.modules[package]
    parent, _, child = package.rpartition(".")
    if parent:
        deferred(parent)
    spec = importlib.util.find_spec(package)
    if spec is None or spec.submodule_search_locations is None:
        raise ModuleNotFoundError(f"no package named {package!r}", name=package)
    module = importlib.util.module_from_spec(spec)  # __path__, __spec__, __file__: what submodule imports need
    module.__getattr__ = lambda name: _run_init(module, name)
    sys.modules[package] = module
    if parent:
        setattr(sys.modules[parent], child, module)
    return module


class Sdk:
    """One SDK package as Berth uses it: `docker.Container` is `pulumi_docker.Container`, loaded with its module
    (`container`) on the first use of any name here."""

    def __init__(self, package: str, *modules: str):
        self.package = package
        self.modules = modules
        self._names: dict[str, Any] | None = None

    def _load(self) -> dict[str, Any]:
        """Import the modules (once) and collect their names.

        The cyclic garbage collector is paused for the load and what is alive then is frozen (`gc.freeze`):
        an SDK's modules make hundreds of thousands of objects (classes, typing forms, TypedDicts) that live as
        long as the process. Otherwise the load's allocations trigger collections that walk that growing heap,
        and every full collection after it, while the program declares its resources, walks it all again:
        about 40% of the plan's time. Reference counting still frees frozen objects; only a reference cycle
        alive at the freeze that becomes garbage later is never collected, which a program that loads each
        package once can afford."""
        global _loading
        with _lock:
            if self._names is None:
                deferred(self.package)
                _loading, collecting = True, gc.isenabled()
                gc.disable()
                try:
                    loaded = [importlib.import_module(f"{self.package}.{m}") for m in self.modules]
                finally:
                    _loading = False
                    gc.freeze()
                    if collecting:
                        gc.enable()
                # The input types and enums the package's __init__ exports too, loaded by the modules that use them.
                shared = [sys.modules[m] for m in (f"{self.package}._inputs", f"{self.package}._enums") if m in sys.modules]
                self._names = {name: getattr(module, name) for module in loaded + shared for name in module.__all__}
            return self._names

    def load(self) -> None:
        """Load the modules now (berth/engine.py `warm` does, on a thread, before the program needs them)."""
        self._load()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # no SDK exports one; `__wrapped__` and the like, asked by tools, load nothing
            raise AttributeError(name)
        try:
            return self._load()[name]
        except KeyError:
            raise AttributeError(f"{self.package}.{name} is in none of the modules Berth loads "
                                 f"({', '.join(self.modules)}): add its module in components/sdk.py") from None

    def __repr__(self) -> str:
        return f"<Sdk {self.package}: {', '.join(self.modules)}>"


if TYPE_CHECKING:  # to a type checker these are the packages themselves: the same classes, fully typed
    import pulumi_command.remote as remote
    import pulumi_digitalocean as digitalocean
    import pulumi_docker as docker
    import pulumi_hcloud as hcloud
    import pulumi_random as random
    import pulumi_tls as tls
else:
    digitalocean = Sdk("pulumi_digitalocean", "vpc", "tag", "ssh_key", "get_ssh_keys", "droplet", "volume",
                       "volume_attachment", "reserved_ip", "reserved_ip_assignment", "firewall", "database_cluster",
                       "database_db", "database_user", "database_firewall", "spaces_bucket", "spaces_key")
    hcloud = Sdk("pulumi_hcloud", "ssh_key", "get_ssh_keys", "server", "primary_ip", "volume", "volume_attachment",
                 "firewall", "firewall_attachment")
    docker = Sdk("pulumi_docker", "provider", "remote_image", "container")
    remote = Sdk("pulumi_command.remote", "command")  # pulumi_command.remote: commands over SSH
    tls = Sdk("pulumi_tls", "private_key", "cert_request")
    random = Sdk("pulumi_random", "random_id")
