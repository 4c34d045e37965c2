import csv
import io
from collections.abc import Generator, Iterator

from flask import Response, after_this_request, flash, request, stream_with_context, url_for
from flask_login import current_user, login_required

from ..domain import plants as plant_service
from ..domain.errors import ValidationError
from ..domain.metrics import BY_KEY, CHARTED, KEYS, METRICS
from ..domain.presets import matching_preset, preset_thresholds
from ..domain.status import STATUS_ORDER, plant_status
from ..extensions import compress, db
from ..models import Plant
from ..ownership import get_owned_or_404
from ..tasks.views import plant_tasks_context
from ..web import is_htmx, not_modified, render, see_other
from . import bp, queries
from .cards import STATUS_LABELS, dashboard_cards
from .charts import BOX, DEFAULT_RANGE, MAX_POINTS, RANGE_LABELS, RANGES, ROLLUP_RANGES, build_chart
from .forms import PlantForm

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
    cards = dashboard_cards(queries.card_rows(filters.get("location")), now, filters.get("status"))
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


def add_problems(form, problems):
    for problem in problems:
        form[problem["field"]].errors.append(problem["message"])


def validate_plant_form(form, plant=None):
    """Validate, apply a preset to blank thresholds, then the plant rules (device free, min <= max)."""
    if form.preset.data and form.thresholds_blank():
        form.apply_preset()
    valid = form.validate()
    fields = form_fields(form)
    problems = plant_service.threshold_problems(fields)
    if fields.get("device_id"):
        problems += plant_service.device_problems(db.session, fields["device_id"], plant and plant.id)
    add_problems(form, problems)
    return valid and not problems


def save_plant(plant, form):
    """Commit, or put the service's errors (a device another request claimed) on the form."""
    try:
        plant_service.save_plant(db.session, plant, form_fields(form))
    except ValidationError as invalid:
        db.session.rollback()
        add_problems(form, invalid.detail)
        return False
    db.session.commit()
    return True


def render_form(form, plant=None, status=200):
    page = "plants/edit.html" if plant else "plants/new.html"
    unclaimed = [] if plant else queries.unclaimed_devices()
    return render(page, "plants/_form.html", status, form=form, plant=plant, unclaimed=unclaimed)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new_plant():
    form = PlantForm()
    if request.method == "GET":
        form.device_id.data = request.args.get("device_id", "").strip()[:64] or None
        return render_form(form)
    if "apply_preset" in request.form:
        form.apply_preset()
        return render_form(form)
    if validate_plant_form(form):
        plant = Plant(user_id=current_user.id)
        if save_plant(plant, form):
            flash(f"Added {plant.name}.", "success")
            return see_other(url_for("plants.show_plant", plant_id=plant.id))
    return render_form(form, status=422)


@bp.route("/<int:plant_id>/edit", methods=["GET", "POST"])
@login_required
def edit_plant(plant_id):
    plant = get_owned_or_404(Plant, plant_id)
    form = PlantForm(obj=plant)
    if request.method == "GET":
        form.preset.data = matching_preset(plant)
        return render_form(form, plant)
    if "apply_preset" in request.form:
        form.apply_preset()
        return render_form(form, plant)
    if validate_plant_form(form, plant) and save_plant(plant, form):
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
    plant = get_owned_or_404(Plant, plant_id)
    if request.method == "GET":
        return render("plants/delete.html", block="delete_form", plant=plant)
    name = plant.name
    plant_service.delete_plant(db.session, plant)
    db.session.commit()
    flash(f"Deleted {name} with its readings and alerts.", "success")
    return see_other(url_for("plants.list_plants"))


def plant_charts(plant, range_key, now):
    start = now - RANGES[range_key]
    read = queries.bucketed_rollups if range_key in ROLLUP_RANGES else queries.bucketed_readings
    bucketed = read(plant.id, start, now, MAX_POINTS)
    return [
        build_chart(
            metric.key,
            bucketed,
            start,
            now,
            MAX_POINTS,
            getattr(plant, f"{metric.key}_min", None),
            getattr(plant, f"{metric.key}_max", None),
        )
        for metric in CHARTED
    ]


@bp.get("/<int:plant_id>")
@login_required
def show_plant(plant_id):
    plant = get_owned_or_404(Plant, plant_id)
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
    }
    if not is_htmx():
        context["alerts"] = queries.open_alerts(plant)
        context.update(plant_tasks_context(plant))
    return render("plants/show.html", block="charts", **context)


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
    plant = get_owned_or_404(Plant, plant_id)
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
