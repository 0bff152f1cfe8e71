"""Size limits on untrusted values: what a customer's endpoint (or an import file) can make
us store, and how much text the API returns (owned by deliveries; the API reads
``api_text_chars``).

A response body, error text or response headers over their limit are stored cut, the rest
replaced by a visible marker (``…[truncated N bytes]``), and the import counts them. A
payload is never cut (a replay must send it byte-exact): a record whose payload is over
``max_payload_bytes`` is rejected with its line, as is a record over ``max_record_bytes``.
"""

from pydantic import Field

from intel.settings._base import Section

KIB = 1024
MIB = 1024 * KIB


class LimitSettings(Section):
    max_body_bytes: int = Field(
        64 * KIB,
        ge=256,
        description="Bytes (UTF-8) of a delivery's response body stored; the rest is cut "
        "and replaced by a '…[truncated N bytes]' marker (triage reads the first 2 KB).",
    )
    max_error_bytes: int = Field(
        8 * KIB,
        ge=256,
        description="Bytes (UTF-8) of a delivery's error text stored; the rest is cut with "
        "the same marker.",
    )
    max_headers_bytes: int = Field(
        16 * KIB,
        ge=256,
        description="Bytes of a delivery's response headers stored (their JSON size): "
        "headers past it are dropped and a '…truncated' entry says how many bytes and "
        "headers were cut; an over-long value is cut with the marker.",
    )
    max_payload_bytes: int = Field(
        1 * MIB,
        ge=256,
        description="Largest payload (bytes of the body a replay sends). A payload is "
        "replayed byte-exact, so it is never cut: an import record with a larger payload "
        "is rejected with its line.",
    )
    max_record_bytes: int = Field(
        8 * MIB,
        ge=1 * KIB,
        description="Largest import record (its bytes in the file: a JSON Lines line, a "
        "CSV record, a Parquet row's text); a larger one is rejected with its line.",
    )
    api_text_chars: int = Field(
        64 * KIB,
        ge=256,
        description="Characters of any one stored text (body, error, payload text, header "
        "value) an API response carries; longer ones are cut with the marker.",
    )
