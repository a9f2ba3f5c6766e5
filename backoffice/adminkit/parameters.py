"""Parameters of an admin address that no list can answer: a message or an empty result, never a server error.

An address is typed, bookmarked, pasted from a chat or made up by a scanner. A list's filters, its date
hierarchy and its search turn its parameters into a query, and some values fit no query: a NUL character
(PostgreSQL refuses it in any text), a year past 9999, a number too large for any column. Django refuses
some of them by sending the list back to itself without its parameters (`?e=1`); the rest raise while
the query is built or run, a server error. Here every list refuses them the same way, with a message
naming the parameter when it is known, and a search for a term no row can hold finds nothing.

The site (`GuardedAdminSite`) gives every ModelAdmin registered on it this behaviour, those of Django's
and django-q's apps too, without each admin having to ask for it.
"""

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import PAGE_VAR, SEARCH_VAR
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import DataError, transaction
from django.db.models.constants import LOOKUP_SEP
from django.utils.text import Truncator
from django.utils.translation import gettext

from .display import listed

NUL = "\x00"
REGEX_LOOKUPS = ("regex", "iregex")
SHOWN_CHARS = 40  # of a parameter's name in a message: the address may hold a name of any length


class RefusedParameters(IncorrectLookupParameters):
    """Parameters of a list's address that it cannot be filtered by, named for the operator."""

    def __init__(self, names):
        super().__init__(", ".join(names))
        self.names = list(names)


def _refused_message(names):
    if not names:
        return gettext("This list cannot be shown with the parameters of its address; it is shown without them.")
    return gettext("This list cannot be shown with %(parameters)s; it is shown without its filters.") % {
        "parameters": listed([f"“{Truncator(name).chars(SHOWN_CHARS)}”" for name in names])
    }


def _refused(name, values):
    """Whether a list refuses the parameter before building its query.

    No text of PostgreSQL's holds NUL, and psycopg refuses to send one (on SQLite it would match nothing).
    A regular expression is run on every row in each database's own dialect, and a pattern one of them
    cannot compile fails the query; no page of the admin links to one.
    """
    if NUL in name or any(NUL in value for value in values):
        return True
    return name.rsplit(LOOKUP_SEP, 1)[-1] in REGEX_LOOKUPS


class GuardedChangeListMixin:
    """A changelist that refuses the parameters it cannot answer instead of failing on them.

    Each refusal is an IncorrectLookupParameters, so the admin sends the list back to itself without its
    parameters, as Django does for a lookup on a field that does not exist; the message says why.
    """

    def __init__(self, request, *args, **kwargs):
        try:
            super().__init__(request, *args, **kwargs)
        except IncorrectLookupParameters as error:
            names = getattr(error, "names", None) or self._address_parameters()
            self.model_admin.message_user(request, _refused_message(names), messages.ERROR, fail_silently=True)
            raise

    def get_filters(self, request):
        refused = [name for name, values in self.get_filters_params().items() if _refused(name, values)]
        if refused:
            raise RefusedParameters(refused)
        try:
            return super().get_filters(request)
        except (ValueError, OverflowError) as error:
            # The date hierarchy's year, month and day make a datetime, and a year past 9999 (or too large
            # for a C long) makes none. Without them the error is not the address's.
            names = [name for name in self._date_hierarchy_parameters() if name in self.filter_params]
            if not names:
                raise
            raise RefusedParameters(names) from error

    def get_results(self, request):
        # Counting runs the query, and a value that fits no date or column fails it: as it is compiled or
        # sent (OverflowError: `__year` of a year beyond any date, a number beyond 64 bits on SQLite; ValueError:
        # an address that is none, which PostgreSQL's inet adapter refuses) or in the database (DataError on
        # PostgreSQL: a number beyond a numeric column's range). The savepoint
        # keeps the request's transaction usable after the database refused.
        try:
            with transaction.atomic(using=self.queryset.db):
                super().get_results(request)
        except IncorrectLookupParameters as error:
            # Django's answer to a page number past the last page.
            raise RefusedParameters([PAGE_VAR]) from error
        except (DataError, OverflowError, ValueError) as error:
            names = self._address_parameters()
            if not names:
                raise  # the list fails unfiltered: not the address's error
            raise RefusedParameters(names) from error

    def _address_parameters(self):
        """The names of the address's parameters that filter or search the list."""
        return [*self.get_filters_params(), *([SEARCH_VAR] if self.query else [])]

    def _date_hierarchy_parameters(self):
        if not self.date_hierarchy:
            return []
        return [f"{self.date_hierarchy}__{part}" for part in ("year", "month", "day")]


_guarded_changelists = {}


def guarded_changelist(changelist_class):
    """The changelist class `changelist_class` with GuardedChangeListMixin before it."""
    if issubclass(changelist_class, GuardedChangeListMixin):
        return changelist_class
    if changelist_class not in _guarded_changelists:
        _guarded_changelists[changelist_class] = type(
            f"Guarded{changelist_class.__name__}", (GuardedChangeListMixin, changelist_class), {}
        )
    return _guarded_changelists[changelist_class]


class GuardedParametersAdminMixin:
    """A ModelAdmin that answers the parameters of its pages that name nothing with nothing.

    Its list refuses the parameters it cannot answer (GuardedChangeListMixin); its search finds nothing
    for a term no row can hold (the list's, and the autocomplete's, which reads the same search); an id
    holding NUL names no row; and its add form leaves out an initial value from the address that names no
    row of a related model, since the field's widget (autocomplete, raw id) looks the row up while the page
    renders.
    """

    def get_changelist(self, request, **kwargs):
        return guarded_changelist(super().get_changelist(request, **kwargs))

    def get_search_results(self, request, queryset, search_term):
        if NUL in search_term:
            return queryset.none(), False
        return super().get_search_results(request, queryset, search_term)

    def get_object(self, request, object_id, from_field=None):
        if NUL in str(object_id):
            return None
        # An empty `?_to_field=` passes Django's check of the field and names none: the primary key.
        return super().get_object(request, object_id, from_field or None)

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        return {name: value for name, value in initial.items() if _may_name_rows(self.opts, name, value)}


def _may_name_rows(opts, name, value):
    """Whether the initial `value` of the field `name` is, for a relation, a value its rows' key can have."""
    try:
        field = opts.get_field(name)
    except FieldDoesNotExist:
        return True
    if not (field.is_relation and field.concrete):
        return True
    for item in value if isinstance(value, list) else [value]:
        if NUL in item:
            return False
        try:
            field.target_field.run_validators(field.target_field.to_python(item))
        except ValidationError:
            return False
    return True


class GuardedAdminSite(admin.AdminSite):
    """The back office's admin site (the default site, `BackofficeAdminConfig`): every ModelAdmin registered
    on it, those of Django's and django-q's apps too, is guarded (GuardedParametersAdminMixin)."""

    def register(self, model_or_iterable, admin_class=None, **options):
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, GuardedParametersAdminMixin):
            admin_class = type(
                admin_class.__name__,
                (GuardedParametersAdminMixin, admin_class),
                {"__module__": admin_class.__module__, "__qualname__": admin_class.__qualname__},
            )
        super().register(model_or_iterable, admin_class, **options)
