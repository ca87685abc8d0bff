"""The team policy: discovery, loading with ``extends``, validation and caching."""

from mlops_guard.policy.load import load_policy, resolve_policy_source
from mlops_guard.policy.settings import Settings

__all__ = ["Settings", "load_policy", "resolve_policy_source"]
