"""The Advanced route's page (``/avanceret``): upload a CPR population, see its validation report
first, and keep, list, share and delete cohorts.

The rules are :class:`~koes.services.cohort_store.CohortService`'s; this module turns its answers
into pages. The upload form is read into memory only (:mod:`koes.web.uploads`, never spooled to
disk) and its CSRF token checked before the file is looked at. The answer to an upload is the page
with the validation report at the top, before anything else, whether the cohort was kept or not.
Each cohort links to ``/avanceret/{id}`` (its analysis). No address holds a CPR number: cohorts
are named by random ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, BinaryIO

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from koes.cohorts.report_csv import report_csv
from koes.privacy.access import Principal
from koes.query.request import FieldProblem, RequestError
from koes.services.cohort_store import (
    CohortInfo,
    CohortRefusedError,
    CohortService,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    UploadRequest,
    UploadResult,
)
from koes.services.jobs import JobService, Progress, Work
from koes.web.formats import day
from koes.web.pages.common import (
    CsrfError,
    Pages,
    checked_form,
    current_session,
    error_page,
    lang_of,
    refused,
    render,
    see_other,
    signed_in,
    user_view,
)
from koes.web.uploads import UploadTooLargeError, read_upload_form

router = APIRouter(include_in_schema=False)
PAGE = "/avanceret"
UPLOAD_JOB = "cohort_upload"  # a large upload's job (the API's kind too)
DONE = frozenset({"deleted", "shared"})
PROBLEMS = frozenset({"share"})
SHOWN_REFUSALS = 200  # refused lines listed on the page; the download has all
FIELDS = frozenset({"file", "purpose", "name", "expiry_days", "sheet"})  # each has a message adv.problem.<field>


@dataclass(frozen=True)
class CohortView:
    id: str
    name: str
    owner: str
    size: int
    purpose: str
    created: str
    expires: str
    shared_with: str
    owned: bool
    deletable: bool


def cohorts_of(request: Request) -> CohortService:
    service = request.app.state.cohorts
    assert isinstance(service, CohortService)
    return service


def _may_see(principal: Principal) -> bool:
    return principal.may("individual_rows") or principal.may("manage_users_own_org")


@router.get(PAGE)
async def advanced(request: Request) -> Response:
    pages, _session, principal = await signed_in(request)
    if not _may_see(principal):
        return await refused(request, pages, principal, "individual_rows")
    done, problem = request.query_params.get("done"), request.query_params.get("problem")
    job_id = request.query_params.get("job")
    if job_id is not None:
        return await _upload_job(request, pages, principal, job_id)
    return await _page(
        request,
        pages,
        principal,
        done=done if done in DONE else None,
        problem=problem if problem in PROBLEMS else None,
    )


@router.post(PAGE)
async def upload(request: Request) -> Response:
    pages, session, principal = await signed_in(request)
    if not principal.may("individual_rows"):
        return await refused(request, pages, principal, "individual_rows")
    service = cohorts_of(request)
    lang = lang_of(request)
    try:
        form = await read_upload_form(request, service.settings.cohort_max_file_mb)
    except UploadTooLargeError as exc:
        text = CohortRefusedError("file_too_large", {"size_mb": f"> {exc.limit_mb}", "limit_mb": exc.limit_mb})
        return await _page(request, pages, principal, status=413, refusal=text.text(lang))
    except InvalidInputError:
        return await _page(request, pages, principal, status=400, problems=["file"])
    if not session.csrf_ok(form.fields.get("csrf")):
        raise CsrfError()
    fields = {k: v for k, v in form.fields.items() if k != "csrf"}
    days_text = fields.get("expiry_days", "").strip()
    if form.file is None or not form.filename:
        return await _page(request, pages, principal, status=400, problems=["file"], values=fields)
    upload_request = UploadRequest(
        purpose=fields.get("purpose", ""),
        name=fields.get("name") or None,
        days=int(days_text) if days_text.isascii() and days_text.isdigit() else -1 if days_text else None,
        sheet=fields.get("sheet") or None,
        filename=form.filename,
    )
    file = form.file
    if file.getbuffer().nbytes >= service.settings.cohort_job_upload_kb * 1024:
        jobs = request.app.state.jobs
        work = _upload_work(service, principal, file, upload_request, lang)
        info = await run_in_threadpool(jobs.submit, principal, UPLOAD_JOB, "cohort upload", work)
        return see_other(f"{PAGE}?job={info.id}")
    try:
        result: UploadResult = await run_in_threadpool(service.upload, principal, file, upload_request)
    except InvalidInputError as exc:
        problems = sorted({p.field if p.field in FIELDS else "file" for p in exc.problems})
        return await _page(request, pages, principal, status=400, problems=problems, values=fields)
    except CohortRefusedError as exc:
        return await _page(request, pages, principal, status=400, refusal=exc.text(lang), values=fields)
    except ForbiddenError as exc:
        return await refused(request, pages, principal, "individual_rows", exc)
    status = 201 if result.cohort else 409 if result.refusal and result.refusal.code == "too_close" else 422
    return await _page(request, pages, principal, status=status, result=result, values={} if result.cohort else fields)


@router.get(PAGE + "/rapport/{cohort_id}.csv")
async def report_download(request: Request, cohort_id: str) -> Response:
    pages, _session, principal = await signed_in(request)
    if not principal.may("individual_rows"):
        return await refused(request, pages, principal, "individual_rows")
    lang = lang_of(request)
    try:
        report = await run_in_threadpool(cohorts_of(request).report, principal, cohort_id)
    except NotFoundError:
        return error_page(request, 404)
    name = "valideringsrapport" if lang == "da" else "validation-report"
    return Response(
        report_csv(report, lang).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}-{cohort_id}.csv"', "Cache-Control": "no-store"},
    )


@router.post(PAGE + "/kohorter/{cohort_id}/{change}")
async def change(request: Request, cohort_id: str, change: str) -> Response:
    """Delete a cohort, or share it with named colleagues."""
    _session, form = await checked_form(request)
    pages, _s, principal = await signed_in(request)
    if not _may_see(principal):
        return await refused(request, pages, principal, "individual_rows")
    service = cohorts_of(request)
    try:
        if change == "delete":
            await run_in_threadpool(service.delete, principal, cohort_id)
            return see_other(f"{PAGE}?done=deleted")
        if change == "share":
            names = [n for n in form.get("users", "").replace(";", ",").split(",") if n.strip()]
            await run_in_threadpool(service.share, principal, cohort_id, names)
            return see_other(f"{PAGE}?done=shared")
    except NotFoundError:
        return error_page(request, 404)
    except ForbiddenError as exc:
        return await refused(request, pages, principal, "owner", exc)
    except InvalidInputError:
        return see_other(f"{PAGE}?problem=share")
    return error_page(request, 404)


def _upload_work(
    service: CohortService, principal: Principal, file: BinaryIO, upload_request: UploadRequest, lang: str
) -> Work:
    """A large upload as a job: the same check and keep, its refusals as the job's problems."""

    def work(progress: Progress) -> tuple[dict[str, Any], object]:
        try:
            result = service.upload(principal, file, upload_request)
        except CohortRefusedError as exc:
            raise RequestError([FieldProblem("file", exc.text(lang), exc.code)]) from None
        except InvalidInputError as exc:
            raise RequestError(list(exc.problems)) from None
        status = 201 if result.cohort else 409 if result.refusal and result.refusal.code == "too_close" else 422
        return {"status": status, **result.to_json(lang)}, result

    return work


async def _upload_job(request: Request, pages: Pages, principal: Principal, job_id: str) -> Response:
    """The page of a large upload's job: its progress until it ends, then the report as after any upload."""
    jobs = request.app.state.jobs
    assert isinstance(jobs, JobService)
    try:
        info = await run_in_threadpool(jobs.get, principal, job_id)
    except NotFoundError:
        return error_page(request, 404)
    if info.kind != UPLOAD_JOB:
        return error_page(request, 404)
    if info.state == "done" and info.result is not None:
        return await _page(request, pages, principal, status=int(info.result["status"]), report=info.result)
    if info.state == "done":  # its result went with its cohort: nothing to show, and nothing to wait for
        return error_page(request, 404)
    if info.state == "failed" and info.problem is not None:
        found = info.problem.get("problems") or [{"field": "file", "message": ""}]
        refusal = next((str(p["message"]) for p in found if p.get("field") == "file" and p.get("code")), None)
        if refusal:
            return await _page(request, pages, principal, status=400, refusal=refusal)
        problems = sorted({str(p["field"]) if p.get("field") in FIELDS else "file" for p in found})
        return await _page(request, pages, principal, status=400, problems=problems)
    lang = lang_of(request)
    user = await run_in_threadpool(user_view, pages, principal, lang)
    return render(
        request,
        "cohort_job.html",
        title_key="adv.title",
        session=await current_session(request),
        user=user,
        job=info,
        heading_key="adv.title",
        refresh=f"{PAGE}?job={info.id}",
        again=PAGE,
    )


async def _page(request: Request, pages: Pages, principal: Principal, *, status: int = 200, **context: Any) -> Response:
    lang = lang_of(request)
    session = await current_session(request)
    cohorts = await run_in_threadpool(cohorts_of(request).list, principal)
    user = await run_in_threadpool(user_view, pages, principal, lang)
    result: UploadResult | None = context.pop("result", None)
    # a job's upload comes back as the JSON it kept (the same as UploadResult.to_json)
    report: dict[str, Any] | None = result.to_json(lang) if result else context.pop("report", None)
    return render(
        request,
        "avanceret.html",
        title_key="adv.title",
        status=status,
        session=session,
        user=user,
        may_upload=principal.may("individual_rows") and principal.home_municipality is not None,
        # individ in a region or the national authority: no upload (docs/advanced.md), and the page says why
        upload_elsewhere=principal.may("individual_rows") and principal.home_municipality is None,
        items=[_view(c, lang) for c in cohorts],
        result=report,
        refused_shown=report["report"]["refused"][:SHOWN_REFUSALS] if report else [],
        default_days=cohorts_of(request).settings.cohort_days,
        max_days=cohorts_of(request).settings.cohort_max_days,
        values=context.pop("values", {}),
        problems=context.pop("problems", []),
        **{"done": None, "problem": None, "refusal": None, **context},
    )


def _view(c: CohortInfo, lang: str) -> CohortView:
    return CohortView(
        id=c.id,
        name=c.name,
        owner=c.owner,
        size=c.size,
        purpose=c.purpose,
        created=day(c.created_at.date(), lang),
        expires=day(c.expires_at.date(), lang),
        shared_with=", ".join(c.shared_with),
        owned=c.owned,
        deletable=c.deletable,
    )
