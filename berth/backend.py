"""The state backend's failures in an operator's words. Pure.

A team keeps its state in S3 or DigitalOcean Spaces (`pulumi login 's3://BUCKET?endpoint=…'`, or
PULUMI_BACKEND_URL as the workflows set it). When the store refuses, the Pulumi CLI's error is one long line of
the S3 client's (`blob (code=NotFound): operation error S3: ListObjectsV2, https response error StatusCode: 404,
RequestID: …, NoSuchBucket: …`): the code at its end says what is wrong, and each has one thing to do.
"""

from __future__ import annotations

import urllib.parse

# S3's error codes (docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html), as aws-sdk-go-v2 quotes them.
_CREDENTIALS = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied")


def where(url: str) -> str:
    """The bucket and the endpoint of an s3:// backend URL, without credentials or other parameters."""
    parsed = urllib.parse.urlparse(url)
    endpoint = urllib.parse.parse_qs(parsed.query).get("endpoint", ["AWS S3"])[0]
    return f"bucket {parsed.netloc} at {endpoint}"


def problem(cli_output: str, url: str) -> str | None:
    """What a failed CLI call says about the state store, in a sentence with what to do; None for anything else."""
    if not url.startswith("s3://"):
        return None
    place = where(url)
    if "NoSuchBucket" in cli_output:
        return (f"the state {place} does not exist (NoSuchBucket): create it (README, Teams) or correct "
                "PULUMI_BACKEND_URL")
    code = next((c for c in _CREDENTIALS if c in cli_output), None)
    if code:
        return (f"the state {place} refused the credentials ({code}): check AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY (for DigitalOcean Spaces, a Spaces access key of the account)")
    if "x509: certificate signed by unknown authority" in cli_output:
        return (f"the state {place} has a certificate this machine does not trust: give its CA to the Pulumi "
                "CLI's S3 client with AWS_CA_BUNDLE=/path/to/ca.pem")
    return None
