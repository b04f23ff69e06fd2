"""Demo traffic that is not a person (issue 19): crawlers, a scraper too fast to be a reader, mail
scanners, Apple Mail Privacy Protection opens and our own people, over the backfilled days, so the
Data-health page shows each class and the Account page flags them. Sent signed, as the rest of the demo,
with the user agent a webhook relays in the event."""
from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta

# The demo company's own domain: `pulse up --demo` makes it PULSE_INTERNAL_DOMAINS when that is unset.
OWN_DOMAIN = "pulse-demo.example"
CAMPAIGN = "cmp-november-newsletter"
CRAWLERS = ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
            "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)")
CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/124.0.0.0 Safari/537.36")


def _event(rnd: random.Random, at: datetime, **fields) -> dict:
    return {"event_id": str(uuid.UUID(int=rnd.getrandbits(128), version=4)), "occurred_at": at.isoformat(),
            "source": "demo", **fields}


def day_of_traffic(world, rnd: random.Random, start: datetime) -> list[dict]:
    """One day's non-person touches from `start` (a few of each class; a scraper burst some days)."""
    out = []
    page = lambda: f"https://{OWN_DOMAIN}" + rnd.choice(("/", "/pricing", "/product", "/blog/abm-playbook"))  # noqa: E731
    at = lambda: start + timedelta(seconds=rnd.uniform(0, 80_000))  # noqa: E731
    for _ in range(rnd.randint(4, 9)):
        out.append(_event(rnd, at(), type="page_view", url=page(), anonymous_id=f"crawler-{rnd.randint(1, 40)}",
                          user_agent=rnd.choice(CRAWLERS)))
    if rnd.random() < 0.3:  # a scraper with a browser's agent: 35 pages in one minute (the rate rule)
        minute = at().replace(second=0, microsecond=0)
        cookie = f"scraper-{rnd.getrandbits(32):08x}"
        out += [_event(rnd, minute + timedelta(seconds=i * 1.5), type="page_view", url=page(), anonymous_id=cookie,
                       user_agent=CHROME) for i in range(35)]
    for _ in range(rnd.randint(2, 5)):
        account = rnd.choices(world.accounts, world.weights)[0]
        person = rnd.choice(world.people[account.account_id])
        first = at()
        kind = rnd.random()
        if kind < 0.45:    # Apple Mail Privacy Protection fetched the image
            out.append(_event(rnd, first, type="email_open", email=person.email, campaign_id=CAMPAIGN,
                              ip=f"17.58.{rnd.randint(0, 255)}.{rnd.randint(1, 254)}", user_agent="Mozilla/5.0"))
        elif kind < 0.7:   # a gateway that names itself
            out.append(_event(rnd, first, type="email_open", email=person.email, campaign_id=CAMPAIGN,
                              user_agent="Barracuda Sentinel (EE)"))
        else:              # a gateway with a browser's agent: opens, then follows the link within seconds
            out.append(_event(rnd, first, type="email_open", email=person.email, campaign_id=CAMPAIGN,
                              user_agent=CHROME))
            out.append(_event(rnd, first + timedelta(seconds=rnd.uniform(0.5, 4)), type="email_click",
                              email=person.email, campaign_id=CAMPAIGN, user_agent=CHROME,
                              url=f"https://{OWN_DOMAIN}/webinars/q4-roadmap"))
    for _ in range(rnd.randint(2, 6)):  # our own people reading our own site
        out.append(_event(rnd, at(), type="page_view", url=page(), email=f"{rnd.choice(('sam', 'lee', 'max'))}@"
                          f"{OWN_DOMAIN}", user_agent=CHROME, engaged_seconds=rnd.randint(5, 120)))
    return out


def post_traffic(post, url: str, secret: str, world, rnd: random.Random, now: datetime, days: int) -> int:
    """Post `days` days of non-person traffic up to `now`; returns how many touches."""
    touches = [t for d in range(days, 0, -1)
               for t in day_of_traffic(world, rnd, now - timedelta(days=d) + timedelta(minutes=5))]
    touches = [t for t in touches if t["occurred_at"] < now.isoformat()]
    for start in range(0, len(touches), 500):
        post(url, touches[start:start + 500], secret)
    return len(touches)
