"""List the S3 buckets the current profile can see, creating one first if a name is given.

    AWS_PROFILE=prod python examples/list_buckets.py [new-bucket-name]

Plain boto3, no rolecall import: the S3 calls are signed with whatever the profile resolves to,
assumed-role credentials included.
"""

import sys

import boto3

if len(sys.argv) > 2:
    sys.exit(f"usage: {sys.argv[0]} [BUCKET]")
s3 = boto3.client("s3")
if len(sys.argv) == 2:
    region = s3.meta.region_name
    if region == "us-east-1":  # S3 rejects a location constraint naming us-east-1
        s3.create_bucket(Bucket=sys.argv[1])
    else:
        s3.create_bucket(Bucket=sys.argv[1],
                         CreateBucketConfiguration={"LocationConstraint": region})
    print(f"created {sys.argv[1]} in {region}")
for bucket in s3.list_buckets().get("Buckets", []):
    print(bucket["Name"])
