"""The registry browser: server-rendered pages and a JSON API that mirrors them.

``create_app(registry_url)`` builds the FastAPI app. Pages live under ``/``;
each has a JSON twin under ``/api`` (schema at ``/openapi.json``, docs at
``/docs``). The app is read-only unless an admin token is configured; then
retiring an environment needs that token in the ``X-Admin-Token`` header (or
the ``admin_token`` form field). Environment code runs only in the sandbox.
"""

from __future__ import annotations

import logging
import secrets
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from evoenv.registry import SORTS as REGISTRY_SORTS
from evoenv.registry import RegistryError, RegistryLocked, open_registry
from evoenv.web import charts, code, inputs, schemas, views
from evoenv.web.inputs import BadInput
from evoenv.web.instances import InstanceError, InstanceSampler
from evoenv.web.rerun import RERUNNABLE, rerun_stage

log = logging.getLogger("evoenv.web")
HERE = Path(__file__).resolve().parent
MAX_FORM_BYTES = 4096


def _open_registry(registry_url: Any):
    if registry_url is not None and not isinstance(registry_url, str):
        return registry_url  # an already-open Registry
    return open_registry(registry_url)


def create_app(registry_url: Any = None, admin_token: str | None = None, sandbox: Any = None) -> FastAPI:
    """The browser app over the registry at ``registry_url`` (a URL, or an open Registry).

    ``sandbox`` is a Sandbox, a backend name ("process", "docker"), or None for the
    default backend; it is started on the first instance view."""
    registry = _open_registry(registry_url)
    sampler = InstanceSampler(sandbox)
    sorts = inputs.available_sorts(REGISTRY_SORTS)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        sampler.close()

    app = FastAPI(
        title="EvoEnv registry browser",
        description="Environments, lineage, calibration and the admission funnel. "
                    "Every page has a JSON twin under /api.",
        version="1",
        lifespan=lifespan,
    )

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        # Names, descriptions, prompts and reviews are model-written text: escaped by the templates,
        # and a strict policy besides, so nothing in them could load or run a script.
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if request.url.path not in ("/docs", "/redoc"):  # FastAPI's docs pages load their own CDN assets
            response.headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
        return response

    app.state.registry = registry
    app.state.sampler = sampler
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.globals.update(stages=inputs.STAGES, statuses=inputs.STATUSES, origins=inputs.ORIGINS,
                                 rerunnable=RERUNNABLE, sorts=sorts, sort_labels=inputs.SORT_LABELS,
                                 read_only=admin_token is None)
    templates.env.filters["pct"] = lambda v: "—" if v is None else f"{v * 100:.0f}%"

    def page(request: Request, name: str, context: dict, status_code: int = 200) -> HTMLResponse:
        return templates.TemplateResponse(request, name, context, status_code=status_code)

    def wants_json(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    # ------------------------------------------------------------ errors: 4xx with a message, never a bare 500

    def error_response(request: Request, status: int, message: str) -> Response:
        if wants_json(request):
            return JSONResponse({"detail": message}, status_code=status)
        return page(request, "error.html", {"status": status, "message": message}, status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"no page at {request.url.path[:200]}"
        if exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path[:200]}"
        return error_response(request, exc.status_code, message)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        parts = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ())]
            where = {"query": "query parameter", "path": "path parameter", "header": "header",
                     "body": "body"}.get(loc[0], loc[0]) if loc else "input"
            name = ".".join(loc[1:]) or "?"
            parts.append(f"{where} {name!r}: {err.get('msg', 'invalid')}")
        return error_response(request, 422, "; ".join(parts))

    @app.exception_handler(views.NotFound)
    async def not_found(request: Request, exc: views.NotFound):
        return error_response(request, 404, str(exc))

    @app.exception_handler(RegistryLocked)
    async def locked(request: Request, exc: RegistryLocked):
        return error_response(request, 503, f"the registry is busy: {exc}")

    @app.exception_handler(RegistryError)
    async def registry_refused(request: Request, exc: RegistryError):
        # The registry checks its own arguments; what it refuses is bad input.
        return error_response(request, 404 if isinstance(exc, LookupError) else 400, str(exc))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        log.exception("error serving %s", request.url.path)
        return error_response(request, 500, f"internal error ({type(exc).__name__}); see the server log")

    # ------------------------------------------------------------ shared readers

    def record(ref: str):
        return views.get_record(registry, inputs.env_ref(ref))

    def list_query(status, origin, tag, q, sort, page_no, per_page=inputs.PAGE_SIZE) -> dict:
        return views.env_list(
            registry, status=inputs.choice("status", status, inputs.STATUSES),
            origin=inputs.choice("origin", origin, inputs.ORIGINS), tag=inputs.tag(tag),
            search=inputs.search(q), sort=inputs.choice("sort", sort, sorts) or "created",
            page=page_no, page_size=per_page)

    def instance_of(rec, seed: int, difficulty: int, reveal: bool) -> dict:
        inputs.difficulty(difficulty, rec.max_difficulty)
        out = {"env_id": rec.id, **sampler.render(rec.code, rec.code_sha256, seed, difficulty)}
        if not reveal:
            out["reference"] = None
        return out

    def diffs(rec, parents: list[dict]) -> list[dict]:
        out = []
        for parent in parents:
            prec = views.get_record(registry, parent["id"])
            diff = code.unified_diff(prec.code, rec.code, f"{parent['name']} (#{parent['id']})",
                                     f"{rec.name} (#{rec.id})")
            out.append({"parent": parent, **diff})
        return out

    def rejected_query(stage, q, page_no, per_page) -> dict:
        return views.rejected(registry, stage=inputs.choice("stage", stage, inputs.STAGES),
                              search=inputs.search(q), page=page_no, page_size=per_page)

    def check_admin(request: Request, form_token: str | None = None) -> None:
        if admin_token is None:
            raise BadInput("this server is read-only: start it with --admin-token to allow changes", 403)
        given = request.headers.get("x-admin-token") or form_token or ""
        if not secrets.compare_digest(given.encode(), admin_token.encode()):
            raise BadInput("missing or wrong admin token (X-Admin-Token header or admin_token form field)", 401)

    async def form_field(request: Request, name: str) -> str | None:
        return (await form_fields(request, name))[0]

    async def form_fields(request: Request, *names: str) -> list[str | None]:
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            raise BadInput(f"form body is {len(body)} bytes; the limit is {MAX_FORM_BYTES}", 413)
        try:
            fields = parse_qs(body.decode("utf-8"), max_num_fields=20)
        except (UnicodeDecodeError, ValueError) as exc:
            raise BadInput(f"unreadable form body: {exc}") from None
        return [fields[name][0] if fields.get(name) else None for name in names]

    def retire(rec) -> dict:
        env_id = rec.id
        if rec.status == "retired":
            raise BadInput(f"environment #{env_id} is already retired", 409)
        try:
            return views.summary(registry.retire(env_id))
        except RegistryError as exc:
            raise BadInput(f"cannot retire #{env_id}: {exc}", 409) from None

    def page_links(path: str, data: dict, page_no: int, per_page: int, default_per_page: int) -> dict:
        """Previous and next page URLs that keep the filters (and a non-default page size)."""
        base = {k: v for k, v in data["filters"].items() if v}
        if per_page != default_per_page:
            base["per_page"] = per_page

        def url(n: int) -> str:
            return f"{path}?{urlencode({**base, 'page': n})}"

        return {"prev_url": url(page_no - 1) if page_no > 1 else None,
                "next_url": url(page_no + 1) if data["has_next"] else None}

    # ------------------------------------------------------------ common query parameters

    Status = Query(None, description=f"one of {', '.join(inputs.STATUSES)}")
    Origin = Query(None, description=f"one of {', '.join(inputs.ORIGINS)}")
    Tag = Query(None, max_length=64, description="a tag")
    Search = Query(None, max_length=inputs.MAX_SEARCH, description="full-text search over name, description and code")
    Sort = Query("created", description=f"one of {', '.join(sorts)}")
    PageNo = Query(1, ge=1, le=inputs.MAX_PAGE, description="page number, from 1")
    PerPage = Query(inputs.PAGE_SIZE, ge=1, le=inputs.MAX_PAGE_SIZE, description="rows per page")
    RejectedPerPage = Query(inputs.REJECTED_PAGE_SIZE, ge=1, le=inputs.MAX_PAGE_SIZE, description="rows per page")
    Seed = Query(0, ge=0, le=inputs.MAX_SEED, description="instance seed")
    Difficulty = Query(1, ge=1, le=1000, description="difficulty level, 1..max_difficulty")
    Stage = Query(None, description=f"failing stage, one of {', '.join(inputs.STAGES)}")
    RunId = Query(None, ge=1, le=inputs.MAX_ID, description="a run id; omit for all runs")

    # ------------------------------------------------------------ pages

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict:
        return {"ok": True}

    @app.get("/code.css", include_in_schema=False)
    def code_css() -> Response:
        return Response(code.highlight_css(), media_type="text/css",
                        headers={"Cache-Control": "public, max-age=3600"})

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/envs", status_code=307)

    @app.get("/envs", response_class=HTMLResponse, include_in_schema=False)
    def envs_page(request: Request, status: str | None = Status, origin: str | None = Origin,
                  tag: str | None = Tag, q: str | None = Search, sort: str = Sort,
                  page_no: int = Query(1, alias="page", ge=1, le=inputs.MAX_PAGE), per_page: int = PerPage):
        data = list_query(status, origin, tag, q, sort, page_no, per_page)
        return page(request, "envs.html", {
            "data": data, **page_links("/envs", data, page_no, per_page, inputs.PAGE_SIZE)})

    @app.get("/envs/{ref}", response_class=HTMLResponse, include_in_schema=False)
    def env_page(request: Request, ref: str, seed: int = Seed, difficulty: int = Difficulty):
        rec = record(ref)
        detail = views.env_detail(registry, rec)
        try:
            instance, instance_error = instance_of(rec, seed, difficulty, reveal=True), None
        except InstanceError as exc:
            instance, instance_error = None, str(exc)
        graph = views.lineage(registry, detail["id"], depth=2)
        return page(request, "env.html", {
            "env": detail, "code_html": code.highlight_python(detail["code"]),
            "seed": seed, "difficulty": difficulty, "instance": instance, "instance_error": instance_error,
            "calibration_svg": charts.calibration_svg(detail["calibration"], detail["max_difficulty"] or 1)
            if detail["calibration"] else None,
            "lineage": graph, "lineage_svg": charts.lineage_svg(graph) if len(graph["nodes"]) > 1 else None,
            "diffs": diffs(rec, graph["parents"]),
        })

    @app.get("/envs/{ref}/lineage", response_class=HTMLResponse, include_in_schema=False)
    def lineage_page(request: Request, ref: str):
        rec = record(ref)
        graph = views.lineage(registry, rec.id, depth=4)
        return page(request, "lineage.html", {"env": views.summary(rec), "lineage": graph,
                                              "lineage_svg": charts.lineage_svg(graph)})

    @app.post("/envs/{ref}/retire", include_in_schema=False)
    async def retire_form(request: Request, ref: str):
        token = await form_field(request, "admin_token")
        rec = record(ref)
        check_admin(request, token)
        retire(rec)
        return RedirectResponse(f"/envs/{rec.id}", status_code=303)

    def rerun(rec, stage: str) -> list[dict]:
        inputs.choice("stage", stage, RERUNNABLE)
        return rerun_stage(registry, rec, stage, sampler.sandbox)

    @app.post("/envs/{ref}/rerun", include_in_schema=False)
    async def rerun_form(request: Request, ref: str):
        token, stage = await form_fields(request, "admin_token", "stage")
        rec = record(ref)
        if not stage:
            raise BadInput(f"form field 'stage' is missing: one of {', '.join(RERUNNABLE)}")
        inputs.choice("stage", stage, RERUNNABLE)
        check_admin(request, token)
        await run_in_threadpool(rerun, rec, stage)
        return RedirectResponse(f"/envs/{rec.id}#validation", status_code=303)

    @app.get("/funnel", response_class=HTMLResponse, include_in_schema=False)
    def funnel_page(request: Request, run: int | None = RunId):
        data = views.funnel(registry, run)
        return page(request, "funnel.html", {
            "data": data, "funnel_svg": charts.funnel_svg(data["bars"]),
            "runs_svg": charts.runs_svg(data["runs"]) if data["runs"] else None,
            "run_svgs": {r["id"]: charts.funnel_svg(r["bars"], compact=True) for r in data["runs"]},
        })

    @app.get("/rejected", response_class=HTMLResponse, include_in_schema=False)
    def rejected_page(request: Request, stage: str | None = Stage, q: str | None = Search,
                      page_no: int = Query(1, alias="page", ge=1, le=inputs.MAX_PAGE),
                      per_page: int = RejectedPerPage):
        data = rejected_query(stage, q, page_no, per_page)
        return page(request, "rejected.html", {
            "data": data, **page_links("/rejected", data, page_no, per_page, inputs.REJECTED_PAGE_SIZE)})

    # ------------------------------------------------------------ JSON API

    @app.get("/api/envs", response_model=schemas.EnvPage, tags=["environments"])
    def api_envs(status: str | None = Status, origin: str | None = Origin, tag: str | None = Tag,
                 q: str | None = Search, sort: str = Sort, page: int = PageNo, per_page: int = PerPage):
        """Environments, filtered, searched, sorted and paginated."""
        return list_query(status, origin, tag, q, sort, page, per_page)

    @app.get("/api/envs/{ref}", response_model=schemas.EnvDetail, tags=["environments"])
    def api_env(ref: str):
        """One environment: code, stage results, reviews and calibration. ``ref`` is an id or a name."""
        return views.env_detail(registry, record(ref))

    @app.get("/api/envs/{ref}/instance", response_model=schemas.Instance, tags=["environments"],
             responses={422: {"description": "bad seed/difficulty, or the environment failed to render"}})
    def api_instance(ref: str, seed: int = Seed, difficulty: int = Difficulty,
                     reveal: bool = Query(False, description="include the reference answer")):
        """Sample one instance through the sandbox."""
        try:
            return instance_of(record(ref), seed, difficulty, reveal)
        except InstanceError as exc:
            raise BadInput(str(exc), 422) from None

    @app.get("/api/envs/{ref}/lineage", response_model=schemas.Lineage, tags=["environments"])
    def api_lineage(ref: str, depth: int = Query(3, ge=1, le=8, description="hops up and down")):
        """Ancestors and descendants as nodes and edges."""
        rec = record(ref)
        return views.lineage(registry, rec.id, depth=depth)

    @app.get("/api/envs/{ref}/diff", response_model=list[schemas.Diff], tags=["environments"])
    def api_diff(ref: str):
        """A unified diff of the code against each direct parent."""
        rec = record(ref)
        return diffs(rec, views.lineage(registry, rec.id, depth=1)["parents"])

    @app.post("/api/envs/{ref}/retire", response_model=schemas.ActionResult, tags=["admin"],
              responses={401: {"description": "wrong token"}, 403: {"description": "read-only server"}})
    def api_retire(request: Request, ref: str):
        """Retire an environment (needs the admin token in X-Admin-Token)."""
        rec = record(ref)
        check_admin(request)
        env = retire(rec)
        return {"ok": True, "message": f"retired #{env['id']}", "env": env}

    @app.post("/api/envs/{ref}/stages/{stage}/rerun", response_model=schemas.RerunResult, tags=["admin"],
              responses={401: {"description": "wrong token"}, 403: {"description": "read-only server"}})
    def api_rerun(request: Request, ref: str, stage: str):
        """Re-run an execution stage (L1-L5; the stages before it run first) and append the results.
        The admission decision is not changed. Needs the admin token in X-Admin-Token."""
        rec = record(ref)
        inputs.choice("stage", stage, RERUNNABLE)
        check_admin(request)
        return {"env_id": rec.id, "stage": stage, "ran": rerun(rec, stage)}

    @app.get("/api/funnel", response_model=schemas.Funnel, tags=["admission"])
    def api_funnel(run: int | None = RunId):
        """Proposed -> L1 -> ... -> novelty -> admitted, overall or for one run, and per run."""
        return views.funnel(registry, run)

    @app.get("/api/rejected", response_model=schemas.RejectedPage, tags=["admission"])
    def api_rejected(stage: str | None = Stage, q: str | None = Search, page: int = PageNo,
                     per_page: int = RejectedPerPage):
        """Rejected candidates with the stage that failed and its reason."""
        return rejected_query(stage, q, page, per_page)

    return app
