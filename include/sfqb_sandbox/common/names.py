"""Deterministic names and addresses shared by both seeds.

The QuickBooks and Salesforce seeds draw from the same generator so that some Salesforce
Accounts match QuickBooks Customers by exact name and some do not: the first-run matching has
real work to do. Pure functions of an integer index: the same index gives the same values.
"""

from __future__ import annotations

_FIRST = (
    "Ada",
    "Ben",
    "Carla",
    "Dmitri",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jamal",
    "Keiko",
    "Liam",
    "Maya",
    "Noor",
    "Oscar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Victor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoe",
    "Zoë",
    "Seán",
    "Renée",
    "José",
)
_LAST = (
    "Adams",
    "Baker",
    "Chen",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ito",
    "Jones",
    "Khan",
    "Lopez",
    "Müller",
    "Nguyen",
    "O'Brien",
    "Patel",
    "Quint",
    "Rossi",
    "Smith",
    "Tanaka",
    "Ueda",
    "Vargas",
    "Walsh",
    "Xu",
    "Young",
    "Zhang",
    "D'Angelo",
    "Brontë",
    "Ørsted",
    "Nakamura",
)
_WORD_A = (
    "Acme",
    "Blue",
    "Cedar",
    "Delta",
    "Evergreen",
    "Falcon",
    "Granite",
    "Harbor",
    "Iron",
    "Juniper",
    "Keystone",
    "Lumen",
    "Maple",
    "North",
    "Oak",
    "Pioneer",
    "Quartz",
    "River",
    "Summit",
    "Tidal",
    "Union",
    "Vista",
    "Willow",
    "Xenon",
    "Yellowstone",
    "Zenith",
)
_WORD_B = (
    "Analytics",
    "Bakery",
    "Builders",
    "Consulting",
    "Dental",
    "Design",
    "Electric",
    "Foods",
    "Garage",
    "Health",
    "Imports",
    "Labs",
    "Logistics",
    "Media",
    "Motors",
    "Outfitters",
    "Plumbing",
    "Realty",
    "Robotics",
    "Supply",
    "Systems",
    "Textiles",
    "Travel",
    "Works",
)
_SUFFIX = ("Inc", "LLC", "Co", "Ltd", "Group", "& Sons", "Partners", "Corp")
_STREETS = ("Main St", "Oak Ave", "Pine Rd", "Market St", "2nd Ave", "Lake Dr", "Hill Blvd")
_CITIES = (
    ("San Francisco", "CA", "941"),
    ("Austin", "TX", "787"),
    ("Portland", "OR", "972"),
    ("Denver", "CO", "802"),
    ("Boston", "MA", "021"),
    ("Chicago", "IL", "606"),
    ("Seattle", "WA", "981"),
    ("Miami", "FL", "331"),
)


def company_name(i: int) -> str:
    """A unique company name for every non-negative index."""
    a = _WORD_A[i % len(_WORD_A)]
    b = _WORD_B[(i // len(_WORD_A)) % len(_WORD_B)]
    s = _SUFFIX[(i // (len(_WORD_A) * len(_WORD_B))) % len(_SUFFIX)]
    cycle = i // (len(_WORD_A) * len(_WORD_B) * len(_SUFFIX))
    return f"{a} {b} {s}" + (f" {cycle + 1}" if cycle else "")


def person(i: int) -> tuple[str, str]:
    """(given name, family name)."""
    return _FIRST[i % len(_FIRST)], _LAST[(i * 7 + 3) % len(_LAST)]


def email(i: int) -> str:
    given, family = person(i)
    local = "".join(ch for ch in f"{given}.{family}".lower() if ch.isascii() and ch not in "'")
    return f"{local}{i}@example.com"


def phone(i: int) -> str:
    return f"({200 + i % 700:03d}) 555-{i % 10000:04d}"


def address(i: int) -> dict[str, str]:
    """A US street address: line1, city, state, postal_code, country."""
    city, state, zip3 = _CITIES[i % len(_CITIES)]
    return {
        "line1": f"{100 + i % 9800} {_STREETS[i % len(_STREETS)]}",
        "city": city,
        "state": state,
        "postal_code": f"{zip3}{i % 100:02d}",
        "country": "USA",
    }


_ITEM_TREE = (
    ("Hardware", ("Widgets", "Gadgets", "Sprockets")),
    ("Services", ("Consulting", "Installation", "Training")),
    ("Software", ("Licenses", "Subscriptions")),
    ("Supplies", ("Paper", "Ink & Toner")),
)
_ITEM_WORDS = ("Standard", "Deluxe", "Pro", "Mini", "Max", "Eco", "Classic", "Ultra")


def item_path(i: int) -> tuple[str, str, str]:
    """(category, sub-category, leaf) of catalogue item ``i``; its FullyQualifiedName is
    ``"category:sub:leaf"``. Leaves are unique across the catalogue."""
    category, subs = _ITEM_TREE[i % len(_ITEM_TREE)]
    sub = subs[(i // len(_ITEM_TREE)) % len(subs)]
    leaf = f"{_ITEM_WORDS[i % len(_ITEM_WORDS)]} {sub.rstrip('s')} {i + 1:03d}"
    return category, sub, leaf


def item_fqn(i: int) -> str:
    return ":".join(item_path(i))


def item_price(i: int) -> str:
    """A price as a decimal string with two places (never a float)."""
    cents = 500 + (i * 7919) % 250_000
    return f"{cents // 100}.{cents % 100:02d}"


# How many customers each named seed size has; both servers use the same table.
SEED_SIZES = {"empty": 0, "tiny": 12, "small": 200, "medium": 10_000, "large": 100_000}


def seed_customer_count(size: str) -> int:
    """Customers for a seed size name or a plain number ("2500"); a size may also carry an item
    count for the QuickBooks catalogue ("tiny,items=50000": benchmarks of the item area)."""
    size = size.partition(",")[0]
    if size in SEED_SIZES:
        return SEED_SIZES[size]
    if size.isdigit():
        return int(size)
    raise ValueError(f"unknown seed size {size!r}: one of {sorted(SEED_SIZES)} or a number")


def seed_item_count(size: str) -> int | None:
    """The catalogue size a seed size asks for with ",items=N", else None (the default)."""
    for part in size.split(",")[1:]:
        key, _, value = part.partition("=")
        if key.strip() == "items" and value.strip().isdigit():
            return int(value)
        raise ValueError(f"unknown seed size option {part!r}: only items=N")
    return None
