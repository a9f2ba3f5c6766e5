from django.db import connection
from django.test.utils import CaptureQueriesContext


def get_counting_queries(client, url):
    """GET url, assert it answered 200, and return the response with the number of queries it ran."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return response, len(captured.captured_queries)
