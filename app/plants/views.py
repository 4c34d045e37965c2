import csv
import io
from collections.abc import Generator, Iterator
from datetime import timedelta

from flask import Response, after_this_request, flash, request, stream_with_context, url_for
from flask_login import current_user, login_required

from ..devices import queries as device_queries
from ..domain import care, device_settings
from ..domain import devices as device_service
from ..domain import plants as plant_service
from ..domain.errors import NotFoundError, ValidationError
from ..domain.metrics import BY_KEY, CHARTED, KEYS, METRICS
from ..domain.presets import matching_preset, preset_thresholds
from ..domain.status import STATUS_ORDER, plant_status
from ..extensions import compress, db
from ..filters import user_zone
from ..models import Plant
from ..ownership import choose_garden, get_allowed_or_404, get_visible_or_404, my_gardens, permissions
from ..tasks.views import plant_tasks_context
from ..web import is_htmx, not_modified, render, see_other
from . import bp, queries
from .cards import STATUS_LABELS, dashboard_cards
from .care_log import care_log_context, chart_markers
from .charts import BOX, DEFAULT_RANGE, MAX_POINTS, RANGE_BUCKETS, RANGE_LABELS, RANGES, ROLLUP_RANGES, build_chart
from .forms import NO_SENSOR, NOT_YOURS, SAME, PlantForm

CSV_RANGES = {**RANGES, "all": None}


@bp.context_processor
def plant_labels():
    return {"metrics": METRICS, "metric_by_key": BY_KEY, "status_labels": STATUS_LABELS, "chart_box": BOX}


def dashboard_filters():
    """The valid filters in the query string; anything else is ignored."""
    filters = {}
    status = request.args.get("status", "")
    if status in STATUS_ORDER:
        filters["status"] = status
    location = request.args.get("location", "").strip()[:100]
    if location:
        filters["location"] = location
    return filters


@bp.get("")
@login_required
def list_plants():
    """The dashboard. htmx polls it every 5 s with the entity tag of what it shows; an
    unchanged one is answered 304 (htmx swaps nothing) without rendering."""
    filters = dashboard_filters()
    now = queries.utc_now()
    fingerprint = queries.plants_fingerprint(filters.get("location"))
    etag = queries.dashboard_etag(fingerprint, filters, now)
    if is_htmx() and (unchanged := not_modified(etag)):
        return unchanged
    rows = queries.card_rows(filters.get("location"))
    watered = care.last_watered(db.session, [row.id for row in rows])
    cards = dashboard_cards(rows, now, filters.get("status"), watered)
    context = {
        "cards": cards,
        "filters": filters,
        "etag": etag,
        "now": now,
        "open_alert_count": lambda: fingerprint.open_alerts,  # the nav's count, known from the fingerprint
    }
    if is_htmx():
        # A phone watching 500 plants fetches the fragment (650 bytes a card) on every change.
        # It holds no CSRF token and echoes nothing typed, so compressing it is safe.
        after_this_request(compress.after_request)
    else:
        context["locations"] = queries.locations()
    response = render("plants/list.html", block="cards", **context)
    if is_htmx():
        response.set_etag(etag)
    return response


def form_fields(form, names=plant_service.FIELDS):
    """The form's values of `names` that passed the form's own checks."""
    return {name: form[name].data for name in names if not form[name].errors}


# The plant's own fields; its devices are bound per metric by bind_form_devices.
PLANT_FIELDS = tuple(name for name in plant_service.FIELDS if name != "device_id")


def add_problems(form, problems):
    for problem in problems:
        form[problem["field"]].errors.append(problem["message"])


def device_label(device):
    label = f"{device_settings.display_name(device)} ({device.source})"
    return label if device.owner_id is not None else f"{label}, discovered"


def device_choices(form):
    """The devices the current user may pick: theirs, then (administrators) discovered ones."""
    choices = [*device_queries.my_devices(current_user), *device_queries.discovered_devices(current_user)]
    form.set_device_choices(choices, device_label)
    return {device.id: device for device in choices}


def fill_from_plant(form, plant):
    """The pickers as the plant is bound now: the device bound for most metrics for every
    metric, and each metric another device (or none) feeds in its own select."""
    bound = device_settings.bindings_by_device(plant)
    if not bound:
        return
    primary = bound[0][0]
    form.device.data = str(primary.id)
    by_metric = {sensor.metric: sensor.device_id for sensor in plant.sensors}
    for metric, select in form.sensor_fields():
        device_id = by_metric.get(metric.key)
        select.data = SAME if device_id == primary.id else NO_SENSOR if device_id is None else str(device_id)


def validate_plant_form(form, plant=None):
    """Validate, apply a preset to blank thresholds, then the plant rules (min <= max, a key
    the user may use)."""
    if form.preset.data and form.thresholds_blank():
        form.apply_preset()
    valid = form.validate()
    valid = form.check_devices() and valid
    fields = form_fields(form)
    problems = plant_service.threshold_problems(fields)
    if fields.get("device_id"):
        problems += plant_service.device_problems(db.session, current_user, fields["device_id"])
    add_problems(form, problems)
    return valid and not problems


def chosen_devices(form, choices):
    """{metric: Device or None} from the pickers (the typed key made into a device if new)."""
    every = None
    if form.device.data:
        every = choices[int(form.device.data)]
    elif form.device_id.data:
        every = device_service.device_for_key(
            db.session, current_user, form.device_id.data, garden_id=plant_garden(form)
        )
    chosen = {}
    for metric, select in form.sensor_fields():
        if select.data == SAME:
            chosen[metric.key] = every
        elif select.data == NO_SENSOR:
            chosen[metric.key] = None
        else:
            chosen[metric.key] = choices[int(select.data)]
    return chosen


def plant_garden(form):
    return getattr(form, "chosen_garden_id", None)


def save_plant(plant, form, choices):
    """Commit, or put the service's errors (a key someone else took a moment ago) on the form."""
    form.chosen_garden_id = plant.garden_id
    try:
        plant_service.save_plant(db.session, plant, form_fields(form, PLANT_FIELDS), current_user)
        device_settings.bind_chosen(db.session, current_user, plant, chosen_devices(form, choices))
    except ValidationError as invalid:
        db.session.rollback()
        add_problems(form, invalid.detail)
        return False
    except NotFoundError:
        db.session.rollback()
        form.device.errors.append(NOT_YOURS)
        return False
    db.session.commit()
    return True


def use_device(form, choices):
    """A "Use" button of the device list: put that device in the every-metric picker, keep
    everything else typed, check nothing yet."""
    value = request.form.get("use_device", "")
    if value.isdigit() and int(value) in choices:
        form.device.data = value
        form.device_id.data = None
        form.device_id.raw_data = [""]


def render_form(form, plant=None, status=200):
    page = "plants/edit.html" if plant else "plants/new.html"
    picked = {int(f.data) for f in (form.device, *(s for _, s in form.sensor_fields())) if f.data and f.data.isdigit()}
    waiting = [d for d in device_queries.unused_devices(current_user) if d.id not in picked]
    return render(
        page,
        "plants/_form.html",
        status,
        form=form,
        plant=plant,
        waiting=waiting,
        device_label=device_label,
        gardens=my_gardens("edit") if plant is None else [],
        garden_error=getattr(form, "garden_error", None),
        chosen_garden=request.form.get("garden_id", ""),
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new_plant():
    form = PlantForm()
    choices = device_choices(form)
    if request.method == "GET":
        form.device_id.data = request.args.get("device_id", "").strip()[:200] or None
        chosen = request.args.get("device", "")
        if chosen.isdigit() and int(chosen) in choices:
            form.device.data = chosen
        return render_form(form)
    if "use_device" in request.form:
        use_device(form, choices)
        return render_form(form)
    if "apply_preset" in request.form:
        form.apply_preset()
        return render_form(form)
    try:
        garden_id = choose_garden(request.form.get("garden_id"))
    except ValidationError as invalid:
        form.garden_error = invalid.detail[0]["message"]
        validate_plant_form(form)
        return render_form(form, status=422)
    if validate_plant_form(form):
        plant = Plant(garden_id=garden_id)
        if save_plant(plant, form, choices):
            flash(f"Added {plant.name}.", "success")
            return see_other(url_for("plants.show_plant", plant_id=plant.id))
    return render_form(form, status=422)


@bp.route("/<int:plant_id>/edit", methods=["GET", "POST"])
@login_required
def edit_plant(plant_id):
    plant = get_allowed_or_404(Plant, plant_id, "edit")
    form = PlantForm(obj=plant)
    choices = device_choices(form)
    if request.method == "GET":
        fill_from_plant(form, plant)
        form.preset.data = matching_preset(plant)
        return render_form(form, plant)
    if "use_device" in request.form:
        use_device(form, choices)
        return render_form(form, plant)
    if "apply_preset" in request.form:
        form.apply_preset()
        return render_form(form, plant)
    if validate_plant_form(form, plant) and save_plant(plant, form, choices):
        flash(f"Saved {plant.name}.", "success")
        return see_other(url_for("plants.show_plant", plant_id=plant.id))
    return render_form(form, plant, status=422)


@bp.get("/thresholds")
@login_required
def show_preset_thresholds():
    """The threshold inputs filled from a preset (htmx swaps them into the form).
    "No preset" answers 204, so htmx keeps what was typed."""
    values = preset_thresholds(request.args.get("preset", ""))
    if not values:
        return Response(status=204)
    form = PlantForm(formdata=None, data=values)
    return render("plants/_thresholds.html", "plants/_thresholds.html", form=form)


@bp.route("/<int:plant_id>/delete", methods=["GET", "POST"])
@login_required
def delete_plant(plant_id):
    plant = get_allowed_or_404(Plant, plant_id, "edit")
    if request.method == "GET":
        return render("plants/delete.html", block="delete_form", plant=plant)
    name = plant.name
    plant_service.delete_plant(db.session, plant)
    db.session.commit()
    flash(f"Deleted {name} and its alerts; its sensors keep their readings.", "success")
    return see_other(url_for("plants.list_plants"))


def plant_charts(plant, range_key, now):
    start = now - RANGES[range_key]
    buckets = RANGE_BUCKETS.get(range_key, MAX_POINTS)
    read = queries.bucketed_rollups if range_key in ROLLUP_RANGES else queries.bucketed_readings
    bucketed = read(plant.id, start, now, buckets)
    zone = user_zone()
    return [
        build_chart(
            metric.key,
            bucketed,
            start,
            now,
            buckets,
            # a daily metric's thresholds are day totals, not levels the chart could band
            None if metric.daily else getattr(plant, f"{metric.key}_min", None),
            None if metric.daily else getattr(plant, f"{metric.key}_max", None),
            limits=metric.range,
            zone=zone,
        )
        for metric in CHARTED
    ]


def plant_sensors(plant, now):
    """[(device, [metrics it feeds], diagnostics)] and the metrics no device feeds."""
    bound = device_settings.bindings_by_device(plant)
    quiet = timedelta(minutes=plant.stale_after_minutes)
    diagnostics = device_settings.diagnostics(db.session, [device for device, _ in bound], now, quiet)
    fed = {metric for _, metrics in bound for metric in metrics}
    return {
        "bound": [(device, metrics, diagnostics[device.id]) for device, metrics in bound],
        "unfed": [metric for metric in METRICS if metric.key not in fed],
    }


@bp.get("/<int:plant_id>")
@login_required
def show_plant(plant_id):
    plant = get_visible_or_404(Plant, plant_id)
    range_key = request.args.get("range", DEFAULT_RANGE)
    if range_key not in RANGES:
        range_key = DEFAULT_RANGE
    now = queries.utc_now()
    context = {
        "plant": plant,
        "state": plant_status(plant, now),
        "now": now,
        "range_key": range_key,
        "range_labels": RANGE_LABELS,
        "rollup_ranges": ROLLUP_RANGES,
        "charts": plant_charts(plant, range_key, now),
        "chart_markers": chart_markers(plant.id, now - RANGES[range_key], now),
    }
    if not is_htmx():
        context["sensors"] = plant_sensors(plant, now)
        context.update(live_context(plant, now))
    context.setdefault("can", permissions(plant))
    return render("plants/show.html", block="charts", **context)


def live_context(plant, now):
    """What the plant page's live regions show (latest values, problems, alerts, tasks, care log):
    the same queries whatever the number of tasks, alerts or events."""
    state = plant_status(plant, now)
    alerts = queries.open_alerts(plant)
    return {
        "state": state,
        "alerts": alerts,
        # the latest state's problems, and those only an open alert knows (daily light)
        "problems": [*state.problems, *(a.problem for a in alerts if a.problem not in state.problems)],
        "device_key": device_service.primary_device_key(plant),
        "live_etag": live_etag(plant),
        "can": permissions(plant),
        **plant_tasks_context(plant),
        **care_log_context(plant, now),
        "now": now,
    }


def live_etag(plant):
    from .live import plant_fingerprint

    return plant_fingerprint(db.session, plant, queries.utc_now())


@bp.get("/<int:plant_id>/live")
@login_required
def plant_live(plant_id):
    """The plant page's poll (every 5 s): 304 while nothing it shows changed (two queries), else
    its live regions as out-of-band swaps; the care form and the charts are never replaced, so
    nothing typed, focused or scrolled is lost."""
    plant = get_visible_or_404(Plant, plant_id)
    etag = live_etag(plant)
    if unchanged := not_modified(etag):
        return unchanged
    now = queries.utc_now()
    response = render("plants/_live.html", "plants/_live.html", **live_context(plant, now))
    response.set_etag(etag)
    return response


def csv_lines(header: tuple[str, ...], rows: Generator[tuple, None, None], batch: int = 1000) -> Iterator[str]:
    """CSV text in chunks of `batch` rows, times (each row's first value) as ISO 8601 UTC.
    Closes `rows` at the end or when the client goes away."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    try:
        for count, row in enumerate(rows, start=1):
            writer.writerow((row[0].strftime("%Y-%m-%dT%H:%M:%S.%fZ"), *("" if v is None else v for v in row[1:])))
            if count % batch == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()
    finally:
        rows.close()


@bp.get("/<int:plant_id>/readings.csv")
@login_required
def export_readings(plant_id):
    """Raw readings; the long ranges as one row per hour from the rollups (8,760 rows a year)."""
    plant = get_visible_or_404(Plant, plant_id)
    range_key = request.args.get("range", "all")
    if range_key not in CSV_RANGES:
        range_key = "all"
    now = queries.utc_now()
    start = now - CSV_RANGES[range_key] if CSV_RANGES[range_key] else None
    if range_key in ROLLUP_RANGES:
        header = ("ts", "readings", *(f"{m}_{stat}" for m in KEYS for stat in queries.HOURLY_STATS))
        lines = csv_lines(header, queries.hourly_rows(plant.id, start, now))
        filename = f"plant-{plant.id}-hourly-{range_key}.csv"
    else:
        lines = csv_lines(("ts", *KEYS), queries.reading_rows(plant.id, start, None))
        filename = f"plant-{plant.id}-readings-{range_key}.csv"
    return Response(
        stream_with_context(lines),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
