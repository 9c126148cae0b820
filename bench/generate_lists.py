"""Realistic messy customer lists with known duplicates: what a reference manager inherits in week one.

    .venv/bin/python bench/generate_lists.py OUT_DIR [--rows 100000] [--seed 7]

Writes three lists of one company population, each in its own tool's style, and the ground truth:

- `crm_accounts.csv`   — a CRM export: `;`-separated, Latin-1, "Account Name;Website;Account Owner;Vertical;Geo…"
- `marketing.xlsx`     — a marketing workbook: a title block, then "Company | URL | CSM | Sector | Territory…"
- `success.csv`        — a customer-success tracker: UTF-8 with BOM, "Customer,Domain,Owner Email,Industry…"
- `truth.csv`          — file, line, company: which company each data row really is (empty for a bad row)

Companies recur within and across the lists as people type them: legal-suffix variants ("Inc", ", Inc.",
"Incorporated", none), shouting and lower case, a typo in one word of ~6% of rows, "&" for "and",
accents dropped, and the website as a bare domain, `www.`, a full URL, an e-mail address, or missing.
Different companies can share a word ("Veltora Bank" / "Veltora Foods"), differ in one short word by two
letters ("North Harbor" / "South Harbor"), or share a whole name under different domains; no two
different companies are a single typo apart, since nothing could tell those apart from a typo.
Deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz.distance import OSA

FILES = ("crm_accounts.csv", "marketing.xlsx", "success.csv")


def _words(text: str) -> list[str]:
    return text.split()


_ONSETS = _words("b br c cl d dr f fl g gr h j k l m n p pr qu r s st t tr v w z sh th sk sp")
_VOWELS = _words("a e i o u a e i o ai ea io ou y")
_CODAS = ["", "", "", "n", "r", "l", "x", "s", "m", "nt", "rk", "st", "ck", "v"]
_ADJECTIVES = _words(
    "Blue North Silver Golden Bright Clear Swift Iron Green Summit Pacific Atlantic Alpine Urban Prime Nova Apex "
    "Vertex Crimson Polar Royal Solid Quantum Stellar Amber Cobalt Evergreen Harbor Liberty Meridian South East "
    "West Gold Polaris Coral"
)
_NOUNS = _words(
    "Harbor Ridge River Stone Peak Field Wave Point Gate Lake Forest Valley Crest Rock Path Light Cloud Spring "
    "Anchor Beacon Canyon Delta Falcon Glacier Horizon Island Jet Keystone Lantern Maple Orchard Pine Quarry "
    "Sparrow Tide Willow Life Rocket Lakeside Tidewater Pines Crown Clown"
)
_DESCRIPTORS = _words(
    "Bank Foods Health Logistics Analytics Systems Software Labs Capital Energy Media Partners Robotics Pharma "
    "Insurance Motors Retail Networks Dynamics Solutions Technologies Consulting Group Holdings Industries "
    "Aerospace Biotech Telecom Airlines Hotels Ventures Security Payments Cloud Digital Mobility Materials "
    "Chemicals Shipping Brewing Textiles Education Mining Foundry Outfitters Medical Synergy Wealth Motion Rental "
    "Goods Lab Data Dating"
)
_LEGAL = {
    "Inc": ["Inc", "Inc.", ", Inc.", "Incorporated", ""],
    "Corp": ["Corp", "Corp.", "Corporation", ""],
    "LLC": ["LLC", ", LLC", "L.L.C.", ""],
    "Ltd": ["Ltd", "Ltd.", "Limited", ""],
    "GmbH": ["GmbH", "GmbH", ""],
    "AG": ["AG", ""],
    "SA": ["SA", "S.A.", ""],
    "plc": ["plc", "PLC", ""],
    "": [""],
}
_LEGAL_WEIGHTS = {"Inc": 25, "Corp": 10, "LLC": 12, "Ltd": 12, "GmbH": 8, "AG": 4, "SA": 5, "plc": 4, "": 20}
_TLDS = [".com"] * 14 + [".io", ".de", ".co.uk", ".fr", ".net", ".nl"]
_INDUSTRIES = (
    "Fintech Banking Insurance Healthcare Retail Manufacturing Logistics Energy Media Telecom Education Software"
)
_REGIONS = ["NA", "EMEA", "APAC", "LATAM"]
_SEGMENTS = ["Enterprise", "Mid-market", "SMB"]
_PRODUCTS = ["Payments", "Ledger", "Analytics", "Identity", "Billing", "Treasury", "Cards", "Risk"]
_TOPICS = ["SSO", "SOC 2", "Migration", "ROI", "Onboarding", "Integrations", "Scale", "Support"]
_FIRST = _words("Jane John Maria Ahmed Li Sofia Lukas Emma Noah Olivia Mateo Aisha Kenji Priya Oscar Chloe Ivan Zoe")
_LAST = _words("Doe Smith Garcia Khan Chen Rossi Müller Dubois Kowalski Tanaka Patel Silva Berg Novak Okafor Haas")
_ACCENTED = {"a": "à", "e": "é", "o": "ö", "u": "ü", "i": "í"}


@dataclass
class Company:
    id: int
    name: str  # as written by the tidiest list, without the legal form
    legal: str
    domain: str
    industry: str
    region: str
    segment: str
    owner: str
    products: list[str]
    topics: list[str]
    contact: str
    title: str
    referenceable: bool
    homonym: bool = False


def _far_apart(words: list[str], minimum: int = 2) -> list[str]:
    """Keep words that are at least `minimum` edits from every word kept before them."""
    kept: list[str] = []
    for word in words:
        if all(OSA.distance(word.lower(), other.lower(), score_cutoff=minimum - 1) >= minimum for other in kept):
            kept.append(word)
    return kept


def _brand_words(rng: random.Random, count: int) -> list[str]:
    """Pronounceable invented brand names, each at least three edits from every other."""
    candidates: list[str] = []
    seen: set[str] = set()
    while len(candidates) < count * 3:
        word = "".join(
            rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(rng.choice([2, 2, 3]))
        )
        if 5 <= len(word) <= 11 and word not in seen:
            seen.add(word)
            candidates.append(word.capitalize())
    # Bucket by length so each word is only compared with words of similar length (distance ≥ length gap).
    kept: list[str] = []
    by_length: dict[int, list[str]] = {}
    for word in candidates:
        lower = word.lower()
        near = [w for n in range(len(lower) - 2, len(lower) + 3) for w in by_length.get(n, [])]
        if all(OSA.distance(lower, other, score_cutoff=2) >= 3 for other in near):
            kept.append(word)
            by_length.setdefault(len(lower), []).append(lower)
            if len(kept) == count:
                break
    return kept


def _slug(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text.lower() if ch.isalnum())


def make_companies(rng: random.Random, count: int) -> list[Company]:
    """`count` distinct companies; names and domains are unique except for deliberate homonyms."""
    brands = _brand_words(rng, max(2000, count // 5))
    adjectives, nouns, descriptors = _far_apart(_ADJECTIVES), _far_apart(_NOUNS), _far_apart(_DESCRIPTORS)
    industries = _INDUSTRIES.split()
    owners = [f"{f.lower()}.{_slug(last)}@ourvendor.example" for f in _FIRST for last in _LAST[:8]]
    companies: list[Company] = []
    names: set[str] = set()
    domains: set[str] = set()
    while len(companies) < count:
        shape = rng.random()
        if shape < 0.30:
            name = rng.choice(brands)
        elif shape < 0.78:
            name = f"{rng.choice(brands)} {rng.choice(descriptors)}"
        elif shape < 0.80:
            name = f"{rng.choice(brands)} & {rng.choice(['Sons', 'Partners', 'Rowe', 'Lund', 'Hart'])}"
        else:
            name = f"{rng.choice(adjectives)} {rng.choice(nouns)}" + (
                f" {rng.choice(descriptors)}" if rng.random() < 0.7 else ""
            )
        if rng.random() < 0.03:  # a name with an accent that some lists drop
            vowels = [i for i, ch in enumerate(name) if ch in _ACCENTED]
            if vowels:
                i = rng.choice(vowels)
                name = name[:i] + _ACCENTED[name[i]] + name[i + 1 :]
        homonym = bool(companies) and rng.random() < 0.005
        if homonym:  # same name, another country, another domain: a different customer
            twin = rng.choice(companies)
            name = twin.name
            twin.homonym = True
        elif _slug(name) in names:
            continue
        base = _slug(name)
        domain = base + rng.choice(_TLDS)
        while domain in domains:
            domain = base + str(rng.randint(2, 99)) + rng.choice(_TLDS)
        names.add(base)
        domains.add(domain)
        legal = rng.choices(list(_LEGAL_WEIGHTS), weights=list(_LEGAL_WEIGHTS.values()))[0]
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        companies.append(
            Company(
                id=len(companies) + 1,
                name=name,
                legal=legal,
                domain=domain,
                industry=rng.choice(industries),
                region=rng.choice(_REGIONS),
                segment=rng.choice(_SEGMENTS),
                owner=rng.choice(owners),
                products=rng.sample(_PRODUCTS, rng.randint(1, 3)),
                topics=rng.sample(_TOPICS, rng.randint(0, 2)),
                contact=f"{first} {last}",
                title=rng.choice(["VP Finance", "CFO", "Head of Payments", "CTO", "Director of Operations"]),
                referenceable=rng.random() < 0.9,
                homonym=homonym,
            )
        )
    return companies


def _typo(rng: random.Random, name: str) -> str:
    """One slip of the keyboard in one word of four letters or more."""
    words = name.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not candidates:
        return name
    i = rng.choice(candidates)
    word = words[i]
    p = rng.randrange(1, len(word) - 1)
    kind = rng.choice(["swap", "drop", "double", "replace"])
    if kind == "swap":
        word = word[:p] + word[p + 1] + word[p] + word[p + 2 :]
    elif kind == "drop":
        word = word[:p] + word[p + 1 :]
    elif kind == "double":
        word = word[:p] + word[p] + word[p:]
    else:
        word = word[:p] + rng.choice("aeiourstnl") + word[p + 1 :]
    words[i] = word
    return " ".join(words)


def _strip_accents(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def render_name(rng: random.Random, company: Company) -> str:
    """The company's name the way one person typed it into one list."""
    name = company.name
    if "&" in name and rng.random() < 0.4:
        name = name.replace("&", "and")
    if rng.random() < 0.5:
        name = _strip_accents(name)
    if rng.random() < 0.06:
        name = _typo(rng, name)
    suffix = rng.choice(_LEGAL[company.legal])
    if suffix.startswith(","):
        name += suffix
    elif suffix:
        name += " " + suffix
    case = rng.random()
    if case < 0.12:
        name = name.upper()
    elif case < 0.20:
        name = name.lower()
    if rng.random() < 0.02:
        name = name.replace(" ", "  ", 1) + " "
    return name


def render_domain(rng: random.Random, company: Company, *, emails: bool) -> str:
    """The website cell: blank a quarter of the time (never for a homonym), else any of the usual forms."""
    if not company.homonym and rng.random() < 0.25:
        return ""
    roll = rng.random()
    if emails and roll < 0.35:
        local = rng.choice(
            ["info", "sales", _slug(company.contact.split()[0]) + "." + _slug(company.contact.split()[1])]
        )
        return f"{local}@{company.domain}"
    if roll < 0.45:
        return company.domain
    if roll < 0.65:
        return "www." + company.domain
    if roll < 0.85:
        return f"https://www.{company.domain}/"
    return f"http://{company.domain}/about"


def _noisy(rng: random.Random, value: str, choices: list[str]) -> str:
    """Mostly the company's value; sometimes another one (a real conflict), sometimes nothing."""
    roll = rng.random()
    if roll < 0.03:
        return rng.choice(choices)
    if roll < 0.13:
        return ""
    return value


def generate(out: Path, rows: int = 100_000, seed: int = 7) -> dict[str, int]:
    """Write the three lists and truth.csv into `out`; returns rows per file."""
    rng = random.Random(seed)
    companies = make_companies(rng, int(rows / 2.4))
    plan: list[tuple[int, Company | None]] = []  # (file index, company) per row; None: a bad row
    while len(plan) < rows:
        company = rng.choice(companies)
        for _ in range(rng.choices([1, 2, 3, 4, 5], weights=[30, 30, 22, 12, 6])[0]):
            plan.append((rng.choices([0, 1, 2], weights=[36, 32, 32])[0], company))
    rng.shuffle(plan)  # a list is sorted by anything but company: duplicates are rarely neighbours
    plan = plan[:rows]
    for i in rng.sample(range(rows), max(1, rows // 3000)):  # rows without a name: skipped and reported
        plan[i] = (plan[i][0], None)
    per_file: list[list[Company | None]] = [[], [], []]
    for file, company in plan:
        per_file[file].append(company)
    out.mkdir(parents=True, exist_ok=True)
    truth: list[tuple[str, int, str]] = []
    truth += _write_crm(rng, out / FILES[0], per_file[0])
    truth += _write_marketing(rng, out / FILES[1], per_file[1])
    truth += _write_success(rng, out / FILES[2], per_file[2])
    with (out / "truth.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "line", "company"])
        writer.writerows(truth)
    return {name: len(rows_) for name, rows_ in zip(FILES, per_file, strict=True)}


def _write_crm(rng: random.Random, path: Path, rows: list[Company | None]) -> list[tuple[str, int, str]]:
    industries = _INDUSTRIES.split()
    truth = []
    with path.open("w", newline="", encoding="latin-1", errors="replace") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["Account Name", "Website", "Account Owner", "Vertical", "Geo", "Segment", "Annual Revenue"])
        for line, company in enumerate(rows, start=2):
            if company is None:
                writer.writerow(["", "", "", "Retail", "NA", "SMB", "1000"])
                truth.append((path.name, line, ""))
                continue
            writer.writerow(
                [
                    render_name(rng, company),
                    render_domain(rng, company, emails=False),
                    company.owner if rng.random() < 0.9 else "",
                    _noisy(rng, company.industry, industries),
                    _noisy(rng, company.region, _REGIONS),
                    _noisy(rng, company.segment, _SEGMENTS),
                    f"{rng.randint(1, 900) * 1000}",
                ]
            )
            truth.append((path.name, line, str(company.id)))
    return truth


def _write_marketing(rng: random.Random, path: Path, rows: list[Company | None]) -> list[tuple[str, int, str]]:
    from openpyxl import Workbook

    industries = _INDUSTRIES.split()
    book = Workbook()  # not write-only: like Excel, it writes a <dimension> and a shared-string table
    sheet = book.active
    sheet.title = "Advocates"
    sheet.append(["Marketing advocates — export"])
    sheet.append([])
    sheet.append(
        ["Company", "URL", "CSM", "Sector", "Territory", "Products", "Contact", "Contact Email", "Approved Uses"]
    )
    truth = []
    for line, company in enumerate(rows, start=4):
        if company is None:
            sheet.append([None, "n/a", None, "Retail"])
            truth.append((path.name, line, ""))
            continue
        first, last = company.contact.split()
        uses = rng.sample(["Logo", "Case Study", "Quote", "Press Release"], rng.randint(0, 2))
        sheet.append(
            [
                render_name(rng, company),
                render_domain(rng, company, emails=False),
                company.owner if rng.random() < 0.8 else "",
                _noisy(rng, company.industry, industries),
                _noisy(rng, company.region, _REGIONS),
                "; ".join(company.products),
                company.contact,
                f"{_slug(first)}.{_slug(last)}@{company.domain}",
                "; ".join(uses),
            ]
        )
        truth.append((path.name, line, str(company.id)))
    book.save(path)
    return truth


def _write_success(rng: random.Random, path: Path, rows: list[Company | None]) -> list[tuple[str, int, str]]:
    industries = _INDUSTRIES.split()
    truth = []
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Customer", "Domain", "Owner Email", "Industry", "Region", "Topics", "Referenceable", "Notes"])
        for line, company in enumerate(rows, start=2):
            if company is None:
                writer.writerow(["  ", "", "", "", "", "", "yes", "row left blank by mistake"])
                truth.append((path.name, line, ""))
                continue
            writer.writerow(
                [
                    render_name(rng, company),
                    render_domain(rng, company, emails=True),
                    company.owner,
                    _noisy(rng, company.industry, industries),
                    _noisy(rng, company.region, _REGIONS),
                    "; ".join(company.topics),
                    "yes" if company.referenceable else "no",
                    "",
                ]
            )
            truth.append((path.name, line, str(company.id)))
    return truth


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write the lists into")
    parser.add_argument("--rows", type=int, default=100_000, help="data rows in all (default 100,000)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    args = parser.parse_args()
    counts = generate(args.out, args.rows, args.seed)
    for name, count in counts.items():
        print(f"{args.out / name}: {count:,} rows")
    print(f"{args.out / 'truth.csv'}: which company each row is")
    return 0


if __name__ == "__main__":
    sys.exit(main())
