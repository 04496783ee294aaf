"""What each front end says of an error: one table from every ``LedgerError`` code.

Each row gives the CLI's exit status (DESIGN §9: 1 a refusal or a failed check, 2 an operational
error — success is 0 and has no row), the HTTP status and the RFC 9457 problem type
``urn:subsidy-ledger:problem:<code>`` (API.md "Errors"). The CLI maps errors through
:func:`problem_for` and nowhere else; the HTTP API is to do the same, so no route repeats a status
(STYLE.md: map domain errors in one place). ``tests/unit/test_api_errors.py`` checks that every
``LedgerError`` subclass has a row and that the statuses are API.md's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TypedDict

from ledger.errors import LedgerError

PROBLEM_TYPE = "urn:subsidy-ledger:problem:"
ExitStatus = Literal[1, 2]


class ProblemDocument(TypedDict):
    """The RFC 9457 ``application/problem+json`` body (API.md adds ``reason`` and ``line``)."""

    type: str
    title: str
    status: int
    detail: str


class RefusalProblem(ProblemDocument, total=False):
    """A refused envelope's problem: the refusal code of ``import --json`` and, in a batch, its line."""

    reason: str
    line: int


@dataclass(frozen=True)
class Problem:
    """How one error code reaches a user: exit status, HTTP status and a short English title."""

    code: str
    exit_status: ExitStatus
    http_status: int
    title: str

    @property
    def type(self) -> str:
        return PROBLEM_TYPE + self.code

    def document(self, detail: str) -> ProblemDocument:
        return {"type": self.type, "title": self.title, "status": self.http_status, "detail": detail}


def _rows(exit_status: ExitStatus, http_status: int, titles: Mapping[str, str]) -> dict[str, Problem]:
    return {code: Problem(code, exit_status, http_status, title) for code, title in titles.items()}


# Refusals (EVENTS.md "Refused"): nothing written; exit 1; HTTP 422 with the reason, except a body
# that is no JSON at all (400) and a clash with what the log already holds (409).
REFUSALS = _rows(1, 422, {
    "refused": "Envelope refused",
    "malformed": "Malformed envelope",
    "unknown_type": "Unknown event type",
    "invalid_field": "Invalid field",
    "total_mismatch": "Total is not the sum of the lines",
    "living_allowance_lines": "Living-allowance claim with more than one line",
    "envelope_too_large": "Envelope too large",
    "date_out_of_range": "Date out of range",
    "bad_signature": "Bad signature",
    "unknown_actor": "Unknown actor",
    "unknown_key": "Unknown key",
    "key_not_actors": "Key registered to another actor",
    "key_not_valid": "Key not valid",
    "role_not_allowed": "Role not allowed",
    "outside_jurisdiction": "Outside the actor's jurisdiction",
    "genesis_invalid": "Invalid genesis leaf",
    "unknown_reference": "Unknown reference",
    "at_in_future": "Envelope dated in the future",
    "personal_data_in_text": "Personal data in text",
    "personal_data_needs_service": "Personal data needs the ledger service",
    "statement_refused": "Bank statement refused",
}) | _rows(1, 400, {
    "invalid_json": "Not JSON",
}) | _rows(1, 409, {
    "nonce_reused": "Nonce reused",
    "already_exists": "Already exists",
    "already_erased": "Personal data already erased",
}) | _rows(1, 403, {
    "not_a_cosigner": "Not a cosigner",
}) | _rows(1, 404, {
    "subject_not_found": "Unknown subject",
    "checkpoint_not_found": "No checkpoint of that size",
}) | _rows(1, 422, {
    "report_invalid": "Invalid report request",
})  # fmt: skip

# Failed checks (VerificationFailed): the ledger or its projections are not intact; exit 1. Over
# HTTP the server cannot vouch for what it would serve (503), except a witness whose earlier
# cosignature the log contradicts (409).
CHECKS = _rows(1, 503, {
    "verification_failed": "Verification failed",
    "leaf_tampered": "Leaf tampered",
    "leaf_missing": "Leaf missing",
    "signature_invalid": "Signature invalid",
    "registry_invalid": "Registry leaf invalid",
    "event_mismatch": "Domain event does not match the log",
    "tree_mismatch": "Merkle tree mismatch",
    "checkpoint_mismatch": "Checkpoint mismatch",
    "trust_anchor_mismatch": "Trust anchor mismatch",
    "key_index_mismatch": "Key index mismatch",
    "witness_missing": "Witness cosignature missing",
    "projection_mismatch": "Projections differ from the log",
}) | _rows(1, 409, {
    "checkpoint_inconsistent": "Checkpoint inconsistent with an earlier cosignature",
})  # fmt: skip

# Everything else exits 2 (DESIGN §9: the command could not do its work). Over HTTP: input the
# client sent that cannot be used 422; the service unable to answer now 503.
OPERATIONAL = _rows(2, 503, {
    "ledger_error": "Ledger error",
    "operational_error": "Service unavailable",
    "import_stopped": "Import stopped",
    "concurrent_append": "Concurrent append",
    "projection_inconsistent": "Projections need a rebuild",
    "inclusion_proof_invalid": "Inclusion proof does not reach the signed root",
    "consistency_proof_invalid": "Consistency proof does not hold",
}) | _rows(2, 422, {
    "proof_malformed": "Malformed proof",
    "proof_request_invalid": "No such proof",
    "as_of_out_of_range": "as_of out of range",
    "note_malformed": "Malformed signed note",
    "note_signature_invalid": "Signed note signature invalid",
    "verifier_key_invalid": "Invalid verifier key",
    "checkpoint_malformed": "Malformed checkpoint",
    "checkpoint_signature_invalid": "Checkpoint signature invalid",
    "cosignature_invalid": "Cosignature invalid",
})  # fmt: skip

# What only the HTTP API says (API.md "Errors"): the request itself, not the ledger, is at fault, or
# the service cannot answer it now. A CLI verb meets them only through --server: a sign-in or a
# scope the server refuses is a refusal (exit 1, as docs/api.md says), a malformed request or a
# service that cannot answer now an operational error (exit 2, DESIGN §9).
HTTP = _rows(2, 400, {
    "bad_request": "Bad request",
}) | _rows(1, 401, {
    "unauthorized": "Authentication required",
}) | _rows(1, 403, {
    "forbidden": "Outside the token's scope",
}) | _rows(2, 404, {
    "not_found": "Not found",
}) | _rows(2, 405, {
    "method_not_allowed": "Method not allowed",
}) | _rows(2, 413, {
    "request_too_large": "Request body too large",
}) | _rows(2, 415, {
    "unsupported_media_type": "Unsupported media type",
}) | _rows(2, 422, {
    "invalid_request": "Invalid request",
}) | _rows(2, 429, {
    "too_many_requests": "Too many requests",
}) | _rows(2, 503, {
    "internal_error": "Service unavailable",
})  # fmt: skip

ERRORS: Mapping[str, Problem] = REFUSALS | CHECKS | OPERATIONAL | HTTP


def problem_for(error: LedgerError) -> Problem:
    """The row of ``error``'s code; a code set at run time that the table lacks (a refusal
    reason copied onto a plain ``Refused``) falls back to the nearest class that has one."""
    if error.code in ERRORS:
        return ERRORS[error.code]
    for cls in type(error).__mro__:
        code = getattr(cls, "code", None)
        if isinstance(code, str) and code in ERRORS:
            return ERRORS[code]
    return ERRORS[LedgerError.code]
