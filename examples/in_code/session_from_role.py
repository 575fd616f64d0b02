"""A session from the assumed role, and a second role assumed from it (role chaining from code).

    python session_from_role.py FIRST_ROLE_ARN SECOND_ROLE_ARN
"""

import sys

import rolecall

first = rolecall.assume(sys.argv[1])
second = rolecall.assume(sys.argv[2], session=first)  # first's credentials sign the call
for session in (first, second):
    print(session.client("sts").get_caller_identity()["Arn"])
