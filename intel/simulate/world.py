"""The simulated customers: tenants, their endpoints and each endpoint's character.

The world depends on the seed and the endpoint base only (never on the period or the
volume), so a history run and a later live run of the same seed talk about the same
endpoints with the same secrets.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

import numpy as np

from intel.simulate import texts
from intel.simulate.texts import CLIENTS, PROXIES, Target

N_TENANTS = 25

_TENANT_NAMES = (
    "acme-corp", "globex", "initech", "umbrella-health", "hooli", "soylent-foods", "stark-ind",
    "wayne-ent", "wonka-sweets", "cyberdyne", "tyrell-bio", "oscorp", "vandelay-imports",
    "dunder-paper", "pied-piper", "aperture-labs", "black-mesa", "massive-dynamic", "gringotts",
    "monsters-inc", "blue-sun", "weyland-yutani", "nakatomi", "virtucon", "rekall",
    "bluth-co", "los-pollos", "sterling-cooper", "kwik-e-mart", "duff-brewing", "paper-street",
    "ollivanders", "spacely-sprockets", "cogswell-cogs", "gekko-partners", "contoso",
    "fabrikam", "northwind", "tailspin-toys", "adventure-works", "wingtip", "litware",
    "proseware", "lucerne-pub", "woodgrove-bank", "alpine-ski", "coho-winery", "fourth-coffee",
    "trey-research", "wide-world-imp",
)

_ARCHETYPES = {
    "billing": ("invoice.paid", "invoice.created", "customer.created", "customer.updated",
                "invoice.payment_failed", "subscription.renewed", "subscription.canceled",
                "charge.refunded"),
    "commerce": ("order.created", "order.paid", "order.fulfilled", "cart.abandoned",
                 "order.canceled", "refund.created", "inventory.low"),
    "identity": ("session.created", "user.updated", "user.created", "mfa.enabled",
                 "user.deleted", "password.reset"),
    "logistics": ("shipment.in_transit", "shipment.created", "shipment.delivered",
                  "shipment.exception", "pickup.scheduled"),
    "messaging": ("message.delivered", "message.sent", "message.opened", "message.bounced",
                  "contact.unsubscribed"),
}
_OBJECT = {
    "invoice": ("in", "invoice"), "customer": ("cus", "customer"), "subscription": ("sub", "sub"),
    "charge": ("ch", "charge"), "order": ("ord", "order"), "cart": ("cart", "cart"),
    "refund": ("re", "refund"), "inventory": ("sku", "sku"), "session": ("sess", "session"),
    "user": ("usr", "user"), "mfa": ("usr", "user"), "password": ("usr", "user"),
    "shipment": ("shp", "shipment"), "pickup": ("pck", "pickup"), "message": ("msg", "message"),
    "contact": ("ct", "contact"),
}
_SLUGS = ("billing", "orders", "payments", "crm-sync", "audit-log", "notifications",
          "fulfillment", "analytics", "ledger", "erp-bridge", "slack-relay", "support",
          "subscriptions", "inventory", "identity", "risk", "marketing", "search-index",
          "data-lake", "invoices")
_PATHS = ("/webhooks/{slug}", "/api/v1/webhooks/{slug}", "/aetherlink/{slug}",
          "/integrations/aetherlink/{slug}", "/hooks/{slug}/{h}", "/v2/events/{slug}")
_CURRENCIES = ("usd", "eur", "gbp", "usd", "usd", "eur", "jpy", "cad")

# How often each cause appears in an ordinary endpoint's baseline failures (before the
# per-endpoint perturbation). {client}/{proxy5xx} are filled per endpoint.
_BASE_MIX = (
    ("{proxy5xx}", 0.30), ("timeout_{client}", 0.18), ("reset_{client}", 0.10),
    ("conn_refused_{client}", 0.09), ("dns_eai_again_{client}", 0.02),
    ("dns_nxdomain_{client}", 0.01), ("tls_cert_{client}", 0.01), ("app_500", 0.05),
    ("http_404", 0.02), ("http_422", 0.04), ("signature_invalid", 0.03), ("http_401", 0.01),
    ("http_403", 0.01), ("rate_limit_429", 0.04), ("unknown_error", 0.02),
)
_FLAKY_MIX = (("{proxy5xx}", 0.45), ("timeout_{client}", 0.35), ("reset_{client}", 0.20))


@dataclass
class Endpoint:
    index: int
    tenant: str
    tenant_index: int
    slug: str
    url: str
    target: Target
    share: float  # of its tenant's regular traffic (0 for sparse endpoints)
    fail_rate: float
    mix: dict[str, float]
    success: int  # index into texts.SUCCESS_VARIANTS
    latency_ms: float  # median duration of a successful attempt
    secret: str
    event_types: tuple[str, ...]
    event_weights: tuple[float, ...]
    profile: str = ""  # "", "flaky", "sparse", "gone", "not_found"
    sparse_per_day: float = 0.0


@dataclass
class Tenant:
    index: int
    name: str
    domain: str
    weight: float  # Zipf-like share of platform traffic
    tz_hours: float  # local time offset that shapes its day
    archetype: str
    endpoints: list[int] = field(default_factory=list)


@dataclass
class World:
    seed: int
    endpoint_base: str | None
    tenants: list[Tenant]
    endpoints: list[Endpoint]
    # event type -> payload format string (str.format with positional fields, see batch.py)
    payload_templates: dict[tuple[int, str], str]

    def regular(self) -> list[Endpoint]:
        return [e for e in self.endpoints if e.profile in ("", "flaky")]

    def endpoint_rate_weight(self) -> np.ndarray:
        """Expected share of regular platform traffic per endpoint (sums to 1)."""
        w = np.array([self.tenants[e.tenant_index].weight * e.share for e in self.endpoints])
        return w / w.sum()

    def by_url(self) -> dict[str, Endpoint]:
        return {e.url: e for e in self.endpoints}


def build_world(seed: int, endpoint_base: str | None = None) -> World:
    rng = np.random.default_rng([seed, 2])
    names = list(rng.choice(np.array(_TENANT_NAMES), size=N_TENANTS, replace=False))
    zipf = 1.0 / np.arange(1, N_TENANTS + 1) ** 1.1
    zipf = zipf / zipf.sum()
    tenants: list[Tenant] = []
    endpoints: list[Endpoint] = []
    archetypes = list(_ARCHETYPES)
    # Where tenants live: mostly the Americas and Europe, some Asia-Pacific.
    tz_choices = np.array([-8.0, -6.0, -5.0, 0.0, 1.0, 2.0, 5.5, 9.0, 10.0])
    tz_weights = np.array([0.18, 0.08, 0.24, 0.12, 0.16, 0.07, 0.05, 0.06, 0.04])
    for ti, name in enumerate(names):
        tenant = Tenant(
            index=ti, name=str(name), domain=f"{name}.example", weight=float(zipf[ti]),
            tz_hours=float(rng.choice(tz_choices, p=tz_weights)),
            archetype=archetypes[int(rng.integers(len(archetypes)))],
        )
        tenants.append(tenant)
        n_ep = int(rng.integers(2, 7))
        slugs = rng.choice(np.array(_SLUGS), size=n_ep, replace=False)
        shares = rng.dirichlet(np.full(n_ep, 1.2))
        for slug, share in zip(slugs, shares, strict=True):
            endpoints.append(_endpoint(rng, len(endpoints), tenant, str(slug), float(share),
                                       endpoint_base))
            tenant.endpoints.append(len(endpoints) - 1)

    _assign_profiles(rng, tenants, endpoints, endpoint_base)
    templates = {}
    for ti, tenant in enumerate(tenants):
        for et in _ARCHETYPES[tenant.archetype]:
            templates[(ti, et)] = _payload_template(tenant, et)
    return World(seed=seed, endpoint_base=endpoint_base, tenants=tenants, endpoints=endpoints,
                 payload_templates=templates)


def _endpoint(rng, index: int, tenant: Tenant, slug: str, share: float,
              endpoint_base: str | None) -> Endpoint:
    client = str(rng.choice(np.array(CLIENTS), p=[0.3, 0.2, 0.15, 0.08, 0.07, 0.12, 0.08]))
    proxy = str(rng.choice(np.array(PROXIES), p=[0.35, 0.25, 0.2, 0.1, 0.1]))
    if endpoint_base:
        url = f"{endpoint_base}/hooks/{tenant.name}/{slug}"
        ip = ""
    else:
        if proxy == "heroku":
            host = f"{tenant.name}-{slug}.herokuapp.example"
        else:
            host = str(rng.choice(np.array([f"hooks.{tenant.domain}", f"api.{tenant.domain}",
                                            f"{slug}.{tenant.domain}",
                                            f"events.{tenant.domain}"])))
        port = ":8443" if rng.random() < 0.08 else ""
        path = str(rng.choice(np.array(_PATHS))).format(slug=slug, h=f"{rng.integers(16**8):08x}")
        url = f"https://{host}{port}{path}"
        net = str(rng.choice(np.array(["192.0.2", "198.51.100", "203.0.113"])))
        ip = f"{net}.{int(rng.integers(2, 254))}"
    target = texts.target_from_url(url, client=client, proxy=proxy, ip=ip, tenant=tenant.name)
    fail_rate = float(np.clip(rng.lognormal(np.log(0.012), 0.6), 0.002, 0.05))
    mix = _mix(rng, _BASE_MIX, client, proxy, rate_limited=rng.random() < 0.25)
    events = _ARCHETYPES[tenant.archetype]
    k = int(rng.integers(2, len(events) + 1))
    chosen = sorted(rng.choice(len(events), size=k, replace=False))
    weights = 1.0 / (np.arange(1, k + 1) ** 0.9)
    secret = "whsec_" + base64.b64encode(rng.bytes(24)).decode("ascii")
    return Endpoint(
        index=index, tenant=tenant.name, tenant_index=tenant.index, slug=slug, url=url,
        target=target, share=share, fail_rate=fail_rate, mix=mix,
        success=int(rng.integers(len(texts.SUCCESS_VARIANTS))),
        latency_ms=float(rng.lognormal(np.log(120), 0.7)), secret=secret,
        event_types=tuple(events[i] for i in chosen),
        event_weights=tuple(float(w) for w in weights / weights.sum()),
    )


def _mix(rng, base, client: str, proxy: str, rate_limited: bool = False) -> dict[str, float]:
    mix: dict[str, float] = {}
    for pattern, weight in base:
        w = weight * float(rng.gamma(1.5, 1 / 1.5))
        if pattern == "{proxy5xx}":
            causes = texts.PROXY_5XX[proxy]
            for c in causes:
                mix[c] = mix.get(c, 0.0) + w / len(causes)
            continue
        name = pattern.format(client=client)
        if name == "rate_limit_429" and rate_limited:
            w *= 4
        mix[name] = mix.get(name, 0.0) + w
    total = sum(mix.values())
    return {k: v / total for k, v in mix.items()}


def _assign_profiles(rng, tenants: list[Tenant], endpoints: list[Endpoint],
                     endpoint_base: str | None) -> None:
    """Chronic characters: one flaky, one gone (410), one removed (404), three sparse."""
    order = [e.index for e in endpoints if len(tenants[e.tenant_index].endpoints) >= 3]
    order = [int(i) for i in rng.permutation(order)]
    # Flaky: a mid-volume endpoint of a mid-size tenant, ~20-30 % failures all week.
    mid = [i for i in order if 3 <= endpoints[i].tenant_index <= 15]
    flaky = endpoints[mid[0] if mid else order[0]]
    flaky.profile = "flaky"
    flaky.fail_rate = float(rng.uniform(0.2, 0.3))
    flaky.mix = _mix(rng, _FLAKY_MIX, flaky.target.client, flaky.target.proxy)
    used_tenants = {flaky.tenant_index}
    rest = [i for i in order if endpoints[i].tenant_index not in used_tenants
            and endpoints[i].tenant_index >= 2]
    for profile, cause in (("gone", "http_410"), ("not_found", "http_404")):
        ep = endpoints[rest.pop(0)]
        ep.profile = profile
        ep.fail_rate = 1.0
        ep.mix = {cause: 1.0}
        # A removed endpoint still receives its subscriptions: ~0.3 % of platform traffic.
        ep.share = min(ep.share, 0.003 / tenants[ep.tenant_index].weight)
        rest = [i for i in rest if endpoints[i].tenant_index != ep.tenant_index]
    # Sparse: three extra low-volume endpoints (a few deliveries a day).
    small = sorted(range(len(tenants)), key=lambda t: tenants[t].weight)[:10]
    picks = rng.choice(np.array(small), size=3, replace=False)
    for ti in picks:
        tenant = tenants[int(ti)]
        taken = {endpoints[i].slug for i in tenant.endpoints}
        slug = next(s for s in ("legacy-sync", "sandbox", "partner-feed", "backup-hooks")
                    if s not in taken)
        ep = _endpoint(rng, len(endpoints), tenant, slug, 0.0, endpoint_base)
        ep.profile = "sparse"
        ep.sparse_per_day = float(rng.uniform(2.0, 8.0))
        ep.fail_rate = float(rng.uniform(0.06, 0.15))
        endpoints.append(ep)
        tenant.endpoints.append(ep.index)


_SENTINELS = {"@0@": "{0}", "@1@": "{1}", "@2@": "{2}", "@3@": "{3}", "@4@": "{4}",
              "@5@": "{5}", "@6@": "{6}"}


def _payload_template(tenant: Tenant, event_type: str) -> str:
    """A ``str.format`` template producing ``json.dumps`` text of the event payload.

    Positional fields: 0 event id hex, 1 created (epoch s), 2 object id hex, 3 customer
    id hex, 4 amount (int), 5 currency, 6 a small count.
    """
    noun = event_type.split(".", 1)[0]
    prefix, obj = _OBJECT.get(noun, ("obj", noun))
    data: dict = {"object": obj, "id": f"{prefix}_@2@"}
    if tenant.archetype in ("billing", "commerce"):
        data.update({"customer": "cus_@3@", "amount": "#4#", "currency": "@5@"})
        if noun in ("order", "cart"):
            data["items"] = "#6#"
    elif tenant.archetype == "identity":
        data.update({"email": f"user.@3@@{tenant.domain}", "mfa": "#6#"})
    elif tenant.archetype == "logistics":
        data.update({"carrier": "ups" if len(event_type) % 2 else "dhl",
                     "tracking_number": "1Z@3@", "parcels": "#6#"})
    else:
        data.update({"recipient": "ct_@3@", "channel": "email" if len(event_type) % 2 else "sms",
                     "segments": "#6#"})
    payload = {"id": "evt_@0@", "type": event_type, "created": "#1#", "account": tenant.name,
               "data": data}
    text = json.dumps(payload).replace("{", "{{").replace("}", "}}")
    for i in range(7):
        text = text.replace(f'"#{i}#"', f"{{{i}}}")
    for sentinel, field_ in _SENTINELS.items():
        text = text.replace(sentinel, field_)
    return text
