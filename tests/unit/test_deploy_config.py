"""The container deployment, checked without a container engine: the compose file, its secrets
(required, no defaults, a template and a generator), its images (official by default, each
overridable), the Kafka init script (run with recording stand-ins for Kafka's tools, which keep the
topics it creates like a cluster would) and the settings it feeds."""

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from pydantic import AliasChoices

from services.experiments.config import ExperimentsSettings
from services.ideas.config import IdeasSettings
from services.notifications.config import NotificationsSettings
from services.reporting.config import ReportingSettings
from shared.events.topics import STREAMS, dlq_topic, intake_topic, topic_name
from shared.settings import DEVELOPMENT_MODE, PublishedSecretError, is_published

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
INIT_SCRIPT = ROOT / "deploy" / "compose" / "kafka-init.sh"
NEW_ENV = ROOT / "deploy" / "compose" / "new-env.sh"
ENV_EXAMPLE = ROOT / ".env.example"
DEPARTMENTS = ("dwp", "hmrc")
SETTINGS = {"ideas": IdeasSettings, "experiments": ExperimentsSettings,
            "notifications": NotificationsSettings, "reporting": ReportingSettings}
PORTS = {"reporting": 8000, "ideas-dwp": 8001, "experiments-dwp": 8002, "notifications-dwp": 8003,
         "ideas-hmrc": 8011, "experiments-hmrc": 8012, "notifications-hmrc": 8013}
INIT_ENV = {k: str(v) for k, v in COMPOSE["services"]["init"]["environment"].items()}
# What the repository's docker-compose.yml fell back to before it required a .env: published.
OLD_DEMO_VALUES = {
    "KAFKA_ADMIN_PASSWORD": "demo-admin-kafka-password", "POSTGRES_PASSWORD": "innovation",
    "KAFKA_PASSWORD_REPORTING": "demo-reporting-kafka",
    **{f"KAFKA_PASSWORD_{d.upper()}_{s.upper()}": f"demo-{d}-{s}-kafka"
       for d in DEPARTMENTS for s in ("ideas", "experiments", "notifications")},
    **{f"PSEUDONYM_SECRET_{d.upper()}": f"demo-pseudonym-secret-{d}" for d in DEPARTMENTS},
}
# Passwords added since: never published.
SYSTEMS_PASSWORDS = {f"KAFKA_PASSWORD_{d.upper()}_SYSTEMS" for d in DEPARTMENTS}
SERVICES = ("ideas", "experiments", "notifications")
OWNER = {"ideas": "ideas", "experiments": "experiments", "outcomes": "experiments"}  # each stream's one writer
INTERPOLATION = re.compile(r"\$\{([^}]*)\}")
REQUIRED = re.compile(r"([A-Z][A-Z0-9_]*):\?(.*)")
DEFAULTED = re.compile(r"([A-Z][A-Z0-9_]*):-(.*)")
# The only variables with a default: the images (official ones) and Kafka's port on the host.
IMAGES = {"KAFKA_IMAGE": "apache/kafka:4.1.1", "POSTGRES_IMAGE": "postgres:16",
          "MAILPIT_IMAGE": "axllent/mailpit:v1.34.0"}
BUILD_IMAGES = {"PYTHON_IMAGE": "python:3.11-slim", "NODE_IMAGE": "node:22-slim"}
DEFAULTS = {**IMAGES, **BUILD_IMAGES, "KAFKA_EXTERNAL_PORT": "19092"}
DOCKERFILE = ROOT / "Dockerfile"


class MissingVariable(Exception):
    pass


def resolve(value, env: dict[str, str]) -> str:
    """Compose's interpolation of `${NAME:?message}` (the value from `env`, or the message when unset or
    empty) and `${NAME:-default}` (the value, or the default)."""
    def one(match: re.Match) -> str:
        if defaulted := DEFAULTED.fullmatch(match.group(1)):
            name, default = defaulted.groups()
            return env.get(name) or default
        name, message = REQUIRED.fullmatch(match.group(1)).groups()
        if not env.get(name):
            raise MissingVariable(message)
        return env[name]
    return INTERPOLATION.sub(one, str(value))


def env_file(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


@pytest.fixture(scope="module")
def dot_env(tmp_path_factory) -> dict[str, str]:
    """A .env as an operator makes it: `deploy/compose/new-env.sh`."""
    path = tmp_path_factory.mktemp("compose") / ".env"
    subprocess.run(["bash", str(NEW_ENV), str(path)], check=True, capture_output=True, timeout=60)
    return env_file(path)


def kafka_stand_ins(bin_dir: Path, list_failures: int = 0, list_error: str = "") -> Path:
    """Stand-ins for Kafka's tools that record their arguments (in `calls`) and keep the topics
    `kafka-topics.sh --create` makes (in `topics`), which `--list` prints, like a cluster. The first
    `list_failures` listings fail, printing `list_error` (on stdout, as Kafka's TopicCommand does); any other
    call of the tool named in the environment's STANDIN_FAILS fails."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    log, topics, failures = bin_dir / "calls", bin_dir / "topics", bin_dir / "list-failures"
    topics.touch()
    failures.write_text(str(list_failures))
    # one write per call: the script runs a few tools at once
    record = (f'line=$(basename "$0"); for a in "$@"; do line="$line$(printf "\\t%s" "$a")"; done\n'
              f'printf "%s\\n" "$line" >>"{log}"\n'
              f'case " $* " in *" --list "*) ;; *) [ "$(basename "$0")" != "${{STANDIN_FAILS:-}}" ] || exit 1;; esac\n')
    for tool in ("kafka-configs.sh", "kafka-acls.sh"):
        (bin_dir / tool).write_text("#!/bin/sh\n" + record)
    (bin_dir / "kafka-topics.sh").write_text("#!/bin/sh\n" + record + f"""
case " $* " in *" --list "*)
  left=$(cat "{failures}"); if [ "$left" -gt 0 ]; then echo $((left - 1)) >"{failures}"; echo "{list_error}"; exit 1; fi
  cat "{topics}";;
esac
case " $* " in *" --create "*)
  take=; for a in "$@"; do
    [ -n "$take" ] && {{ grep -qxF "$a" "{topics}" || echo "$a" >>"{topics}"; }}; take=; [ "$a" = --topic ] && take=1
  done;;
esac
exit 0
""")
    for tool in bin_dir.glob("*.sh"):
        tool.chmod(0o755)
    return bin_dir


def run_init(bin_dir: Path, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(INIT_SCRIPT)], env={"PATH": os.environ["PATH"], "KAFKA_BIN": str(bin_dir), **env},
                          check=check, capture_output=True, text=True, timeout=60)


def calls_of(bin_dir: Path) -> list[list[str]]:
    log = bin_dir / "calls"
    return [line.split("\t") for line in log.read_text().splitlines()] if log.exists() else []


def compose_init_env(dot_env: dict[str, str]) -> dict[str, str]:
    return {k: resolve(v, dot_env) for k, v in INIT_ENV.items()}


@pytest.fixture(scope="module")
def init_calls(tmp_path_factory, dot_env) -> list[list[str]]:
    """Runs kafka-init.sh as compose's init service does, against the stand-ins."""
    bin_dir = kafka_stand_ins(tmp_path_factory.mktemp("kafka-bin"))
    run_init(bin_dir, compose_init_env(dot_env))
    return calls_of(bin_dir)


def option(call: list[str], name: str) -> str | None:
    return call[call.index(name) + 1] if name in call else None


def acls(calls, principal: str) -> list[tuple[str, str, str, str, frozenset[str]]]:
    """(allow|deny, pattern type, resource kind, name, operations) of one principal's ACLs."""
    found = []
    for call in calls:
        if call[0] != "kafka-acls.sh":
            continue
        kind = "topic" if "--topic" in call else "group"
        verdict = "allow" if option(call, "--allow-principal") == f"User:{principal}" else (
            "deny" if option(call, "--deny-principal") == f"User:{principal}" else None)
        if verdict:
            operations = frozenset(call[i + 1] for i, arg in enumerate(call) if arg == "--operation")
            found.append((verdict, option(call, "--resource-pattern-type"), kind, option(call, f"--{kind}"), operations))
    return found


def may(calls, principal: str, operation: str, topic: str) -> bool:
    """Kafka's decision for one topic: a matching deny wins; Read, Write, Delete or Alter imply Describe."""
    matching = [(verdict, ops) for verdict, pattern, kind, name, ops in acls(calls, principal) if kind == "topic"
                and (topic == name if pattern == "literal" else topic.startswith(name))]
    if any(verdict == "deny" and operation in ops for verdict, ops in matching):
        return False
    implied = {operation} | ({"Read", "Write", "Delete", "Alter"} if operation == "Describe" else set())
    return any(verdict == "allow" and ops & implied for verdict, ops in matching)


def created_topics(calls) -> set[str]:
    return {option(c, "--topic") for c in calls if c[0] == "kafka-topics.sh" and "--create" in c}


def principals(calls) -> set[str]:
    return {option(c, "--entity-name") for c in calls if c[0] == "kafka-configs.sh"}


def test_the_init_creates_exactly_the_contract_topics(init_calls):
    created = created_topics(init_calls)
    expected = {topic_name(d, s) for d in DEPARTMENTS for s in STREAMS}
    expected |= {intake_topic(d, s) for d in DEPARTMENTS for s in STREAMS}
    expected |= {dlq_topic(s) for s in ("ideas", "experiments", "notifications", "reporting")}
    assert created == expected
    for call in init_calls:
        if "--create" in call:
            assert "--if-not-exists" in call and "retention.ms=-1" in call


def test_every_principal_gets_a_scram_sha_512_user(init_calls):
    users = {option(c, "--entity-name"): option(c, "--add-config") for c in init_calls if c[0] == "kafka-configs.sh"}
    assert set(users) == {f"{d}-{s}" for d in DEPARTMENTS for s in (*SERVICES, "systems")} | {"reporting"}
    assert all(config.startswith("SCRAM-SHA-512=[") for config in users.values())


def test_every_canonical_stream_has_exactly_one_writer_and_every_intake_the_department_systems(init_calls):
    everyone = principals(init_calls)
    for department in DEPARTMENTS:
        for stream in STREAMS:
            canonical, intake = topic_name(department, stream), intake_topic(department, stream)
            assert {p for p in everyone if may(init_calls, p, "Write", canonical)} == {f"{department}-{OWNER[stream]}"}
            assert {p for p in everyone if may(init_calls, p, "Write", intake)} == {f"{department}-systems"}
            # Only the owning service reads the intake: unvetted events reach nobody else, reporting included.
            assert {p for p in everyone if may(init_calls, p, "Read", intake)} == {f"{department}-{OWNER[stream]}"}
            assert not may(init_calls, "reporting", "Describe", intake)
            assert may(init_calls, "reporting", "Read", canonical)


@pytest.mark.parametrize("department", DEPARTMENTS)
def test_a_department_systems_principal_writes_only_its_intake(init_calls, department):
    principal = f"{department}-systems"
    assert acls(init_calls, principal) == [("allow", "prefixed", "topic", f"innovation.{department}.inbound.",
                                            frozenset({"Write", "Describe"}))]
    universe = created_topics(init_calls) | {intake_topic("newdept", "ideas")}
    assert {t for t in universe if may(init_calls, principal, "Write", t)} == {
        intake_topic(department, s) for s in STREAMS}
    assert not [t for t in universe if may(init_calls, principal, "Read", t)]


@pytest.mark.parametrize("department", DEPARTMENTS)
@pytest.mark.parametrize("service", SERVICES)
def test_a_department_service_writes_only_the_streams_it_owns_and_reads_only_what_it_consumes(
        init_calls, department, service):
    d, others = department, [o for o in DEPARTMENTS if o != department]
    universe = created_topics(init_calls) | {topic_name("newdept", s) for s in STREAMS}
    principal = f"{d}-{service}"
    writes = {t for t in universe if may(init_calls, principal, "Write", t)}
    reads = {t for t in universe if may(init_calls, principal, "Read", t)}
    assert writes == {topic_name(d, s) for s in STREAMS if OWNER[s] == service} | {dlq_topic(service)}
    expected_reads = {
        "ideas": {intake_topic(d, "ideas")},
        "experiments": {topic_name(d, "ideas"), intake_topic(d, "experiments"), intake_topic(d, "outcomes"),
                        *(topic_name(o, "outcomes") for o in DEPARTMENTS)},
        "notifications": {*(topic_name(d, s) for s in STREAMS), *(topic_name(o, "outcomes") for o in others)},
    }[service]
    assert reads == expected_reads


@pytest.mark.parametrize("department", DEPARTMENTS)
@pytest.mark.parametrize("service", SERVICES)
def test_a_department_principal_writes_only_its_own_prefix(init_calls, department, service):
    granted = acls(init_calls, f"{department}-{service}")
    others = [d for d in DEPARTMENTS if d != department]
    assert not [name for verdict, pattern, kind, name, ops in granted if kind == "topic" and pattern == "prefixed"]
    for verdict, pattern, kind, name, ops in granted:
        assert verdict == "allow"
        if kind == "topic" and "Write" in ops:
            assert name.startswith(f"innovation.{department}.") or name == dlq_topic(service)
        if kind == "topic" and not name.startswith(f"innovation.{department}.") and name != dlq_topic(service):
            # only other departments' outcomes, only to read, and only for the services that need them
            assert service in ("experiments", "notifications")
            assert name in {topic_name(o, "outcomes") for o in others} and ops == {"Read", "Describe"}
        if kind == "group":
            assert name in (f"{service}.{department}", f"{service}.{department}.") and ops == {"Read"}
    if service != "ideas":
        reads = {name for verdict, pattern, kind, name, ops in granted if kind == "topic" and "Read" in ops
                 and not name.startswith(f"innovation.{department}.")}
        assert reads == {topic_name(o, "outcomes") for o in others}


def test_reporting_only_reads_departmental_topics(init_calls):
    granted = acls(init_calls, "reporting")
    writes = [name for verdict, pattern, kind, name, ops in granted if verdict == "allow" and "Write" in ops]
    assert writes == [dlq_topic("reporting")]  # its own dead letters: the consumer rule needs them
    assert ("allow", "prefixed", "topic", "innovation.", frozenset({"Read", "Describe"})) in granted
    assert ("deny", "prefixed", "topic", "innovation.dlq.", frozenset({"Read"})) in granted
    for department in DEPARTMENTS:  # nor any department's intake: the centre never sees unvetted events
        assert ("deny", "prefixed", "topic", f"innovation.{department}.inbound.", frozenset({"Read", "Describe"})) in granted
    assert ("allow", "literal", "group", ReportingSettings().group_id, frozenset({"Read"})) in granted


def test_the_init_refuses_a_missing_password():
    env = {"PATH": os.environ["PATH"], "KAFKA_BIN": "/nonexistent", "KAFKA_ADMIN_PASSWORD": "admin-password-1",
           "INNOVATION_DEPARTMENTS": "dwp"}
    result = subprocess.run(["bash", str(INIT_SCRIPT)], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "KAFKA_PASSWORD_DWP_IDEAS is not set" in result.stderr


def app_services():
    return {name: spec for name, spec in COMPOSE["services"].items() if spec.get("image") == "innovation-network:local"}


def settings_of(name: str):
    return SETTINGS[name.split("-")[0]]


def test_every_service_has_its_contract_port_and_a_readiness_healthcheck():
    assert set(app_services()) == set(PORTS)
    for name, spec in app_services().items():
        port = PORTS[name]
        assert spec["command"] == ["python", "-m", f"services.{name.split('-')[0]}"]
        assert spec["ports"] == [f"{port}:{port}"]
        assert int(spec["environment"]["HTTP_PORT"]) == port
        assert f"http://127.0.0.1:{port}/readyz" in " ".join(spec["healthcheck"]["test"])
        assert spec["depends_on"]["init"]["condition"] == "service_completed_successfully"
        assert spec["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("kafka", "postgres", "mailpit"):
        assert COMPOSE["services"][name]["healthcheck"]["test"]
        assert COMPOSE["services"][name]["restart"] == "unless-stopped"
    assert resolve(COMPOSE["services"]["kafka"]["image"], {}) == "apache/kafka:4.1.1"
    assert COMPOSE["services"]["init"]["depends_on"]["kafka"]["condition"] == "service_healthy"


def names_read(settings_class) -> set[str]:
    names = set()
    for field_name, field in settings_class.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {choice.upper() for choice in alias.choices if isinstance(choice, str)}
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(field_name.upper())
    return names


def test_compose_passes_only_variables_the_settings_read():
    for name, spec in app_services().items():
        unknown = set(spec["environment"]) - names_read(settings_of(name))
        assert not unknown, f"{name}: {sorted(unknown)} are read by no setting"


def compose_environment(monkeypatch, spec, dot_env: dict[str, str]) -> None:
    """The process environment compose gives a service: nothing else, and no development mode."""
    for key in list(os.environ):
        if key.startswith(("KAFKA_", "INNOVATION_", "HTTP_")) or key.endswith("DATABASE_URL"):
            monkeypatch.delenv(key)
    for key, value in spec["environment"].items():
        monkeypatch.setenv(key, resolve(value, dot_env))


def test_each_service_settings_accept_the_compose_environment(monkeypatch, dot_env):
    for name, spec in app_services().items():
        compose_environment(monkeypatch, spec, dot_env)
        settings = settings_of(name)()
        assert not settings.development_mode
        assert settings.http_port == PORTS[name]
        assert settings.database_url.startswith("postgresql://") and settings.database_url.endswith(
            "/reporting" if name == "reporting" else f"/{name.replace('-', '_', 1).split('_')[0]}_{name.split('-')[1]}")
        options = settings.kafka_client_options()
        assert options["security_protocol"] == "SASL_PLAINTEXT" and options["sasl_mechanism"] == "SCRAM-SHA-512"
        assert options["sasl_plain_username"] == (name if name == "reporting" else "-".join(reversed(name.split("-"))))
        if name != "reporting":
            assert settings.department == name.split("-")[1]


def test_the_local_mode_stays_plaintext(monkeypatch):
    for key in list(os.environ):
        if key.startswith("KAFKA_"):
            monkeypatch.delenv(key)
    settings = IdeasSettings()
    assert settings.kafka_client_options() == {} and settings.kafka_security() is None


def test_sasl_without_credentials_is_refused(monkeypatch):
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.delenv("KAFKA_SASL_USERNAME", raising=False)
    monkeypatch.delenv("KAFKA_SASL_PASSWORD", raising=False)
    with pytest.raises(ValueError, match="KAFKA_SASL_USERNAME"):
        IdeasSettings()


def test_every_interpolated_variable_is_required_and_named_when_missing():
    """No `${NAME:-default}` but for the images and Kafka's host port, and no bare `$NAME`: compose
    without a .env stops, naming what to set."""
    found = INTERPOLATION.findall(COMPOSE_TEXT)
    assert found
    defaulted = set()
    for expression in found:
        if (with_default := DEFAULTED.fullmatch(expression)) and with_default.group(1) in DEFAULTS:
            name, default = with_default.groups()
            assert default == DEFAULTS[name], f"${{{expression}}}: the default is {DEFAULTS[name]}"
            defaulted.add(name)
            continue
        required = REQUIRED.fullmatch(expression)
        assert required, f"${{{expression}}} has a default or no message"
        name, message = required.groups()
        assert message.startswith(f"{name} is not set") and ".env.example" in message
    assert defaulted == set(DEFAULTS)
    assert not any(re.search("PASSWORD|SECRET", name) for name in defaulted)
    assert not re.search(r"\$[A-Za-z_]", COMPOSE_TEXT.replace("$${", "").replace("${", ""))


def test_every_image_is_the_official_one_unless_overridden():
    services = COMPOSE["services"]
    image_of = {"kafka": "KAFKA_IMAGE", "init": "KAFKA_IMAGE", "postgres": "POSTGRES_IMAGE", "mailpit": "MAILPIT_IMAGE"}
    assert set(image_of) | set(app_services()) == set(services)  # every service is one or the other
    for service, variable in image_of.items():
        image = services[service]["image"]
        assert image == f"${{{variable}:-{IMAGES[variable]}}}"
        assert resolve(image, {}) == IMAGES[variable]
        assert resolve(image, {variable: "innovation-standin/x:1"}) == "innovation-standin/x:1"
        assert ":" in IMAGES[variable] and not IMAGES[variable].endswith(":latest")  # pinned
    for name, spec in app_services().items():
        build = spec["build"]
        assert build["context"] == "."
        assert {arg: resolve(value, {}) for arg, value in build["args"].items()} == BUILD_IMAGES
        overridden = {arg: f"innovation-standin/{arg.lower()}:1" for arg in BUILD_IMAGES}
        assert {arg: resolve(value, overridden) for arg, value in build["args"].items()} == overridden, name


def test_the_dockerfile_takes_its_base_images_as_build_arguments():
    lines = [line.strip() for line in DOCKERFILE.read_text().splitlines() if line.strip() and not line.startswith("#")]
    froms = [i for i, line in enumerate(lines) if line.startswith("FROM ")]
    declared = dict(line[len("ARG "):].split("=", 1) for line in lines[:froms[0]] if line.startswith("ARG "))
    assert declared == BUILD_IMAGES  # declared before the first FROM, with the official defaults
    assert [lines[i].split()[1] for i in froms] == ["${NODE_IMAGE}", "${PYTHON_IMAGE}"]


def test_the_build_context_leaves_out_the_local_state():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".git", ".venv", ".cache", ".run", "**/node_modules", ".env"} <= ignored
    assert not {"shared", "services", "pyproject.toml", "README.md"} & ignored  # what the Dockerfile copies


def test_nothing_without_sign_in_is_published_beyond_the_host():
    services = COMPOSE["services"]
    for port in services["mailpit"]["ports"]:  # its web page and API have no sign-in
        assert port.startswith("127.0.0.1:")
    assert "ports" not in services["postgres"] and "ports" not in services["init"]
    [kafka_port] = services["kafka"]["ports"]
    assert kafka_port == "127.0.0.1:${KAFKA_EXTERNAL_PORT:-19092}:19092"
    env = services["kafka"]["environment"]
    assert env["KAFKA_EXTERNAL_PORT"] == "19092"
    for host_port in ("19092", "29192"):  # advertised as the host's port, whichever it is
        assert resolve(env["KAFKA_EXTERNAL_ADVERTISED"], {"KAFKA_EXTERNAL_PORT": host_port}) == f"127.0.0.1:{host_port}"
        assert resolve(kafka_port, {"KAFKA_EXTERNAL_PORT": host_port}) == f"127.0.0.1:{host_port}:19092"


def test_healthchecks_use_only_what_each_image_has():
    services = COMPOSE["services"]
    kafka = " ".join(services["kafka"]["healthcheck"]["test"])
    assert "/opt/kafka/bin/kafka-broker-api-versions.sh" in kafka and "/tmp/innovation-kafka/admin.properties" in kafka
    assert "KAFKA_HEAP_OPTS=-Xmx128m " in kafka  # not the broker's heap for each probe
    assert "KAFKA_JVM_PERFORMANCE_OPTS='-XX:+UseSerialGC -XX:TieredStopAtLevel=1' " in kafka
    assert "-XX:TieredStopAtLevel=1" in INIT_ENV["KAFKA_JVM_PERFORMANCE_OPTS"]
    # TCP: while the first start runs its init scripts, the server listens on its socket only
    assert "pg_isready -h 127.0.0.1" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["mailpit"]["healthcheck"]["test"] == ["CMD", "/mailpit", "readyz"]
    for spec in app_services().values():
        assert spec["healthcheck"]["test"][:2] == ["CMD", "python"]  # the app image has no curl


def test_compose_without_a_dot_env_stops_at_every_secret():
    secrets = [(name, key, value) for name, service in COMPOSE["services"].items()
               for key, value in (service.get("environment") or {}).items()
               if re.search("PASSWORD|SECRET|DATABASE_URL", key)]
    assert len(secrets) == 2 + 10 + 6 * 3 + 2  # kafka and postgres, init, departments: three each, reporting: two
    for name, key, value in secrets:
        with pytest.raises(MissingVariable, match=r"is not set - copy \.env\.example"):
            resolve(value, {})
        assert not is_published(INTERPOLATION.sub("", value)), f"{name}: {key} holds a published literal"


def test_the_example_lists_every_variable_compose_reads_and_holds_no_secret():
    example = env_file(ENV_EXAMPLE)
    needed = {REQUIRED.fullmatch(e).group(1) for e in INTERPOLATION.findall(COMPOSE_TEXT) if REQUIRED.fullmatch(e)}
    assert set(example) == needed == set(OLD_DEMO_VALUES) | SYSTEMS_PASSWORDS
    assert all(value == "" for value in example.values())  # copied unchanged, compose still stops
    optional = dict(line[2:].split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines()
                    if re.match(r"# [A-Z][A-Z0-9_]*=", line))
    assert optional == DEFAULTS  # documented, commented out, with compose's defaults


def test_new_env_writes_fresh_secrets_the_services_accept_and_never_overwrites(tmp_path, dot_env):
    assert set(dot_env) == set(env_file(ENV_EXAMPLE))
    assert all(re.fullmatch(r"[0-9a-f]{48}", value) for value in dot_env.values())
    assert len(set(dot_env.values())) == len(dot_env)
    existing = tmp_path / ".env"
    existing.write_text("KAFKA_ADMIN_PASSWORD=kept-as-it-was\n")
    again = subprocess.run(["bash", str(NEW_ENV), str(existing)], capture_output=True, text=True, timeout=60)
    assert again.returncode != 0 and "not overwriting" in again.stderr
    assert existing.read_text() == "KAFKA_ADMIN_PASSWORD=kept-as-it-was\n"


def test_the_old_demo_values_in_a_dot_env_are_refused_by_every_service(monkeypatch):
    for name, spec in app_services().items():
        compose_environment(monkeypatch, spec, OLD_DEMO_VALUES)
        with pytest.raises(PublishedSecretError) as refused:
            settings_of(name)()
        named = {"KAFKA_SASL_PASSWORD", f"{name.split('-')[0].upper()}_DATABASE_URL"}
        if name != "reporting":
            named.add("INNOVATION_PSEUDONYM_SECRET")
        assert all(setting in str(refused.value) for setting in named)
        monkeypatch.setenv(DEVELOPMENT_MODE, "1")
        assert settings_of(name)().development_mode


def test_the_init_refuses_a_missing_systems_password_before_touching_the_cluster():
    services = {f"KAFKA_PASSWORD_DWP_{s.upper()}": f"password-of-{s}" for s in SERVICES}
    env = {"PATH": os.environ["PATH"], "KAFKA_BIN": "/nonexistent", "KAFKA_ADMIN_PASSWORD": "admin-password-1",
           "INNOVATION_DEPARTMENTS": "dwp", "KAFKA_PASSWORD_REPORTING": "reporting-password", **services}
    result = subprocess.run(["bash", str(INIT_SCRIPT)], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "KAFKA_PASSWORD_DWP_SYSTEMS is not set" in result.stderr
    assert "/nonexistent" not in result.stderr  # no Kafka tool was run


def acl_grants(calls) -> set[tuple[str, ...]]:
    """Each kafka-acls.sh call but for the admin's properties file (a new temporary one each run)."""
    return {tuple(arg for i, arg in enumerate(c) if i == 0 or c[i - 1] != "--command-config")
            for c in calls if c[0] == "kafka-acls.sh"}


def test_the_init_run_again_changes_nothing(tmp_path, dot_env):
    cluster = kafka_stand_ins(tmp_path / "kafka-bin")
    run_init(cluster, compose_init_env(dot_env))
    first = calls_of(cluster)
    topics = (cluster / "topics").read_text()
    run_init(cluster, compose_init_env(dot_env))
    again = calls_of(cluster)[len(first):]
    assert (cluster / "topics").read_text().splitlines() == topics.splitlines()  # --if-not-exists: no new topic
    assert acl_grants(again) == acl_grants(first) and principals(again) == principals(first)


def test_a_new_department_alone_gets_what_listing_every_department_gives(tmp_path, dot_env):
    """`INNOVATION_DEPARTMENTS=dfe` on a cluster set up for dwp and hmrc: the departments before are found
    by their intake topics, so the grants between them and dfe are those of a run listing all three, and
    the run needs (and touches) no password but dfe's and reporting's."""
    dfe = {f"KAFKA_PASSWORD_DFE_{s.upper()}": f"dfe-{s}-password-1" for s in (*SERVICES, "systems")}
    base = compose_init_env(dot_env)
    cluster = kafka_stand_ins(tmp_path / "cluster")
    # a department that runs none of our services writes its own streams: it has no intake topics
    (cluster / "topics").write_text("innovation.fsa.outcomes.v1\n")
    run_init(cluster, base)
    before = calls_of(cluster)
    alone_env = {k: v for k, v in base.items() if not re.fullmatch(r"KAFKA_PASSWORD_(DWP|HMRC)_.*", k)}
    alone = run_init(cluster, {**alone_env, **dfe, "INNOVATION_DEPARTMENTS": "dfe"})
    assert "set up on this cluster: dfe dwp hmrc" in alone.stdout
    added = calls_of(cluster)[len(before):]

    everyone = kafka_stand_ins(tmp_path / "everyone")
    (everyone / "topics").write_text("innovation.fsa.outcomes.v1\n")
    run_init(everyone, {**base, **dfe, "INNOVATION_DEPARTMENTS": "dwp hmrc dfe"})
    together = calls_of(everyone)

    assert acl_grants(before) | acl_grants(added) == acl_grants(together)
    assert created_topics(before) | created_topics(added) == created_topics(together)
    assert principals(added) == {f"dfe-{s}" for s in (*SERVICES, "systems")} | {"reporting"}
    combined = before + added
    for department in DEPARTMENTS:
        for service in ("experiments", "notifications"):
            assert may(combined, f"{department}-{service}", "Read", topic_name("dfe", "outcomes"))
            assert may(combined, f"dfe-{service}", "Read", topic_name(department, "outcomes"))
        assert not may(combined, f"dfe-{service}", "Read", topic_name(department, "ideas"))
        assert not may(combined, f"{department}-ideas", "Read", intake_topic("dfe", "ideas"))
    assert not may(combined, "reporting", "Read", intake_topic("dfe", "ideas"))
    assert not [c for c in combined if "User:fsa-experiments" in c or "User:fsa-notifications" in c]


def init_env_for_dwp() -> dict[str, str]:
    return {"KAFKA_ADMIN_PASSWORD": "admin-password-1", "INNOVATION_DEPARTMENTS": "dwp",
            "KAFKA_PASSWORD_REPORTING": "reporting-password",
            **{f"KAFKA_PASSWORD_DWP_{s.upper()}": f"password-of-{s}" for s in (*SERVICES, "systems")}}


@pytest.mark.parametrize("tool", ["kafka-topics.sh", "kafka-configs.sh", "kafka-acls.sh"])
def test_the_init_fails_when_any_of_kafkas_tools_fails(tmp_path, tool):
    cluster = kafka_stand_ins(tmp_path / "bin")
    failed = run_init(cluster, {**init_env_for_dwp(), "STANDIN_FAILS": tool}, check=False)
    assert failed.returncode != 0 and "a Kafka command failed" in failed.stderr
    assert "done for departments" not in failed.stdout


def test_reporting_is_denied_every_intake_before_any_topic_is_made(init_calls):
    first_topic = next(i for i, c in enumerate(init_calls) if c[0] == "kafka-topics.sh" and "--create" in c)
    denials = [i for i, c in enumerate(init_calls) if "--deny-principal" in c]
    assert len(denials) == 1 + len(DEPARTMENTS) and max(denials) < first_topic


def test_the_init_waits_for_kafka(tmp_path):
    cluster = kafka_stand_ins(tmp_path / "bin", list_failures=1, list_error="TimeoutException: Timed out waiting for a node")
    done = run_init(cluster, init_env_for_dwp())
    assert "waiting for Kafka at kafka:9092" in done.stdout and "done for departments: dwp" in done.stdout
    assert created_topics(calls_of(cluster))


def test_the_init_gives_up_on_a_kafka_that_never_answers_naming_the_error(tmp_path):
    cluster = kafka_stand_ins(tmp_path / "bin", list_failures=99, list_error="TimeoutException: Timed out waiting for a node")
    failed = run_init(cluster, {**init_env_for_dwp(), "KAFKA_INIT_WAIT_SECONDS": "0"}, check=False)
    assert failed.returncode != 0
    assert "did not answer the admin in 0 s; last error: TimeoutException: Timed out waiting" in failed.stderr
    assert not [c for c in calls_of(cluster) if "--list" not in c]  # nothing created, nobody granted


def test_the_init_stops_at_once_when_kafka_refuses_the_admin(tmp_path):
    cluster = kafka_stand_ins(tmp_path / "bin", list_failures=99,
                              list_error="org.apache.kafka.common.errors.SaslAuthenticationException: Authentication failed")
    failed = run_init(cluster, init_env_for_dwp(), check=False)
    assert failed.returncode != 0 and "refused the admin's password (KAFKA_ADMIN_PASSWORD)" in failed.stderr
    assert len(calls_of(cluster)) == 1  # one listing, no waiting


def test_kafka_server_binds_only_sasl_listeners_beyond_loopback(tmp_path):
    """kafka-server.sh run with stand-ins for Kafka's launchers: the configuration it writes and starts."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "kafka-storage.sh").write_text(f'#!/bin/sh\necho "$@" >"{tmp_path}/format"\n')
    (bin_dir / "kafka-server-start.sh").write_text(f'#!/bin/sh\ncp "$1" "{tmp_path}/started.properties"\n')
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    kafka = COMPOSE["services"]["kafka"]["environment"]
    env = {"PATH": os.environ["PATH"], "KAFKA_BIN": str(bin_dir), "KAFKA_DATA_DIR": str(tmp_path / "data"),
           "KAFKA_CONFIG_DIR": str(tmp_path / "config"),
           **{k: resolve(v, {"KAFKA_ADMIN_PASSWORD": "admin-password-1"}) for k, v in kafka.items() if k != "KAFKA_HEAP_OPTS"}}
    subprocess.run(["bash", str(ROOT / "deploy" / "compose" / "kafka-server.sh")], env=env, check=True, timeout=60)
    config = dict(line.split("=", 1) for line in (tmp_path / "started.properties").read_text().splitlines() if "=" in line)
    protocols = dict(pair.split(":") for pair in config["listener.security.protocol.map"].split(","))
    listeners = {name: address for name, address in (item.split("://") for item in config["listeners"].split(","))}
    assert listeners == {"CLIENT": "0.0.0.0:9092", "EXTERNAL": "0.0.0.0:19092", "CONTROLLER": "127.0.0.1:9093"}
    for name, address in listeners.items():
        assert protocols[name] == "SASL_PLAINTEXT" or address.startswith("127.0.0.1:"), name
    assert config["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert config["allow.everyone.if.no.acl.found"] == "false" and config["auto.create.topics.enable"] == "false"
    assert "EXTERNAL://127.0.0.1:19092" in config["advertised.listeners"]
    assert "SCRAM-SHA-512=[name=admin,password=admin-password-1]" in (tmp_path / "format").read_text()
    assert (tmp_path / "config" / "admin.properties").stat().st_mode & 0o077 == 0  # the admin's password
