"""Configuration: the TOML file format, its validation, and the frozen model it yields."""

from teamd_py.config.loader import (
    DEFAULT_CONFIG_PATH,
    ConfigError,
    Problem,
    load_config,
    parse_config,
)
from teamd_py.config.model import (
    CarrierConfig,
    Config,
    DaemonConfig,
    DampingConfig,
    HookConfig,
    MemberConfig,
    NotifyConfig,
    PathPolicy,
    Preempt,
    ProbeConfig,
    ProbeTarget,
    Role,
    TeamConfig,
    VlanConfig,
)

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "CarrierConfig",
    "Config",
    "ConfigError",
    "DaemonConfig",
    "DampingConfig",
    "HookConfig",
    "MemberConfig",
    "NotifyConfig",
    "PathPolicy",
    "Preempt",
    "ProbeConfig",
    "ProbeTarget",
    "Problem",
    "Role",
    "TeamConfig",
    "VlanConfig",
    "load_config",
    "parse_config",
]
