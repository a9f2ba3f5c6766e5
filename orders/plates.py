"""Chinese licence plates: what a parking platform can match a charging session to.

A plate is a province's character, the issuing office's letter, then the registration:

- ordinary plates (blue, yellow, …): five letters or digits, the last of which may be 挂 (trailer), 学 (learner),
  警 (police), 港 or 澳 (cross-border), 领 (consulate) or 使 (embassy);
- new-energy plates (green): six, either D or F then a letter or digit and four digits (small cars), or five
  digits then D or F (large vehicles).

The letters I and O are never issued (they would read as 1 and 0). What operators and drivers type is read
leniently: spaces and the middle dot are dropped, letters raised, full-width forms made half-width.
"""

from __future__ import annotations

import re
import unicodedata

from django.utils.translation import gettext as _

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_LETTER = "A-HJ-NP-Z"
# As texts too, for a database filter (`plate__regex`): PostgreSQL's and Python's syntax agree on these.
ORDINARY_PATTERN = rf"^[{PROVINCES}][{_LETTER}][{_LETTER}0-9]{{4}}[{_LETTER}0-9挂学警港澳领使]$"
NEW_ENERGY_PATTERN = rf"^[{PROVINCES}][{_LETTER}]([DF][{_LETTER}0-9][0-9]{{4}}|[0-9]{{5}}[DF])$"
_ORDINARY = re.compile(ORDINARY_PATTERN)
_NEW_ENERGY = re.compile(NEW_ENERGY_PATTERN)


def plate_normalise(plate: str) -> str:
    """The plate as written on the vehicle: no spaces or middle dots, half-width, letters upper-case."""
    plate = unicodedata.normalize("NFKC", plate or "")
    return re.sub(r"[\s·.•\-]", "", plate).upper()


def plate_problem(plate: str) -> str:
    """Why `plate` (normalised) cannot be matched to a vehicle, in words for the operator; empty when it can."""
    if not plate:
        return _("No licence plate was recorded for the session.")
    if plate[0] not in PROVINCES:
        return _("“%(plate)s” does not start with a province’s character (京, 粤, 川, …).") % {"plate": plate}
    if _ORDINARY.match(plate) or _NEW_ENERGY.match(plate):
        return ""
    if len(plate) not in (7, 8):
        return _("“%(plate)s” has %(count)d characters; a plate has 7, or 8 for a new-energy plate.") % {
            "plate": plate, "count": len(plate)}
    if len(plate) == 8:
        return _("“%(plate)s” is not a new-energy plate: after the office’s letter come D or F and five more, or "
                 "five digits and D or F.") % {"plate": plate}
    return _("“%(plate)s” is not a plate: after the province come the office’s letter and five letters or digits "
             "(never I or O).") % {"plate": plate}
