"""Berth's policy pack: `pulumi preview --policy-pack policy` (CI passes it as `policyPacks`).

Every rule is a plain function in berth_rules.py, shared with the offline plan. Rules are mandatory;
a stack that deliberately relaxes one (SSH open to the world for CI runners, an acknowledged weak
Cloudflare SSL mode) sets that policy to advisory in a policy config file, where a reviewer sees it.
"""

import berth_rules
from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)


def _resource(args) -> berth_rules.Resource:
    protect = bool(getattr(getattr(args, "opts", None), "protect", False))
    return berth_rules.Resource(type=args.resource_type, name=args.name, props=dict(args.props), protect=protect)


def _resource_policy(name: str, rule) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation) -> None:
        for message in rule(_resource(args)):
            report_violation(message, None)

    return ResourceValidationPolicy(name=name, description=(rule.__doc__ or name).strip().splitlines()[0],
                                    validate=validate, enforcement_level=EnforcementLevel.MANDATORY)


def _stack_policy(name: str, rule) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation) -> None:
        for message in rule([_resource(r) for r in args.resources]):
            report_violation(message, None)

    return StackValidationPolicy(name=name, description=(rule.__doc__ or name).strip().splitlines()[0],
                                 validate=validate, enforcement_level=EnforcementLevel.MANDATORY)


PolicyPack(
    name="berth",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[*(_resource_policy(n, r) for n, r in berth_rules.RESOURCE_RULES.items()),
              *(_stack_policy(n, r) for n, r in berth_rules.STACK_RULES.items())],
)
