"""Tools around the program, not part of `pulumi up`: the offline plan, the mock evaluation, pricing and
the stack file's JSON Schema."""
