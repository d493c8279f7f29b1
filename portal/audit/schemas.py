"""The audit-proof API's queries and answers, declared once (see ``portal/payloads.py``)."""
from __future__ import annotations

from pydantic import BaseModel, Field

from portal.payloads import Page, Payload


class ConsistencyQuery(Payload):
    from_: int = Field(alias="from", ge=1, le=2**63 - 1, description="The tree size of a checkpoint.")
    to: int = Field(ge=1, le=2**63 - 1, description="The tree size of a later checkpoint.")


class PublicKey(BaseModel):
    key_id: str
    public_key: str = Field(description="base64, raw 32 bytes")
    created_at: str | None
    retired_at: str | None


class PublicKeyPage(Page):
    items: list[PublicKey]


class Checkpoint(BaseModel):
    tree_size: int
    root_hash: str = Field(description="hex")
    key_id: str
    signed_text: str = Field(description="C2SP tlog-checkpoint body: origin, size, base64 root, each line "
                                          "ending in a newline")
    signature: str = Field(description="base64 Ed25519 over signed_text's UTF-8 bytes")
    created_at: str | None


class CheckpointPage(Page):
    items: list[Checkpoint]


class ConsistencyOut(BaseModel):
    from_: int = Field(alias="from")
    to: int
    proof: list[str]


class Access(BaseModel):
    id: int
    occurred_at: str | None
    actor_email: str
    actor_org: str
    action: str
    object_type: str
    object_id: str
    source_ip: str
    reason: str
    leaf: str = Field(description="base64 of the entry's leaf bytes (README)")
    sealed: bool
    leaf_index: int | None
    tree_size: int | None
    inclusion_proof: list[str] | None


class OurContentPage(Page):
    checkpoint: Checkpoint | None
    items: list[Access]
