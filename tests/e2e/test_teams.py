"""A team's state: Pulumi's own S3 backend on the lab's S3 endpoint (a second moto, with IAM credentials
checked, as S3 and Spaces check them), reached with the URL and environment the README and the workflows give;
two operators at once, one stopped at the backend's lock; an operator whose `up` died with the lock held."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import pytest

from .http import get
from .ops import Ops
from .test_release import HOSTNAMES
from .testhost import ROUTER_IPV4
from .world import MINIMAL

STATE_PORT = 9001
BUCKET = "berth-state"
POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def state_url(bucket: str = BUCKET) -> str:
    """As the README's team section writes it for an S3-compatible store (Spaces, MinIO, the lab's)."""
    return f"s3://{bucket}?endpoint=https://{ROUTER_IPV4}:{STATE_PORT}&s3ForcePathStyle=true&region=us-east-1"


@pytest.fixture(scope="module")
def state(world):
    """The state store: moto with authentication on (its first 3 requests free: the IAM user, its policy and
    its key), a bucket made with that key; the environment an operator exports for it."""
    import boto3

    lab = world.lab
    cert, key = lab.run / "router.pem", lab.run / "router.key"
    moto = Path(sys.executable).parent / "moto_server"
    lab.services["state-s3"] = ["env", "INITIAL_NO_AUTH_ACTION_COUNT=3", str(moto), "-H", ROUTER_IPV4,
                                "-p", str(STATE_PORT), "-c", str(cert), "-k", str(key)]
    lab.start_service("state-s3")
    endpoint = f"https://{ROUTER_IPV4}:{STATE_PORT}"
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bootstrap",
                       aws_secret_access_key="bootstrap", verify=str(lab.ca_cert))
    for _ in range(60):
        try:
            iam.create_user(UserName="operator")
            break
        except Exception:  # noqa: BLE001 - not listening yet
            time.sleep(0.5)
    iam.put_user_policy(UserName="operator", PolicyName="state", PolicyDocument=json.dumps(POLICY))
    access = iam.create_access_key(UserName="operator")["AccessKey"]
    # The CLI's S3 client (aws-sdk-go-v2) trusts a private CA through AWS_CA_BUNDLE (SSL_CERT_FILE does not
    # reach it: checked on the lab), as it would a company's own S3-compatible store.
    env = {"AWS_ACCESS_KEY_ID": access["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": access["SecretAccessKey"],
           "AWS_CA_BUNDLE": str(lab.ca_cert)}
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                      aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"], verify=str(lab.ca_cert))
    s3.create_bucket(Bucket=BUCKET)
    return env, s3


def team(world, state):
    if "e2e-team" not in world.deployments:
        host = world.add_host()
        world.deployment("e2e-team", backend=(state_url(), state[0]),
                         servers={"web": {"hosts": [host.address]}, "jobs": None}, **MINIMAL)
    deployment = world.deployments["e2e-team"]
    return deployment, next(h for h in world.lab.hosts if h.address == deployment.settings["servers"]["web"]["hosts"][0])


def test_state_in_s3_serves_releases_outputs_and_the_ops_verbs_and_holds_no_plaintext_secret(world, state):
    stack, host = team(world, state)
    assert stack.up().ok
    bump = stack.up(version="v2")
    assert bump.ok, bump.error
    assert get(host.address, HOSTNAMES[0], ca=world.lab.ca_cert).body.strip() == "app v2"
    outputs = json.loads(stack.cli("stack", "output", "--json").stdout)
    assert outputs["release"]["version"] == "v2"
    ops = Ops(stack)
    details = ops("details")
    assert details.exit_code == 0 and "shop-web-v2-" in details.output, details.output
    assert ops("logs", "--lines", "5").exit_code == 0
    rollback = ops("rollback", "v1", "--yes")
    assert rollback.exit_code == 0, rollback.output
    assert get(host.address, HOSTNAMES[0], ca=world.lab.ca_cert).body.strip() == "app v1"
    _, s3 = state
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
            for o in page.get("Contents", [])]
    assert any(k.endswith("stacks/berth/e2e-team.json") for k in keys), keys  # the state is there
    secrets = [v for v in world.secrets.values() if len(v) >= 8]
    for key in keys:
        body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode(errors="replace")
        assert not any(secret in body for secret in secrets), key


def test_a_missing_bucket_or_a_wrong_key_is_said_in_a_line_and_changes_nothing(world, state):
    stack, _ = team(world, state)
    env, s3 = state
    before = s3.list_objects_v2(Bucket=BUCKET)["KeyCount"]
    cases = ((state_url("no-such-bucket"), env, "the state bucket no-such-bucket at https://10.231.0.1:9001 does "
                                                 "not exist (NoSuchBucket)"),
             (state_url(), {**env, "AWS_SECRET_ACCESS_KEY": "wrong"}, "the state bucket berth-state at "
              "https://10.231.0.1:9001 refused the credentials (SignatureDoesNotMatch)"))
    for url, extra, words in cases:
        wrong = world.deployment(f"e2e-team-{words.split('(')[-1][:-1]}", stack_name="e2e-team",
                                 backend=(url, extra), servers=stack.settings["servers"], **MINIMAL)
        result = Ops(wrong)("details")
        assert result.exit_code == 1 and "Traceback" not in result.output, result.output
        assert words in " ".join(result.output.split()), result.output
    assert s3.list_objects_v2(Bucket=BUCKET)["KeyCount"] == before


def test_two_operators_at_once_one_waits_at_the_lock_and_then_converges(world, state):
    """A `pulumi up` (CI shipping a changed env) holds the lock while an operator's `berth rollback v2` starts:
    the rollback stops at the lock with Berth's words and leaves the stack file as it was; once the `up` ends,
    the operator's retry converges, and the state is whole."""
    stack, host = team(world, state)
    assert stack.converged()
    assert stack.outputs["release"]["version"] == "v1"
    started, done = threading.Event(), []

    def release() -> None:
        stack.set(env={"clear": {"FEATURE_FLAGS": "on"}})
        stack.write()
        try:
            stack.stack.up(on_event=lambda e: e.resource_pre_event and started.set(), color="never")
            done.append(None)
        except Exception as error:  # noqa: BLE001 - reported below
            done.append(error)

    worker = threading.Thread(target=release)
    worker.start()
    assert started.wait(300), "the first operator's up never started"
    refused = Ops(stack)("rollback", "v2", "--yes")
    worker.join(600)
    assert done == [None], done
    assert refused.exit_code == 1, refused.output
    words = " ".join(refused.output.split())
    assert "stack e2e-team is locked by root@" in words and "nothing changed" in words, words
    assert "berth recover --stack e2e-team" in words
    assert stack.file.read_text().count("version: v1") == 1  # the rollback put its setting back
    assert get(host.address, HOSTNAMES[0], ca=world.lab.ca_cert).body.strip() == "app v1"
    retry = Ops(stack)("rollback", "v2", "--yes")
    assert retry.exit_code == 0, retry.output
    assert get(host.address, HOSTNAMES[0], ca=world.lab.ca_cert).body.strip() == "app v2"
    assert stack.up().changed == []


def test_an_operator_whose_up_died_holding_the_lock_is_recovered(world, state):
    stack, host = team(world, state)
    assert stack.converged()
    killed = stack.up_interrupted(lambda step: step.name.endswith("-app"), grace=0, version="v2")
    assert not killed.ok
    blocked = stack.up()
    assert not blocked.ok and "the stack is currently locked by 1 lock(s)" in blocked.error, blocked.error
    recovered = Ops(stack)("recover", "--yes")
    assert recovered.exit_code == 0, recovered.output
    assert "lock held by root@" in recovered.output, recovered.output
    up = stack.up()
    assert up.ok, up.error
    assert get(host.address, HOSTNAMES[0], ca=world.lab.ca_cert).body.strip() == "app v2"
