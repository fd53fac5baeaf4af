"""After admission: the applicant's hub and the booking wizard, one step per page.

Each step posts its part, which is checked and kept in the draft (`drafts.py`), then redirects to
the next step (POST-redirect-GET: reload and Back behave). Nothing holds a place before the last
step: the booking is made there by the same service call as the JSON API's, and only then are
the staged documents moved to it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from multidict import MultiMapping

from queue_engine.engine import Engine

from ..booking.accounts import Accounts
from ..booking.application import (
    MARITAL_STATUSES,
    PURPOSES,
    SEXES,
    Applicant,
    parse_booking_request,
)
from ..booking.bookings import MAX_PEOPLE_PER_ACCOUNT, booking_hash
from ..booking.documents import (
    DRAFT_PREFIX,
    DocumentKind,
    DocumentRejected,
    StoredDocument,
    required_documents,
)
from ..booking.errors import Conflict, Invalid
from ..booking.fees import APPLICATION_KINDS, FeeSchedule, FeeTable
from ..booking.offices import LANES, Office
from ..booking.slots import Slots
from ..errors import AdmissionRequired, ApiError
from ..flows import BookingFlow
from ..gate import ADMISSION, ADMISSION_COOKIE, end_turn, gated, require_admission
from ..handlers.bookings import read_limited
from ..login import logged_in_account, session_token
from ..web import json_response
from . import i18n
from .calendar import office_calendar, parse_slot
from .csrf import CSRF_FIELD, CSRF_HEADER, check_csrf, checked_form
from .drafts import UNREADABLE, Drafts
from .guards import account_or_login
from .labels import (
    document_labels,
    kind_labels,
    lane_labels,
    marital_labels,
    purpose_labels,
    sex_labels,
)
from .messages import problem_text, refusal_text
from .render import page
from .types import Routes

log = logging.getLogger(__name__)

STEPS = ("kantor", "layanan", "pemohon", "dokumen", "jadwal", "tinjau")
WIZARD = "/permohonan/baru"
APPLICANT_FIELDS = tuple(Applicant.model_fields)
#: refusals at the last step that mean "choose another date or session"
SCHEDULE_REFUSALS = ("slot_full", "date_closed", "date_passed", "not_released", "unknown_slot")
#: which step owns each field of the booking body (for sending the applicant back to fix it)
_STEP_OF_FIELD = {
    "office_id": "kantor",
    "lane": "layanan",
    "application_kind": "layanan",
    "passport": "layanan",
    "applicant": "pemohon",
    "date": "jadwal",
    "session_id": "jadwal",
}


def _step_url(step: str, reason: str | None = None) -> str:
    return f"{WIZARD}/{step}" + (f"?alasan={quote(reason)}" if reason else "")


# -- the pages: the hub, the end of the turn and the wizard's steps --------------------------


@dataclass(frozen=True, slots=True)
class WizardPages:
    """The hub and the booking wizard: bound to the flow, the accounts, the drafts, the slots,
    the fees, the engine (to give a turn back) and the secret that keys a booking's request
    hash."""

    flow: BookingFlow
    accounts: Accounts
    drafts: Drafts
    slots: Slots
    fees: FeeSchedule
    engine: Engine
    secret: bytes

    @gated
    async def admitted(self, request: web.Request) -> web.Response:
        """GET /permohonan: where an admitted visitor lands: log in, then apply."""
        account_id = await logged_in_account(request)
        context: dict[str, Any] = {"account_id": account_id}
        if account_id is not None:
            profile = await self.accounts.profile(account_id)
            context["people"] = profile["applicants"]
            context["max_people"] = MAX_PEOPLE_PER_ACCOUNT
        return page(request, "permohonan.html", context)

    async def leave(self, request: web.Request) -> web.Response:
        """POST /permohonan/selesai: end the turn now so that the next person in line comes in.

        Not gated: a turn that has already ended is simply forgotten, rather than sending its
        holder back into the line."""
        await checked_form(request)
        try:
            # Not bound on the way out: an account holding another turn may still give this back.
            admission = await require_admission(request, bind=False)
        except AdmissionRequired:
            pass
        else:
            await self.engine.room(admission.room).release(admission.token_id)
        response = web.HTTPSeeOther("/akun/permohonan")
        response.del_cookie(ADMISSION_COOKIE)
        raise response

    @gated
    async def start(self, request: web.Request) -> web.Response:
        """GET /permohonan/baru: on to the first step not yet done."""
        wizard = await Wizard.open(self, request)
        raise web.HTTPSeeOther(_step_url(wizard.first_incomplete()))

    @gated
    async def show_step(self, request: web.Request) -> web.Response:
        """GET /permohonan/baru/{step}."""
        step = request.match_info["step"]
        if step not in STEPS:
            raise ApiError(404, "not_found", "There is no such step.")
        wizard = await Wizard.open(self, request)
        _require_earlier_steps(wizard, step)
        return wizard.render(step, await _STEP_VIEWS[step](wizard))

    @gated
    async def save_step(self, request: web.Request) -> web.Response:
        """POST /permohonan/baru/{step}: check this step's part, keep it, go on (or show what is
        wrong). The review step's POST makes the booking."""
        step = request.match_info["step"]
        if step not in STEPS:
            raise ApiError(404, "not_found", "There is no such step.")
        form = await checked_form(request)
        wizard = await Wizard.open(self, request)
        _require_earlier_steps(wizard, step)
        errors = await _STEP_SAVES[step](wizard, form)
        if errors is not None:
            context = await _STEP_VIEWS[step](wizard)
            return wizard.render(step, {**context, **errors}, 422)
        await wizard.save()
        next_step = STEPS[STEPS.index(step) + 1]
        raise web.HTTPSeeOther(
            _step_url(next_step if not wizard.complete(next_step) else wizard.first_incomplete())
        )

    @gated
    async def start_over(self, request: web.Request) -> web.Response:
        """POST /permohonan/ulang: forget the draft and its staged documents."""
        await checked_form(request)
        wizard = await Wizard.open(self, request)
        await _discard(wizard)
        raise web.HTTPSeeOther(_step_url("kantor"))

    @gated
    async def upload(self, request: web.Request) -> web.StreamResponse:
        """POST /permohonan/baru/dokumen/unggah (multipart): stage one or more documents.

        From the page's script (one file, progress shown, `X-CSRF-Token`, JSON answer) or from the
        plain form without JavaScript (the `csrf` field first, then the files; a page answer)."""
        wizard = await Wizard.open(self, request)
        wants_json = "application/json" in request.headers.get("Accept", "")
        header_token = request.headers.get(CSRF_HEADER)
        if header_token is not None:
            check_csrf(request, header_token)
        if not request.content_type.startswith("multipart/"):
            raise ApiError(415, "unsupported_type", "Send the documents as multipart/form-data.")
        try:
            saved, errors = await _stage_parts(wizard, request, checked=header_token is not None)
        except (ValueError, HttpProcessingError):
            raise ApiError(
                400, "bad_multipart", "The upload is not well-formed multipart."
            ) from None
        if saved:
            await wizard.save()
        if wants_json:
            # The worst refusal's status (413 over 415), else 201 for a saved file, 422 for none.
            status = max((code for code, _text in errors.values()), default=201 if saved else 422)
            return json_response(
                {
                    "saved": {k: _uploaded_text(wizard, v) for k, v in saved.items()},
                    "errors": {k: text for k, (_code, text) in errors.items()},
                },
                status,
            )
        if errors:
            context = await _documents_view(wizard)
            return wizard.render(
                "dokumen",
                {**context, "errors": {k: text for k, (_code, text) in errors.items()}},
                422,
            )
        raise web.HTTPSeeOther(_step_url("dokumen"))


# -- the wizard -------------------------------------------------------------------------------


class Wizard:
    """One request's view of the wizard: the account, its draft, and the services of the pages'
    instance that opened it."""

    def __init__(
        self,
        services: WizardPages,
        request: web.Request,
        session: str,
        account_id: int,
        draft: dict[str, Any],
    ) -> None:
        self.services = services
        self.request = request
        self.session = session
        self.account_id = account_id
        self.draft = draft
        self.offices: Mapping[str, Office] = services.slots.offices
        self._ = i18n.for_visitor(request)

    @classmethod
    async def open(cls, services: WizardPages, request: web.Request) -> Wizard:
        """The wizard of the logged-in visitor (else a redirect to the login page)."""
        account_id = await account_or_login(request)
        session = session_token(request)
        assert session is not None  # logged in
        draft = await services.drafts.load(session, account_id)
        if draft.pop(UNREADABLE, False) and request.method == "GET":
            # Sealed under an earlier data key: start over, saying why (a POST just goes on
            # with the new draft, and its step checks what came before).
            raise web.HTTPSeeOther(_step_url("kantor", "draft_unreadable"))
        return cls(services, request, session, account_id, draft)

    async def save(self) -> None:
        await self.services.drafts.save(self.session, self.account_id, self.draft)

    @property
    def office(self) -> Office | None:
        return self.offices.get(self.draft.get("office_id", ""))

    def required(self) -> tuple[DocumentKind, ...]:
        return required_documents(self.draft.get("application_kind", "baru"))

    def complete(self, step: str) -> bool:
        """Whether `step`'s part of the draft is filled in and was checked."""
        d = self.draft
        return {
            "kantor": self.office is not None,
            "layanan": all(k in d for k in ("lane", "application_kind", "passport_type")),
            "pemohon": d.get("applicant_checked") is True,
            "dokumen": {k.value for k in self.required()} <= set(d.get("documents", {})),
            "jadwal": "slot" in d,
            "tinjau": False,
        }[step]

    def first_incomplete(self) -> str:
        return next(step for step in STEPS if not self.complete(step))

    def fee_table(self) -> FeeTable:
        return self.services.fees.in_force(datetime.now(UTC).date())

    def body(self) -> dict[str, Any]:
        """The booking body the draft makes, as the JSON API takes it; without a chosen slot,
        the first session two days on stands in (to check the applicant's part alone)."""
        d = self.draft
        office = self.office
        chosen = parse_slot(d.get("slot"))
        day, session = chosen or (
            datetime.now(UTC).date() + timedelta(days=2),
            office.sessions[0].id if office else "",
        )
        return {
            "office_id": d.get("office_id"),
            "date": day.isoformat(),
            "session_id": session,
            "lane": d.get("lane"),
            "application_kind": d.get("application_kind"),
            "passport": {"type": d.get("passport_type"), "validity_years": d.get("validity_years")},
            "applicant": d.get("applicant", {}),
        }

    def render(self, step: str, context: dict[str, Any], status: int = 200) -> web.Response:
        steps = [(name, self.complete(name)) for name in STEPS]
        titles = _step_titles(self._)
        full = {
            "step": step,
            "steps": steps,
            "titles": titles,
            "draft": self.draft,
            "office": self.office,
            **context,
        }
        reason = self.request.query.get("alasan")
        if reason and "notice" not in full:
            full["notice"] = refusal_text(self._, reason, "")
        return page(self.request, f"mohon-{step}.html", full, status)


def _step_titles(_: i18n.Translate) -> dict[str, str]:
    return {
        "kantor": _("Kantor"),
        "layanan": _("Layanan"),
        "pemohon": _("Data pemohon"),
        "dokumen": _("Dokumen"),
        "jadwal": _("Jadwal"),
        "tinjau": _("Tinjau"),
    }


def _require_earlier_steps(wizard: Wizard, step: str) -> None:
    """Send the applicant back to the first step before `step` that is not done yet."""
    missing = next((s for s in STEPS[: STEPS.index(step)] if not wizard.complete(s)), None)
    if missing is not None:
        raise web.HTTPSeeOther(_step_url(missing))


async def _discard(wizard: Wizard) -> None:
    await wizard.services.drafts.clear(wizard.session)
    await wizard.services.flow.discard_staged(_staging(wizard.draft))


def _staging(draft: dict[str, Any]) -> str:
    """Where the draft's uploads wait: beside the bookings' folders, never one of them."""
    return f"{DRAFT_PREFIX}{draft['id']}"


# -- step 1: the office -----------------------------------------------------------------------


async def _office_view(wizard: Wizard) -> dict[str, Any]:
    province = wizard.request.query.get("provinsi", "")
    if wizard.office is not None and not province:
        province = wizard.office.province
    offices = sorted(
        wizard.offices.values(), key=lambda o: (o.province != province, o.province, o.city, o.name)
    )
    provinces = sorted({o.province for o in wizard.offices.values()})
    return {"offices": offices, "provinces": provinces, "province": province}


async def _office_save(wizard: Wizard, form: MultiMapping[str]) -> dict[str, Any] | None:
    office_id = form.get("office_id", "")
    if office_id not in wizard.offices:
        _ = wizard._
        return {"error": _("Pilih salah satu kantor imigrasi.")}
    if office_id != wizard.draft.get("office_id"):
        wizard.draft.pop("slot", None)  # the calendar belongs to the office
    wizard.draft["office_id"] = office_id
    return None


# -- step 2: lane, kind of application, passport --------------------------------------------


async def _service_view(wizard: Wizard) -> dict[str, Any]:
    table = wizard.fee_table()
    _ = wizard._
    lang = i18n.language(wizard.request)
    passports = [
        (f"{p.type}/{p.validity_years}", p.label_id if lang == "id" else p.label_en, p.amount)
        for p in table.passports
    ]
    surcharges = {item.code: item for item in table.surcharges}
    return {
        "lanes": [(lane, *lane_labels(_)[lane], surcharges.get(lane)) for lane in LANES],
        "kinds": [(k, *kind_labels(_)[k], surcharges.get(k)) for k in APPLICATION_KINDS],
        "passports": passports,
        "passport": f"{wizard.draft.get('passport_type')}/{wizard.draft.get('validity_years')}",
    }


async def _service_save(wizard: Wizard, form: MultiMapping[str]) -> dict[str, Any] | None:
    _ = wizard._
    errors: dict[str, str] = {}
    lane, kind = form.get("lane", ""), form.get("application_kind", "")
    passport = form.get("passport", "")
    known = {f"{p.type}/{p.validity_years}": p for p in wizard.fee_table().passports}
    if lane not in LANES:
        errors["lane"] = _("Pilih jalur layanan.")
    if kind not in APPLICATION_KINDS:
        errors["application_kind"] = _("Pilih jenis permohonan.")
    if passport not in known:
        errors["passport"] = _("Pilih jenis paspor.")
    if errors:
        return {"errors": errors}
    if lane != wizard.draft.get("lane"):
        wizard.draft.pop("slot", None)  # places are counted per lane
    chosen = known[passport]
    wizard.draft.update(
        lane=lane,
        application_kind=kind,
        passport_type=chosen.type,
        validity_years=chosen.validity_years,
    )
    # A 10-year passport depends on the applicant's age: their part is checked again.
    wizard.draft["applicant_checked"] = False
    return None


# -- step 3: the applicant ------------------------------------------------------------------


async def _applicant_view(wizard: Wizard) -> dict[str, Any]:
    _ = wizard._
    return {
        "values": wizard.draft.get("applicant", {}),
        "sexes": [(s, sex_labels(_)[s]) for s in SEXES],
        "marital": [("", _("Pilih…"))] + [(m, marital_labels(_)[m]) for m in MARITAL_STATUSES],
        "purposes": [("", _("Pilih…"))] + [(p, purpose_labels(_)[p]) for p in PURPOSES],
        "today": datetime.now(UTC).date().isoformat(),
    }


async def _applicant_save(wizard: Wizard, form: MultiMapping[str]) -> dict[str, Any] | None:
    values = {name: form.get(name, "").strip() for name in APPLICANT_FIELDS}
    wizard.draft["applicant"] = values
    problems = _problems(wizard, wizard.body())
    own = {
        path.removeprefix("applicant."): text
        for path, text in problems.items()
        if path.startswith("applicant.")
    }
    if own or "passport.validity_years" in problems:
        wizard.draft["applicant_checked"] = False
        await wizard.save()  # what was typed is kept, right or wrong
        return {"errors": own, "validity_error": problems.get("passport.validity_years")}
    wizard.draft["applicant_checked"] = True
    return None


def _problems(wizard: Wizard, body: dict[str, Any]) -> dict[str, str]:
    """The booking parser's refusals of `body` (path → text in the visitor's language): the
    same rules as the JSON API's, in one place."""
    try:
        parse_booking_request(body, wizard.offices, datetime.now(UTC).date())
    except Invalid as invalid:
        return {
            path: problem_text(wizard._, invalid.codes.get(path, ""), message)
            for path, message in invalid.fields.items()
        }
    return {}


# -- step 4: documents ------------------------------------------------------------------------


async def _documents_view(wizard: Wizard) -> dict[str, Any]:
    labels = document_labels(wizard._)
    uploaded = wizard.draft.get("documents", {})
    return {
        "documents": [(k.value, *labels[k.value], uploaded.get(k.value)) for k in wizard.required()]
    }


async def _documents_save(wizard: Wizard, form: MultiMapping[str]) -> dict[str, Any] | None:
    """ "Lanjut" on the documents page: every required document must be there."""
    missing = [
        k.value for k in wizard.required() if k.value not in wizard.draft.get("documents", {})
    ]
    if missing:
        _ = wizard._
        text = _("Unggah dokumen ini dulu.")
        return {"errors": dict.fromkeys(missing, text)}
    return None


async def _stage_parts(
    wizard: Wizard, request: web.Request, checked: bool
) -> tuple[dict[str, dict[str, Any]], dict[str, tuple[int, str]]]:
    """Store each file part under the draft; (saved by kind, refused by kind: (code, text))."""
    flow = wizard.services.flow
    kinds = {k.value: k for k in wizard.required()}
    saved: dict[str, dict[str, Any]] = {}
    errors: dict[str, tuple[int, str]] = {}
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        if part.name == CSRF_FIELD:
            check_csrf(request, (await part.read(decode=True)).decode(errors="replace"))
            checked = True
            continue
        if not checked:
            check_csrf(request, None)  # a file before the token: refused
        if part.name not in kinds:
            continue
        try:
            chunks = await read_limited(part)
            if not part.filename and not any(chunks):
                continue  # a file input left empty in the plain form
            stored = await flow.stage_document(_staging(wizard.draft), kinds[part.name], chunks)
        except (DocumentRejected, ApiError) as refused:
            errors[part.name] = (refused.status, _document_problem(wizard._, refused.code))
            if refused.code == "too_large":
                break  # the rest of the stream was not read
            continue
        saved[part.name] = _stored_json(stored)
    wizard.draft.setdefault("documents", {}).update(saved)
    return saved, errors


def _stored_json(stored: StoredDocument) -> dict[str, Any]:
    return {
        "media_type": stored.media_type,
        "size": stored.size,
        "sha256": stored.sha256,
        "path": str(stored.path),
    }


def _document_problem(_: i18n.Translate, code: str) -> str:
    texts = {
        "too_large": _(
            "Berkas lebih dari 2 MB. Perkecil atau pindai ulang dengan resolusi lebih rendah."
        ),
        "unsupported_type": _("Hanya berkas JPG, PNG, atau PDF yang diterima."),
        "empty": _("Berkas kosong."),
    }
    return texts.get(code, _("Berkas tidak dapat diterima."))


def _uploaded_text(wizard: Wizard, stored: dict[str, Any]) -> str:
    kind = {"image/jpeg": "JPG", "image/png": "PNG", "application/pdf": "PDF"}
    return wizard._(
        "Terunggah: {kind}, {size} KB",
        kind=kind.get(stored["media_type"], "?"),
        size=max(1, round(stored["size"] / 1024)),
    )


# -- step 5: date and session ----------------------------------------------------------------


async def _schedule_view(wizard: Wizard) -> dict[str, Any]:
    office = wizard.office
    assert office is not None  # the office step comes first
    cal = await office_calendar(
        wizard.services.slots, office, wizard.draft["lane"], datetime.now(UTC)
    )
    lane_label = lane_labels(wizard._)[wizard.draft["lane"]][0]
    return {"calendar": cal, "selected": wizard.draft.get("slot"), "lane_label": lane_label}


async def _schedule_save(wizard: Wizard, form: MultiMapping[str]) -> dict[str, Any] | None:
    chosen = parse_slot(form.get("slot"))
    office = wizard.office
    if chosen is None or office is None or office.session(chosen[1]) is None:
        _ = wizard._
        return {"error": _("Pilih tanggal dan sesi yang masih tersedia.")}
    # Whether it still has places is known only when the booking is made (step 6).
    wizard.draft["slot"] = form.get("slot", "").strip()
    return None


# -- step 6: review and book ------------------------------------------------------------------


async def _review_view(wizard: Wizard) -> dict[str, Any]:
    d = wizard.draft
    _ = wizard._
    lang = i18n.language(wizard.request)
    quote_ = wizard.fee_table().quote(
        d["passport_type"], d["validity_years"], d["lane"], d["application_kind"]
    )
    chosen, office = parse_slot(d["slot"]), wizard.office
    assert chosen is not None and office is not None  # the earlier steps are done
    day, session_id = chosen
    session = office.session(session_id)
    applicant = d["applicant"]
    fee_lines = [
        (line.label_id if lang == "id" else line.label_en, line.amount) for line in quote_.lines
    ]
    return {
        "fee_lines": fee_lines,
        "total": quote_.total,
        "regulation": quote_.regulation,
        "day": day,
        "session": session,
        "lane_label": lane_labels(_)[d["lane"]][0],
        "kind_label": kind_labels(_)[d["application_kind"]][0],
        "passport_label": fee_lines[0][0],  # a quote's first line is the passport itself
        "applicant": applicant,
        "birth_date": date.fromisoformat(applicant["birth_date"]),
        "sex_label": sex_labels(_).get(applicant.get("sex", ""), ""),
        "marital_label": marital_labels(_).get(applicant.get("marital_status", ""), ""),
        "purpose_label": purpose_labels(_).get(applicant.get("purpose", ""), ""),
        "document_names": [document_labels(_)[k.value][0] for k in wizard.required()],
    }


async def _review_save(wizard: Wizard, form: MultiMapping[str]) -> dict[str, Any] | None:
    """Make the booking; on to its billing page."""
    body = wizard.body()
    problems = _problems(wizard, body)
    if problems:
        first = next(iter(problems)).split(".")[0]
        raise web.HTTPSeeOther(_step_url(_STEP_OF_FIELD.get(first, "pemohon")))
    now = datetime.now(UTC)
    booking = parse_booking_request(body, wizard.offices, now.date())
    # One key per attempt: a double click makes one booking, and after a refusal the next try
    # (with another session, say) is a new request.
    key = f"wizard-{wizard.draft['id']}-{wizard.draft.get('attempt', 0)}"
    try:
        made = await wizard.services.flow.place(
            wizard.account_id,
            booking,
            now,
            (key, booking_hash(wizard.services.secret, body)),
            wizard.request[ADMISSION].turn,  # the step is gated: the turn makes one booking
        )
        await end_turn(wizard.request)  # one booking per turn
    except Conflict as refusal:
        wizard.draft["attempt"] = wizard.draft.get("attempt", 0) + 1
        if refusal.code in SCHEDULE_REFUSALS:
            wizard.draft.pop("slot", None)
            await wizard.save()
            raise web.HTTPSeeOther(_step_url("jadwal", refusal.code)) from None
        await wizard.save()
        return {"notice": refusal_text(wizard._, refusal.code, refusal.message)}
    await _attach_documents(wizard, made["id"])
    await _discard(wizard)
    # The booking ended the turn: the browser forgets it too.
    done = web.HTTPSeeOther(f"/akun/permohonan/{made['id']}")
    done.del_cookie(ADMISSION_COOKIE)
    raise done


async def _attach_documents(wizard: Wizard, booking_id: str) -> None:
    """Move the staged documents to the booking; one that fails stays to be uploaded again
    from the booking's page, and the booking stands."""
    flow = wizard.services.flow
    for kind, staged in wizard.draft.get("documents", {}).items():
        try:
            stored = StoredDocument(
                kind=DocumentKind(kind),
                media_type=staged["media_type"],
                size=staged["size"],
                sha256=staged["sha256"],
                path=flow.documents.relative(staged["path"]),
            )
            await flow.attach_document(booking_id, stored)
        except (OSError, KeyError, ValueError):
            log.exception("staged document %s of booking %s was not attached", kind, booking_id)


_STEP_VIEWS = {
    "kantor": _office_view,
    "layanan": _service_view,
    "pemohon": _applicant_view,
    "dokumen": _documents_view,
    "jadwal": _schedule_view,
    "tinjau": _review_view,
}
_STEP_SAVES = {
    "kantor": _office_save,
    "layanan": _service_save,
    "pemohon": _applicant_save,
    "dokumen": _documents_save,
    "jadwal": _schedule_save,
    "tinjau": _review_save,
}

ROUTES: Routes = [
    ("GET", "/permohonan", WizardPages.admitted),
    ("POST", "/permohonan/selesai", WizardPages.leave),
    ("POST", "/permohonan/ulang", WizardPages.start_over),
    ("GET", WIZARD, WizardPages.start),
    ("POST", f"{WIZARD}/dokumen/unggah", WizardPages.upload),
    ("GET", WIZARD + "/{step}", WizardPages.show_step),
    ("POST", WIZARD + "/{step}", WizardPages.save_step),
]
