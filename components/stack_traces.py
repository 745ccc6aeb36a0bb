"""Resource stack traces that stop at the program's own files.

The Python SDK sends the engine every frame above a resource's constructor (SDK 3.272.0
pulumi/runtime/resource.py `_get_stack_trace`, in each RegisterResourceRequest), and the engine keeps them in the
state (`stackTrace`; pkg/resource/deploy/source_eval.go `newStackTrace`, v3.274.1). Most are the runner's: runpy,
the SDK's stack runner, asyncio, the gRPC server's threads. They were 20 of a resource's 25 frames and 40% of a
four-host stack's state, which the engine serializes whole at every checkpoint (backend/snapshot.go
`saveSnapshot`, half of the CLI's CPU in a four-host release). Where a resource was declared is in the frames of
`__main__.py` and `components/`; the others are dropped. The source position (the first frame) is unchanged.
"""

from __future__ import annotations

import functools
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = ROOT / "__main__.py"
COMPONENTS = ROOT / "components"


@functools.cache  # a program's frames come from a few dozen files, and every resource asks again
def is_program_file(uri: str) -> bool:
    """Whether a frame's `file://` URI is one of the program's files."""
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme != "file":
        return False
    path = Path(urllib.parse.unquote(parsed.path))
    return path == PROGRAM or path.is_relative_to(COMPONENTS)


def keep_program_frames() -> None:
    """Wrap the SDK's stack-trace capture (once per process: an inline program runs again in it) so that only the
    program's frames reach the engine."""
    from pulumi.runtime import resource
    from pulumi.runtime.proto import source_pb2

    captured = resource._get_stack_trace
    if getattr(captured, "program_frames_only", False):
        return

    def program_frames() -> source_pb2.StackTrace:
        trace = captured()
        return source_pb2.StackTrace(frames=[frame for frame in trace.frames if is_program_file(frame.pc.uri)])

    program_frames.program_frames_only = True  # type: ignore[attr-defined]
    resource._get_stack_trace = program_frames
