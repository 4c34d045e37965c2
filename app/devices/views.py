from flask import flash, request, url_for
from flask_login import current_user, login_required

from ..clock import utcnow
from ..domain import device_settings as settings
from ..domain.errors import ValidationError
from ..domain.metrics import BY_KEY, KEYS, METRICS
from ..extensions import db
from ..ownership import permissions
from ..web import is_htmx, render, see_other
from . import bp, queries
from .forms import CalibrationForm, RenameForm

PAGE = "devices/show.html"
PAYLOAD_SHOWN = 2000  # characters of the last payload on the page (the writer stores at most as many)


@bp.context_processor
def device_labels():
    return {
        "metrics": METRICS,
        "metric_by_key": BY_KEY,
        "reason_words": settings.reason_words,
        "display_name": settings.display_name,
    }


@bp.get("")
@login_required
def list_devices():
    now = utcnow()
    mine = queries.my_devices(current_user)
    discovered = queries.discovered_devices(current_user)
    everything = [*mine, *discovered]
    return render(
        "devices/list.html",
        block="device_lists",
        mine=mine,
        discovered=discovered,
        diagnostics=settings.diagnostics(db.session, everything, now),
        using=settings.plants_using(db.session, (d.id for d in everything)),
        now=now,
    )


def page_context(device, now, **forms):
    diagnostics = settings.diagnostics(db.session, [device], now)[device.id]
    forms.setdefault("rename_form", RenameForm(formdata=None, obj=device))
    forms.setdefault("calibration_form", CalibrationForm(formdata=None, data=device.calibration or {}))
    forms.setdefault("field_map", dict(device.field_map or {}))
    forms.setdefault("field_map_errors", {})
    payload = device.last_payload or ""
    return {
        "device": device,
        "diag": diagnostics,
        "now": now,
        "latest": queries.latest_values(device),
        "using": settings.plants_using(db.session, [device.id]).get(device.id, []),
        "payload": payload[:PAYLOAD_SHOWN],
        "payload_truncated": len(payload) > PAYLOAD_SHOWN,
        "raw_soil": (device.last_raw or {}).get("soil_moisture"),
        "metric_keys": KEYS,
        "can": (lambda action: True) if device.garden_id is None else permissions(device),
        **forms,
    }


@bp.get("/<int:device_id>")
@login_required
def show_device(device_id):
    device = queries.device_or_404(current_user, device_id)
    return render(PAGE, block="diagnostics", **page_context(device, utcnow()))


@bp.post("/<int:device_id>/name")
@login_required
def rename_device(device_id):
    device = queries.device_or_404(current_user, device_id, "edit")
    form = RenameForm()
    if form.validate():
        try:
            settings.rename(db.session, device, form.name.data)
        except ValidationError as invalid:
            db.session.rollback()
            form.name.errors = [p["message"] for p in invalid.detail]
        else:
            db.session.commit()
            if not is_htmx():
                flash(f"Renamed to {settings.display_name(device)}.", "success")
                return see_other(url_for("devices.show_device", device_id=device.id))
            return render(PAGE, block="rename_form", saved=True, **page_context(device, utcnow()))
    return render(PAGE, status=422, block="rename_form", **page_context(device, utcnow(), rename_form=form))


@bp.post("/<int:device_id>/calibration")
@login_required
def calibrate_device(device_id):
    """Save the typed calibration; "This is dry now" / "This is in water now" first put the
    device's current raw soil value into that point, keeping everything else typed."""
    device = queries.device_or_404(current_user, device_id, "edit")
    form = CalibrationForm()
    valid = form.validate()
    take = request.form.get("take")
    if take in ("dry", "wet"):
        try:
            form.set_value(f"soil_{take}_raw", settings.current_raw_soil(device))
        except ValidationError as invalid:
            form[f"soil_{take}_raw"].errors = [p["message"] for p in invalid.detail]
            valid = False
    if valid:
        try:
            settings.set_calibration(db.session, device, form.values())
        except ValidationError as invalid:
            db.session.rollback()
            for problem in invalid.detail:
                form[problem["field"]].errors.append(problem["message"])
        else:
            db.session.commit()
            if not is_htmx():
                flash("Calibration saved.", "success")
                return see_other(url_for("devices.show_device", device_id=device.id) + "#calibration")
            return render(PAGE, block="calibration_form", saved=True, **page_context(device, utcnow()))
    context = page_context(device, utcnow(), calibration_form=form)
    return render(PAGE, status=422, block="calibration_form", **context)


@bp.post("/<int:device_id>/field-map")
@login_required
def map_fields(device_id):
    """Each source field the device sends -> a metric, or ignored. Only fields the device
    has sent can be mapped; anything else posted is ignored."""
    device = queries.device_or_404(current_user, device_id, "edit")
    known = device.field_map or {}
    mapping = {name: request.form.get(f"map.{name}", known[name]) for name in known}
    try:
        settings.set_field_map(db.session, device, mapping, replace=True)
    except ValidationError as invalid:
        db.session.rollback()
        errors = {p["field"].removeprefix("field_map."): p["message"] for p in invalid.detail}
        context = page_context(device, utcnow(), field_map=mapping, field_map_errors=errors)
        return render(PAGE, status=422, block="field_map_form", **context)
    db.session.commit()
    if not is_htmx():
        flash("Field map saved.", "success")
        return see_other(url_for("devices.show_device", device_id=device.id) + "#field-map")
    return render(PAGE, block="field_map_form", saved=True, **page_context(device, utcnow()))
