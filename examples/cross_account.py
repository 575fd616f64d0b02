"""Which account and identity does this profile land in? Plain boto3, no rolecall import.

    AWS_PROFILE=prod python examples/cross_account.py

With rolecall installed and ``[profiles.prod]`` in roles.toml naming a role in another account, the
same unmodified script reports that account and an ``assumed-role/...`` ARN.
"""

import boto3

session = boto3.Session()  # the profile comes from AWS_PROFILE, as in any boto3 program
identity = session.client("sts").get_caller_identity()
print(f"profile: {session.profile_name}")
print(f"account: {identity['Account']}")
print(f"arn:     {identity['Arn']}")
