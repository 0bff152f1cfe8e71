"""The sidecar worker (``python -m intel worker``): the detector's loop, its leader lease,
heartbeat, rolling counts, notifications and Redis events. See ``runner``."""
