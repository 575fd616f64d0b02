"""Switching roles: the same role name in every account of a list, one Session each.

    python switch_roles.py Audit 111111111111 222222222222 ...

Each role is assumed once per credential lifetime, in this process and across processes (the disk
cache): running the script again makes no STS call.
"""

import sys

import rolecall

role_name, accounts = sys.argv[1], sys.argv[2:]
for account in accounts:
    session = rolecall.assume(f"arn:aws:iam::{account}:role/{role_name}")
    print(account, session.client("sts").get_caller_identity()["Arn"])
