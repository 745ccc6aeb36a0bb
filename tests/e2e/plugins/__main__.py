"""`python -m tests.e2e.plugins PACKAGE ENGINE-ADDRESS`: what a `pulumi-resource-PACKAGE` launcher runs.

A plugin speaks the engine's protocol through the Python SDK's generated modules (`pulumi.runtime.proto`)
and needs nothing else of the SDK. Importing them through the `pulumi` package would first run the SDK's
`__init__` (its runtime, automation, mocks: 0.11 s of a plugin's 0.22 s start on the lab's machine), and the
engine starts the plugins of an update one after another, each when the program first needs it
(sdk/go/common/resource/plugin/plugin.go `newPlugin`, logged as "Launching plugin"): a rollback waited on five
of them. So the two package levels are registered bare, with their real paths, and the generated modules load
from the SDK's files as they are. A Go provider pays no such start either.
"""

import importlib.util
import sys
import types

if "pulumi" not in sys.modules:
    root = importlib.util.find_spec("pulumi").submodule_search_locations[0]
    for name, path in (("pulumi", root), ("pulumi.runtime", f"{root}/runtime")):
        bare = types.ModuleType(name)
        bare.__path__ = [path]
        sys.modules[name] = bare

from . import package  # noqa: E402 - after the bare packages above
from .server import serve  # noqa: E402

serve(package(sys.argv[1]))
