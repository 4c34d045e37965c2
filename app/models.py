"""SQLAlchemy models. Times are stored as UTC and come back timezone-aware."""

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .clock import utcnow
from .orm import db

# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer, "sqlite")


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, returns aware UTC, refuses naive input."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=UTC)


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # No longer read: sign-in sessions are rows of user_sessions (app.auth.sessions).
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    # Display preferences (settings): "system" | "light" | "dark"; a locale such as "de" or None
    # for the browser's Accept-Language; "C" | "F" (readings are always stored in °C).
    theme: Mapped[str] = mapped_column(String(8), default="system", server_default="system")
    locale: Mapped[str | None] = mapped_column(String(16))
    temperature_unit: Mapped[str] = mapped_column(String(1), default="C", server_default="C")
    # Secrets below hold ciphertext only (app.crypto), bound to this user and column.
    discord_webhook_url: Mapped[str | None] = mapped_column(Text)
    llm_base_url: Mapped[str | None] = mapped_column(String(500))
    llm_model: Mapped[str | None] = mapped_column(String(200))
    llm_api_key: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # What Flask-Login asks of a user, written here so the models need no Flask-Login import.
    is_authenticated = True
    is_anonymous = False

    def get_id(self):
        return str(self.id)  # login replaces it in the cookie with the session's own secret (app.auth.sessions)

    @property
    def is_active(self):
        return not self.disabled


# Roles in a garden, from most to least: what each may do is app.gardens.roles (docs/security.md).
GARDEN_ROLES = ("owner", "caretaker", "sitter", "viewer")


class Garden(db.Model):
    """A set of plants, devices, tasks, care and alerts that its members share with roles.

    Every user has one personal garden (`personal_of_id`), made with the account; they may
    belong to others (GardenMember)."""

    __tablename__ = "gardens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    personal_of_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    members: Mapped[list["GardenMember"]] = relationship(
        back_populates="garden", cascade="all, delete-orphan", order_by="GardenMember.id"
    )


class GardenMember(db.Model):
    """A user's role in a garden. A plant-sitter's access ends by itself at `until`."""

    __tablename__ = "garden_members"
    __table_args__ = (UniqueConstraint("garden_id", "user_id", name="uq_garden_members_garden_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    garden_id: Mapped[int] = mapped_column(ForeignKey("gardens.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # GARDEN_ROLES
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Which of this member's notification channels hear this garden, and for which events:
    # {"<channel id>": ["opened", ...]}; None: every channel of the member, with its own events.
    notify: Mapped[dict | None] = mapped_column(JSON)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    garden: Mapped[Garden] = relationship(back_populates="members")
    user: Mapped["User"] = relationship()


class GardenInvitation(db.Model):
    """An invitation to a garden, by link or by email address. Only the SHA-256 of the
    link's secret is stored; it is used once, expires, and can be revoked."""

    __tablename__ = "garden_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    garden_id: Mapped[int] = mapped_column(ForeignKey("gardens.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # GARDEN_ROLES
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a plant-sitter's end
    email: Mapped[str | None] = mapped_column(String(254))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    garden: Mapped[Garden] = relationship()


class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UserSession(db.Model):
    """One signed-in device. The cookies hold secrets whose SHA-256 hashes are stored here."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Set for "keep me signed in": the remember cookie's secret, replaced each time it is used.
    remember_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    device: Mapped[str] = mapped_column(String(100), default="", server_default="")
    client_address: Mapped[str] = mapped_column(String(64), default="", server_default="")


class FirstAdministrator(db.Model):
    """At most one row: the account that became the administrator of an empty instance.

    Registrations that race on an empty database all try to insert it; the primary key
    lets exactly one of them succeed.
    """

    __tablename__ = "first_administrator"

    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)


class Throttle(db.Model):
    """A counter in a fixed window, shared by every process (login failures, advice requests)."""

    __tablename__ = "throttles"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    window_ends_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Plant(db.Model):
    __tablename__ = "plants"

    id: Mapped[int] = mapped_column(primary_key=True)
    garden_id: Mapped[int] = mapped_column(ForeignKey("gardens.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    species: Mapped[str] = mapped_column(String(100), default="", server_default="")
    location: Mapped[str] = mapped_column(String(100), default="", server_default="")
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    soil_moisture_min: Mapped[float | None] = mapped_column(Float)
    soil_moisture_max: Mapped[float | None] = mapped_column(Float)
    temperature_min: Mapped[float | None] = mapped_column(Float)
    temperature_max: Mapped[float | None] = mapped_column(Float)
    humidity_min: Mapped[float | None] = mapped_column(Float)
    humidity_max: Mapped[float | None] = mapped_column(Float)
    light_min: Mapped[float | None] = mapped_column(Float)
    light_max: Mapped[float | None] = mapped_column(Float)
    conductivity_min: Mapped[float | None] = mapped_column(Float)
    conductivity_max: Mapped[float | None] = mapped_column(Float)
    stale_after_minutes: Mapped[int] = mapped_column(Integer, default=60, server_default="60")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The newest reading, kept by the ingest writer in the same transaction as the
    # readings, so the dashboard never scans history.
    last_reading_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    latest_soil_moisture: Mapped[float | None] = mapped_column(Float)
    latest_temperature: Mapped[float | None] = mapped_column(Float)
    latest_humidity: Mapped[float | None] = mapped_column(Float)
    latest_light: Mapped[float | None] = mapped_column(Float)
    latest_conductivity: Mapped[float | None] = mapped_column(Float)
    latest_battery: Mapped[float | None] = mapped_column(Float)
    # Watering detected from the soil (app.domain.watering): a rise of this many points within
    # this many minutes; None takes the defaults there.
    watering_rise_points: Mapped[float | None] = mapped_column(Float)
    watering_rise_minutes: Mapped[int | None] = mapped_column(Integer)

    garden: Mapped[Garden] = relationship()
    sensors: Mapped[list["PlantSensor"]] = relationship(
        back_populates="plant", cascade="all, delete-orphan", order_by="PlantSensor.metric"
    )


class Device(db.Model):
    """A sensor as PlantOps knows it, from its first message, whether or not a plant uses it.

    `namespace` is "" for the shared topics of the sources (visible to administrators only)
    and a broker account's name for topics under that account's own prefix, whose owner
    is that account's user. `key` is `<source>:<id>` for adapter sources and the plain
    device id for native ones (docs/contracts.md, "Devices").
    """

    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("namespace", "key", name="uq_devices_namespace_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    namespace: Mapped[str] = mapped_column(String(64), default="", server_default="")
    key: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(32))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # None for a shared-topic device nobody has claimed (administrators only).
    garden_id: Mapped[int | None] = mapped_column(ForeignKey("gardens.id", ondelete="SET NULL"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="", server_default="")
    model: Mapped[str] = mapped_column(String(100), default="", server_default="")
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the last message, stored or not
    last_reading_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the newest stored reading's ts
    message_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    metrics: Mapped[list] = mapped_column(JSON, default=list)  # the metric keys it has sent, in registry order
    battery: Mapped[float | None] = mapped_column(Float)
    linkquality: Mapped[float | None] = mapped_column(Float)
    # {"soil_dry_raw": 2900, "soil_wet_raw": 1200, "temperature_offset": -0.5}; each key optional.
    calibration: Mapped[dict] = mapped_column(JSON, default=dict)
    # Source field name -> metric key, or "" to ignore it (ESPHome object ids, the generic source).
    field_map: Mapped[dict] = mapped_column(JSON, default=dict)
    # The newest uncalibrated values by metric ({"soil_moisture": 2450}), for the calibration buttons.
    last_raw: Mapped[dict] = mapped_column(JSON, default=dict)
    last_payload: Mapped[str | None] = mapped_column(Text)  # as received, truncated
    last_topic: Mapped[str | None] = mapped_column(String(300))
    last_rejection: Mapped[str | None] = mapped_column(String(64))  # a payload.REASONS key
    last_rejection_detail: Mapped[str | None] = mapped_column(String(200))  # "soil moisture out of range (145)"
    last_rejection_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    owner: Mapped[User | None] = relationship()


class DeviceRejection(db.Model):
    """Dropped messages and fields of one device, per reason and UTC day."""

    __tablename__ = "device_rejections"

    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    reason: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlantSensor(db.Model):
    """Which device feeds which metric of a plant: at most one device per metric of a plant."""

    __tablename__ = "plant_sensors"

    plant_id: Mapped[int] = mapped_column(ForeignKey("plants.id", ondelete="CASCADE"), primary_key=True)
    metric: Mapped[str] = mapped_column(String(20), primary_key=True)  # a metrics.KEYS key
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)

    plant: Mapped[Plant] = relationship(back_populates="sensors")
    device: Mapped[Device] = relationship()


class BrokerAccount(db.Model):
    """A Mosquitto account PlantOps made through the dynamic-security plugin.

    A user's account may publish only under `<MQTT_TOPIC_PREFIX>/u/<username>/`, and every
    device seen there has namespace `username` and belongs to that user. A bridge account
    (user_id None, made by an administrator) publishes on the sources' shared topics.
    """

    __tablename__ = "broker_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    role: Mapped[str] = mapped_column(String(16), default="user")  # "user" or "bridge"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IngestSource(db.Model):
    """An administrator's settings for one source; a source without a row takes its defaults."""

    __tablename__ = "ingest_sources"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)  # "zigbee2mqtt", "generic-1"
    kind: Mapped[str] = mapped_column(String(32))  # the adapter: "zigbee2mqtt", "generic", ...
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    base_topic: Mapped[str] = mapped_column(String(200))
    options: Mapped[dict] = mapped_column(JSON, default=dict)  # the generic source's topic filter and fields
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Reading(db.Model):
    """One reading of one device; a plant reads the metrics its sensors are bound for."""

    __tablename__ = "readings"
    __table_args__ = (UniqueConstraint("device_id", "ts", name="uq_readings_device_ts"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    soil_moisture: Mapped[float | None] = mapped_column(Float)
    temperature: Mapped[float | None] = mapped_column(Float)
    humidity: Mapped[float | None] = mapped_column(Float)
    light: Mapped[float | None] = mapped_column(Float)
    conductivity: Mapped[float | None] = mapped_column(Float)
    battery: Mapped[float | None] = mapped_column(Float)


class ReadingHourly(db.Model):
    """Hourly min/max/mean per metric of one device, for long charts once raw readings age out."""

    __tablename__ = "readings_hourly"

    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    stats: Mapped[dict] = mapped_column(JSON)


class IngestRejection(db.Model):
    """Dropped messages per reason, summed over every consumer process."""

    __tablename__ = "ingest_rejections"

    reason: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Alert(db.Model):
    __tablename__ = "alerts"
    __table_args__ = (
        # One unresolved alert per plant and problem.
        Index(
            "uq_alerts_open_problem",
            "plant_id",
            "problem",
            unique=True,
            sqlite_where=text("resolved_at IS NULL"),
            postgresql_where=text("resolved_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    garden_id: Mapped[int] = mapped_column(ForeignKey("gardens.id", ondelete="CASCADE"), index=True)
    plant_id: Mapped[int] = mapped_column(ForeignKey("plants.id", ondelete="CASCADE"), index=True)
    problem: Mapped[str] = mapped_column(String(40))
    metric: Mapped[str | None] = mapped_column(String(20))
    value: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(16), default="open")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notify_error: Mapped[str | None] = mapped_column(String(500))

    plant: Mapped[Plant] = relationship()


class Notification(db.Model):
    """An outgoing webhook message; kept in the database so deliveries survive a restart."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_due", "status", "next_attempt_at"),
        Index("uq_notifications_channel_key", "channel_id", "key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(20))
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # None: the Discord webhook of the user's settings (or the instance's); else that channel.
    channel_id: Mapped[int | None] = mapped_column(
        ForeignKey("notification_channels.id", ondelete="CASCADE"), index=True
    )
    # What a message is about, once per channel ("digest:2026-12-02", "reminder:17"): the
    # unique index lets every process try and exactly one insert.
    key: Mapped[str | None] = mapped_column(String(100))


class Task(db.Model):
    __tablename__ = "tasks"
    # The list's order (app.tasks.queries.ORDER) for the "all" tab and for each status tab.
    __table_args__ = (
        Index("ix_tasks_garden_order", "garden_id", "due_date", "created_at", "id"),
        Index("ix_tasks_garden_completed_order", "garden_id", "completed", "due_date", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    garden_id: Mapped[int] = mapped_column(ForeignKey("gardens.id", ondelete="CASCADE"))
    plant_id: Mapped[int | None] = mapped_column(ForeignKey("plants.id", ondelete="SET NULL"), index=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"), index=True)
    source: Mapped[str] = mapped_column(String(16), default="user", server_default="user")
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    due_date: Mapped[date | None] = mapped_column(Date)
    recurrence_days: Mapped[int | None] = mapped_column(Integer)
    completed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completion_note: Mapped[str | None] = mapped_column(String(500))
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The member this task is assigned to (Today shows it first); None: anyone in the garden.
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # The task a completed recurring task spawned; set once, so re-ticking spawns nothing.
    next_task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"))
    # "due": the next occurrence is due `recurrence_days` after this one's due date; "done":
    # after the day it was done (app.domain.tasks.next_due). Watering defaults to "done".
    repeat_from: Mapped[str] = mapped_column(String(8), default="due", server_default="due")
    # The care this task stands for ("watered", ...: app.domain.care.KINDS): ticking it logs
    # that care, and a detected watering completes the open "watered" tasks of the plant.
    care_kind: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    plant: Mapped[Plant | None] = relationship(foreign_keys=[plant_id])


class Advice(db.Model):
    """An LLM answer about a plant, kept with its time."""

    __tablename__ = "advice"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    plant_id: Mapped[int] = mapped_column(ForeignKey("plants.id", ondelete="CASCADE"), index=True)
    model: Mapped[str] = mapped_column(String(200))
    answer: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NotificationChannel(db.Model):
    """One place a user's notifications go (app.notify.channels): Discord, ntfy, Telegram,
    Gotify, email, Matrix, Slack or a JSON webhook. `url` is ciphertext (app.crypto), bound
    to the user and to this row (field `notification_channel:<id>`)."""

    __tablename__ = "notification_channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    url: Mapped[str | None] = mapped_column(Text)
    events: Mapped[list] = mapped_column(JSON, default=list)
    # Quiet hours as minutes after local midnight; start == end or None: none.
    quiet_start: Mapped[int | None] = mapped_column(Integer)
    quiet_end: Mapped[int | None] = mapped_column(Integer)
    quiet_mode: Mapped[str] = mapped_column(String(8), default="hold", server_default="hold")  # or "digest"
    digest_hour: Mapped[int] = mapped_column(Integer, default=8, server_default="8")
    remind_after_hours: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlantMute(db.Model):
    """A plant whose notifications are muted until `until` (from its page or a message's link)."""

    __tablename__ = "plant_mutes"

    plant_id: Mapped[int] = mapped_column(ForeignKey("plants.id", ondelete="CASCADE"), primary_key=True)
    until: Mapped[datetime] = mapped_column(UTCDateTime)


class CareEvent(db.Model):
    """Care given to a plant: watered, fertilized, repotted, pruned, misted, or a note."""

    __tablename__ = "care_events"
    __table_args__ = (Index("ix_care_events_plant_at", "plant_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    garden_id: Mapped[int] = mapped_column(ForeignKey("gardens.id", ondelete="CASCADE"), index=True)
    plant_id: Mapped[int] = mapped_column(ForeignKey("plants.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # app.domain.care.KINDS
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(String(500), default="", server_default="")
    amount: Mapped[float | None] = mapped_column(Float)  # millilitres (water, mist) or grams
    detected: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # Who did it: None for a watering detected from the soil.
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    by_user: Mapped[User | None] = relationship(foreign_keys=[by_user_id])


class PlantLightDay(db.Model):
    """A plant's daily light integral for one local day, written once the day is judged."""

    __tablename__ = "plant_light_days"

    plant_id: Mapped[int] = mapped_column(ForeignKey("plants.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    dli: Mapped[float] = mapped_column(Float)  # mol/m²/day
    complete: Mapped[bool] = mapped_column(Boolean)  # enough of the day covered to judge it
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CalendarFeed(db.Model):
    """A user's secret iCal feed URL; only the SHA-256 of its secret is stored. Revoked feeds
    stay (revoked_at set), so their done/skip links stop working too."""

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
