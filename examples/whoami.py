"""Print the identity AWS sees: a plain boto3 script that knows nothing about rolecall.

    AWS_PROFILE=prod python examples/whoami.py
"""

import boto3

print(boto3.client("sts").get_caller_identity()["Arn"])
