"""A Dask cluster on one host: 4 worker processes read ``s3://`` objects through s3fs and pandas
with a profile roles.toml manages. Every read is signed by the assumed role, and the host makes one
AssumeRole: the workers share it through the disk cache and its file lock.

The cluster runs in a subprocess of its own (an unmodified Dask program, as a user writes it), so a
stuck cluster is bounded by a timeout and leaves nothing behind in the test process.
"""

from __future__ import annotations

import json
import os
import sys
import uuid

import boto3
import pytest

from tests.conftest import STATIC_KEY_ID, STATIC_SECRET, Aws, run_python

pytestmark = pytest.mark.slow

ROLE = "arn:aws:iam::111122223333:role/Data"
DATA = f"""
[profiles.data]
role_arn = "{ROLE}"
source_profile = "default"
region = "us-east-1"
"""

PROGRAM = """
import asyncio, json, logging, os, sys

import aiobotocore.session
import fsspec.asyn
import pandas as pd
import s3fs
from distributed import Client, LocalCluster, wait


async def caller(session):
    async with session.create_client("sts") as sts:
        return (await sts.get_caller_identity())["Arn"]


def read(url):
    # pandas and s3fs with no credentials argument: AWS_PROFILE says which profile.
    frame = pd.read_csv(url)
    fs = s3fs.S3FileSystem()  # the instance pandas used (fsspec caches it per process)
    credentials = fs.s3._request_signer._credentials  # what the S3 requests were signed with
    arn = fsspec.asyn.sync(fs.loop, caller, fs.session)
    same = credentials is fsspec.asyn.sync(fs.loop, fs.session.get_credentials)
    return {"pid": os.getpid(), "rows": int(frame.shape[0]), "method": credentials.method,
            "arn": arn, "same": same,
            "session_arn": asyncio.run(caller(aiobotocore.session.get_session()))}


if __name__ == "__main__":
    bucket, count = sys.argv[1], int(sys.argv[2])
    with LocalCluster(n_workers=4, processes=True, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, \\
            Client(cluster, timeout=60) as client:
        client.wait_for_workers(4, timeout=90)
        workers = sorted(client.scheduler_info()["workers"])
        futures = [client.submit(read, f"s3://{bucket}/part-{i}.csv", pure=False,
                                 workers=[workers[i % len(workers)]])
                   for i in range(count)]
        wait(futures, timeout=120)
        print(json.dumps(client.gather(futures)))
"""


def test_local_cluster_workers_read_s3_as_the_assumed_role(aws: Aws,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = f"data-{uuid.uuid4().hex[:12]}"
    s3 = boto3.Session(aws_access_key_id=STATIC_KEY_ID, aws_secret_access_key=STATIC_SECRET) \
        .client("s3", region_name="us-east-1", endpoint_url=aws.emulator.url)
    s3.create_bucket(Bucket=bucket)
    count = 12
    for i in range(count):
        s3.put_object(Bucket=bucket, Key=f"part-{i}.csv", Body=f"n\n{i}\n{i + 1}\n".encode())
    aws.roles(DATA)
    aws.emulator.reset()
    # Worker processes inherit this environment: roles.toml, the cache folder, the profile.
    monkeypatch.setenv("AWS_PROFILE", "data")
    done = run_python(PROGRAM, dict(os.environ), sys.executable, bucket, str(count), timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(results) == count and all(r["rows"] == 2 for r in results)
    assert len({r["pid"] for r in results}) == 4  # every worker process read
    for r in results:
        assert r["method"] == "rolecall" and r["same"]
        assert r["arn"].startswith("arn:aws:sts::111122223333:assumed-role/Data/")
        assert r["session_arn"] == r["arn"]
    assert aws.assume_role_calls() == 1  # one per host, shared through the disk cache
