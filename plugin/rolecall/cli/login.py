"""``rolecall login``: ask for the MFA code now, in a terminal, before non-interactive jobs.

For each link of the profile's chain that has an MFA session (``mfa_session_duration``), the
session is started (one code) unless a live one is cached; then the profile's own credentials are
fetched, so a link that asks for a code per role asks now too. Codes come from the same places as
ever (``mfa_token_command``, else a prompt on the terminal). Prints expiries, never a secret.
"""

from __future__ import annotations

from datetime import datetime, timezone

from rolecall import config
from rolecall.cli._output import CliError, say
from rolecall.temporary import utc_text

__all__ = ["login"]


def _until(moment: datetime) -> str:
    left = (moment - datetime.now(timezone.utc)).total_seconds()
    stamp = utc_text(moment)
    return f"{stamp} (in {int(left // 3600)} h {int(left % 3600 // 60)} min)"


def login(name: str, how: str, renew: bool = False) -> int:
    """Start the MFA sessions of profile ``name``'s chain (``renew``: even when a live one is
    cached) and fetch its credentials; ``how``: where the profile came from."""
    loaded = config.load()
    if loaded is None or not loaded.declares(name):
        origin = f" (from {how})" if how.startswith("AWS_") else ""
        raise CliError(f"profile {name!r}{origin} is not declared in {config.locate()}")
    loaded.profile(name)  # a broken profile raises its ConfigError
    chain: list[str] = []
    current: str | None = name
    while current is not None:
        chain.append(current)
        current = loaded.profiles[current].parent
    if not any(loaded.profiles[link].mfa_serial for link in chain):
        raise CliError(f"profile {name!r} needs no MFA code (no mfa_serial in its chain): "
                    "nothing to log in to")
    from rolecall import resolve, sts  # botocore, STS: only now

    for link in reversed(chain):  # the source end first, as a fetch goes
        profile = loaded.profiles[link]
        if profile.mfa_serial is None or profile.mfa_session_duration is None:
            continue
        state = sts.mfa_session(loaded, link, renew=renew)
        if state.entry is None:
            say(f"{link}: no MFA session ({state.reason}); a code per role instead")
            continue
        verb = "started" if state.started else "already started"
        say(f"{link}: MFA session of {profile.mfa_serial} {verb}, expires "
            f"{_until(state.entry.expiry)}")
        if not profile.cache:
            say(f"{link}: cache = false: the session lives in this process only; every other "
                "process asks for its own code")
    credentials = resolve.credentials(loaded, name)
    say(f"{name}: role credentials expire {_until(credentials.expiry)}")
    return 0
