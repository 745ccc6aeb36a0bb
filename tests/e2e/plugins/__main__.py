"""`python -m tests.e2e.plugins PACKAGE ENGINE-ADDRESS`: what a `pulumi-resource-PACKAGE` launcher runs."""

import sys

from . import package
from .server import serve

serve(package(sys.argv[1]))
