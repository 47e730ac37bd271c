"""Demo Academy's catalogue: its Products and lessons, its Offers and its tags."""

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from contacts.models import Tag
from contacts.services import tag_get_or_create
from kajaccess.actors import Actor
from kajaccess.models import Site, SiteMembership
from products.models import Lesson, Offer, Product
from purchases.offers.services import create_offer

LESSONS = {
    "Python Basics": [
        "Installing Python",
        "Values and variables",
        "Making decisions",
        "Loops",
        "Functions",
    ],
    "Advanced Python": [
        "Iterators and generators",
        "Decorators",
        "Context managers",
        "Concurrency",
    ],
}

PRODUCT_KINDS = {
    "Python Basics": Product.Kind.COURSE,
    "Advanced Python": Product.Kind.COURSE,
    "Community Vault": Product.Kind.COMMUNITY,
    "Coaching Calls": Product.Kind.COACHING,
}

BOOTCAMP = "Python Bootcamp"
VAULT = "Vault Membership"
COACHING = "Coaching Plan"
TRIAL = "30-Day Trial"
LEGACY = "Legacy Bundle"

# title: (what it costs, its Products)
OFFERS = {
    BOOTCAMP: (
        {"price": Decimal("299"), "payment_type": Offer.PaymentType.ONE_TIME},
        ["Python Basics", "Advanced Python"],
    ),
    VAULT: (
        {"price": Decimal("29"), "payment_type": Offer.PaymentType.SUBSCRIPTION},
        ["Community Vault"],
    ),
    COACHING: (
        {
            "price": Decimal("150"),
            "payment_type": Offer.PaymentType.PAYMENT_PLAN,
            "installments": 3,
        },
        ["Coaching Calls"],
    ),
    TRIAL: (
        {"price": Decimal("0"), "payment_type": Offer.PaymentType.FREE, "access_days": 30},
        ["Python Basics"],
    ),
    LEGACY: (
        {"price": Decimal("149"), "payment_type": Offer.PaymentType.ONE_TIME},
        ["Advanced Python"],
    ),
}

# The Offers the generated customers buy while they are on sale.
LIVE_OFFERS = [BOOTCAMP, VAULT, COACHING, TRIAL]

TAG_NAMES = ["VIP", "Trial", "Refund requested"]


@dataclass
class Catalogue:
    site: Site
    owner: object
    team: object
    support: object
    products: dict[str, Product]
    lessons: dict[str, list[Lesson]]
    offers: dict[str, Offer]
    tags: dict[str, Tag]

    def actor(self, role: str) -> Actor:
        """Who acts in a generated customer's story, by the role the story names."""
        return {
            "owner": Actor.creator(self.owner, role=SiteMembership.Role.OWNER),
            "team": Actor.creator(self.team, role=SiteMembership.Role.ASSISTANT),
            "support": Actor.support(self.support),
            "automation": Actor.automation(),
            "customer": Actor.customer(None),
        }[role]


def build_catalogue(site: Site, owner, team, support) -> Catalogue:
    products = {
        title: Product(site=site, title=title, kind=kind) for title, kind in PRODUCT_KINDS.items()
    }
    Product.objects.bulk_create(products.values())
    lessons = {
        title: Lesson.objects.bulk_create(
            Lesson(product=products[title], title=lesson, position=i, body=f"{lesson}.")
            for i, lesson in enumerate(names, start=1)
        )
        for title, names in LESSONS.items()
    }
    offers = {
        title: create_offer(
            site=site,
            actor=Actor.creator(owner, role=SiteMembership.Role.OWNER),
            title=title,
            products=[products[p] for p in product_titles],
            **fields,
        ).obj
        for title, (fields, product_titles) in OFFERS.items()
    }
    tags = {name: tag_get_or_create(site=site, name=name) for name in TAG_NAMES}
    return Catalogue(site, owner, team, support, products, lessons, offers, tags)


def load_catalogue(site: Site) -> Catalogue:
    """The catalogue of an existing Demo Academy, for adding generated contacts to it."""
    memberships = {m.role: m.user for m in site.memberships.select_related("user")}
    support = get_user_model().objects.filter(username="support@example.com").first()
    products = {p.title: p for p in site.products.all()}
    offers = {o.title: o for o in site.offers.all()}
    gone = [t for t in [*LESSONS, *LIVE_OFFERS] if t not in products and t not in offers]
    deleted = [t for t in LIVE_OFFERS if t in offers and offers[t].is_deleted]
    if gone or deleted:
        missing = ", ".join([*gone, *deleted])
        raise CommandError(
            f"Demo Academy no longer has {missing}, so no contacts can be generated "
            "for it. Run seed_demo --reset to rebuild the demo."
        )
    lessons = {title: list(products[title].lessons.order_by("position")) for title in LESSONS}
    tags = {name: tag_get_or_create(site=site, name=name) for name in TAG_NAMES}
    return Catalogue(
        site,
        memberships.get(SiteMembership.Role.OWNER),
        memberships.get(SiteMembership.Role.ASSISTANT),
        support,
        products,
        lessons,
        offers,
        tags,
    )
