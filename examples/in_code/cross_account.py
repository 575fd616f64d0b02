"""A role in another account, with the options its trust policy asks for.

    python cross_account.py arn:aws:iam::444455556666:role/Audit EXTERNAL_ID
"""

import sys

import rolecall

role_arn, external_id = sys.argv[1], sys.argv[2]
session = rolecall.assume(role_arn, external_id=external_id, duration_seconds=900)
identity = session.client("sts").get_caller_identity()
print(identity["Account"], identity["Arn"])
