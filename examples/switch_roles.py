"""Several roles in one program: one boto3 Session per profile named, nothing else.

    python examples/switch_roles.py dev prod [MORE ...]

Each ``boto3.Session(profile_name=...)`` resolves its own profile; with rolecall, profiles declared
in roles.toml assume their roles, side by side in the same process.
"""

import sys

import boto3

if len(sys.argv) < 2:
    sys.exit(f"usage: {sys.argv[0]} PROFILE [PROFILE ...]")

for name in sys.argv[1:]:
    session = boto3.Session(profile_name=name)
    arn = session.client("sts").get_caller_identity()["Arn"]
    print(f"{name}: {arn}")
