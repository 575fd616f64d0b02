"""Assume a role from just its ARN: the tutorial's sts.assume_role + boto3.Session(...) in one call.

    python basic.py arn:aws:iam::111122223333:role/Deploy

botocore's default chain (environment keys, AWS_PROFILE, ...) signs the AssumeRole call; the
Session refreshes its credentials by itself.
"""

import sys

import rolecall

session = rolecall.assume(sys.argv[1], role_session_name="tutorial")
print(session.client("sts").get_caller_identity()["Arn"])
