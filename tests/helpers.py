from django.db import connection
from django.test.utils import CaptureQueriesContext


def get_counting_queries(client, url):
    """GET url, assert it answered 200, and return the response with the number of queries it ran."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return response, len(captured.captured_queries)


def assert_changelist_queries_constant(client, url, make_rows):
    """A changelist of 5 and then 30 rows (made by make_rows(count)) lists them all with the same queries.

    make_rows should spread the rows over distinct related objects, so an N+1 query would show.
    """
    make_rows(5)
    client.get(url)  # warm-up: content types, session, permissions

    few, few_queries = get_counting_queries(client, url)
    make_rows(25)
    many, many_queries = get_counting_queries(client, url)

    assert len(few.context["cl"].result_list) == 5
    assert len(many.context["cl"].result_list) == 30
    assert many_queries == few_queries
