"""The dashboard's registry of panels and its server-drawn charts (backoffice/adminkit)."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from backoffice.adminkit.charts import bar_chart, nice_step, scaled_label, value_ticks
from backoffice.adminkit.dashboard import Panel, panel_register, panel_unregister, panels_registered, panels_shown

INDEX = reverse("admin:index")


@pytest.mark.parametrize(("maximum", "step"), [(0, 1), (1, 1), (4, 1), (5, 2), (8, 2), (9, 5), (20, 5), (21, 10),
                                               (12_346, 5_000), (40_000, 10_000), (40_001, 20_000)])
def test_a_nice_step_is_1_2_or_5_times_a_power_of_ten_and_four_of_them_reach_the_maximum(maximum, step):
    assert nice_step(maximum) == step


@pytest.mark.parametrize(("value", "places", "label"), [(50_000, 3, "50"), (2_500, 3, "2.5"), (12_346, 3, "12.346"),
                                                        (1050, 2, "10.5"), (-5, 2, "-0.05"), (7, 0, "7"), (0, 2, "0")])
def test_a_scaled_label_is_the_shortest_exact_decimal(value, places, label):
    assert scaled_label(value, places) == label


def test_value_ticks_run_from_zero_to_a_whole_number_of_steps_covering_the_maximum():
    chart = bar_chart(name="c", caption="c", unit="u", x_title="x", items=[], places=3)

    top, ticks = value_ticks(12_346, places=3, plot=chart.plot)

    assert top == 15_000
    assert [tick.label for tick in ticks] == ["0", "5", "10", "15"]
    assert ticks[0].position == chart.plot.bottom and ticks[-1].position == chart.plot.top


def test_a_bar_chart_has_a_bar_per_item_even_of_zero_and_labels_every_fifth_counted_from_the_last():
    items = [(f"d{i}", value, f"title {i}") for i, value in enumerate([0, 10, 20, 0, 40, 5, 0])]

    chart = bar_chart(name="c", caption="c", unit="u", x_title="x", items=items, places=0)

    assert len(chart.bars) == 7
    assert [bar.title for bar in chart.bars] == [f"title {i}" for i in range(7)]
    assert [bar.label for bar in chart.bars] == ["", "d1", "", "", "", "", "d6"]
    heights = [bar.height for bar in chart.bars]
    assert heights[0] == 0 and heights[4] == chart.plot.height  # 40 is the top of the axis (4 steps of 10)
    assert heights[2] == pytest.approx(chart.plot.height / 2, abs=0.1)
    assert all(bar.y + bar.height == pytest.approx(chart.plot.bottom, abs=0.1) for bar in chart.bars)


# --- the registry -------------------------------------------------------------------------------------


@pytest.fixture
def probe_panel():
    """A panel about partners that records each time its figures are read."""
    reads = []
    panel = panel_register(Panel(name="probe", title="Probe", template="admin/dashboard/probe.html",
                                 models=("orders.partner",), figures=lambda: reads.append(1) or {}, order=1))
    yield panel, reads
    panel_unregister("probe")


def test_every_app_registers_its_panels_when_the_admin_is_ready():
    assert [panel.name for panel in panels_registered()] == [
        "orders-days", "open-differences", "chargers-attention", "integrations-attention"]


def test_a_panel_naming_a_model_that_does_not_exist_is_refused():
    with pytest.raises(LookupError):
        panel_register(Panel(name="typo", title="", template="", models=("orders.ordr",), figures=dict))
    assert "typo" not in [panel.name for panel in panels_registered()]


@pytest.mark.django_db
@pytest.mark.parametrize(("codename", "shown"), [("view_partner", True), ("change_partner", True),
                                                 ("add_partner", False), (None, False)])
def test_a_panel_is_shown_only_to_who_may_view_its_models_and_its_figures_read_only_then(
        django_user_model, probe_panel, codename, shown):
    panel, reads = probe_panel
    user = django_user_model.objects.create_user("u", password="pw-1234-staff", is_staff=True)
    if codename:
        user.user_permissions.add(Permission.objects.get(content_type__app_label="orders", codename=codename))

    names = [shown_panel.name for shown_panel in panels_shown(user=user)]

    assert ("probe" in names) is shown
    assert len(reads) == int(shown)


@pytest.mark.django_db
def test_an_inactive_or_non_staff_user_sees_no_panel(django_user_model, probe_panel):
    inactive = django_user_model.objects.create_superuser("gone", password="pw-1234-staff", is_active=False)
    customer = django_user_model.objects.create_user("customer", password="pw-1234-staff")
    customer.user_permissions.add(Permission.objects.get(content_type__app_label="orders", codename="view_partner"))

    assert panels_shown(user=inactive) == [] and panels_shown(user=customer) == []
