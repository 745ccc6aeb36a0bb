"""The real-host applier's model of the Docker provider's port diff, checked against the provider's source
(terraform-provider-docker v4.5.0, `suppressIfPortsDidNotChangeForMigrationV0ToV1`) without a lab."""

from __future__ import annotations

from e2e.kinds import ports_diff_suppressed


def port(ip: str, internal: int = 80, external: int = 80, protocol: str = "tcp") -> dict:
    return {"internal": internal, "external": external, "ip": ip, "protocol": protocol}


def test_one_binding_per_port_in_another_order_passes():
    assert ports_diff_suppressed([port("0.0.0.0", 443, 443), port("0.0.0.0")],
                                 [port("0.0.0.0"), port("0.0.0.0", 443, 443)])


def test_a_pair_of_one_port_never_passes_in_either_order():
    pair = [port("0.0.0.0"), port("::")]
    assert not ports_diff_suppressed(pair[::-1], pair)
    assert not ports_diff_suppressed(pair, pair[::-1])


def test_a_changed_binding_or_count_does_not_pass():
    assert not ports_diff_suppressed([port("0.0.0.0")], [port("127.0.0.1")])
    assert not ports_diff_suppressed([port("0.0.0.0")], [port("0.0.0.0"), port("::")])
    assert not ports_diff_suppressed([port("0.0.0.0", external=81)], [port("0.0.0.0")])
