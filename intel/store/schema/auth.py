"""API tokens (CONTRACTS §6): only a hash of each secret is stored."""

from sqlalchemy import Column, Index, String, Table

from intel.store.schema._meta import metadata
from intel.store.types import JSONDoc, UTCDateTime

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("role", String(16), nullable=False),  # viewer | operator | admin
    Column("tenants", JSONDoc, nullable=False),  # list of tenant ids; [] = all tenants
    # sha256 of the secret, hex: tokens are 256 random bits, so a fast hash is enough.
    Column("token_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("expires_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
    Column("last_used_at", UTCDateTime),
    Index("uq_api_tokens_token_hash", "token_hash", unique=True),
)
