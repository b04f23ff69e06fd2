"""How a HubSpot contacts export and a Salesforce lead or contact report name a person's lifecycle, for
`pulse lifecycle import --from hubspot|salesforce`: which columns hold what, and the labels of stages,
statuses and lead sources. Pure data and small look-ups; schemas/lifecycle_csv.py reads the rows.

Column names are compared without case and runs of spaces; the first one present of each tuple wins.
"""
from __future__ import annotations

import re

# contract field -> the columns that fill it (every preset also takes the contract's own name)
FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "hubspot": {
        "email": ("Email",),
        "owner": ("Contact owner", "HubSpot Owner"),
        "lead_status": ("Lead Status",),
        "source": ("Original Source", "Original Traffic Source"),
        "account_id": ("Associated Company IDs (Primary)", "Associated Company ID", "Primary Associated Company ID"),
        "current": ("Lifecycle Stage",),        # the stage now, by label
        "modified": ("Last Modified Date",),     # when the current stage was (at the latest) set
    },
    "salesforce": {
        "email": ("Email",),
        "owner": ("Lead Owner", "Contact Owner", "Owner Name", "Owner"),
        "lead_status": ("Lead Status", "Status"),
        "source": ("Lead Source",),
        "account_id": ("Account ID", "Converted Account ID"),
        "created": ("Created Date", "Create Date"),   # every row became a lead when it was created
        "modified": ("Last Modified Date",),
    },
    "pulse": {},
}


def _entered(label: str) -> str:
    """HubSpot's newer stage-pipeline properties: Date entered "Lead (Lifecycle Stage Pipeline)"."""
    return f"Date entered \"{label} (Lifecycle Stage Pipeline)\""


# stage -> the date columns that say when the person became it
STAGE_DATES: dict[str, dict[str, tuple[str, ...]]] = {
    "hubspot": {
        "subscriber": ("Became a Subscriber Date", _entered("Subscriber")),
        "lead": ("Became a Lead Date", _entered("Lead")),
        "mql": ("Became a Marketing Qualified Lead Date", _entered("Marketing Qualified Lead")),
        "sql": ("Became a Sales Qualified Lead Date", _entered("Sales Qualified Lead")),
        "opportunity": ("Became an Opportunity Date", _entered("Opportunity")),
        "customer": ("Became a Customer Date", _entered("Customer")),
        "evangelist": ("Became an Evangelist Date", _entered("Evangelist")),
        "other": ("Became an Other Lifecycle Date", "Became a Other Lifecycle Date", _entered("Other")),
    },
    # Salesforce has no standard MQL / SQL dates: the custom fields most orgs add, by their usual labels.
    "salesforce": {
        "mql": ("MQL Date", "Marketing Qualified Date", "Marketing Qualified Lead Date", "Date MQL"),
        "sql": ("SQL Date", "Sales Qualified Date", "Sales Qualified Lead Date", "Sales Accepted Date", "Date SQL"),
        "opportunity": ("Converted Date",),
    },
    "pulse": {},
}


def key(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.casefold())


# HubSpot's Lifecycle Stage, by label or internal value
HUBSPOT_STAGES = {"subscriber": "subscriber", "lead": "lead", "marketingqualifiedlead": "mql", "mql": "mql",
                  "salesqualifiedlead": "sql", "sql": "sql", "opportunity": "opportunity", "customer": "customer",
                  "evangelist": "evangelist", "other": "other"}

# Salesforce Lead Status -> the stage it means; any other status (Open - Not Contacted, Working - Contacted,
# Closed - Not Converted, a custom one) leaves the person a lead, the status kept as lead_status.
SALESFORCE_STATUSES = {
    "mql": ("mql", "marketingqualified", "marketingqualifiedlead", "qualified"),
    "sql": ("sql", "salesqualified", "salesqualifiedlead", "salesaccepted", "sal", "salesacceptedlead"),
    "opportunity": ("closedconverted", "converted"),
}
_STATUS_STAGE = {label: stage for stage, labels in SALESFORCE_STATUSES.items() for label in labels}


def hubspot_stage(label: str, stages: tuple[str, ...]) -> str | None:
    """The stage of a Lifecycle Stage cell; a custom stage counts when PULSE_LIFECYCLE_STAGES names it."""
    stage = HUBSPOT_STAGES.get(key(label))
    if stage is None and re.sub(r"[^0-9a-z]+", "_", label.casefold()).strip("_") in stages:
        stage = re.sub(r"[^0-9a-z]+", "_", label.casefold()).strip("_")
    return stage


def salesforce_stage(status: str) -> str:
    return _STATUS_STAGE.get(key(status), "lead")


# Original Source (HubSpot) / Lead Source (Salesforce) -> the contract's source. Anything else is `other`.
SOURCES = {
    "hubspot": {
        "marketing": ("organicsearch", "paidsearch", "emailmarketing", "socialmedia", "organicsocial", "paidsocial",
                      "referrals", "othercampaigns", "directtraffic", "aireferrals", "aisearch"),
        "sales": ("offline", "offlinesources"),
    },
    "salesforce": {
        "marketing": ("web", "webinar", "advertisement", "tradeshow", "seminarinternal", "phoneinquiry",
                      "publicrelations", "purchasedlist", "email", "contentsyndication"),
        "sales": ("outbound", "coldcall", "salesprospecting", "employeereferral", "sales"),
        "partner": ("partner", "partnerreferral", "seminarpartner"),
    },
}


def source_of(text: str, preset: str) -> str:
    for source, labels in SOURCES.get(preset, {}).items():
        if key(text) in labels:
            return source
    return "other" if preset in SOURCES else text
