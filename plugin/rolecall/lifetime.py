"""How long temporary credentials are good for: refresh windows that scale with their lifetime.

botocore refreshes 15 (advisory) and 10 (mandatory) minutes before expiry whatever the lifetime,
so a 900-second role would be refreshed on every request. Here the windows shrink with short
lifetimes. Pure arithmetic, no imports: shared by the cache and the credential-process hit path.
"""

__all__ = ["ADVISORY_MAX", "MANDATORY_MAX", "fresh", "windows"]

ADVISORY_MAX = 15 * 60  # botocore's advisory window, for credentials that live an hour or more
MANDATORY_MAX = 10 * 60  # botocore's mandatory window


def windows(lifetime: float) -> tuple[float, float]:
    """Advisory and mandatory refresh windows (seconds before expiry) for a given lifetime."""
    return min(ADVISORY_MAX, lifetime / 4), min(MANDATORY_MAX, lifetime / 6)


def fresh(remaining: float, lifetime: float, need: float = 0) -> bool:
    """Good to hand out: more time left than the advisory window, and than ``need`` seconds where
    the lifetime allows it (a 900-second role can never have 15 minutes left after its first
    second, so there ``need`` gives way to the role's own window)."""
    wanted = windows(lifetime)[0]
    if need < lifetime - 60:
        wanted = max(wanted, need)
    return remaining > wanted
