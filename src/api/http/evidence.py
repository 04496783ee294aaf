"""``GET /v1/evidence/{kind}/{id}`` (API.md): the evidence export (DESIGN §6) of one subject, as a zip.

The bundle is the one ``export evidence KIND ID`` writes — the trace's leaves, the registry leaves
of their signers, their inclusion proofs under a checkpoint, the operator's verifier key and
VERIFY.md — made by the same use case (:func:`api.services.export_evidence`) in a temporary folder
and zipped. Who may fetch it is who may read the subject's trace (:meth:`Scope.may_read_subject
<api.http.auth.Scope.may_read_subject>`). It holds fingerprints, never personal data.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response

from api import services
from api.http.auth import Reader
from api.http.problems import ApiProblem, responses
from projections.trace.gather import KINDS

router = APIRouter(tags=["trace"])

ZIP = "application/zip"


@router.get("/v1/evidence/{kind}/{ident}", response_class=Response,
            responses={200: {"description": "the evidence folder, zipped", "content": {ZIP: {"schema": {"type": "string", "format": "binary"}}}},
                       **responses(401, 403, 404, 422, 503)})  # fmt: skip
def evidence(scope: Reader, kind: Annotated[str, Path(max_length=20)], ident: Annotated[str, Path(min_length=1, max_length=128)]) -> Response:
    """The evidence export of ``kind`` ``ident`` (KIND as ``trace``: payment, claim, class, laborer, certificate, fund, actor)."""
    if kind not in KINDS:
        raise ApiProblem("not_found", f"no evidence of kind {kind!r}: one of {', '.join(KINDS)}")
    srv = scope.srv
    with srv.lock:
        scope.require_subject(kind, ident)
        with tempfile.TemporaryDirectory(prefix="evidence-") as tmp:
            folder = FilePath(tmp) / "evidence"
            done = services.export_evidence(srv.session, kind, ident, folder)
            body = _zipped(folder, f"evidence-{kind}-{ident}")
    name = f"evidence-{kind}-{ident}.zip".encode("ascii", "replace").decode().replace('"', "_")
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "X-Checkpoint-Size": str(done.size)}
    return Response(body, media_type=ZIP, headers=headers)


def _zipped(folder: FilePath, root: str) -> bytes:
    """The folder's files under ``root/`` in a zip, in name order (the same bundle zips the same)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(f"{root}/{path.relative_to(folder).as_posix()}", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return out.getvalue()
