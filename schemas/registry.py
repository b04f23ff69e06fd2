"""Registry records: target accounts and contacts, as they travel on the registry topic."""
from __future__ import annotations

from typing import Literal, Union

import msgspec


class AccountRecord(msgspec.Struct, frozen=True, kw_only=True):
    account_id: str
    name: str = ""
    domains: tuple[str, ...] = ()
    ip_ranges: tuple[str, ...] = ()
    tier: str = ""
    is_target: bool = True
    committee_size: int | None = None
    owner: str = ""


class ContactRecord(msgspec.Struct, frozen=True, kw_only=True):
    email: str
    account_id: str = ""
    name: str = ""
    title: str = ""
    role: Literal["c_level", "vp", "director", "manager", "other"] = "other"


class AccountsChanged(msgspec.Struct, tag="accounts", tag_field="kind"):
    items: list[AccountRecord]


class ContactsChanged(msgspec.Struct, tag="contacts", tag_field="kind"):
    items: list[ContactRecord]


RegistryChange = Union[AccountsChanged, ContactsChanged]
encode_change = msgspec.json.Encoder().encode
decode_change = msgspec.json.Decoder(RegistryChange).decode

ACCOUNT_COLUMNS = ("account_id", "name", "domains", "ip_ranges", "tier", "is_target", "committee_size", "owner")
CONTACT_COLUMNS = ("email", "account_id", "name", "title", "role")
