"""The app database and the audit trail, on SQLite and on a real PostgreSQL (``app_db_url``).

PostgreSQL runs as a throwaway cluster started by the session fixture ``postgres_url``
(tests/conftest.py); each test gets a database of its own. Tampering is done the way a database
administrator could: raw SQL, after dropping the append-only triggers.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import threading
import warnings
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from koes.appdb import tokens as token_store
from koes.appdb.database import AppDatabase, AppDatabaseError, alembic_config
from koes.appdb.models import Base
from koes.appdb.seed import seed_organisations
from koes.appdb.sessions import get_session
from koes.domain.cpr import mask_cpr
from koes.privacy.audit import AuditEntry, AuditEvent, CprInTextError, request_hash, seal
from koes.query.request import parse_request
from koes.refdata import RefData
from koes.services.analysis import AnalysisService
from koes.services.appdb import open_app_database
from koes.services.audit import AuditQuery, AuditTrail
from koes.services.organisations import list_organisations
from koes.services.warehouse import LoadResult
from koes.settings import ApiAuth, Settings
from koes.web.app import create_app
from support import koes

with warnings.catch_warnings():  # Starlette prefers httpx2 to httpx; either drives the TestClient
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

AT = datetime(2024, 5, 1, 9, 15, 30, 654321, tzinfo=UTC)
LAST_DAY_OF_FIVE_REGIONS = date(2026, 12, 31)  # seeding day: municipalities under the old regions
REQUEST = {
    "perspective": "somatik",
    "measures": ["indlaeggelser", "patienter"],
    "rows": ["kommune"],
    "columns": ["koen"],
    "filters": {"region": [1081]},
}
CPRS = ("0101901234", "010190-1234", "2407541239")
# What only a person's number could be; release ids and counts never look like this.
TEXT_COLUMNS = ("user", "organisation", "action", "summary", "purpose", "release_id", "outcome", "at")


def event(i: int = 0, **changes: Any) -> AuditEvent:
    base = AuditEvent(
        at=AT + timedelta(minutes=i),
        user="analytiker",
        organisation="kommune:101" if i % 2 else "region:1084",
        action="analysis",
        summary=f"somatik [indlaeggelser] kommune × koen, 2023 — nr. {i} (æøå)",
        request_hash=request_hash(f"request {i}"),
        scope="0123456789abcdef",
        rows_returned=12 + i,
        cells_returned=36,
        cells_suppressed=4,
        purpose="opfølgning" if i % 3 == 0 else None,
        release_id="20240501T120000123Z",
        outcome="ok",
    )
    return replace(base, **changes)


@pytest.fixture
def database(app_db_url: str, refdata: RefData) -> Iterator[AppDatabase]:
    db = AppDatabase(app_db_url)
    db.upgrade()
    seed_organisations(db, refdata, LAST_DAY_OF_FIVE_REGIONS)
    yield db
    db.dispose()


@pytest.fixture
def trail(database: AppDatabase) -> AuditTrail:
    return AuditTrail(database)


def _drop_triggers(db: AppDatabase) -> None:
    """What a database administrator could do: the triggers are a guard rail, the chain is the proof."""
    with db.engine.begin() as connection:
        if db.dialect == "postgresql":
            connection.execute(text("DROP TRIGGER audit_records_no_update_delete ON audit_records"))
        else:
            connection.execute(text("DROP TRIGGER audit_records_no_update"))
            connection.execute(text("DROP TRIGGER audit_records_no_delete"))


def _sql(db: AppDatabase, statement: str, **params: Any) -> None:
    with db.engine.begin() as connection:
        connection.execute(text(statement), params)


# --- schema and organisations ------------------------------------------------------------------


def test_migrations_create_both_tables_as_the_models_describe(database: AppDatabase) -> None:
    assert database.revision() == AppDatabase.head_revision() == "0007"
    tables = set(inspect(database.engine).get_table_names())
    assert {"organisations", "audit_records", "alembic_version"} <= tables
    assert {"users", "grants", "api_tokens", "recovery_codes", "sessions", "saved_analyses"} <= tables
    assert {"cohorts", "cohort_members", "cohort_shares", "cohort_traces", "jobs"} <= tables
    with database.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_upgrading_again_changes_nothing(database: AppDatabase, refdata: RefData) -> None:
    database.upgrade()
    assert database.revision() == "0007"
    again = seed_organisations(database, refdata, LAST_DAY_OF_FIVE_REGIONS)
    assert (again.added, again.updated, again.total) == (0, 0, 105)


def _migrate(database: AppDatabase, target: str, *, down: bool = False) -> None:
    """Run Alembic the way ``AppDatabase.upgrade`` does: with a connection inside a writer transaction."""
    config = alembic_config()
    with database.writer("migrations") as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, target)


def test_saved_analyses_downgrade_and_upgrade_again(database: AppDatabase) -> None:
    """0004 comes off cleanly (its table and index, nothing else) and goes back on as the models describe."""
    _sql(
        database,
        "INSERT INTO users (username, display_name, organisation, totp_confirmed, active, failed_attempts, "
        "created_at, updated_at) VALUES ('anna', 'Anna', 'kommune:101', false, true, 0, :at, :at)",
        at=AT,
    )
    _sql(
        database,
        "INSERT INTO saved_analyses (organisation, owner_id, name, request, shared, created_at, updated_at) "
        "SELECT 'kommune:101', id, 'Mit udtræk', '{}', true, :at, :at FROM users",
        at=AT,
    )
    _migrate(database, "0003", down=True)
    assert database.revision() == "0003"
    tables = set(inspect(database.engine).get_table_names())
    assert "saved_analyses" not in tables and {"users", "sessions", "audit_records"} <= tables
    _migrate(database, "head")
    assert database.revision() == "0007"
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM saved_analyses")).scalar() == 0
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_token_limits_upgrade_existing_tokens_and_sessions(database: AppDatabase) -> None:
    """0005 on a database with a token and sessions of before: the token gets every scope, no second
    factor and 30 days from the upgrade; a signed-in session keeps its second factor, others have none."""
    _migrate(database, "0004", down=True)
    assert database.revision() == "0004"
    columns = {c["name"] for c in inspect(database.engine).get_columns("api_tokens")}
    assert not {"expires_at", "scopes", "second_factor"} & columns
    _sql(
        database,
        "INSERT INTO users (username, display_name, organisation, totp_confirmed, active, failed_attempts, "
        "created_at, updated_at) VALUES ('anna', 'Anna', 'kommune:101', false, true, 0, :at, :at)",
        at=AT,
    )
    _sql(
        database,
        "INSERT INTO api_tokens (user_id, name, prefix, token_hash, created_at) "
        "SELECT id, 'gammel', 'koes_abcdefgh', :hash, :at FROM users",
        hash="0" * 64,
        at=AT,
    )
    for sid, state in (("a" * 64, "signed_in"), ("b" * 64, "password_ok"), ("c" * 64, "anonymous")):
        user = "(SELECT id FROM users)" if state != "anonymous" else "NULL"
        _sql(
            database,
            f"INSERT INTO sessions (id, user_id, state, csrf_token, created_at, last_seen_at) "
            f"VALUES (:sid, {user}, :state, 'x', :at, :at)",
            sid=sid,
            state=state,
            at=AT,
        )
    before = datetime.now(UTC)
    _migrate(database, "head")
    assert database.revision() == "0007"
    token = token_store.tokens_of(database, 1)[0]
    assert token.scopes == ("analyses", "exports", "cohorts", "administration") and not token.second_factor
    assert before + timedelta(days=30) <= token.expires_at <= datetime.now(UTC) + timedelta(days=30)
    second = {
        sid[0]: row.second_factor for sid in ("a" * 64, "b" * 64, "c" * 64) if (row := get_session(database, sid))
    }
    assert second == {"a": True, "b": False, "c": False}
    with database.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    with pytest.raises(DBAPIError):  # the tokens' rules survived the table's rebuild on SQLite
        _sql(
            database,
            "INSERT INTO api_tokens (user_id, name, prefix, token_hash, created_at, expires_at, scopes, second_factor) "
            "SELECT id, 'igen', 'koes_abcdefgh', :hash, :at, :at, 'analyses', false FROM users",
            hash="0" * 64,
            at=AT,
        )


def test_every_migration_goes_down_to_nothing_and_up_again(database: AppDatabase) -> None:
    _migrate(database, "base", down=True)
    assert database.revision() is None
    assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
    database.upgrade()
    assert database.revision() == "0007"


def test_a_saved_analysis_name_is_unique_per_owner_and_never_empty(database: AppDatabase) -> None:
    for name in ("anna", "bo"):
        _sql(
            database,
            "INSERT INTO users (username, display_name, organisation, totp_confirmed, active, "
            "failed_attempts, created_at, updated_at) VALUES (:n, :n, 'kommune:101', false, true, 0, :at, :at)",
            n=name,
            at=AT,
        )
    insert = (
        "INSERT INTO saved_analyses (organisation, owner_id, name, request, shared, created_at, updated_at) "
        "SELECT 'kommune:101', id, :name, '{}', false, :at, :at FROM users WHERE username = :owner"
    )
    _sql(database, insert, name="Udtræk", owner="anna", at=AT)
    _sql(database, insert, name="Udtræk", owner="bo", at=AT)  # another owner may use the same name
    for name in ("Udtræk", ""):
        with pytest.raises(DBAPIError):
            _sql(database, insert, name=name, owner="anna", at=AT)


def test_organisations_are_seeded_from_reference_data(database: AppDatabase, refdata: RefData) -> None:
    organisations = list_organisations(database)
    kinds = [o.kind for o in organisations]
    assert (kinds.count("national"), kinds.count("region"), kinds.count("kommune")) == (1, 6, 98)
    assert organisations[0].key == "national" and organisations[0].name == "Sundhedsdatastyrelsen"
    by_key = {o.key: o for o in organisations}
    assert by_key["kommune:101"].name == "København" and by_key["kommune:101"].region == 1084
    assert by_key["region:1084"].name == "Region Hovedstaden" and by_key["region:1084"].region is None
    assert {o.code for o in organisations if o.kind == "kommune"} == {m.code for m in refdata.municipalities}


def test_region_ostdanmark_is_seeded_and_municipalities_change_region_at_the_new_year(
    database: AppDatabase, refdata: RefData
) -> None:
    """Every region the reference data declares is an organisation (Region Østdanmark before its
    first day, so users can be moved to it on the organisations page without creating it by hand);
    seeding on 1 January 2027 moves the 46 municipalities of the two old regions under it."""
    before = {o.key: o for o in list_organisations(database)}
    assert before["region:1086"].name == "Region Østdanmark"
    assert {before["region:1084"].name, before["region:1085"].name} == {"Region Hovedstaden", "Region Sjælland"}
    assert (before["kommune:101"].region, before["kommune:265"].region) == (1084, 1085)
    result = seed_organisations(database, refdata, date(2027, 1, 1))
    assert (result.added, result.updated, result.total) == (0, 46, 105)
    after = {o.key: o for o in list_organisations(database)}
    assert (after["kommune:101"].region, after["kommune:265"].region, after["kommune:851"].region) == (1086, 1086, 1081)
    assert {o.code for o in after.values() if o.kind == "region"} == {1081, 1082, 1083, 1084, 1085, 1086}


def test_seeding_is_idempotent_and_repairs_names(database: AppDatabase, refdata: RefData) -> None:
    _sql(database, "UPDATE organisations SET name = 'Forkert' WHERE key = 'kommune:751'")
    result = seed_organisations(database, refdata, LAST_DAY_OF_FIVE_REGIONS)
    assert (result.added, result.updated, result.total) == (0, 1, 105)
    assert {o.key: o.name for o in list_organisations(database)}["kommune:751"] == "Aarhus"
    assert len(list_organisations(database)) == 105


# --- append-only -------------------------------------------------------------------------------


def test_the_database_refuses_update_and_delete_of_audit_records(trail: AuditTrail, database: AppDatabase) -> None:
    trail.record(event())
    for statement in ("UPDATE audit_records SET summary = 'changed'", "DELETE FROM audit_records"):
        with pytest.raises(DBAPIError, match="append-only"):
            _sql(database, statement)
    if database.dialect == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"):
            _sql(database, "TRUNCATE audit_records")
    assert trail.count() == 1 and trail.verify() == []


def test_records_round_trip_exactly_and_the_chain_verifies(trail: AuditTrail) -> None:
    events = [event(i) for i in range(5)]
    ids = [trail.record(e) for e in events]
    assert ids == [1, 2, 3, 4, 5]
    stored = trail.records()
    assert [e.event for e in stored] == events  # microseconds, UTC, Danish letters, None purposes
    assert trail.verify() == []
    report = trail.check()
    assert (report.records, report.head_id, report.head_hash) == (5, 5, stored[-1].record_hash)


def test_a_refused_event_stores_nothing(trail: AuditTrail) -> None:
    with pytest.raises(CprInTextError):
        trail.record(event(summary="borger 010190-1234"))
    with pytest.raises(ValueError, match="action"):
        trail.record(event(action="peek"))
    assert trail.count() == 0


def test_tampering_by_an_administrator_is_detected(trail: AuditTrail, database: AppDatabase) -> None:
    for i in range(6):
        trail.record(event(i))
    head = trail.check()
    _drop_triggers(database)
    _sql(database, "UPDATE audit_records SET cells_suppressed = 0 WHERE id = 2")
    _sql(database, "DELETE FROM audit_records WHERE id = 4")
    problems = trail.verify()
    assert "record 2 does not match its hash: edited" in problems
    assert "record 4 missing before record 5: deleted" in problems
    assert any(p.startswith("record 5 does not link to record 3") for p in problems)
    # Cutting off the tail is invisible to the chain alone, but not against a noted head.
    _sql(database, "DELETE FROM audit_records WHERE id = 6")
    assert head.head_id is not None and head.head_hash is not None
    assert "anchored record 6 is not in the trail: deleted or cut off" in trail.verify((head.head_id, head.head_hash))


def test_an_edit_with_a_recomputed_hash_still_breaks_the_chain(trail: AuditTrail, database: AppDatabase) -> None:
    for i in range(3):
        trail.record(event(i))
    first = trail.records()[0]
    # The administrator knows the algorithm (it is published) and reseals the edited record.
    forged = seal(1, replace(first.event, user="en anden"), first.prev_hash)
    _drop_triggers(database)
    _sql(
        database,
        "UPDATE audit_records SET user_name = :user, record_hash = :hash WHERE id = 1",
        user=forged.event.user,
        hash=forged.record_hash,
    )
    assert trail.verify() == ["record 2 does not link to record 1: a record between them was deleted, edited or moved"]


def test_concurrent_writers_keep_one_unbroken_chain(app_db_url: str, database: AppDatabase) -> None:
    # Two "servers" (engines of their own) with four threads each, all writing at once.
    servers = [database, AppDatabase(app_db_url)]
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def write(db: AppDatabase, worker: int) -> None:
        trail = AuditTrail(db)
        try:
            start.wait()
            for i in range(10):
                trail.record(event(i, user=f"worker-{worker}"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(servers[w % 2], w)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    servers[1].dispose()
    assert errors == []
    entries = AuditTrail(database).records()
    assert [e.id for e in entries] == list(range(1, 81))
    assert AuditTrail(database).verify() == []
    assert {e.event.user for e in entries} == {f"worker-{w}" for w in range(8)}


def test_export_filters_by_time_and_organisation(trail: AuditTrail) -> None:
    for i in range(6):
        trail.record(event(i))
    body = json.loads(trail.export(fmt="json", organisation="kommune:101"))
    assert [r["id"] for r in body["records"]] == [2, 4, 6]
    assert body["filters"]["organisation"] == "kommune:101"
    window = trail.export(since=AT + timedelta(minutes=1), until=AT + timedelta(minutes=4), fmt="csv")
    assert window.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(window.decode("utf-8-sig"))))
    assert [r["id"] for r in rows] == ["2", "3", "4"]
    assert rows[0]["at"] == "2024-05-01T09:16:30.654321+00:00"
    assert rows[0]["purpose"] == "" and rows[2]["purpose"] == "opfølgning"
    with pytest.raises(ValueError, match="organisation"):
        trail.export(organisation="kommune")
    assert trail.count(AuditQuery(organisation="region:1084")) == 3


# --- the command line --------------------------------------------------------------------------


def test_cli_orgs_list_audit_verify_and_export(tmp_path: Path, app_db_url: str) -> None:
    env = {"KOES_APP_DB_URL": app_db_url}
    orgs = koes(tmp_path, "orgs", "list", "--format", "json", env=env)
    assert orgs.exit_code == 0, orgs.output
    assert len(json.loads(orgs.output)) == 105
    table = koes(tmp_path, "orgs", "list", env=env)
    assert table.exit_code == 0 and "105 organisations" in table.text and "kommune:101" in table.text

    empty = koes(tmp_path, "audit", "verify", env=env)
    assert (empty.exit_code, empty.text) == (0, "0 records, chain intact")

    db = AppDatabase(app_db_url)
    try:
        trail = AuditTrail(db)
        for i in range(4):
            trail.record(event(i))
        head = trail.check()
        verified = koes(tmp_path, "audit", "verify", env=env)
        assert verified.exit_code == 0
        assert verified.text.startswith("4 records, chain intact")
        assert f"head 4:{head.head_hash}" in verified.text
        anchored = koes(tmp_path, "audit", "verify", "--anchor", f"4:{head.head_hash}", env=env)
        assert anchored.exit_code == 0

        out = tmp_path / "audit.json"
        exported = koes(
            tmp_path, "audit", "export", "--format", "json", "--org", "kommune:101", "--out", str(out), env=env
        )
        assert exported.exit_code == 0, exported.output
        assert [r["id"] for r in json.loads(out.read_text(encoding="utf-8"))["records"]] == [2, 4]
        csv_run = koes(tmp_path, "audit", "export", "--since", "2024-05-01", "--until", "2024-05-01", env=env)
        assert csv_run.exit_code == 0
        assert len(list(csv.DictReader(io.StringIO(csv_run.output.lstrip("\ufeff"))))) == 4
        later = koes(tmp_path, "audit", "export", "--since", "2024-05-02", env=env)
        assert later.output.lstrip("\ufeff").count("\n") == 1  # the header only
        bad = koes(tmp_path, "audit", "export", "--org", "kommune", env=env)
        assert bad.exit_code == 2 and "--org" in bad.text
        bad_time = koes(tmp_path, "audit", "export", "--since", "yesterday", env=env)
        assert bad_time.exit_code == 2 and "--since" in bad_time.text

        _drop_triggers(db)
        _sql(db, "UPDATE audit_records SET summary = 'nothing to see' WHERE id = 3")
        _sql(db, "DELETE FROM audit_records WHERE id = 1")
    finally:
        db.dispose()
    broken = koes(tmp_path, "audit", "verify", env=env)
    assert broken.exit_code == 1
    assert "3 records, chain BROKEN" in broken.text
    assert "record 1 missing before record 2: deleted" in broken.text
    assert "record 3 does not match its hash: edited" in broken.text


def test_cli_names_an_unusable_app_database_without_its_password(tmp_path: Path) -> None:
    run = koes(tmp_path, "audit", "verify", env={"KOES_APP_DB_URL": "postgresql://koes:hemmelig@127.0.0.1:1/koes"})
    assert run.exit_code == 1
    assert "cannot migrate the app database" in run.text and "hemmelig" not in run.output
    assert "***" in run.text
    other = koes(tmp_path, "orgs", "list", env={"KOES_APP_DB_URL": "mysql://x@localhost/y"})
    assert other.exit_code == 1 and "SQLite or PostgreSQL" in other.text


def test_settings_default_to_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).app_database_url == f"sqlite:///{tmp_path}/app.db"
    url = "postgresql://koes:hemmelig@db/koes"
    settings = Settings.from_env({"KOES_APP_DB_URL": url})
    assert settings.app_database_url == url
    assert "hemmelig" not in repr(settings)
    with pytest.raises(AppDatabaseError, match="must be a file"):
        AppDatabase("sqlite://")


# --- the analysis path writes one record per access --------------------------------------------


@pytest.fixture
def audited(small_load: LoadResult, small_settings: Settings, app_db_url: str) -> Iterator[tuple[TestClient, Settings]]:
    # The local principal (no tokens): these tests count the analysis records exactly.
    settings = replace(small_settings, app_db_url=app_db_url, api_auth=ApiAuth.LOCAL)
    with TestClient(create_app(settings)) as client:
        yield client, settings


def _records(settings: Settings) -> list[AuditEntry]:
    db = AppDatabase(settings.app_database_url)
    try:
        return AuditTrail(db).records()
    finally:
        db.dispose()


def test_an_analysis_through_the_api_writes_one_record(
    audited: tuple[TestClient, Settings], analysis: AnalysisService
) -> None:
    client, settings = audited
    response = client.post("/api/v1/analysis", json=REQUEST)
    assert response.status_code == 200
    body = response.json()
    records = _records(settings)
    assert len(records) == 1
    e = records[0].event
    canonical = parse_request(REQUEST, analysis.catalog).canonical()
    assert (e.action, e.outcome, e.user, e.organisation) == ("analysis", "ok", "lokal", "national")
    assert e.request_hash == hashlib.sha256(canonical.encode()).hexdigest()
    assert e.scope == body["provenance"]["scope"]
    assert e.release_id == body["provenance"]["release_id"] == analysis.release_id()
    assert e.cells_suppressed == body["suppression"]["cells_suppressed"] > 0
    block = body["blocks"][0]
    assert e.rows_returned == len(block["rows"]) + 1  # and the total row
    assert e.cells_returned == len(block["cells"]) * len(REQUEST["measures"])
    assert e.summary == "somatik [indlaeggelser, patienter] kommune × koen, 2023; filters region=1081"
    assert e.purpose is None
    assert datetime.now(UTC) - e.at < timedelta(minutes=5)

    again = client.post("/api/v1/analysis", json=REQUEST)  # served from the cache: audited all the same
    assert again.status_code == 200
    exported = client.post("/api/v1/analysis/export?format=csv", json=REQUEST)
    assert exported.status_code == 200
    records = _records(settings)
    assert [(r.id, r.event.action, r.event.request_hash) for r in records] == [
        (1, "analysis", e.request_hash),
        (2, "analysis", e.request_hash),
        (3, "export", e.request_hash),
    ]
    db = AppDatabase(settings.app_database_url)
    try:
        assert AuditTrail(db).verify() == []
    finally:
        db.dispose()


def test_refused_and_bad_requests_are_recorded_too(audited: tuple[TestClient, Settings]) -> None:
    client, settings = audited
    bad = client.post("/api/v1/analysis", json={**REQUEST, "measures": ["indlaeggelser", "no_such_measure"]})
    assert bad.status_code == 400
    unknown = client.post("/api/v1/analysis", json={**REQUEST, "filters": {"region": [9999]}})
    assert unknown.status_code == 400
    view_only = client.post("/api/v1/analysis/export?format=csv", json={**REQUEST, "rows": ["diagnose"]})
    assert view_only.status_code == 400
    denied_settings = replace(settings, local_role="ingen")
    with TestClient(create_app(denied_settings)) as no_grant:
        denied = no_grant.post("/api/v1/analysis", json=REQUEST)
    assert denied.status_code == 403
    records = [r.event for r in _records(settings)]
    assert [(r.outcome, r.action) for r in records] == [
        ("error", "analysis"),
        ("error", "analysis"),
        ("error", "export"),
        ("denied", "analysis"),
    ]
    assert records[0].summary == "request not understood; bad request, 1 problem in measures[1]"
    assert records[0].release_id is not None and records[0].scope
    assert records[1].summary.endswith("filters region=9999; bad request, 1 problem in filters.region")
    assert records[2].summary.endswith(
        "diagnose × koen, latest year; filters region=1081; bad request, 1 problem in rows[0]"
    )
    assert records[3].summary.endswith("; no grant gives access to data")
    assert records[3].scope == hashlib.sha256(b"|").hexdigest()[:16]  # the empty scope
    assert all(r.rows_returned == r.cells_returned == r.cells_suppressed == 0 for r in records)


def test_no_cpr_reaches_the_audit_trail_or_the_log(
    audited: tuple[TestClient, Settings], caplog: pytest.LogCaptureFixture
) -> None:
    client, settings = audited
    caplog.set_level(logging.DEBUG)
    attempts: list[dict[str, Any]] = [
        {**REQUEST, "filters": {"kommune": [CPRS[0]]}},
        {**REQUEST, "filters": {CPRS[1]: [1]}},
        {**REQUEST, "measures": [CPRS[2]]},
        {**REQUEST, "perspective": f"cpr {CPRS[1]}"},
        {**REQUEST, "segment": CPRS[0]},
        {"cpr": CPRS[0], **REQUEST},
    ]
    for body in attempts:
        assert client.post("/api/v1/analysis", json=body).status_code == 400
        assert client.post("/api/v1/analysis/export", json=body).status_code == 400
    records = _records(settings)
    assert len(records) == 2 * len(attempts)
    assert {r.event.outcome for r in records} == {"error"}
    for record in records:
        e = record.event
        for name in TEXT_COLUMNS:
            value = getattr(e, name)
            text_ = value.isoformat() if isinstance(value, datetime) else str(value or "")
            assert mask_cpr(text_) == text_, f"{name} of record {record.id} holds a CPR-shaped number"
        everything = json.dumps([str(v) for v in vars(e).values()] + [record.prev_hash, record.record_hash])
        assert not any(cpr in everything or cpr.replace("-", "") in everything for cpr in CPRS)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert mask_cpr(logged) == logged


def test_the_cli_query_is_audited(
    tmp_path: Path, small_load: LoadResult, small_settings: Settings, app_db_url: str
) -> None:
    request = tmp_path / "request.json"
    request.write_text(json.dumps(REQUEST), encoding="utf-8")
    env = {"KOES_APP_DB_URL": app_db_url}
    warehouse = str(small_settings.warehouse)
    ran = koes(tmp_path, "query", str(request), "--format", "json", "--warehouse", warehouse, env=env)
    assert ran.exit_code == 0, ran.output
    explained = koes(tmp_path, "query", str(request), "--explain", "--warehouse", warehouse, env=env)
    assert explained.exit_code == 0
    db = open_app_database(Settings(app_db_url=app_db_url))
    try:
        records = AuditTrail(db).records()
    finally:
        db.dispose()
    assert [(r.event.action, r.event.outcome) for r in records] == [("analysis", "ok")]  # --explain reads no data
