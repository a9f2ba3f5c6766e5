"""How the admin shows values: links inside translated messages, times to the second, bodies readably."""

import json
from urllib.parse import parse_qsl

from django.urls import reverse
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.text import Truncator

SHORT_ERROR_CHARS = 80
ITEMS_LISTED = 5  # in a message that lists failures; the rows' own pages have the rest


def html_message(text, **values):
    """A translated message (plain text with %(name)s placeholders) whose values may be links.

    The text and plain values are escaped; values already marked safe (format_html links) are not.
    """
    # Numbers stay numbers, for the %(name)d of a translated text.
    escaped = {name: value if isinstance(value, int | float) else conditional_escape(value)
               for name, value in values.items()}
    return mark_safe(conditional_escape(text) % escaped)  # noqa: S308 - the text and every value are escaped


def admin_link(obj, text=None):
    """A link to the admin change page of `obj`."""
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text if text is not None else obj)


def local_time(value):
    """To the second in Beijing time: on call, seconds matter when lining our records up with a vendor's."""
    if value is None:
        return None
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")


def pretty_json(value):
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=False, default=str)


def pretty_text(text, *, content_type=""):
    """A stored body for people: JSON indented, a form's fields decoded, anything else as it came."""
    if not text:
        return ""
    try:
        return pretty_json(json.loads(text))
    except ValueError:
        pass
    if "x-www-form-urlencoded" in content_type:
        fields = {}
        for name, value in parse_qsl(text, keep_blank_values=True):
            fields.setdefault(name, []).append(value)
        return pretty_json({name: values[0] if len(values) == 1 else values for name, values in fields.items()})
    return text


def pre(text):
    if text in (None, ""):
        return None
    # Styled by the admin's stylesheet (static/backoffice/admin.css): the content security policy refuses style
    # attributes.
    return format_html('<pre class="body">{}</pre>', text)


def short_error(text):
    """The first line of an error, cut short for a list column; the full text is in its tooltip."""
    if not text:
        return None
    first_line = text.strip().splitlines()[0] if text.strip() else text
    return format_html(
        '<span title="{}">{}</span>',
        Truncator(text).chars(500),
        Truncator(first_line).chars(SHORT_ERROR_CHARS),
    )


def listed(items):
    """The first ITEMS_LISTED of `items` joined for a message, with an ellipsis when there are more."""
    text = "; ".join(items[:ITEMS_LISTED])
    return f"{text}; …" if len(items) > ITEMS_LISTED else text
