"""The fictional SaaS company the demo data describes: what it sells, to whom, and who sells it.

"Tsumugi" (紡) is a team work-management service sold per seat by a Tokyo company. Everything
here is invented; prices are in the range Japanese B2B SaaS charges for such a product.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

BASE_PRODUCT = "tsumugi"
ANALYTICS_ADDON = "analytics"
API_ADDON = "api"
ONBOARDING_SERVICE = "onboarding"
CONSULTING_SERVICE = "consulting"

PLAN_ORDER: tuple[str, ...] = ("Free", "Starter", "Professional", "Enterprise")
PAID_PLANS: tuple[str, ...] = PLAN_ORDER[1:]

# Annual contracts cost ten months of the monthly price: "two months free" is the usual
# incentive Japanese SaaS companies give for paying a year in advance.
ANNUAL_MONTHS_CHARGED = 10

# Per seat per month, in JPY and USD. The USD list exists for the few overseas customers.
SEAT_PRICE_MONTHLY: dict[str, dict[str, Decimal]] = {
    "JPY": {
        "Free": Decimal("0"),
        "Starter": Decimal("1200"),
        "Professional": Decimal("2400"),
        "Enterprise": Decimal("4000"),
    },
    "USD": {
        "Free": Decimal("0"),
        "Starter": Decimal("9"),
        "Professional": Decimal("18"),
        "Enterprise": Decimal("30"),
    },
}

# Flat monthly prices of the add-ons (per account, not per seat).
ADDON_PRICE_MONTHLY: dict[str, dict[str, Decimal]] = {
    "JPY": {ANALYTICS_ADDON: Decimal("30000"), API_ADDON: Decimal("20000")},
    "USD": {ANALYTICS_ADDON: Decimal("200"), API_ADDON: Decimal("150")},
}

# One-off professional services (never MRR).
SERVICE_PRICE: dict[str, dict[str, Decimal]] = {
    "JPY": {ONBOARDING_SERVICE: Decimal("300000"), CONSULTING_SERVICE: Decimal("150000")},
    "USD": {ONBOARDING_SERVICE: Decimal("2000"), CONSULTING_SERVICE: Decimal("1000")},
}

# Plans that need a minimum number of seats (Enterprise is sold to larger organisations only).
MIN_SEATS: dict[str, int] = {"Free": 1, "Starter": 3, "Professional": 5, "Enterprise": 30}
# The free plan is capped: teams that grow past it have to buy a paid plan.
FREE_PLAN_MAX_SEATS = 5


@dataclass(frozen=True)
class ProductDef:
    code: str
    name: Promise
    kind: str
    """``plan``, ``addon`` or ``service`` (as :class:`kizuna.billing.models.ProductKind`)."""
    recurring: bool


PRODUCTS: tuple[ProductDef, ...] = (
    ProductDef(BASE_PRODUCT, _("Tsumugi work management"), "plan", True),
    ProductDef(ANALYTICS_ADDON, _("Tsumugi Analytics add-on"), "addon", True),
    ProductDef(API_ADDON, _("Tsumugi API add-on"), "addon", True),
    ProductDef(ONBOARDING_SERVICE, _("Onboarding package"), "service", False),
    ProductDef(CONSULTING_SERVICE, _("Workflow consulting"), "service", False),
)


def seat_price(currency: str, plan: str, interval: str) -> Decimal:
    monthly = SEAT_PRICE_MONTHLY[currency][plan]
    return monthly * ANNUAL_MONTHS_CHARGED if interval == "year" else monthly


def addon_price(currency: str, addon: str, interval: str) -> Decimal:
    monthly = ADDON_PRICE_MONTHLY[currency][addon]
    return monthly * ANNUAL_MONTHS_CHARGED if interval == "year" else monthly


@dataclass(frozen=True)
class FeatureDef:
    key: str
    name: Promise
    core: bool
    enterprise: bool
    released_months_ago: int | None
    """Months before the end of the simulation the feature shipped; ``None`` = from the start."""
    daily_use_rate: float
    """Uses per active user per day by a healthy customer (behaviour only, never money)."""


FEATURES: tuple[FeatureDef, ...] = (
    FeatureDef("tasks", _("Tasks and boards"), True, False, None, 1.6),
    FeatureDef("projects", _("Projects"), True, False, None, 0.6),
    FeatureDef("docs", _("Shared documents"), True, False, None, 0.5),
    FeatureDef("gantt", _("Gantt timeline"), True, False, None, 0.3),
    FeatureDef("automation", _("Workflow automation"), False, False, None, 0.15),
    FeatureDef("reports", _("Reports and dashboards"), False, False, None, 0.12),
    FeatureDef("sso", _("Single sign-on"), False, True, None, 0.05),
    FeatureDef("audit_log", _("Audit log"), False, True, None, 0.02),
    FeatureDef("ai_summary", _("AI meeting summaries"), False, False, 4, 0.1),
)


@dataclass(frozen=True)
class ChannelDef:
    key: str
    cost_per_account_jpy: int
    """Sales and marketing spend per account (lead) the channel brings in, won or not."""
    arrival_share: float
    """Share of new accounts this channel brings."""
    trial_share: float
    """Share of its new accounts that start with a free trial instead of talking to sales."""


# Costs per account give a blended CAC of a few hundred thousand yen per paying customer,
# typical of a mid-market SaaS selling through both self-serve trials and inside sales;
# events and outbound are the expensive, sales-led channels.
CHANNELS: tuple[ChannelDef, ...] = (
    ChannelDef("organic", 40_000, 0.22, 0.85),
    ChannelDef("paid_search", 120_000, 0.24, 0.8),
    ChannelDef("events", 260_000, 0.12, 0.2),
    ChannelDef("referral", 30_000, 0.12, 0.4),
    ChannelDef("outbound", 220_000, 0.18, 0.15),
    ChannelDef("partner", 150_000, 0.12, 0.3),
)

INDUSTRIES: tuple[str, ...] = (
    "manufacturing",
    "it_services",
    "retail",
    "construction",
    "healthcare",
    "finance",
    "logistics",
    "education",
    "media",
    "professional_services",
)

# Katakana and kanji parts combined into fictional company names (株式会社…); the English
# parts make the overseas and foreign-owned customers.
NAME_PREFIXES: tuple[str, ...] = (
    "アオバ",
    "ミナト",
    "ハルカ",
    "ソラノ",
    "カエデ",
    "ツバサ",
    "ヒバリ",
    "コハク",
    "アサギ",
    "ミズホ",
    "ワカバ",
    "トキワ",
    "シラカバ",
    "ヤマブキ",
    "ホシゾラ",
    "ナギサ",
    "イロハ",
    "サクラダ",
    "北斗",
    "東雲",
    "朝日丘",
    "青葉台",
    "緑ヶ丘",
    "白鷺",
    "若草",
    "瑞穂野",
    "桜川",
)
NAME_SUFFIXES: tuple[str, ...] = (
    "システムズ",
    "ソリューションズ",
    "ロジスティクス",
    "フーズ",
    "メディカル",
    "工業",
    "商事",
    "テクノロジー",
    "デザイン",
    "建設",
    "精機",
    "物産",
    "ネットワークス",
    "ラボ",
    "製作所",
    "コンサルティング",
    "ホールディングス",
    "電子",
    "化成",
    "リテール",
)
ENGLISH_PREFIXES: tuple[str, ...] = (
    "Blue Harbor",
    "Maple Ridge",
    "Kestrel",
    "Silver Fern",
    "Northgate",
    "Lumen Grove",
    "Copperfield",
    "Tidewater",
    "Brightwell",
    "Amberline",
    "Quillon",
    "Harrowgate",
)
ENGLISH_SUFFIXES: tuple[str, ...] = (
    "Labs",
    "Systems",
    "Works",
    "Trading",
    "Analytics",
    "Partners",
    "Digital",
    "Foods",
)
FAMILY_NAMES: tuple[str, ...] = (
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "伊藤",
    "渡辺",
    "山本",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山田",
    "佐々木",
    "山口",
    "松本",
    "井上",
    "木村",
    "林",
    "斎藤",
    "清水",
    "森",
    "池田",
)
GIVEN_NAMES: tuple[str, ...] = (
    "健一",
    "直樹",
    "美咲",
    "陽子",
    "大輔",
    "彩",
    "翔太",
    "真理子",
    "拓也",
    "恵",
    "浩二",
    "由美",
    "亮",
    "さくら",
    "誠",
    "千尋",
    "和也",
    "愛",
    "剛",
    "奈々",
    "悠斗",
    "結衣",
)
ROMAJI_FAMILY: dict[str, str] = {
    "佐藤": "sato",
    "鈴木": "suzuki",
    "高橋": "takahashi",
    "田中": "tanaka",
    "伊藤": "ito",
    "渡辺": "watanabe",
    "山本": "yamamoto",
    "中村": "nakamura",
    "小林": "kobayashi",
    "加藤": "kato",
    "吉田": "yoshida",
    "山田": "yamada",
    "佐々木": "sasaki",
    "山口": "yamaguchi",
    "松本": "matsumoto",
    "井上": "inoue",
    "木村": "kimura",
    "林": "hayashi",
    "斎藤": "saito",
    "清水": "shimizu",
    "森": "mori",
    "池田": "ikeda",
}


@dataclass(frozen=True)
class StaffMember:
    username: str
    first_name: str
    last_name: str
    role: str
    """A :class:`kizuna.crm.models.Role` value."""
    team: str | None


SALES_TEAMS: tuple[str, ...] = ("Sales Enterprise", "Sales SMB")
CS_TEAMS: tuple[str, ...] = ("Customer Success East", "Customer Success West")

# The people of the fictional company. Executives and the admin belong to no team; each
# team's first member with a manager role leads it.
STAFF: tuple[StaffMember, ...] = (
    StaffMember("demo", "デモ", "管理者", "admin", None),
    StaffMember("ceo.kobayashi", "誠", "小林", "executive", None),
    StaffMember("cro.yamaguchi", "由美", "山口", "executive", None),
    StaffMember("sales.ikeda", "剛", "池田", "sales", "Sales Enterprise"),
    StaffMember("sales.inoue", "千尋", "井上", "sales", "Sales Enterprise"),
    StaffMember("sales.kimura", "翔太", "木村", "sales", "Sales Enterprise"),
    StaffMember("sales.mori", "奈々", "森", "sales", "Sales SMB"),
    StaffMember("sales.hayashi", "拓也", "林", "sales", "Sales SMB"),
    StaffMember("sales.shimizu", "彩", "清水", "sales", "Sales SMB"),
    StaffMember("csm.lead.saito", "恵", "斎藤", "cs_manager", "Customer Success East"),
    StaffMember("csm.lead.matsumoto", "浩二", "松本", "cs_manager", "Customer Success West"),
    StaffMember("csm.sasaki", "結衣", "佐々木", "csm", "Customer Success East"),
    StaffMember("csm.yoshida", "悠斗", "吉田", "csm", "Customer Success East"),
    StaffMember("csm.kato", "さくら", "加藤", "csm", "Customer Success East"),
    StaffMember("csm.nakamura", "和也", "中村", "csm", "Customer Success West"),
    StaffMember("csm.watanabe", "愛", "渡辺", "csm", "Customer Success West"),
    StaffMember("csm.yamada", "亮", "山田", "csm", "Customer Success West"),
)

DEMO_PASSWORD = "kizuna-demo"
ADMIN_USERNAME = "demo"


def usernames_with_role(*roles: str) -> tuple[str, ...]:
    return tuple(member.username for member in STAFF if member.role in roles)


ENTERPRISE_SALES: tuple[str, ...] = tuple(
    member.username for member in STAFF if member.team == "Sales Enterprise"
)
SMB_SALES: tuple[str, ...] = tuple(
    member.username for member in STAFF if member.team == "Sales SMB"
)
CSMS: tuple[str, ...] = usernames_with_role("csm", "cs_manager")
