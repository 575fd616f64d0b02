"""``init`` and ``cache clear``: set rolecall up, and forget what it cached (role credentials and
MFA sessions alike: both are cache entries)."""

from __future__ import annotations

from rolecall import cache, config, request
from rolecall.cache import store
from rolecall.cli._output import CliError, say

__all__ = ["STARTER", "clear_cache", "init"]

STARTER = """\
# rolecall: which IAM role each profile assumes.
# Every boto3/botocore program of this Python environment reads this file; the full reference,
# with every key, is in rolecall's README and examples/roles.example.toml.
#
# [defaults]                      # optional: any key below, inherited by every profile
# region = "eu-west-1"
# duration_seconds = 3600
#
# [profiles.prod]                 # used by AWS_PROFILE=prod, profile_name="prod", --profile prod
# role_arn = "arn:aws:iam::111122223333:role/Deploy"      # required
# source_profile = "default"      # credentials that call STS: a profile of ~/.aws/config or
#                                 # ~/.aws/credentials, or another [profiles.*] table (chaining)
# # credential_source = "Ec2InstanceMetadata"             # or "Environment", "EcsContainer"
# # mfa_serial = "arn:aws:iam::111122223333:mfa/alice"
# # external_id = "..."
"""


def init() -> int:
    path = config.locate()
    if path.exists():
        raise CliError(f"{path} exists; not overwriting it")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("x") as handle:
        handle.write(STARTER)
    say(f"wrote {path}; edit it, then `rolecall check`")
    return 0


def clear_cache(profile: str | None, how: str = "") -> int:
    """Remove ``profile``'s cache entries, or every entry when ``profile`` is None. ``how``: where
    the profile came from (``--profile``, ``AWS_PROFILE``...), said when it was not explicit."""
    shared = ""
    if profile is None:
        removed = store.clear()
    else:
        loaded = config.load()
        if loaded is None or not loaded.declares(profile):
            origin = f" (from {how}; `rolecall cache clear --all` clears every profile)" \
                if how.startswith("AWS_") else ""
            raise CliError(f"profile {profile!r}{origin} is not declared in {config.locate()}")
        loaded.profile(profile)  # a broken profile raises its ConfigError: it has no key
        # Its role credentials, and the MFA session that signs them (shared with every profile
        # of the same source and MFA device: clearing it means one new code for all of them).
        keys = [request.cache_key(loaded, profile)]
        session = request.mfa_session_key(loaded, profile)
        if session is not None:
            keys.append(session)
            others = sorted(name for name in loaded.profiles if name != profile and
                            request.mfa_session_key(loaded, name) == session)
            shared = "; with its MFA session" + (
                f" (shared with {', '.join(others)}: they too ask for a new code)"
                if others else "")
        removed = store.clear(keys)
    where = f" (profile {profile!r} from {how}; --all for every profile)" \
        if profile is not None and how.startswith("AWS_") else ""
    say(f"removed {removed} cache entr{'y' if removed == 1 else 'ies'} from {cache.folder()}"
        f"{where}{shared}")
    return 0
