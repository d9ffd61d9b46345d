"""Data pages: the reconciliation of billing with the CRM, and CSV upload for import."""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_http_methods

from kizuna.crm.access import role_of, visible_accounts
from kizuna.crm.models import Role
from kizuna.ingest.csv_import import IMPORT_FILES, NothingToImport, import_folder
from kizuna.ingest.reconcile import KINDS, reconcile
from kizuna.ingest.report import ImportReport

IMPORTABLE_NAMES: tuple[str, ...] = tuple(spec.name for spec in IMPORT_FILES)
# A million usage rows is about 40 MB of CSV; 512 MB unpacked leaves room for a large
# customer base's full history while keeping a crafted archive from filling the disk.
MAX_UNZIPPED_BYTES = 512 * 1024 * 1024
# A file with a systematic mistake has a problem on every row; the first few hundred show
# the pattern, and listing a million of them would only make the page unusable.
MAX_PROBLEMS_SHOWN = 500
UNPACK_CHUNK_BYTES = 1024 * 1024


@login_required
def reconciliation(request: HttpRequest) -> HttpResponse:
    """Where billing and the CRM disagree, for the accounts the user may see."""
    as_of = timezone.localdate()
    found = reconcile(visible_accounts(request.user), as_of)
    counts = {label: sum(1 for item in found if item.kind == kind) for kind, label in KINDS.items()}
    return render(
        request,
        "kizuna/ingest/reconcile.html",
        {"disagreements": found, "counts": counts, "as_of": as_of},
    )


# --- CSV upload -----------------------------------------------------------------------------


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A file field that accepts several files; cleans to a list of uploads."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".csv,.zip"}))
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        clean_one = super().clean
        sent = [item for item in (data if isinstance(data, list | tuple) else [data]) if item]
        if not sent:
            clean_one(None, initial)  # "This field is required."
            return []
        return [clean_one(item, initial) for item in sent]


class UploadForm(forms.Form):
    upload = MultipleFileField(label=gettext_lazy("CSV files, or one .zip file holding them"))


class UploadRefused(Exception):
    """The upload cannot be imported as sent; ``problems`` says why, one line each."""

    def __init__(self, problems: Sequence[str]):
        super().__init__("; ".join(problems))
        self.problems = list(problems)


def _import_name(name: str) -> str | None:
    """The import file ``name`` stands for (case aside), or None for a file we do not read."""
    lowered = PurePosixPath(name).name.lower()
    return lowered if lowered in IMPORTABLE_NAMES else None


def _unknown_file(name: str) -> str:
    return gettext("%(file)s: not a file Kizuna imports; the files it reads: %(known)s") % {
        "file": name,
        "known": ", ".join(IMPORTABLE_NAMES),
    }


def _repeated_file(name: str) -> str:
    return gettext("%(file)s: sent more than once") % {"file": name}


def _too_large(name: str) -> str:
    return gettext("%(file)s: unpacks to more than %(limit)d MB; send its files one by one") % {
        "file": name,
        "limit": MAX_UNZIPPED_BYTES // (1024 * 1024),
    }


def _is_packing_noise(member: str) -> bool:
    """Folders and files an archiver adds by itself (macOS resource forks, hidden files)."""
    parts = PurePosixPath(member).parts
    return any(part.startswith(".") or part == "__MACOSX" for part in parts)


def _unpack(upload: UploadedFile, folder: Path) -> None:
    """Write the import files of one zip archive into ``folder`` (folders inside ignored)."""
    try:
        archive = zipfile.ZipFile(upload)
    except zipfile.BadZipFile:
        raise UploadRefused(
            [gettext("%(file)s: not a readable .zip file") % {"file": upload.name}]
        ) from None
    with archive:
        members = [
            member
            for member in archive.infolist()
            if not member.is_dir() and not _is_packing_noise(member.filename)
        ]
        problems: list[str] = []
        targets: dict[str, zipfile.ZipInfo] = {}
        for member in members:
            name = _import_name(member.filename)
            if name is None:
                problems.append(_unknown_file(member.filename))
            elif name in targets:
                problems.append(_repeated_file(member.filename))
            else:
                targets[name] = member
        if sum(member.file_size for member in targets.values()) > MAX_UNZIPPED_BYTES:
            problems.append(_too_large(str(upload.name)))
        if problems:
            raise UploadRefused(problems)
        if not targets:
            raise UploadRefused(
                [gettext("%(file)s: holds no file to import") % {"file": upload.name}]
            )
        written = 0
        for name, member in targets.items():
            # The sizes an archive declares can lie: count what is really unpacked.
            with archive.open(member) as source, (folder / name).open("wb") as target:
                while chunk := source.read(UNPACK_CHUNK_BYTES):
                    written += len(chunk)
                    if written > MAX_UNZIPPED_BYTES:
                        raise UploadRefused([_too_large(str(upload.name))])
                    target.write(chunk)


def stage_upload(uploads: Sequence[UploadedFile], folder: Path) -> None:
    """Put the uploaded CSV files (or the CSV files of one zip) into ``folder`` under the
    names the importer reads. Raises :class:`UploadRefused` when any file is not one of them
    (nothing is imported then: a misnamed file would otherwise be silently left out)."""
    archives = [upload for upload in uploads if (upload.name or "").lower().endswith(".zip")]
    if archives:
        if len(uploads) > 1:
            raise UploadRefused([gettext("Send either CSV files or one .zip file, not both.")])
        _unpack(archives[0], folder)
    else:
        problems: list[str] = []
        names: dict[str, UploadedFile] = {}
        for upload in uploads:
            sent = upload.name or ""
            name = _import_name(sent)
            if name is None:
                problems.append(_unknown_file(sent))
            elif name in names:
                problems.append(_repeated_file(sent))
            else:
                names[name] = upload
        if problems:
            raise UploadRefused(problems)
        for name, upload in names.items():
            with (folder / name).open("wb") as target:
                for chunk in upload.chunks():
                    target.write(chunk)


def import_upload(uploads: Sequence[UploadedFile]) -> ImportReport:
    """Import the uploaded files all or nothing, from a private temporary folder."""
    with tempfile.TemporaryDirectory(prefix="kizuna-upload-") as temporary:
        folder = Path(temporary)
        stage_upload(uploads, folder)
        try:
            return import_folder(folder)
        except NothingToImport:  # only reachable with an empty upload
            raise UploadRefused([gettext("No file to import was sent.")]) from None


def _require_admin(request: HttpRequest) -> None:
    # Importing writes any account's data, past the book-of-business rule: admins only.
    if role_of(request.user) != Role.ADMIN:
        raise PermissionDenied


@login_required
@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    """Upload CSV files (or one zip of them) and import them all or nothing."""
    _require_admin(request)
    context: dict[str, Any] = {
        "known_files": IMPORTABLE_NAMES,
        "max_problems": MAX_PROBLEMS_SHOWN,
    }
    if request.method != "POST":
        context["form"] = UploadForm()
        return render(request, "kizuna/ingest/upload.html", context)
    form = UploadForm(request.POST, request.FILES)
    context["form"] = form
    if not form.is_valid():
        return render(request, "kizuna/ingest/upload.html", context, status=422)
    try:
        report = import_upload(form.cleaned_data["upload"])
    except UploadRefused as refused:
        problems = refused.problems
    else:
        problems = [str(problem) for problem in report.problems]
        if report.committed:
            context["report"] = report
            context["form"] = UploadForm()
            return render(request, "kizuna/ingest/upload.html", context)
    context["problems"] = problems[:MAX_PROBLEMS_SHOWN]
    context["problem_count"] = len(problems)
    return render(request, "kizuna/ingest/upload.html", context, status=422)
