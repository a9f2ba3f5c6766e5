"""SQL building blocks that turn stored integers and outside text into the exports' final text, in the database.

Each expression compiles to plain SQL on PostgreSQL and on SQLite, so that one queryset is both what
PostgreSQL's COPY writes and what Python's csv module writes on SQLite. None of them uses a Python
function registered on SQLite (Django's LPAD, MOD, ...): a UDF call per cell would make the SQLite path
several times slower for nothing.

NULL stays NULL through every one of them (`||` propagates it, unlike Django's Concat, which turns it
into ""), so an empty figure stays an empty cell instead of becoming ".".
"""

from django.db.models import BigIntegerField, CharField, Func, IntegerField, Value
from django.db.models.expressions import Case, When
from django.db.models.lookups import Exact, In

# A spreadsheet reads a cell that starts with one of these as a formula (or as the start of one, for tab
# and carriage return, which some importers strip before looking at the next character).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# Asia/Shanghai has kept UTC+8 all year since 1991, long before any order of ours.
BEIJING_UTC_OFFSET_HOURS = 8


class Pipes(Func):
    """Text concatenation that propagates NULL (`a || b || ...`), unlike Django's Concat."""

    output_field = CharField()
    template = "(%(expressions)s)"
    arg_joiner = " || "


class ScaledText(Func):
    """A non-negative integer count of 10^-places units as its exact decimal text: (1234, 2) -> "12.34",
    (5, 2) -> "0.05", (100000, 3) -> "100.000". Nothing on the way is a float.

    SQLite: integer division, and the remainder padded to `places` digits. PostgreSQL: the integer times
    the numeric literal 0.01 (0.001), whose product is exact decimal arithmetic with exactly `places`
    decimals (numeric's scale is the sum of its factors'); it evaluates the value once where division
    and remainder evaluate it twice, which halves the cost of a period's fee (four JSON look-ups).
    """

    output_field = CharField()

    def __init__(self, expression, *, places: int, **extra):
        if places not in (1, 2, 3, 4):
            raise ValueError("places must be 1 to 4")
        self.places = places
        super().__init__(expression, **extra)

    def as_postgresql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(({sql}) * 0.{'0' * (self.places - 1)}1)::text", params

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        unit, zeros = 10**self.places, "0" * self.places
        # SQLite's || turns integers into their decimal text; substr(..., -n) keeps the last n characters.
        # %% is the modulo operator: the backends read % in SQL as the start of a parameter. The value is
        # compiled once and referenced twice, so its parameters are given twice.
        return (f"((({sql}) / {unit}) || '.' || substr('{zeros}' || (({sql}) %% {unit}), -{self.places}))",
                (*params, *params))


def yuan_text(expression):
    """Integer fen as yuan text with two decimals."""
    return ScaledText(expression, places=2)


def kwh_text(expression):
    """Integer Wh as kWh text with three decimals."""
    return ScaledText(expression, places=3)


class JsonItem(Func):
    """Element `index` of a JSON array (a KeyTransform's value) as an integer; NULL when it is missing."""

    output_field = BigIntegerField()

    def __init__(self, expression, index: int, **extra):
        self.index = int(index)
        super().__init__(expression, **extra)

    def as_postgresql(self, compiler, connection, **extra_context):
        # jsonb -> n and a cast straight from jsonb: no text in between, cheaper than #>> with a path.
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(({sql}) -> {self.index})::bigint", params

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"JSON_EXTRACT({sql}, '$[{self.index}]')", params


class LocalTime(Func):
    """An aware datetime as Beijing wall-clock text `YYYY-MM-DD HH:MM:SS` (seconds truncated, as the admin
    shows them).

    Both backends shift by the fixed offset: a zone looked up by name costs PostgreSQL five times the
    fixed shift per value, and China has kept UTC+8 all year since 1991.
    """

    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return (f"to_char(({sql}) AT TIME ZONE INTERVAL '+{BEIJING_UTC_OFFSET_HOURS:02d}:00', "
                "'YYYY-MM-DD HH24:MI:SS')"), params

    def as_sqlite(self, compiler, connection, **extra_context):
        # Django stores SQLite datetimes as UTC text; strftime parses it and applies the modifier.
        sql, params = compiler.compile(self.source_expressions[0])
        return "strftime(%s, " + sql + ", %s)", ("%Y-%m-%d %H:%M:%S", *params,
                                                  f"+{BEIJING_UTC_OFFSET_HOURS} hours")


class FirstCodePoint(Func):
    """The code point of a text's first character (PostgreSQL's ascii(), SQLite's unicode())."""

    output_field = IntegerField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function="ascii", **extra_context)

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function="unicode", **extra_context)


def neutralised(expression):
    """Outside text that a spreadsheet would take for a formula, prefixed with an apostrophe.

    A partner order number or a station name is typed by someone else; "=HYPERLINK(...)" in one must reach
    finance's Excel as text. In the database, so that COPY's output is as safe as the csv module's.
    """
    # Integer comparisons of the first code point: cheaper than comparing its first character as text.
    return Case(
        When(In(FirstCodePoint(expression), [ord(start) for start in FORMULA_STARTS]),
             then=Pipes(Value("'"), expression)),
        default=expression,
        output_field=CharField(),
    )


def labelled(expression, choices, *, default=None):
    """A stored choice value as its label in the active language (`choices`: a TextChoices class)."""
    return Case(
        *(When(Exact(expression, value), then=Value(str(label))) for value, label in choices.choices),
        default=Value(default) if default is not None else None,
        output_field=CharField(),
    )
