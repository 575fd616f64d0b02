"""Then s3.list_buckets() as the role: optionally create BUCKET first.

    python list_buckets.py ROLE_ARN [BUCKET]
"""

import sys

import rolecall

session = rolecall.assume(sys.argv[1], region="us-east-1")
s3 = session.client("s3")
if len(sys.argv) > 2:
    s3.create_bucket(Bucket=sys.argv[2])
for bucket in s3.list_buckets()["Buckets"]:
    print(bucket["Name"])
